//! `ai` exits with 3 when the deployment could not be tested (no session could be opened),
//! and its reports name the failure as a connection one, not a verdict.

mod ai;
mod common;
mod fake_model;

use ai::{chatgpt_file, run};
use fake_model::{openai_base, openai_server, text};

#[tokio::test]
async fn a_deployment_that_cannot_be_reached_exits_with_3() {
    let server = openai_server(|_| text("hello")).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Refund", "You want a refund.");
    let endpoint = format!("ws://127.0.0.1:{port}/v1");
    let json = dir.path().join("r.json");
    let base = openai_base(&server);
    let out = run(
        dir.path(),
        &[
            "ai",
            &file,
            "-id",
            "d",
            "--endpoint",
            &endpoint,
            "--no-deployment-config",
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[
            ("OPENAI_API_KEY", "sk-test-0123456789abcdef"),
            ("OPENAI_BASE_URL", &base),
        ],
    );
    assert_eq!(out.exit, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Could not open a session"),
        "{}",
        out.stdout
    );
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(report.contains("\"connect\""), "{report}");
}
