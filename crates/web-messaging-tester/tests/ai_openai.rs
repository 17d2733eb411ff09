//! `ai` end to end with OpenAI's wire format: the built binary against the simulator (the
//! refund bot of `tests/ai/bot.yml`) and a scripted model behind a local HTTP server standing
//! in for OpenAI (`chatgpt`) or an OpenAI-compatible server.

mod ai;
mod common;
mod fake_model;

use ai::{AiRun, ai_file, chatgpt_file, scenario};
use common::write;
use fake_model::{
    Answer, Asked, Format, failing_server, model_requests, openai_base, openai_server, text,
};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const KEY: &str = "sk-test-0123456789abcdef";

/// The customer who wants a refund: answers the bot's questions, then says PASS.
fn refund_customer(asked: &Asked) -> Answer {
    // Latest first: a judge shown the whole transcript gets the final answer.
    let last = asked.last_user();
    // Like Genesys, the bot says nothing before the customer does: the customer opens.
    let opening = asked.messages.iter().all(|(role, _)| role != "assistant");
    if last.contains("refund is approved") {
        text("Great, thanks! PASS")
    } else if last.contains("order number") {
        text("It is 12345")
    } else if opening || last.contains("How can I help") {
        text("I would like a refund please")
    } else {
        text("I am confused. FAIL")
    }
}

#[tokio::test]
async fn chatgpt_plays_the_customer_and_passes() {
    let server = openai_server(refund_customer).await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Refund", "You want a refund for order 12345.");
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--silence", "300ms"]);
    assert_eq!(out.exit, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "
Refund (PASS)
---------------------
AI: I would like a refund please
Chatbot: Hello! I'm the refunds bot. How can I help?
Chatbot: I can help with that. What is your order number?
AI: It is 12345
Chatbot: Thank you.
Chatbot: Your refund is approved.
AI: Great, thanks! PASS

Terminating phrase found in response: 'Great, thanks! PASS'

Scenario Test Results
---------------------
PASS - Refund
"
    );
    let totals = out.totals.as_deref().unwrap_or_default();
    assert!(totals.starts_with("1 passed, 0 failed in "), "{totals}");
    assert!(out.stderr.contains("[STARTED] Refund"), "{}", out.stderr);
    assert!(
        out.stderr.contains("[SUCCESS] Refund (PASS)"),
        "{}",
        out.stderr
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4, "the preflight and three turns");
    for request in &requests {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {KEY}")
        );
        let body: Value = request.body_json().unwrap();
        assert_eq!(body["model"], "gpt-4o-mini");
    }
    let preflight: Value = requests[0].body_json().unwrap();
    assert_eq!(preflight["messages"][1]["content"], "What is 1+1?");
    let last = &model_requests(&server, Format::OpenAi).await[3];
    assert_eq!(last.system, "You want a refund for order 12345.");
    let roles: Vec<&str> = last.messages.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user", "assistant", "user"],
        "bot lines are the user's, the model's its own"
    );
    assert_eq!(last.messages[4].1, "Thank you.\nYour refund is approved.");
}

#[tokio::test]
async fn fail_phrases_fail_and_win_over_pass_phrases() {
    let server = openai_server(|_| text("This did not work: FAIL (not a PASS)")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Broken", "Complain.");
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--silence", "300ms"]);
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(out.stdout.contains("\nBroken (FAIL)\n"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "\nTerminating phrase found in response: 'This did not work: FAIL (not a PASS)'\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("\nFAIL - Broken\n"), "{}", out.stdout);
}

#[tokio::test]
async fn the_judge_decides_with_its_own_provider() {
    let customer = openai_server(refund_customer).await;
    // The judge is an OpenAI-compatible server with its own key: strict about one scenario.
    let judge = openai_server(|asked| {
        assert!(asked.last_user().contains("Customer: It is 12345"));
        assert!(
            asked
                .last_user()
                .contains("Chatbot: Your refund is approved.")
        );
        if asked.system.contains("strict") {
            text("FAIL: the bot never said sorry")
        } else {
            text("The bot approved the refund. PASS")
        }
    })
    .await;
    let follow_up = |name: &str, prompt: &str| {
        format!(
            "{}    followUp:\n      provider: openai-compatible\n      config:\n        baseUrl: {}\n        model: judge-model\n        apiKeyVariable: JUDGE_KEY\n      prompt: {prompt}\n      terminatingPhrases:\n        pass: [PASS]\n        fail: [FAIL]\n",
            scenario(name, "You want a refund."),
            openai_base(&judge)
        )
    };
    let scenarios = format!(
        "{}{}{}    followUp:\n      prompt: Same judge as the customer\n      terminatingPhrases:\n        pass: [Great]\n        fail: [Never]\n",
        follow_up("Lenient", "Did the bot approve a refund?"),
        follow_up("Strict", "You are a strict judge."),
        // No provider of its own: judged by config.ai's.
        scenario("Same provider", "You want a refund."),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "t.yml", &ai_file("chatgpt", "", &scenarios));
    let out_dir = dir.path().join("out");
    let out = AiRun::new(&file)
        .openai(&customer, KEY)
        .env("JUDGE_KEY", "judge-secret")
        .run(
            dir.path(),
            &[
                "--silence",
                "300ms",
                "-p",
                "3",
                "-o",
                out_dir.to_str().unwrap(),
                // The file's apiKeyVariable is read only when the command line names it too.
                "--api-key-variable",
                "JUDGE_KEY",
            ],
        );
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("\nJudge (PASS): The bot approved the refund. PASS\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\nJudge (FAIL): FAIL: the bot never said sorry\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("PASS - Lenient\nPASS - Same provider\nFAIL - Strict\n"),
        "{}",
        out.stdout
    );
    // The judge's server saw its preflight and two transcripts, with its key, never OpenAI's.
    let judged = judge.received_requests().await.unwrap();
    assert_eq!(judged.len(), 3);
    assert!(
        judged
            .iter()
            .all(|r| r.headers.get("authorization").unwrap() == "Bearer judge-secret")
    );
    let files = json_files(&out_dir);
    let strict = files
        .iter()
        .find(|(name, _)| name.starts_with("strict-"))
        .map(|(_, json)| json)
        .unwrap();
    assert_eq!(strict["reasonForEnd"]["type"], "pass");
    assert_eq!(strict["judge"]["verdict"], "fail");
    assert_eq!(strict["judge"]["reason"], "FAIL: the bot never said sorry");
    assert_eq!(strict["judge"]["model"], "judge-model");
    // Three turns of the customer (10 + 2 each) and the judge's answer.
    assert_eq!(strict["usage"]["promptTokens"], 40);
    assert_eq!(strict["usage"]["completionTokens"], 8);
}

/// Every `*.json` of `dir`, by name, parsed.
fn json_files(dir: &std::path::Path) -> Vec<(String, Value)> {
    let mut files: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(
                name.ends_with(".json"),
                "only output files are left: {name}"
            );
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[tokio::test]
async fn output_files_have_upstreams_fields_and_ours() {
    let server = openai_server(refund_customer).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file(
            "chatgpt",
            "      model: gpt-test\n      temperature: 0.5\n",
            &scenario("My Refund Test", "You want a refund."),
        ),
    );
    let out_dir = dir.path().join("results");
    let out = AiRun::new(&file).openai(&server, KEY).run(
        dir.path(),
        &["--silence", "300ms", "--out-dir", out_dir.to_str().unwrap()],
    );
    assert_eq!(out.exit, 0, "{out:?}");
    let files = json_files(&out_dir);
    assert_eq!(files.len(), 1);
    let (name, json) = &files[0];
    let stem = name.strip_suffix(".json").unwrap();
    let millis = stem.strip_prefix("my-refund-test-").unwrap();
    assert!(
        millis.chars().all(|c| c.is_ascii_digit()) && millis.len() >= 13,
        "{name}"
    );
    let text = std::fs::read_to_string(out_dir.join(name)).unwrap();
    let keys = [
        "placeholderValues",
        "prompt",
        "reasonForEnd",
        "transcript",
        "model",
        "turns",
        "usage",
    ];
    let at: Vec<usize> = keys
        .iter()
        .map(|k| text.find(&format!("\n  \"{k}\": ")).unwrap())
        .collect();
    assert!(at.is_sorted(), "upstream's keys first, in order: {text}");
    assert_eq!(json.as_object().unwrap().len(), keys.len());
    assert_eq!(json["placeholderValues"], serde_json::json!({}));
    assert_eq!(json["prompt"], "You want a refund.");
    assert_eq!(
        json["reasonForEnd"],
        serde_json::json!({"type": "pass", "description": "Terminating phrase found in response: 'Great, thanks! PASS'"})
    );
    assert_eq!(
        json["transcript"],
        serde_json::json!([
            {"role": "customer", "content": "I would like a refund please"},
            {"role": "bot", "content": "Hello! I'm the refunds bot. How can I help?\nI can help with that. What is your order number?"},
            {"role": "customer", "content": "It is 12345"},
            {"role": "bot", "content": "Thank you.\nYour refund is approved."},
            {"role": "customer", "content": "Great, thanks! PASS"},
        ])
    );
    assert_eq!(json["model"], "gpt-test");
    assert_eq!(json["turns"], 2);
    assert_eq!(
        json["usage"],
        serde_json::json!({"promptTokens": 30, "completionTokens": 6})
    );
    let body: Value = server.received_requests().await.unwrap()[1]
        .body_json()
        .unwrap();
    assert_eq!(body["temperature"], 0.5);
    assert!(text.starts_with("{\n  \"placeholderValues\": {},\n"));
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn placeholders_replace_every_occurrence_and_the_seed_repeats_them() {
    let server = openai_server(|asked| text(&format!("PASS as {}", asked.system))).await;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = "  Named:\n    setup:\n      prompt: You are {NAME}. Always sign as {NAME} from {CITY}.\n      placeholders:\n        NAME: [Ann, Bob, Cat, Dan, Eve, Fay]\n        CITY: [Leeds, York, Bath]\n        UNUSED: []\n      terminatingPhrases:\n        pass: [PASS]\n        fail: [FAIL]\n";
    let file = write(dir.path(), "t.yml", &ai_file("chatgpt", "", scenarios));
    let mut chosen = Vec::new();
    for attempt in 0..2 {
        let out_dir = dir.path().join(format!("out{attempt}"));
        let out = AiRun::new(&file).openai(&server, KEY).run(
            dir.path(),
            &[
                "--silence",
                "200ms",
                "--seed",
                "7",
                "-o",
                out_dir.to_str().unwrap(),
            ],
        );
        assert_eq!(out.exit, 0, "{out:?}");
        let files = json_files(&out_dir);
        let json = files[0].1.clone();
        let values = json["placeholderValues"].clone();
        let name = values["NAME"].as_str().unwrap().to_string();
        let city = values["CITY"].as_str().unwrap().to_string();
        assert_eq!(
            values.as_object().unwrap().len(),
            2,
            "empty lists are dropped"
        );
        assert_eq!(
            json["prompt"],
            format!("You are {name}. Always sign as {name} from {city}.")
        );
        assert!(
            out.stdout.contains(&format!(
                "---------------------\nNAME: {name}\nCITY: {city}\n\n"
            )),
            "{}",
            out.stdout
        );
        chosen.push(values);
    }
    assert_eq!(
        chosen[0], chosen[1],
        "the same seed chooses the same values"
    );
    let asked = model_requests(&server, Format::OpenAi).await;
    assert!(asked.iter().all(|a| !a.system.contains('{')), "{asked:?}");
}

#[tokio::test]
async fn the_turn_limit_ends_the_conversation() {
    let server = openai_server(|_| text("Hello?")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &format!(
            "config:\n  ai:\n    provider: chatgpt\n    maxTurns: 5\nscenarios:\n{}",
            scenario("Chatty", "Keep talking.")
        ),
    );
    let out_dir = dir.path().join("out");
    let out = AiRun::new(&file).openai(&server, KEY).run(
        dir.path(),
        &[
            "--silence",
            "200ms",
            "--max-turns",
            "2",
            "-o",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "\nThe conversation reached the limit of 2 turns without a terminating phrase\n"
        ),
        "{}",
        out.stdout
    );
    let json = &json_files(&out_dir)[0].1;
    assert_eq!(json["turns"], 2);
    assert_eq!(json["reasonForEnd"]["type"], "fail");
    // The preflight, two turns, and the last look that found no phrase.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_bot_disconnect_ends_the_conversation_after_a_last_look() {
    let server = openai_server(|asked| {
        let last = asked.last_user();
        if asked.system.contains("verdict") && last.contains("Goodbye!") {
            text("The bot said goodbye properly. PASS")
        } else if last.contains("Goodbye!") {
            text("Wait, come back")
        } else {
            text("bye")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = format!(
        "{}{}",
        scenario("Left", "Say bye."),
        scenario("Verdict", "Say bye, then give your verdict.")
    );
    let file = write(dir.path(), "t.yml", &ai_file("chatgpt", "", &scenarios));
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--silence", "300ms", "-p", "2"]);
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "\nLeft (FAIL)\n---------------------\nAI: bye\nChatbot: Hello! I'm the refunds bot. How can I help?\nChatbot: Goodbye!\n\nChatbot disconnected unexpectedly\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\nVerdict (PASS)\n"), "{}", out.stdout);
}

#[tokio::test]
async fn provider_errors_fail_their_scenario_and_the_others_go_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = openai_server(move |asked| {
        if asked.system.contains("Broken server") {
            Answer::Status(
                500,
                r#"{"error":{"message":"boom"}}"#.into(),
                vec![("retry-after", "0".into())],
            )
        } else if asked.system.contains("Garbage") {
            Answer::Raw("<html>not json</html>".into())
        } else if asked.system.contains("Silent") {
            text("   ")
        } else if asked.system.contains("Busy") && counted.fetch_add(1, Ordering::SeqCst) < 2 {
            // Rate-limited twice, then fine: retried, honouring Retry-After.
            Answer::Status(429, "slow down".into(), vec![("retry-after", "0".into())])
        } else {
            text("PASS")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = format!(
        "{}{}{}{}",
        scenario("Broken", "Broken server"),
        scenario("Garbage", "Garbage"),
        scenario("Silent", "Silent"),
        scenario("Busy", "Busy"),
    );
    let file = write(dir.path(), "t.yml", &ai_file("chatgpt", "", &scenarios));
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--silence", "200ms", "-p", "4"]);
    assert_eq!(out.exit, 1, "{out:?}");
    for expected in [
        // Error bodies are never quoted: only the status and a code, if any.
        "\nChatGPT failed: HTTP 500 Internal Server Error (after 4 attempts)\n",
        "\nChatGPT failed: the answer was not what the API returns (expected value at line 1 column 1; 21 bytes)\n",
        "\nAI didn't have a response\n",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    assert!(
        out.stdout
            .ends_with("PASS - Busy\nFAIL - Broken\nFAIL - Garbage\nFAIL - Silent\n"),
        "{}",
        out.stdout
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn keys_are_never_printed_logged_or_saved() {
    // A server that quotes the key back, as a careless proxy might.
    let echo = format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#);
    let server = failing_server(wiremock::ResponseTemplate::new(401).set_body_string(echo)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "S", "x");
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--verbose"]);
    assert_eq!(out.exit, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "error: The check to ensure ChatGPT can be used failed due to:\nHTTP 401 Unauthorized\n"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY));

    // And in a run that works, with every log on and files saved.
    let good = openai_server(refund_customer).await;
    let out_dir = dir.path().join("out");
    let out = AiRun::new(&file).openai(&good, KEY).run(
        dir.path(),
        &[
            "--silence",
            "200ms",
            "--verbose",
            "-o",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(
        out.stderr.contains("chat completion: HTTP 200"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY));
    for (_, json) in json_files(&out_dir) {
        assert!(!json.to_string().contains(KEY));
    }
}

#[tokio::test]
async fn openai_compatible_servers_need_no_key() {
    let server = openai_server(refund_customer).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "t.yml",
        &ai_file(
            "openai-compatible",
            &format!(
                "      baseUrl: {}\n      model: llama3.2\n      seed: 11\n",
                openai_base(&server)
            ),
            &scenario("Local", "You want a refund."),
        ),
    );
    // The file's baseUrl wins over the environment's, and OpenAI's key is not sent to it.
    let out = AiRun::new(&file)
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("OPENAI_API_KEY", KEY)
        .run(dir.path(), &["--silence", "200ms"]);
    assert_eq!(out.exit, 0, "{out:?}");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("authorization").is_none())
    );
    let body: Value = requests[1].body_json().unwrap();
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(body["seed"], 11);
}

#[tokio::test]
async fn the_time_limit_ends_a_slow_conversation() {
    let server = openai_server(|_| Answer::Slow(Duration::from_secs(3), "PASS".into())).await;
    let dir = tempfile::tempdir().unwrap();
    let file = chatgpt_file(dir.path(), "Slow", "x");
    let started = std::time::Instant::now();
    let out = AiRun::new(&file)
        .openai(&server, KEY)
        .run(dir.path(), &["--silence", "200ms", "--time-limit", "1s"]);
    assert_eq!(out.exit, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("\nThe conversation did not end within the time limit of 1 second\n"),
        "{}",
        out.stdout
    );
    // Cut at the limit, not after the model's 3 s answer.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
