//! `scripted --associate-id` against a local HTTP server playing the Genesys Cloud login and
//! Platform API (wiremock), with the sessions going to the simulator: success, missing
//! permission, messages not found, server errors, missing environment, and the secret never
//! shown anywhere.

mod common;
mod fake_genesys;

use common::{EVERY_REPORT, Run, Sentinel, run_in, write};
use fake_genesys::{PREFLIGHT, associate_env, details, login, preflight, token};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use wiremock::matchers::{basic_auth, bearer_token, body_string_contains};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const CLIENT_ID: &str = "test-client-id";
const SECRET: &str = "Sup3r-S3cret-Value-9f8e7d";
const TOKEN: &str = "token-abc";

const BOT: &str = "states:\n  main:\n    - reply: Hello there\n";
const SCRIPT: &str = "scenarios:\n  \"Greets\":\n    - say: hi\n    - waitForReplyContaining: hello\n  \"Silent\": []\n  \"Wrong\":\n    - say: hi\n    - waitForReplyContaining: nope\n      timeout: 0.3\n";

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(serde_json::json!({
        "status": 404,
        "code": "not.found",
        "message": "The requested operation failed with status 404",
        "contextId": "d11bd3b3-ab7e-4fd4-9687-d04af9f30a63",
        "details": [],
        "errors": []
    }))
}

/// `conversationId` = `conv-` + the message ID's first 8 characters; the first `failures`
/// requests for each message get a 503.
struct Conversations {
    failures: usize,
    seen: Mutex<HashMap<String, usize>>,
}

impl Conversations {
    fn new(failures: usize) -> Self {
        Conversations {
            failures,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

fn message_id(request: &Request) -> String {
    request
        .url
        .path()
        .split('/')
        .nth(5)
        .unwrap_or_default()
        .to_string()
}

impl Respond for Conversations {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = message_id(request);
        let mut seen = self.seen.lock().unwrap();
        let count = seen.entry(id.clone()).or_default();
        *count += 1;
        if *count <= self.failures {
            return ResponseTemplate::new(503).set_body_json(serde_json::json!({
                "status": 503, "code": "service.unavailable", "message": "Service Unavailable"
            }));
        }
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": id,
            "direction": "inbound",
            "messengerType": "webmessaging",
            "conversationId": format!("conv-{}", &id[..8]),
        }))
    }
}

async fn genesys(preflight_answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    login()
        .and(basic_auth(CLIENT_ID, SECRET))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(token(TOKEN, 86399))
        .mount(&server)
        .await;
    preflight()
        .and(bearer_token(TOKEN))
        .respond_with(preflight_answer)
        .mount(&server)
        .await;
    server
}

/// Runs `scripted SCRIPT -a --simulate BOT` with the three variables pointing at `server`,
/// plus `extra` arguments, from `dir`.
async fn run_associated(dir: &Path, server: &MockServer, extra: &[&str]) -> Run {
    run_associated_with(dir, server, extra, &[]).await
}

/// [`run_associated`] with more environment variables.
async fn run_associated_with(
    dir: &Path,
    server: &MockServer,
    extra: &[&str],
    more_env: &[(&str, &str)],
) -> Run {
    let script = write(dir, "script.yml", SCRIPT);
    let bot = write(dir, "bot.yml", BOT);
    let mut args = vec!["scripted", &script, "-a", "--simulate", &bot];
    args.extend_from_slice(extra);
    let region = server.uri();
    let mut env = associate_env(&region, CLIENT_ID, SECRET).to_vec();
    env.extend_from_slice(more_env);
    // The fake server answers on its own thread: the run may block this one.
    run_in(Some(dir), &args, &env)
}

fn assert_no_secret(run: &Run, files: &[&Path]) {
    assert!(!run.stdout.contains(SECRET), "secret on stdout");
    assert!(!run.stderr.contains(SECRET), "secret on stderr");
    for file in files {
        if let Ok(text) = std::fs::read_to_string(file) {
            assert!(!text.contains(SECRET), "secret in {}", file.display());
        }
    }
}

fn title_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{name} (")))
        .unwrap_or_else(|| panic!("no block for {name}:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_are_found_and_shown_in_the_terminal_and_every_report() {
    let server = genesys(not_found()).await;
    details()
        .and(bearer_token(TOKEN))
        .respond_with(Conversations::new(0))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let args = [["-p", "3"].as_slice(), &EVERY_REPORT].concat();
    let run = run_associated(dir.path(), &server, &args).await;
    assert_eq!(run.code, 1, "Wrong fails: {}\n{}", run.stdout, run.stderr);
    let base = server.uri();
    let greets = title_line(&run.stdout, "Greets");
    let conv = greets
        .strip_prefix("Greets (PASS - ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{greets}"));
    assert!(conv.starts_with("conv-") && conv.len() == 13, "{conv}");
    let link = format!("{base}/directory/#/analytics/interactions/{conv}/admin");
    assert!(
        run.stdout.contains(&format!(
            "{greets}\n---------------------\nYou: hi\nThem: Hello there\nConversation: {link}\n"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        title_line(&run.stdout, "Silent"),
        "Silent (PASS - unable to associate conversation ID)"
    );
    assert!(run.stdout.contains("Silent (PASS - unable to associate conversation ID)\n---------------------\nWARNING: Could not find Conversation ID for test as your test did not receive a response from your flow.\n"), "{}", run.stdout);
    let wrong = title_line(&run.stdout, "Wrong");
    assert!(wrong.starts_with("Wrong (FAIL) - conv-"), "{wrong}");
    // The summary keeps upstream's shape; nothing is dropped.
    assert!(
        run.stdout
            .contains("PASS - Greets\nPASS - Silent\nFAIL - Wrong\n\n2 passed, 1 failed in "),
        "{}",
        run.stdout
    );

    let report = common::read_json(&dir.path().join("r.json"));
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 3);
    assert_eq!(
        scenarios[0]["conversation"],
        serde_json::json!({"id": conv, "link": link})
    );
    assert_eq!(scenarios[1]["conversation"], serde_json::Value::Null);
    assert!(
        scenarios[1]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("WARNING: Could not find")
    );
    assert!(
        scenarios[2]["conversation"]["id"]
            .as_str()
            .unwrap()
            .starts_with("conv-")
    );
    let junit = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert!(
        junit.contains(&format!("Conversation: {conv} {link}")),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("html/index.html")).unwrap();
    assert!(html.contains(&format!(
        "<a href=\"{link}\" target=\"_blank\" rel=\"noopener noreferrer\">{conv}</a>"
    )));

    // One login for the run, one preflight, one lookup per scenario that had a message.
    let requests = server.received_requests().await.unwrap();
    let count = |f: &dyn Fn(&Request) -> bool| requests.iter().filter(|r| f(r)).count();
    assert_eq!(count(&|r| r.url.path() == "/oauth/token"), 1);
    assert_eq!(count(&|r| r.url.path() == PREFLIGHT), 1);
    assert_eq!(
        count(&|r| r.url.path().ends_with("/details") && r.url.path() != PREFLIGHT),
        2
    );
    assert_no_secret(
        &run,
        &[
            &dir.path().join("r.json"),
            &dir.path().join("j.xml"),
            &dir.path().join("html/index.html"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_stops_the_run_before_any_session_opens() {
    let server = genesys(ResponseTemplate::new(403).set_body_json(serde_json::json!({
        "status": 403,
        "code": "missing.any.permissions",
        "message": "Unable to perform the requested action. You must have at least one of the following permissions assigned: [conversation:message:view, conversation:webmessaging:view]"
    })))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new();
    let url = sentinel.url();
    let run = run_associated(dir.path(), &server, &["--report-json", "r.json"]).await;
    // --simulate starts nothing before the preflight; check with a real endpoint too.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.starts_with("error: Your OAuth Client does not have the necessary permissions to associate conversation IDs to tests: its role needs the permission conversation:webmessaging:view."), "{}", run.stderr);
    assert!(!dir.path().join("r.json").exists());
    let script = write(dir.path(), "endpoint.yml", SCRIPT);
    let region = server.uri();
    let endpoint_run = run_in(
        None,
        &["scripted", &script, "-a", "--endpoint", &url, "-id", "x"],
        &associate_env(&region, CLIENT_ID, SECRET),
    );
    assert_eq!(endpoint_run.code, 2);
    assert!(!sentinel.was_contacted(), "a session was opened");
    assert_no_secret(&run, &[]);
    assert_no_secret(&endpoint_run, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_not_found_keep_their_verdict_and_get_a_warning() {
    let server = genesys(not_found()).await;
    details().respond_with(not_found()).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated(dir.path(), &server, &["--report-json", "r.json"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        title_line(&run.stdout, "Greets"),
        "Greets (PASS - unable to associate conversation ID)"
    );
    assert_eq!(
        title_line(&run.stdout, "Wrong"),
        "Wrong (FAIL) - unable to associate conversation ID"
    );
    let warning = "WARNING: Could not find Conversation ID for test due to an unexpected error: HTTP 404 not.found.";
    assert_eq!(run.stdout.matches(warning).count(), 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("PASS - Greets\nPASS - Silent\nFAIL - Wrong\n\n2 passed, 1 failed in ")
    );
    let report = common::read_json(&dir.path().join("r.json"));
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 3);
    assert_eq!(report["scenarios"][0]["warnings"][0], warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_a_lasting_one_only_warns() {
    // Two 503s per message, then the answer: found after retrying.
    let server = genesys(not_found()).await;
    details()
        .respond_with(Conversations::new(2))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated(dir.path(), &server, &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(title_line(&run.stdout, "Greets").starts_with("Greets (PASS - conv-"));
    assert!(title_line(&run.stdout, "Wrong").starts_with("Wrong (FAIL) - conv-"));

    // Always 503: every attempt fails, the scenario keeps its verdict and gets a warning.
    let failing = genesys(not_found()).await;
    details()
        .respond_with(Conversations::new(usize::MAX))
        .mount(&failing)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated(dir.path(), &failing, &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Greets (PASS - unable to associate conversation ID)")
    );
    assert!(run.stdout.contains("WARNING: Could not find Conversation ID for test due to an unexpected error: HTTP 503 service.unavailable."), "{}", run.stdout);
    let requests = failing.received_requests().await.unwrap();
    let lookups = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/details") && r.url.path() != PREFLIGHT)
        .count();
    assert_eq!(lookups, 2 * 4, "4 attempts for each of the 2 messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_and_login_failures_are_explained_without_the_secret() {
    // The preflight meets a lasting server error.
    let server = genesys(ResponseTemplate::new(500).set_body_json(serde_json::json!({
        "status": 500, "code": "internal.server.error", "message": "The server encountered an error"
    })))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated(dir.path(), &server, &[]).await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: There was a problem checking whether your OAuth Client has the necessary permissions to associate conversation IDs to tests:\nHTTP 500 internal.server.error\n"
    );

    // The login is refused, and the server (wrongly) echoes the secret.
    let refusing = MockServer::start().await;
    login()
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "description": format!("client secret {SECRET} is wrong")
        })))
        .mount(&refusing)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated(dir.path(), &refusing, &["--report-json", "r.json"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("could not get an OAuth token for the client in GENESYSCLOUD_OAUTHCLIENT_ID"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("HTTP 401 invalid_client\n"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &[&dir.path().join("r.json")]);
}

#[test]
fn each_missing_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "script.yml", SCRIPT);
    let all = associate_env("mypurecloud.ie", CLIENT_ID, SECRET);
    // With none of them, `-a --simulate` asks the simulator's own Platform API.
    let bot = write(dir.path(), "bot.yml", BOT);
    let none = run_in(
        None,
        &["scripted", &script, "--associate-id", "--simulate", &bot],
        &[],
    );
    assert_eq!(none.code, 1, "only Wrong fails: {}", none.stderr);
    assert!(
        none.stdout.contains("Greets (PASS - 5eedc0de-"),
        "{}",
        none.stdout
    );
    // With some of them, the missing one is named.
    for missing in 1..3 {
        let env: Vec<_> = all.iter().take(missing).copied().collect();
        let bot = write(dir.path(), "bot.yml", BOT);
        let run = run_in(
            None,
            &["scripted", &script, "--associate-id", "--simulate", &bot],
            &env,
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "error: \"{}\" is required by --associate-id",
                all[missing].0
            )),
            "{}",
            run.stderr
        );
        assert_no_secret(&run, &[]);
    }
    let empty = run_in(
        None,
        &[
            "scripted",
            &script,
            "-a",
            "--simulate",
            &write(dir.path(), "bot.yml", BOT),
        ],
        &associate_env(" ", "x", "y"),
    );
    assert_eq!(empty.code, 2);
    assert!(
        empty
            .stderr
            .contains("\"GENESYS_REGION\" is not allowed to be empty"),
        "{}",
        empty.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_stays_out_of_the_most_verbose_logs() {
    let server = genesys(not_found()).await;
    details()
        .respond_with(Conversations::new(1))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_associated_with(dir.path(), &server, &[], &[("RUST_LOG", "trace")]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.len() > 1000, "trace logs were written");
    assert_no_secret(&run, &[]);
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    assert!(
        !run.stderr.contains(&basic),
        "the Basic credentials are logged"
    );
}
