//! A flow's `matches` pattern that backtracks catastrophically cannot stall the simulator: each
//! match has a bounded time (then counts as no match), and other guests are answered meanwhile.

mod support;

use std::time::{Duration, Instant};
use support::*;

const FLOW: &str = r#"
states:
  main:
    - when: { matches: "(a+)+(?=b)" }
      reply: "lookahead matched"
    - when: { matches: "(a+)+$" }
      reply: "linear matched"
    - when: { matches: "^(?<word>a+)!$" }
      reply: "captured {word}"
    - reply: "fallback"
"#;

const EVIL: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?"; // 40 characters

#[tokio::test]
async fn an_evil_pattern_does_not_stall_another_guest() {
    let sim = simulator(FLOW).await;
    let mut evil = configured(&sim).await;
    let mut other = configured(&sim).await;

    let start = Instant::now();
    // Two at once: Genesys' (and the simulator's) rate limit.
    for _ in 0..2 {
        evil.say(EVIL).await;
    }
    other.say_and_echo("hello").await;
    assert_eq!(other.reply().await, "fallback");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the other guest waited {:?}",
        start.elapsed()
    );
    let mut replies = Vec::new();
    while replies.len() < 2 {
        let frame = evil.next().await;
        if frame["body"]["direction"] == "Outbound" {
            replies.push(frame["body"]["text"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(replies, ["fallback"; 2]);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn linear_patterns_and_captures_still_work() {
    let sim = simulator(FLOW).await;
    let mut guest = configured(&sim).await;
    guest.say_and_echo("aaaa").await;
    assert_eq!(guest.reply().await, "linear matched");
    guest.say_and_echo("AAA!").await;
    assert_eq!(guest.reply().await, "captured AAA");
}
