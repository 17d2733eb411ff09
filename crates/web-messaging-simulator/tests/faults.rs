//! Fault injection over real loopback WebSockets: every fault, and its determinism under a seed.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio::time::Instant;
use web_messaging_simulator::{BotFlow, Simulator};

async fn seeded(yaml: &str, seed: u64) -> Simulator {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    Simulator::builder(flow)
        .seed(seed)
        .rate_limit(0)
        .start()
        .await
        .expect("simulator starts")
}

/// The texts of the next `n` bot messages, in wire order, and their `channel.time`s.
async fn replies(guest: &mut Guest, n: usize) -> (Vec<String>, Vec<String>) {
    let mut texts = Vec::new();
    let mut times = Vec::new();
    for _ in 0..n {
        let frame = guest.bot_message().await;
        texts.push(frame["body"]["text"].as_str().unwrap().to_string());
        times.push(time_of(&frame));
    }
    (texts, times)
}

#[tokio::test]
async fn out_of_order_swaps_adjacent_replies_but_keeps_their_times() {
    let sim = simulator(
        "faults:\n  outOfOrder: 1\nstates:\n  main:\n    - reply: [r1, r2, r3, r4, r5]\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("go").await;
    let (texts, times) = replies(&mut guest, 5).await;
    assert_eq!(texts, ["r2", "r1", "r4", "r3", "r5"]);
    // Sorting by channel.time restores the bot's order.
    let mut by_time: Vec<(String, String)> = times.into_iter().zip(texts).collect();
    by_time.sort();
    let sorted: Vec<&str> = by_time.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(sorted, ["r1", "r2", "r3", "r4", "r5"]);
}

#[tokio::test]
async fn out_of_order_with_a_probability_is_reproducible_with_the_seed() {
    let yaml = "faults:\n  outOfOrder: 0.5\nstates:\n  main:\n    - reply: [a, b, c, d, e, f, g, h, i, j]\n";
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let sim = seeded(yaml, seed).await;
        let mut orders = Vec::new();
        // Two guests: the second socket has generators of its own.
        for _ in 0..2 {
            let mut guest = configured(&sim).await;
            guest.say_and_echo("go").await;
            orders.push(replies(&mut guest, 10).await.0.concat());
        }
        runs.push(orders);
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
    assert_ne!(runs[0], runs[2], "another seed gives other faults");
    assert!(
        runs[0].iter().any(|order| order != "abcdefghij"),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn latency_delays_every_bot_frame_and_keeps_the_order() {
    let sim = simulator(
        "faults:\n  latencyMs: { min: 150, max: 250 }\nstates:\n  main:\n    - typing: true\n      reply: [one, two, three]\n      disconnect: true\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    let asked = Instant::now();
    guest.say("go").await;
    // The echo is the service's, not the bot's: it comes first, without latency.
    assert_eq!(guest.next().await["body"]["direction"], "Inbound");
    let mut seen = Vec::new();
    let mut times = Vec::new();
    for _ in 0..7 {
        let frame = guest.next().await;
        if seen.is_empty() {
            assert!(asked.elapsed() >= Duration::from_millis(140), "{frame}");
        }
        times.push(time_of(&frame));
        seen.push(match frame["body"]["type"].as_str() {
            Some("Event") => frame["body"]["events"][0]["eventType"]
                .as_str()
                .unwrap()
                .to_string(),
            _ => frame["body"]["text"].as_str().unwrap().to_string(),
        });
    }
    assert_eq!(
        seen,
        [
            "Typing", "one", "Typing", "two", "Typing", "three", "Presence"
        ]
    );
    for pair in times.windows(2) {
        assert!(pair[0] < pair[1], "{times:?}");
    }
}

#[tokio::test]
async fn the_bot_ignores_input_that_follows_its_last_message_too_closely() {
    let sim =
        simulator("faults:\n  ignoreInputWithinMs: 800\nstates:\n  main:\n    - reply: answer\n")
            .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("first").await;
    assert_eq!(guest.reply().await, "answer");
    // Right after the bot spoke: echoed, never answered.
    guest.say_and_echo("too soon").await;
    guest.expect_silence().await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    guest.say_and_echo("later").await;
    assert_eq!(guest.reply().await, "answer");
    let received = sim.received();
    assert_eq!(received[2]["message"]["text"], "too soon");
}

#[tokio::test]
async fn the_socket_is_dropped_without_a_close_frame_after_n_messages() {
    let sim = simulator(
        "faults:\n  dropAfterMessages: 2\nstates:\n  first:\n    - reply: one\n      goto: second\n  second:\n    - reply: two\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    // Events do not count.
    guest.send_message(event("Typing", "On")).await;
    guest.say_and_echo("a").await;
    assert_eq!(guest.reply().await, "one");
    guest.say_and_echo("b").await;
    guest.expect_dropped().await;
    // The session survives the socket: a reconnect resumes it (the dropped answer is lost).
    let mut again = connect_with_token(&sim, &guest.token).await;
    assert_eq!(again.configure().await["body"]["newSession"], false);
    again.say_and_echo("c").await;
    assert_eq!(again.reply().await, "two");
}

#[tokio::test]
async fn a_rule_can_drop_the_socket() {
    let sim = simulator(
        "states:\n  main:\n    - when: { contains: cut }\n      reply: bye\n      dropSocket: true\n    - reply: fine\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("cut it").await;
    assert_eq!(guest.reply().await, "bye");
    guest.expect_dropped().await;
    let mut other = configured(&sim).await;
    other.say_and_echo("hello").await;
    assert_eq!(other.reply().await, "fine");
}

#[tokio::test]
async fn the_error_rate_refuses_guest_messages_with_the_configured_error() {
    let sim = simulator(
        "faults:\n  errorRate: 1\n  error: { code: 503, body: Service unavailable }\nstates:\n  main:\n    - reply: unreachable\n",
    )
    .await;
    let mut guest = configured(&sim).await;
    guest
        .send(json!({"action":"onMessage","token":guest.token,"tracingId":"t1","message":{"type":"Text","text":"hi"}}))
        .await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":503,"body":"Service unavailable","tracingId":"t1"})
    );
    guest.expect_silence().await;
    // Events and heartbeats are not affected.
    assert_eq!(
        guest.send_message(event("Typing", "On")).await["body"]["type"],
        "Event"
    );
    let default_error = simulator("faults:\n  errorRate: 1\nstates:\n  main: []\n").await;
    let mut guest = connect(&default_error).await;
    guest.configure().await;
    guest.say("hi").await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":5000,"body":"Request failed."})
    );
}

#[tokio::test]
async fn the_error_rate_is_reproducible_with_the_seed() {
    let yaml = "faults:\n  errorRate: 0.5\nstates:\n  main: []\n";
    let mut runs = Vec::new();
    for seed in [3, 3] {
        let sim = seeded(yaml, seed).await;
        let mut guest = configured(&sim).await;
        let mut outcome = String::new();
        for n in 0..8 {
            guest.say(&format!("m{n}")).await;
            let frame: Value = guest.next().await;
            outcome.push(if frame["code"] == 5000 { 'E' } else { '.' });
        }
        runs.push(outcome);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains('E') && runs[0].contains('.'), "{runs:?}");
}

#[tokio::test]
async fn a_silent_configure_session_never_answers_and_others_are_unaffected() {
    let sim = simulator("session:\n  respond: false\nstates:\n  main: []\n").await;
    let mut guest = connect(&sim).await;
    let frame = guest.configure_frame();
    guest.send(frame).await;
    guest.expect_silence_for(Duration::from_millis(500)).await;
    guest.send_text("garbage").await;
    guest.expect_silence().await;
}
