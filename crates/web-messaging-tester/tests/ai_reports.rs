//! `ai` with `scripted`'s CI options: `--report-junit`, `--report-json`, `--report-html` and
//! `-a/--associate-id`, against the simulator (the refund bot of `tests/ai/bot.yml`), a scripted
//! model behind a local stand-in for OpenAI, and (for `-a`) a local stand-in for the Genesys
//! Cloud login and Platform API.

#[path = "ai/support.rs"]
mod support;

use serde_json::Value;
use support::{Answer, Asked, Format, Model, ai_file, data, run, scenario, text, write};
use wiremock::matchers::{basic_auth, bearer_token, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";
const CLIENT_ID: &str = "test-client-id";
const SECRET: &str = "Sup3r-S3cret-Value-9f8e7d";
const TOKEN: &str = "token-abc";
const DETAILS: &str = r"^/api/v2/conversations/messages/[0-9a-f-]{32,36}/details$";
const PREFLIGHT: &str = "/api/v2/conversations/messages/wm-tester-preflight-check/details";

/// The refund customer passes; the one who wants cake (`Complain.`) fails once the bot
/// refuses.
fn customer(asked: &Asked) -> Answer {
    let last = asked.last_user();
    if asked.system.contains("Complain") {
        if last.contains("only help with refunds") {
            text("That is no good. FAIL")
        } else {
            text("I want <b>cake</b> & tea")
        }
    } else if last.contains("refund is approved") {
        text("Great, thanks! PASS")
    } else if last.contains("order number") {
        text("It is 12345")
    } else {
        text("I would like a refund please")
    }
}

async fn openai() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Model::new(Format::OpenAi, customer))
        .mount(&server)
        .await;
    server
}

fn bot() -> String {
    data("bot.yml").display().to_string()
}

fn two_scenarios() -> String {
    ai_file(
        "chatgpt",
        "",
        &format!(
            "{}{}",
            scenario("Refund", "You want a refund for order 12345."),
            scenario("Cake", "Complain.")
        ),
    )
}

#[tokio::test]
async fn writes_junit_json_and_html_reports() {
    let server = openai().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "refund.yml", &two_scenarios());
    let out = run(
        dir.path(),
        &[
            "ai",
            &file,
            "--simulate",
            &bot(),
            "--silence",
            "300ms",
            "--report-junit",
            "j.xml",
            "--report-json",
            "r.json",
            "--report-html",
            "html",
        ],
        &[
            ("OPENAI_API_KEY", KEY),
            ("OPENAI_BASE_URL", &format!("{}/v1", server.uri())),
        ],
    );
    assert_eq!(out.exit, 1, "{out:?}");
    // The terminal report is as without the flags.
    assert!(out.stdout.contains("\nRefund (PASS)\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nCake (FAIL)\n"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Terminating phrase found in response: 'That is no good. FAIL'\n"),
        "{}",
        out.stdout
    );

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["formatVersion"], 1);
    assert_eq!(json["summary"]["total"], 2);
    assert_eq!(json["summary"]["passed"], 1);
    assert_eq!(json["summary"]["failed"], 1);
    let scenarios = json["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    let refund = &scenarios[0];
    assert_eq!(refund["name"], "Refund");
    assert_eq!(refund["file"], file.as_str());
    assert_eq!(refund["passed"], true);
    assert!(refund["failure"].is_null());
    assert!(refund["conversation"].is_null());
    let said: Vec<&str> = refund["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(said.contains(&"It is 12345"), "{said:?}");
    assert!(said.contains(&"Your refund is approved."), "{said:?}");
    let cake = &scenarios[1];
    assert_eq!(cake["name"], "Cake");
    assert_eq!(cake["passed"], false);
    assert_eq!(cake["failure"]["kind"], "verdict");
    assert_eq!(
        cake["failure"]["message"],
        "Terminating phrase found in response: 'That is no good. FAIL'"
    );

    let junit = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 2, "{junit}");
    assert!(junit.contains("<testcase name=\"Refund\""), "{junit}");
    assert!(junit.contains("<testcase name=\"Cake\""), "{junit}");
    assert_eq!(junit.matches("<failure ").count(), 1, "{junit}");
    assert!(
        junit.contains(
            "<failure message=\"Terminating phrase found in response: &apos;That is no good. FAIL&apos;\" type=\"verdict\""
        ) || junit.contains(
            "<failure message=\"Terminating phrase found in response: 'That is no good. FAIL'\" type=\"verdict\""
        ),
        "{junit}"
    );

    let html = std::fs::read_to_string(dir.path().join("html/index.html")).unwrap();
    assert!(html.contains("Refund"), "{html}");
    assert!(
        html.contains("I want &lt;b&gt;cake&lt;/b&gt; &amp; tea"),
        "{html}"
    );
    assert!(!html.contains("<b>cake</b>"), "{html}");
}

#[tokio::test]
async fn associate_id_puts_the_conversation_in_the_reports() {
    let model = openai().await;
    let genesys = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(basic_auth(CLIENT_ID, SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": TOKEN, "token_type": "bearer", "expires_in": 86399
        })))
        .mount(&genesys)
        .await;
    Mock::given(method("GET"))
        .and(path(PREFLIGHT))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "status": 404, "code": "not.found", "message": "Not found"
        })))
        .mount(&genesys)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(DETAILS))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "conversationId": "conv-ai-0001", "messengerType": "webmessaging"
        })))
        .mount(&genesys)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "refund.yml",
        &ai_file(
            "chatgpt",
            "",
            &scenario("Refund", "You want a refund for order 12345."),
        ),
    );
    let out = run(
        dir.path(),
        &[
            "ai",
            &file,
            "-a",
            "--simulate",
            &bot(),
            "--silence",
            "300ms",
            "--report-json",
            "r.json",
        ],
        &[
            ("OPENAI_API_KEY", KEY),
            ("OPENAI_BASE_URL", &format!("{}/v1", model.uri())),
            ("GENESYS_REGION", &genesys.uri()),
            ("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET),
        ],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stdout.contains("\nRefund (PASS - conv-ai-0001)\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nConversation: ") && out.stdout.contains("conv-ai-0001/admin\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["scenarios"][0]["conversation"]["id"], "conv-ai-0001");
    assert!(
        json["scenarios"][0]["conversation"]["link"]
            .as_str()
            .unwrap()
            .contains("conv-ai-0001"),
        "{json}"
    );
}
