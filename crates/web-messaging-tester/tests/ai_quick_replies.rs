//! `ai` and quick replies: the model sees the offered options, and a message that is exactly
//! one of them clicks it (the bot of `tests/ai/offers.yml` answers clicks only).

#[path = "ai/support.rs"]
mod support;

use support::{Format, Model, ai_file, data, run, scenario, text, write};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn a_message_naming_an_option_clicks_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Model::new(Format::OpenAi, |asked| {
            let last = asked.last_user();
            // The bot says nothing before the customer does: the customer opens.
            if asked.messages.iter().all(|(role, _)| role != "assistant") {
                text("hi")
            } else if last.contains("[Yes please] [No thanks]") {
                text("yes please")
            } else if last.contains("10% off") {
                text("PASS")
            } else {
                text("FAIL")
            }
        }))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file("chatgpt", "", &scenario("Offer", "Accept the offer.")),
    );
    let bot = data("offers.yml").display().to_string();
    let out = run(
        dir.path(),
        &["ai", &file, "--simulate", &bot, "--silence", "300ms"],
        &[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", &format!("{}/v1", server.uri())),
        ],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "Chatbot: Would you like to hear today's offer? [Yes please] [No thanks]\nAI: yes please\nChatbot: 10% off everything today.\nAI: PASS\n"
        ),
        "{}",
        out.stdout
    );
}
