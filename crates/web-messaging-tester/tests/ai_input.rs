//! `ai` refuses bad input with a clear message and exit code 2, before any session opens.

mod ai;
mod common;
mod fake_model;

use ai::{ai_file, chatgpt_file, refund_bot, run, scenario};
use common::{Sentinel, write};
use fake_model::{failing_server, openai_base, openai_server, text};
use wiremock::ResponseTemplate;

/// Runs `ai` on `file_text` with `args` and `env`; returns stderr after checking exit 2 and
/// an empty stdout.
fn refused(file_text: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "t.yml", file_text);
    let bot = refund_bot();
    let mut all = vec!["ai", file.as_str(), "--simulate", bot.as_str()];
    all.extend_from_slice(args);
    let out = run(dir.path(), &all, env);
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    out.stderr.replace(&file, "t.yml")
}

#[test]
fn file_mistakes_name_their_position_and_key() {
    let cases = [
        (
            ai_file("palm", "", &scenario("s", "x")),
            "error: t.yml:3:15: \"config.ai.provider\" must be one of [chatgpt, google-gemini, google-vertex-ai, openai-compatible]\n",
        ),
        (
            ai_file("chatgpt", "      location: x\n", &scenario("s", "x")),
            "error: t.yml:5:17: \"config.ai.config.location\" is not allowed for provider chatgpt: expected one of model, temperature\n",
        ),
        (
            ai_file("google-gemini", "      colour: red\n", &scenario("s", "x")),
            "error: t.yml:5:7: \"config.ai.config.colour\" is not allowed for provider google-gemini: unknown key `colour`, expected one of model, temperature, topK, topP, seed\n",
        ),
        (
            ai_file("chatgpt", "      temperature: hot\n", &scenario("s", "x")),
            "error: t.yml:5:20: \"config.ai.config.temperature\" must be a number\n",
        ),
        (
            "config:\n  ai:\n    provider: chatgpt\nscenarios:\n  s:\n    setup:\n      prompt: x\n      terminatingPhrases:\n        pass: []\n        fail: [F]\n".to_string(),
            "error: t.yml:9:15: \"scenarios.s.setup.terminatingPhrases.pass\" must contain at least 1 items\n",
        ),
        (
            ai_file("google-vertex-ai", "      modelVersion: latest\n", &scenario("s", "x")),
            "error: t.yml:5:21: \"config.ai.config.modelVersion\" must contain 3 digits",
        ),
    ];
    for (file, expected) in cases {
        let stderr = refused(&file, &[], &[("OPENAI_API_KEY", "k")]);
        assert!(stderr.starts_with(expected), "{file}\n{stderr}");
    }
}

/// A provider, its `config` lines, the environment, and the start of the expected stderr.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn missing_keys_and_settings_are_named() {
    let cases: [Case; 6] = [
        (
            "chatgpt",
            "",
            &[],
            "error: \"OPENAI_API_KEY\" is required: set it to your OpenAI API key to use provider chatgpt\n",
        ),
        (
            "chatgpt",
            "",
            &[("OPENAI_API_KEY", " ")],
            "error: \"OPENAI_API_KEY\" is not allowed to be empty",
        ),
        (
            "google-gemini",
            "",
            &[],
            "error: \"GEMINI_API_KEY\" is required: set it (or GOOGLE_API_KEY)",
        ),
        (
            "google-vertex-ai",
            "",
            &[],
            "error: Failed to validate Google Vertex AI Location and Project config. Provide these in the config file or via environment variables.\n",
        ),
        (
            "google-vertex-ai",
            "      location: l\n      project: p\n",
            &[],
            "error: Google Vertex AI needs Application Default Credentials: set GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (
            "openai-compatible",
            "      model: llama3.2\n",
            &[],
            "error: provider openai-compatible needs the server's address",
        ),
    ];
    for (provider, config, env, expected) in cases {
        let stderr = refused(&ai_file(provider, config, &scenario("s", "x")), &[], env);
        assert!(stderr.starts_with(expected), "{provider}\n{stderr}");
    }
}

#[test]
fn an_unreadable_credentials_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = write(dir.path(), "sa.json", "{ not json");
    let stderr = refused(
        &ai_file(
            "google-vertex-ai",
            "      location: l\n      project: p\n",
            &scenario("s", "x"),
        ),
        &[],
        &[("GOOGLE_APPLICATION_CREDENTIALS", &credentials)],
    );
    assert!(
        stderr.starts_with(&format!(
            "error: the Google credentials file {credentials} is not a credentials JSON file"
        )),
        "{stderr}"
    );
}

#[test]
fn an_out_dir_that_cannot_be_written_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = write(dir.path(), "file.txt", "");
    let stderr = refused(
        &ai_file("chatgpt", "", &scenario("s", "x")),
        &["--out-dir", &format!("{not_a_dir}/sub")],
        &[("OPENAI_API_KEY", "k")],
    );
    assert!(
        stderr.starts_with(&format!(
            "error: --out-dir '{not_a_dir}/sub' is not writable: "
        )),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_refused() {
    for flags in [
        &["--max-turns", "0"][..],
        &["--silence", "0"],
        &["--time-limit", "soon"],
        &["-p", "0"],
    ] {
        let stderr = refused(
            &ai_file("chatgpt", "", &scenario("s", "x")),
            flags,
            &[("OPENAI_API_KEY", "k")],
        );
        assert!(
            stderr.starts_with("error: invalid value"),
            "{flags:?}: {stderr}"
        );
    }
}

/// A failing preflight stops the run before the deployment is contacted: the endpoint (a
/// listener that records connections) sees nobody.
#[tokio::test]
async fn a_failing_preflight_opens_no_session() {
    let server = failing_server(
        ResponseTemplate::new(404)
            .set_body_string(r#"{"error":{"message":"The model `gpt-nope` does not exist"}}"#),
    )
    .await;
    let deployment = Sentinel::new();
    let endpoint = deployment.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file("chatgpt", "      model: gpt-nope\n", &scenario("s", "x")),
    );
    let out = run(
        dir.path(),
        &["ai", &file, "--endpoint", &endpoint, "-id", "d"],
        &[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", &openai_base(&server)),
        ],
    );
    assert_eq!(out.exit, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: The check to ensure ChatGPT can be used failed due to:\nHTTP 404 Not Found\n"
    );
    assert!(!deployment.was_contacted(), "no session was opened");

    // The same file with a working model does reach the deployment (which serves no
    // config.json: it never answers, so the configuration is not fetched).
    let good = openai_server(|_| text("PASS")).await;
    let out = run(
        dir.path(),
        &[
            "ai",
            &file,
            "--endpoint",
            &endpoint,
            "-id",
            "d",
            "--time-limit",
            "2s",
            "--no-deployment-config",
        ],
        &[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", &openai_base(&good)),
        ],
    );
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(deployment.was_contacted(), "the session was tried");
}

#[test]
fn deployment_and_region_are_required_without_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "s", "x");
    let out = run(dir.path(), &["ai", &file], &[("OPENAI_API_KEY", "k")]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: \"deploymentId\" is required: set config.deploymentId in the test-script or pass --deployment-id\n"
    );
}

#[test]
fn origin_is_long_only_since_o_is_out_dir() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = write(dir.path(), "file.txt", "");
    let stderr = refused(
        &ai_file("chatgpt", "", &scenario("s", "x")),
        &["-o", &not_a_dir, "--origin", "https://shop.example.com"],
        &[("OPENAI_API_KEY", "k")],
    );
    assert!(
        stderr.starts_with(&format!("error: --out-dir '{not_a_dir}' is not writable")),
        "{stderr}"
    );
}
