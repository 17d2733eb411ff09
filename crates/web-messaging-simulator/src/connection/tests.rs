//! Unit tests of one connection, driven with synthetic times.

use super::machine::{Machine, Out};
use super::outgoing::Clock;
use crate::flow::BotFlow;
use crate::session::lock;
use crate::shared::Shared;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn connection(yaml: &str) -> Machine {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    let (machine, _notices) = Machine::new(Arc::new(Shared::new(
        flow,
        0,
        true,
        crate::SimulatorLimits::default(),
    )));
    machine
}

fn frames(out: Vec<Out>) -> Vec<Value> {
    out.into_iter()
        .map(|o| match o {
            Out::Frame(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            Out::Close(_) => Value::String("<close>".into()),
            Out::Drop => Value::String("<drop>".into()),
        })
        .collect()
}

#[test]
fn clock_is_iso_8601_with_milliseconds_and_strictly_increasing() {
    let mut clock = Clock::default();
    let times: Vec<String> = (0..50).map(|_| clock.next()).collect();
    for pair in times.windows(2) {
        assert!(pair[0] < pair[1], "{pair:?}");
    }
    let t = &times[0];
    assert_eq!(t.len(), "2024-01-01T10:00:00.000Z".len(), "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    assert!(t.parse::<jiff::Timestamp>().is_ok(), "{t}");
}

#[test]
fn replies_wait_for_their_cumulative_delays() {
    let mut c = connection(
        "states:\n  s:\n    - reply: [a, { text: b, delayMs: 100 }]\n      disconnect: true\n",
    );
    let t0 = Instant::now();
    let configure = r#"{"action":"configureSession","deploymentId":"d","token":"t"}"#;
    assert_eq!(c.handle_text(configure, t0).len(), 1);
    let out = frames(c.handle_text(
        r#"{"action":"onMessage","token":"t","message":{"type":"Text","text":"hi"}}"#,
        t0,
    ));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["body"]["direction"], "Inbound");
    let first = frames(c.run_due(t0));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["body"]["text"], "a");
    assert!(c.run_due(t0 + Duration::from_millis(99)).is_empty());
    let rest = frames(c.run_due(t0 + Duration::from_millis(100)));
    assert_eq!(rest[0]["body"]["text"], "b");
    assert_eq!(rest[1]["body"]["type"], "Event");
    assert!(lock(&c.session.as_ref().unwrap().session).read_only);
}

#[test]
fn the_rate_window_slides() {
    let mut c = connection("states:\n  s: []\n");
    let t0 = Instant::now();
    c.handle_text(
        r#"{"action":"configureSession","deploymentId":"d","token":"t"}"#,
        t0,
    );
    let say = r#"{"action":"onMessage","token":"t","message":{"type":"Text","text":"x"}}"#;
    let class = |out: Vec<Value>| out[0]["class"].as_str().unwrap_or_default().to_string();
    assert_eq!(class(frames(c.handle_text(say, t0))), "StructuredMessage");
    let t1 = t0 + Duration::from_millis(10);
    assert_eq!(class(frames(c.handle_text(say, t1))), "StructuredMessage");
    let t2 = t0 + Duration::from_millis(500);
    assert_eq!(
        class(frames(c.handle_text(say, t2))),
        "TooManyRequestsErrorMessage"
    );
    // Exactly 2 per rolling second, no slack: t0 leaves the window at t0 + 1 s, t1 at
    // t1 + 1 s, and not a millisecond earlier.
    let t3 = t0 + Duration::from_millis(1000);
    assert_eq!(class(frames(c.handle_text(say, t3))), "StructuredMessage");
    let t4 = t0 + Duration::from_millis(1009);
    let refused = frames(c.handle_text(say, t4));
    assert_eq!(refused[0]["class"], "TooManyRequestsErrorMessage");
    // The captured frame: retryAfter 3, no tracingId.
    assert_eq!(refused[0]["body"]["retryAfter"], 3);
    assert!(refused[0].get("tracingId").is_none());
    let t5 = t0 + Duration::from_millis(1010);
    assert_eq!(class(frames(c.handle_text(say, t5))), "StructuredMessage");
    let t6 = t0 + Duration::from_millis(1011);
    assert_eq!(
        class(frames(c.handle_text(say, t6))),
        "TooManyRequestsErrorMessage"
    );
}

#[test]
fn the_machine_says_when_the_shell_must_wake_it() {
    let mut c = connection("states:\n  s:\n    - reply: [{ text: a, delayMs: 100 }]\n");
    let t0 = Instant::now();
    // Unconfigured: woken to close the socket if no configureSession comes in time.
    let first = c.next_deadline(None).expect("a configure deadline");
    assert!(first <= t0 + Duration::from_secs(10) && first > t0 + Duration::from_secs(9));
    c.handle_text(
        r#"{"action":"configureSession","deploymentId":"d","token":"t"}"#,
        t0,
    );
    c.handle_text(
        r#"{"action":"onMessage","token":"t","message":{"type":"Text","text":"hi"}}"#,
        t0,
    );
    // The reply falls due before the idle timeout; a read pause before both.
    assert_eq!(c.next_deadline(None), Some(t0 + Duration::from_millis(100)));
    let pause = t0 + Duration::from_millis(5);
    assert_eq!(c.next_deadline(Some(pause)), Some(pause));
    assert!(c.catch_up(t0 + Duration::from_millis(99)).is_empty());
    let out = frames(c.catch_up(t0 + Duration::from_millis(100)));
    assert_eq!(out[0]["body"]["text"], "a");
}
