//! `ai` with `scripted`'s CI options: `--report-junit`, `--report-json`, `--report-html` and
//! `-a/--associate-id`, against the simulator (the refund bot of `tests/ai/bot.yml`), a scripted
//! model behind a local stand-in for OpenAI, and (for `-a`) a local stand-in for the Genesys
//! Cloud login and Platform API.

mod ai;
mod common;
mod fake_genesys;
mod fake_model;

use ai::{AiRun, ai_file, chatgpt_file, scenario};
use common::{read, read_json, write};
use fake_genesys::{details, login, preflight, token};
use fake_model::{Answer, Asked, openai_server, text};
use serde_json::Value;
use wiremock::MockServer;
use wiremock::matchers::{basic_auth, bearer_token};

const KEY: &str = "sk-test-0123456789abcdef";
const CLIENT_ID: &str = "test-client-id";
const SECRET: &str = "Sup3r-S3cret-Value-9f8e7d";
const TOKEN: &str = "token-abc";

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
    let server = openai_server(customer).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "refund.yml", &two_scenarios());
    let out = AiRun::new(&file).openai(&server, KEY).run(
        dir.path(),
        &[
            "--silence",
            "300ms",
            "--report-junit",
            "j.xml",
            "--report-json",
            "r.json",
            "--report-html",
            "html",
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

    let json: Value = read_json(&dir.path().join("r.json"));
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

    let junit = read(&dir.path().join("j.xml"));
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

    let html = read(&dir.path().join("html/index.html"));
    assert!(html.contains("Refund"), "{html}");
    assert!(
        html.contains("I want &lt;b&gt;cake&lt;/b&gt; &amp; tea"),
        "{html}"
    );
    assert!(!html.contains("<b>cake</b>"), "{html}");
}

#[tokio::test]
async fn associate_id_puts_the_conversation_in_the_reports() {
    let model = openai_server(customer).await;
    let genesys = MockServer::start().await;
    login()
        .and(basic_auth(CLIENT_ID, SECRET))
        .respond_with(token(TOKEN, 86399))
        .mount(&genesys)
        .await;
    preflight()
        .and(bearer_token(TOKEN))
        .respond_with(fake_genesys::error(404, "not.found", "Not found"))
        .mount(&genesys)
        .await;
    details()
        .and(bearer_token(TOKEN))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "conversationId": "conv-ai-0001", "messengerType": "webmessaging"
            })),
        )
        .mount(&genesys)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Refund", "You want a refund for order 12345.");
    let out = AiRun::new(&file)
        .openai(&model, KEY)
        .env("GENESYS_REGION", &genesys.uri())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
        .run(
            dir.path(),
            &["-a", "--silence", "300ms", "--report-json", "r.json"],
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

    let json: Value = read_json(&dir.path().join("r.json"));
    assert_eq!(json["scenarios"][0]["conversation"]["id"], "conv-ai-0001");
    assert!(
        json["scenarios"][0]["conversation"]["link"]
            .as_str()
            .unwrap()
            .contains("conv-ai-0001"),
        "{json}"
    );
}
