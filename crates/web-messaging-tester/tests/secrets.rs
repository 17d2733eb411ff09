//! Secrets and received text in every output: the `-a` OAuth secret (and its base64 in an
//! echoed `Basic` header), the bearer token, model keys (cut at a provider's 200th character,
//! echoed in a completion), `apiKeyVariable` without `--api-key-variable`, `validate` on `ai`
//! files (`Retry-After: 1e30` is tested in `ai/http.rs`, with a short wait cap), terminal escapes in bot text and names, and a huge bot reply in the reports.

mod ai;
mod common;
mod fake_genesys;
mod fake_model;

use ai::{AiRun, ai_file, chatgpt_file, run, scenario};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{EVERY_REPORT, read, write};
use fake_genesys::{associate_env, details, error, login, preflight, token};
use fake_model::{failing_server, openai_server, text};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const CLIENT_ID: &str = "wmt-client-id-42";
const SECRET: &str = "Cl1ent-S3cret-Value-7a6b5c4d3e";
const TOKEN: &str = "bearer-token-0f1e2d3c4b5a69788796a5b4";
const KEY: &str = "sk-live-9f8e7d6c5b4a39281706aBcDeFgHiJkLmN";

/// Every 12-character piece of `text`.
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(12)
        .map(|w| w.iter().collect::<String>())
        .collect()
}

/// Pieces of `secret` in the forms a leak takes: literal, base64 (both alphabets), and the
/// base64 of `id:secret` as a Basic header carries it (its inner characters only, which do
/// not depend on the neighbouring bytes).
fn leak_pieces(secret: &str) -> Vec<String> {
    let mut out = pieces(secret);
    for encoded in [
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        STANDARD.encode(format!("{CLIENT_ID}:{secret}")),
    ] {
        let inner: String = encoded.chars().skip(24).take(encoded.len() - 28).collect();
        out.extend(pieces(&inner));
    }
    out
}

fn assert_clean(secret: &str, outputs: &[(&str, &str)]) {
    let leaks = leak_pieces(secret);
    for (name, text) in outputs {
        for piece in &leaks {
            assert!(
                !text.contains(piece.as_str()),
                "a piece of the secret ({piece}) is in {name}:\n{text}"
            );
        }
    }
}

/// A login server that refuses the client, quoting the request's `Authorization` header
/// back (as a careless proxy might), after `good` successful logins.
struct EchoingLogin {
    good: usize,
    calls: AtomicUsize,
}

impl Respond for EchoingLogin {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.good {
            return token(TOKEN, 61);
        }
        let header = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "description": format!("Bad client credentials in header '{header}'"),
            "message": format!("Authorization: {header}"),
        }))
    }
}

const BOT: &str = "states:\n  main:\n    - reply: Hello there\n";
/// One scenario that takes more than a second (so a 1-second token expires before the
/// conversations are looked up).
const SLOW_SCRIPT: &str = "scenarios:\n  \"Waits\":\n    - say: hi\n    - waitForReplyContaining: nope\n      timeout: 1.5\n";

async fn reports_run(dir: &Path, server: &MockServer) -> Vec<(String, String)> {
    let script = write(dir, "script.yml", SLOW_SCRIPT);
    let bot = write(dir, "bot.yml", BOT);
    let region = server.uri();
    // The fake server answers on its own thread: the run may block this one.
    let mut args = vec!["scripted", &script, "-a", "--simulate", &bot];
    args.extend(EVERY_REPORT);
    let out = run(dir, &args, &associate_env(&region, CLIENT_ID, SECRET));
    assert_eq!(out.exit, 1, "{out:?}");
    vec![
        ("stdout".into(), out.stdout),
        ("stderr".into(), out.stderr),
        ("JSON".into(), read(&dir.join("r.json"))),
        ("JUnit".into(), read(&dir.join("j.xml"))),
        ("HTML".into(), read(&dir.join("html/index.html"))),
    ]
}

fn as_refs(outputs: &[(String, String)]) -> Vec<(&str, &str)> {
    outputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_a_login_echoing_the_basic_header_shows_no_form_of_the_secret_at_preflight() {
    let server = MockServer::start().await;
    login()
        .respond_with(EchoingLogin {
            good: 0,
            calls: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "script.yml", SLOW_SCRIPT);
    let bot = write(dir.path(), "bot.yml", BOT);
    let region = server.uri();
    let out = run(
        dir.path(),
        &["scripted", &script, "-a", "--simulate", &bot, "--verbose"],
        &associate_env(&region, CLIENT_ID, SECRET),
    );
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(
        out.stderr.contains("HTTP 401 invalid_client"),
        "{}",
        out.stderr
    );
    assert_clean(SECRET, &[("stdout", &out.stdout), ("stderr", &out.stderr)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_a_failed_token_renewal_echoing_the_basic_header_leaks_into_no_report() {
    let server = MockServer::start().await;
    login()
        .respond_with(EchoingLogin {
            good: 1,
            calls: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    preflight()
        .respond_with(error(404, "not.found", "not found"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let outputs = reports_run(dir.path(), &server).await;
    let stdout = &outputs[0].1;
    assert!(
        stdout.contains("unexpected error: HTTP 401 invalid_client."),
        "{stdout}"
    );
    assert_clean(SECRET, &as_refs(&outputs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h4_a_bearer_token_echoed_by_the_platform_api_is_masked_everywhere() {
    let server = MockServer::start().await;
    login()
        .respond_with(token(TOKEN, 86399))
        .mount(&server)
        .await;
    preflight()
        .respond_with(error(
            404,
            "not.found",
            &format!("not found (Bearer {TOKEN})"),
        ))
        .mount(&server)
        .await;
    details()
        .respond_with(error(
            400,
            "bad.request",
            &format!("Rejected Authorization: Bearer {TOKEN}"),
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let outputs = reports_run(dir.path(), &server).await;
    assert!(
        outputs[0].1.contains("HTTP 400 bad.request"),
        "{}",
        outputs[0].1
    );
    assert_clean(TOKEN, &as_refs(&outputs));
    assert_clean(SECRET, &as_refs(&outputs));
}

#[tokio::test]
async fn h1_a_key_at_a_providers_200th_character_leaks_no_piece() {
    // Not JSON, so the old code quoted the body's first 200 characters: the key's start.
    let body = format!("{}{KEY}{}", "x".repeat(190), "y".repeat(50));
    let server = failing_server(ResponseTemplate::new(401).set_body_string(body)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "S", "x");
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--verbose"]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("can be used failed due to:\nHTTP 401 Unauthorized\n"),
        "{}",
        out.stderr
    );
    for piece in KEY.chars().collect::<Vec<_>>().windows(8) {
        let piece: String = piece.iter().collect();
        assert!(!out.stderr.contains(&piece), "{piece}: {}", out.stderr);
        assert!(!out.stdout.contains(&piece), "{piece}: {}", out.stdout);
    }
}

#[tokio::test]
async fn l7_a_key_echoed_by_the_model_is_not_printed_saved_or_sent_to_the_bot() {
    let server = openai_server(|asked| {
        if asked.last_user().contains("Sorry") {
            text("PASS")
        } else {
            text(&format!("My key is {KEY}"))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Echo", "x");
    let out_dir = dir.path().join("out");
    let out = AiRun::new(&file).openai(&server, KEY).run(
        dir.path(),
        &[
            "--silence",
            "300ms",
            "-o",
            out_dir.to_str().unwrap(),
            "--report-json",
            "r.json",
        ],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(out.stdout.contains("AI: My key is ***\n"), "{}", out.stdout);
    let mut outputs = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    let report = read(&dir.path().join("r.json"));
    // The session's transcript is what the deployment received: the mask, not the key.
    assert!(report.contains("\"text\": \"My key is ***\""), "{report}");
    outputs.push(("JSON".into(), report));
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        outputs.push((path.display().to_string(), read(&path)));
    }
    assert_eq!(outputs.len(), 4, "one --out-dir file");
    assert_clean(KEY, &as_refs(&outputs));
}

#[tokio::test]
async fn m3_a_files_api_key_variable_needs_the_flag() {
    let server = openai_server(|_| text("PASS")).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "      baseUrl: {}/v1\n      model: m\n      apiKeyVariable: GENESYSCLOUD_OAUTHCLIENT_SECRET\n",
        server.uri()
    );
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file("openai-compatible", &config, &scenario("S", "x")),
    );
    let with_secret = AiRun::new(&file).env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET);
    let out = with_secret.run(dir.path(), &[]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "error: {file}:7:23: \"config.ai.config.apiKeyVariable\": names the environment variable GENESYSCLOUD_OAUTHCLIENT_SECRET as the server's API key, but a test file alone may not choose which variable is read (it could send any secret to any server): pass --api-key-variable GENESYSCLOUD_OAUTHCLIENT_SECRET to allow it\n"
        )
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    // Another variable on the command line does not allow it either.
    let out = with_secret.run(dir.path(), &["--api-key-variable", "MY_KEY"]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(server.received_requests().await.unwrap().is_empty());

    // With the flag naming it, the user chose: the key goes to the file's server.
    let out = with_secret.run(
        dir.path(),
        &[
            "--silence",
            "300ms",
            "--api-key-variable",
            "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        ],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        &format!("Bearer {SECRET}")
    );
    assert_clean(SECRET, &[("stdout", &out.stdout), ("stderr", &out.stderr)]);

    // The flag alone gives an openai-compatible provider its key.
    let plain = write(
        dir.path(),
        "plain.yml",
        &ai_file(
            "openai-compatible",
            &format!("      baseUrl: {}/v1\n      model: m\n", server.uri()),
            &scenario("S", "x"),
        ),
    );
    let out = AiRun::new(&plain).env("MY_KEY", KEY).run(
        dir.path(),
        &["--silence", "300ms", "--api-key-variable", "MY_KEY"],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests
            .last()
            .unwrap()
            .headers
            .get("authorization")
            .unwrap(),
        &format!("Bearer {KEY}")
    );
}

#[test]
fn m3_validate_checks_ai_files() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yml",
        "config:\n  ai:\n    provider: openai-compatible\n    config:\n      baseUrl: ftp://x\nscenarios:\n  S:\n    setup:\n      prompt: x\n      terminatingPhrases: {pass: [P], fail: [F]}\n",
    );
    let good = write(
        dir.path(),
        "good.yml",
        &ai_file(
            "openai-compatible",
            "      baseUrl: http://localhost:1/v1\n      model: m\n      apiKeyVariable: MY_KEY\n",
            &scenario("S", "x"),
        ),
    );
    let out = run(dir.path(), &["validate", &bad, &good], &[]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert_eq!(out.stdout, format!("ok: {good}\n"));
    assert!(
        out.stderr.contains(&format!(
            "error: {bad}:5:16: \"config.ai.config.baseUrl\" must be an http:// or https:// URL"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: {good}:7:23: \"config.ai.config.apiKeyVariable\" is only read when `ai` is run with --api-key-variable MY_KEY"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn l4_bot_text_and_names_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let bot = write(
        dir.path(),
        "bot.yml",
        "states:\n  main:\n    - reply: \"Hi \\e]0;pwned\\a \\e[2J \\u202Eevil \\x9b1m \\u2066x\"\n",
    );
    let script = write(
        dir.path(),
        "script.yml",
        "scenarios:\n  \"Evil \\e[31m\\u202E name\":\n    - say: hi\n    - waitForReplyContaining: nope\n      timeout: 0.5\n",
    );
    let out = run(
        dir.path(),
        &[
            "scripted",
            &script,
            "--simulate",
            &bot,
            "--color",
            "always",
            "--report-junit",
            "j.xml",
            "--report-json",
            "r.json",
        ],
        &[],
    );
    assert_eq!(out.exit, 1, "{out:?}");
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for bad in [
            "\u{1b}]",
            "\u{1b}[2J",
            "Evil \u{1b}",
            "\u{202e}",
            "\u{9b}",
            "\u{2066}",
            "\u{7}",
        ] {
            assert!(!text.contains(bad), "{bad:?} in {name}:\n{text}");
        }
    }
    assert!(
        out.stdout.contains(
            "Them: Hi \\u{1b}]0;pwned\\u{7} \\u{1b}[2J \\u{202e}evil \\u{9b}1m \\u{2066}x"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("[FAILED] Evil \\u{1b}[31m\\u{202e} name (FAIL)"),
        "{}",
        out.stderr
    );
    // The files stay valid: XML has no way to carry ESC or BEL.
    let xml = read(&dir.path().join("j.xml"));
    roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let json: serde_json::Value = serde_json::from_str(&read(&dir.path().join("r.json"))).unwrap();
    assert!(
        json["scenarios"][0]["transcript"][1]["text"]
            .as_str()
            .unwrap()
            .contains("\u{1b}]0;pwned"),
        "JSON keeps the text as it was (escaped by JSON itself)"
    );
}

#[test]
fn m1_a_huge_bot_reply_is_cut_in_the_terminal_and_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let bot = write(
        dir.path(),
        "bot.yml",
        &format!(
            "states:\n  main:\n    - reply: \"{}\"\n",
            "x".repeat(1_000_000)
        ),
    );
    let script = write(
        dir.path(),
        "script.yml",
        "scenarios:\n  Big:\n    - say: hi\n    - waitForReplyContaining: nope\n      timeout: 1\n",
    );
    let out = run(
        dir.path(),
        &[
            "scripted",
            &script,
            "--simulate",
            &bot,
            "--report-junit",
            "j.xml",
            "--report-json",
            "r.json",
            "--report-html",
            "html",
        ],
        &[],
    );
    assert_eq!(out.exit, 1, "{out:?}");
    let too_long = "x".repeat(2001);
    let outputs = [
        ("stdout", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
        ("JSON", read(&dir.path().join("r.json"))),
        ("JUnit", read(&dir.path().join("j.xml"))),
        ("HTML", read(&dir.path().join("html/index.html"))),
    ];
    for (name, text) in &outputs {
        assert!(!text.contains(&too_long), "{name} copies the whole reply");
        assert!(text.len() < 100_000, "{name}: {} bytes", text.len());
    }
    for (name, text) in &outputs[..1] {
        assert!(
            text.contains(&format!(
                "{}… [truncated, 1000000 characters in all]",
                "x".repeat(2000)
            )),
            "{name}"
        );
    }
    assert!(
        outputs[2]
            .1
            .contains("[truncated, 1000000 characters in all]")
    );
}
