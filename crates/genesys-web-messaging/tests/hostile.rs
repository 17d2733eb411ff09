//! A hostile server: catastrophic patterns, oversize messages, floods, lying clocks. Each test
//! runs the library against a tiny WebSocket server that sends exactly what it is told.

use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::{
    Closed, Conversation, ConversationOptions, JsRegex, SessionConfig, WaitFailure,
};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const GENEROUS: Duration = Duration::from_secs(20);

/// A bot message frame with this text and `channel.time`.
fn bot(text: &str, time: &str) -> String {
    serde_json::json!({
        "type": "message",
        "class": "StructuredMessage",
        "code": 200,
        "body": {
            "text": text,
            "direction": "Outbound",
            "id": uuid_like(text),
            "type": "Text",
            "originatingEntity": "Bot",
            "channel": { "time": time },
        }
    })
    .to_string()
}

fn uuid_like(text: &str) -> String {
    format!("id-{}", text.len())
}

fn now_plus(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(jiff::Timestamp::now().as_millisecond() + ms)
        .unwrap()
        .to_string()
}

/// Starts a server that answers `configureSession`, then, on the guest's first `onMessage`,
/// sends what `frames` makes. Returns its URL.
async fn hostile(frames: impl Fn() -> Vec<String> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            if text.contains("configureSession") {
                let started = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;
                ws.send(Message::text(started)).await.unwrap();
            } else if text.contains("onMessage") {
                for frame in frames() {
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    url
}

async fn conversation(
    url: &str,
    config: impl FnOnce(SessionConfig) -> SessionConfig,
) -> Conversation {
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let mut conversation =
        Conversation::connect(config(SessionConfig::for_endpoint("d", url)), options)
            .await
            .expect("connects");
    conversation.wait_for_start(GENEROUS).await.expect("starts");
    conversation.say("hi").await.unwrap();
    conversation
}

const EVIL_REPLY: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"; // 40 characters

#[tokio::test]
async fn a_catastrophic_regular_pattern_is_matched_in_linear_time() {
    let url = hostile(|| vec![bot(EVIL_REPLY, &now_plus(0)), bot("done", &now_plus(1))]).await;
    let mut conversation = conversation(&url, |c| c).await;
    let pattern = JsRegex::new(r"(a+)+$", "im").unwrap();
    assert!(pattern.is_linear());
    let start = Instant::now();
    let err = conversation
        .wait_for_reply_matching(&pattern, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(err.reason, WaitFailure::TimedOut);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The same shape that does match is found at once.
    let found = JsRegex::new(r"^(a+)+!$", "im").unwrap();
    let reply = conversation
        .wait_for_reply_matching(&found, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(reply.message.text.as_deref(), Some(EVIL_REPLY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catastrophic_backtracking_pattern_fails_its_step_on_time() {
    let url = hostile(|| vec![bot(EVIL_REPLY, &now_plus(0))]).await;
    let mut conversation = conversation(&url, |c| c).await;
    // The lookahead keeps it on the backtracking engine.
    let pattern = JsRegex::new(r"(a+)+(?=b)", "im").unwrap();
    assert!(!pattern.is_linear());
    let start = Instant::now();
    let err = conversation
        .wait_for_reply_matching(&pattern, Duration::from_secs(2))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    let WaitFailure::TooExpensive(too) = &err.reason else {
        panic!("expected too expensive, got {:?}", err.reason);
    };
    assert_eq!(too.chars, 40);
    assert_eq!(
        err.to_string().lines().next().unwrap(),
        "Pattern /(a+)+(?=b)/im too expensive to match against a 40-character reply within \
         the step's timeout of 2000ms"
    );
}

#[tokio::test]
async fn a_backtracking_pattern_that_is_cheap_still_matches() {
    let url = hostile(|| vec![bot("your ORDER 42", &now_plus(0))]).await;
    let mut conversation = conversation(&url, |c| c).await;
    let pattern = JsRegex::new(r"(?<=order )\d+", "im").unwrap();
    assert!(!pattern.is_linear());
    conversation
        .wait_for_reply_matching(&pattern, Duration::from_secs(5))
        .await
        .expect("matches");
}

#[tokio::test]
async fn an_oversize_message_fails_clearly() {
    let url = hostile(|| vec![bot(&"x".repeat(5 << 20), &now_plus(0))]).await;
    let mut conversation = conversation(&url, |c| c).await;
    let start = Instant::now();
    let err = conversation
        .wait_for_reply_containing("x", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    let WaitFailure::Closed(Closed::LimitExceeded(reason)) = &err.reason else {
        panic!("expected a limit, got {:?}", err.reason);
    };
    assert!(
        reason.contains("over the limit of 1048576 bytes (max message size)"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_flood_beyond_the_cap_fails_clearly() {
    let url = hostile(|| {
        (0..500)
            .map(|i| bot(&format!("flood {i}"), &now_plus(i)))
            .collect()
    })
    .await;
    let mut conversation = conversation(&url, |c| c.max_messages(100)).await;
    let err = conversation
        .wait_for_reply_containing("never sent", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(
        err.reason,
        WaitFailure::Closed(Closed::LimitExceeded(
            "the bot sent more than 100 messages, the most a session keeps (max messages)".into()
        ))
    );
    assert!(conversation.session().log().snapshot().messages.len() <= 100);
}

#[tokio::test]
async fn a_message_from_the_year_9000_does_not_hide_later_replies() {
    let url = hostile(|| {
        vec![
            bot("from the future", "9000-01-01T00:00:00.000Z"),
            bot("second", &now_plus(0)),
        ]
    })
    .await;
    let mut conversation = conversation(&url, |c| c).await;
    let future = conversation
        .wait_for_reply_containing("future", GENEROUS)
        .await
        .unwrap();
    assert!(future.clamped_time.is_some());
    conversation
        .wait_for_reply_containing("second", Duration::from_secs(5))
        .await
        .expect("the later reply is still offered");
    let err = conversation
        .wait_for_reply_containing("third", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.received.is_empty());
}

#[tokio::test]
async fn a_clamped_message_is_flagged_in_the_failure() {
    let url = hostile(|| vec![bot("from the future", "9000-01-01T00:00:00.000Z")]).await;
    let mut conversation = conversation(&url, |c| c).await;
    let err = conversation
        .wait_for_reply_containing("nothing", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(err.received.len(), 1);
    assert!(
        err.received[0].contains("channel.time 9000-01-01T00:00:00Z was more than 60 s"),
        "{}",
        err.received[0]
    );
}
