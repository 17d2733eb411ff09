//! Nothing a hostile or broken server does makes a conversation wait past its limits: a bot
//! that never stops talking, a `retryAfter` of eleven days, a server that refuses every
//! message. Each test runs a tiny WebSocket server of its own over real loopback sockets, with
//! generous real-time bounds.

use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::protocol::ServerError;
use genesys_web_messaging::{Conversation, ConversationOptions, Fault, SessionConfig, WaitFailure};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// How a hostile server answers.
#[derive(Clone, Copy)]
enum Hostile {
    /// Sends a bot message every half second, forever.
    Chatty,
    /// Answers every `onMessage` with 429 and this `retryAfter` (seconds).
    RateLimitEverything(u64),
}

fn bot_message(text: &str) -> String {
    json!({
        "type": "message", "class": "StructuredMessage", "code": 200,
        "body": {
            "type": "Text", "text": text, "direction": "Outbound",
            "id": uuid_like(), "originatingEntity": "Bot",
            "channel": { "time": jiff::Timestamp::now().to_string() }
        }
    })
    .to_string()
}

fn uuid_like() -> String {
    format!("{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    u128::from(h.finish())
}

/// Starts the server; returns its URL and a channel carrying every `onMessage` it receives.
async fn hostile(kind: Hostile) -> (String, mpsc::UnboundedReceiver<(Instant, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1", listener.local_addr().unwrap());
    let (seen, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut stream) = socket.split();
                let mut ticker = tokio::time::interval(Duration::from_millis(500));
                let mut started = false;
                let mut n = 0;
                loop {
                    tokio::select! {
                        frame = stream.next() => {
                            let Some(Ok(Message::Text(text))) = frame else { return };
                            let request: Value = serde_json::from_str(&text).unwrap();
                            let reply = match request["action"].as_str() {
                                Some("configureSession") => {
                                    started = true;
                                    json!({"type": "response", "class": "SessionResponse", "code": 200,
                                        "body": {"connected": true, "newSession": true}}).to_string()
                                }
                                Some("onMessage") => {
                                    let _ = seen.send((Instant::now(), request.clone()));
                                    match kind {
                                        Hostile::RateLimitEverything(retry_after) => json!({
                                            "type": "response", "class": "TooManyRequestsErrorMessage",
                                            "code": 429, "tracingId": request["tracingId"],
                                            "body": {"retryAfter": retry_after, "errorCode": 4029,
                                                "errorMessage": "Message rate too high for this session"}
                                        }).to_string(),
                                        Hostile::Chatty => continue,
                                    }
                                }
                                _ => continue,
                            };
                            if sink.send(Message::text(reply)).await.is_err() {
                                return;
                            }
                        }
                        _ = ticker.tick(), if started && matches!(kind, Hostile::Chatty) => {
                            n += 1;
                            if sink.send(Message::text(bot_message(&format!("still talking {n}")))).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (url, received)
}

async fn conversation(url: &str, options: ConversationOptions) -> Conversation {
    let config = SessionConfig::for_endpoint("test-deployment", url);
    let mut conversation = Conversation::connect(config, options).await.unwrap();
    conversation
        .wait_for_start(Duration::from_secs(20))
        .await
        .unwrap();
    conversation
}

#[tokio::test]
async fn a_bot_that_never_goes_quiet_gets_the_say_after_the_quiet_wait_limit() {
    let (url, mut received) = hostile(Hostile::Chatty).await;
    let mut conversation = conversation(
        &url,
        ConversationOptions {
            say_delay: Duration::from_secs(1),
            max_quiet_wait: Duration::from_secs(2),
            ..ConversationOptions::default()
        },
    )
    .await;
    let started = Instant::now();
    // Before the fix, pacing waited for a quiet second that never came: forever.
    tokio::time::timeout(Duration::from_secs(20), conversation.say("hello"))
        .await
        .expect("the say ends")
        .expect("and is sent");
    let (at, frame) = received.recv().await.unwrap();
    assert_eq!(frame["message"]["text"], "hello");
    let waited = at.duration_since(started);
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10),
        "sent after {waited:?}"
    );
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_and_a_wait_still_ends() {
    let (url, mut received) = hostile(Hostile::RateLimitEverything(1_000_000)).await;
    let mut conversation = conversation(
        &url,
        ConversationOptions {
            say_delay: Duration::ZERO,
            // The default cap is 30 s; a short one keeps the test quick.
            max_retry_after: Duration::from_millis(300),
            max_resends: 2,
            ..ConversationOptions::default()
        },
    )
    .await;
    conversation.say("hi").await.unwrap();
    let started = Instant::now();
    // Before the fix, the conversation slept the server's 1 000 000 s.
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        conversation.wait_for_reply_containing("anything", Duration::from_secs(2)),
    )
    .await
    .expect("the wait ends")
    .expect_err("no reply ever comes");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Two resends, then the third 429 ends the wait with the reason, mentioning the resends.
    assert!(
        matches!(
            &error.reason,
            WaitFailure::Server(Fault::Server(ServerError::TooManyRequests { .. }))
        ),
        "{error}"
    );
    let note = error.rate_limited.join("\n");
    assert!(note.contains("429") && note.contains("300 ms"), "{note}");
    let mut sends = 0;
    while received.try_recv().is_ok() {
        sends += 1;
    }
    assert_eq!(sends, 3, "the message and two resends");
}

#[test]
fn the_default_cap_on_retry_after_is_thirty_seconds() {
    assert_eq!(
        ConversationOptions::default().max_retry_after,
        Duration::from_secs(30)
    );
    assert_eq!(
        genesys_web_messaging::MAX_RETRY_AFTER,
        Duration::from_secs(30)
    );
}

#[tokio::test]
async fn absurd_durations_never_panic() {
    // Every deadline computed from Duration::MAX saturates instead of overflowing (each call
    // is cut short after a second: only a panic would fail this test).
    let config = SessionConfig {
        connect_timeout: Duration::from_millis(1),
        ..SessionConfig::for_endpoint("d", "ws://127.0.0.1:9/v1")
    };
    let _ = Conversation::connect(config, ConversationOptions::default()).await;
    let (url, _received) = hostile(Hostile::RateLimitEverything(1)).await;
    let mut conversation = Conversation::connect(
        SessionConfig::for_endpoint("d", &url),
        ConversationOptions {
            say_delay: Duration::MAX,
            max_quiet_wait: Duration::MAX,
            ..ConversationOptions::default()
        },
    )
    .await
    .unwrap();
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        conversation.wait_for_start(Duration::MAX),
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), conversation.say("x")).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        conversation.wait_for_next_reply(Duration::MAX),
    )
    .await;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        conversation.wait_for_replies_until_silence(Duration::MAX, Duration::MAX),
    )
    .await;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        conversation.wait_for_disconnect(Duration::MAX),
    )
    .await;
}
