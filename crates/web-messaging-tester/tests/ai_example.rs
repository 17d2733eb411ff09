//! `examples/ai` runs as its README says, with a scripted OpenAI-compatible server standing in
//! for Ollama (`OPENAI_BASE_URL`), against the simulated parcel bot.

mod ai;
mod common;
mod fake_model;

use ai::run;
use fake_model::{Answer, Asked, openai_base, openai_server, text};

/// A customer who follows the example's prompts, and a judge who likes what it reads.
fn example_model(asked: &Asked) -> Answer {
    let last = asked.last_user();
    if asked.system.starts_with("You review") {
        return text(
            "PASS - the chatbot said when the parcel arrives, and it did not fail to be polite.",
        );
    }
    if last.contains("will arrive today") || last.contains("pass you to one of our agents") {
        return text("PASS");
    }
    if asked.system.contains("speak to a person") {
        return text("Can I speak to a person, please?");
    }
    let number: String = asked
        .system
        .split("number is ")
        .nth(1)
        .map(|rest| rest.chars().take(8).collect())
        .unwrap_or_default();
    text(&format!("Hi, my tracking number is {number}"))
}

#[tokio::test]
async fn the_ai_example_runs_against_an_openai_compatible_server() {
    let server = openai_server(example_model).await;
    let out = run(
        &common::repo(),
        &[
            "ai",
            "examples/ai/track-parcel.yml",
            "--simulate",
            "examples/ai/bot.yml",
            "--silence",
            "700ms",
            "--seed",
            "1",
            "-p",
            "2",
        ],
        &[("OPENAI_BASE_URL", &openai_base(&server))],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    assert!(
        out.stdout
            .ends_with("\nScenario Test Results\n---------------------\nPASS - Tracks a parcel\nPASS - Asks for a person\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Chatbot: It is out for delivery and will arrive today between 2pm and 4pm. Can I help with anything else?\nAI: PASS\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\nJudge (PASS): PASS - the chatbot said"),
        "{}",
        out.stdout
    );
    let requests = server.received_requests().await.unwrap();
    let body: serde_json::Value = requests[1].body_json().unwrap();
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(body["temperature"], 0.0);
}
