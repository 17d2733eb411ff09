//! `ai` and quick replies: the model sees the offered options, and a message that is exactly
//! one of them clicks it (the bot of `tests/ai/offers.yml` answers clicks only).

mod ai;
mod common;
mod fake_model;

use ai::{AiRun, chatgpt_file, data};
use fake_model::{openai_server, text};

#[tokio::test]
async fn a_message_naming_an_option_clicks_it() {
    let server = openai_server(|asked| {
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
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Offer", "Accept the offer.");
    let out = AiRun::new(&file)
        .bot(&data("offers.yml"))
        .openai(&server, "k")
        .run(dir.path(), &["--silence", "300ms"]);
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "Chatbot: Would you like to hear today's offer? [Yes please] [No thanks]\nAI: yes please\nChatbot: 10% off everything today.\nAI: PASS\n"
        ),
        "{}",
        out.stdout
    );
}
