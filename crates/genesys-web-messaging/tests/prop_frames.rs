//! Property tests of the frame decoder: whatever the server sends (random JSON values, mutated
//! real captures, random bytes), decoding it and reading what it holds never panics. (Recording
//! into the session log is the session task's alone: its property test is in `src/log.rs`.)
//!
//! Cases per property: `PROPTEST_CASES` (default 256, a few seconds).

use genesys_web_messaging::protocol::{ServerEvent, decode_server_frame};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Real frames, from the protocol reference.
const CAPTURES: &[&str] = &[
    r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true,"readOnly":false}}"#,
    r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"Hello world!","direction":"Inbound","id":"test_id","channel":{"time":"2022-08-22T19:24:26.704Z","messageId":"message_id"},"type":"Text"},"tracingId":"some_custom_message_id"}"#,
    r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"Hi, how can I help?","direction":"Outbound","id":"a1","channel":{"time":"2022-08-22T19:24:27.704Z","type":"Private"},"type":"Text","originatingEntity":"Bot","content":[{"contentType":"QuickReply","quickReply":{"text":"Yes","payload":"yes","action":"Message"}}]}}"#,
    r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"d1","type":"Event","events":[{"eventType":"Presence","presence":{"type":"Disconnect"}}]}}"#,
    r#"{"type":"response","class":"StructuredMessage","code":200,"body":{"text":"ping","type":"Text","direction":"Inbound","id":"echo_id"},"tracingId":"SGVhbHRoQ2hlY2tNZXNzYWdlSWQ="}"#,
    r#"{"type":"response","class":"string","code":403,"body":"Presence events Conversation Clear are not supported"}"#,
    r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high"},"tracingId":"t1"}"#,
    r#"{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}"#,
    r#"{"type":"message","class":"UploadSuccessEvent","code":200,"body":{"attachmentId":"abcd-1234","downloadUrl":"https://uploads.url/foo.png","timestamp":"2021-04-21T14:03:09.581Z"}}"#,
    r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"expected-jwt-token","exp":1623675564}}"#,
];

/// Decodes a frame and reads what it holds, as the session task does before recording it.
fn decode_and_record(text: &str) {
    if let Ok(frame) = decode_server_frame(text) {
        match frame.into_event() {
            ServerEvent::Message(message) => {
                let _ = message.is_reply();
                let _ = message.is_disconnect();
                let _ = genesys_web_messaging::readable(&message);
                let _ = message.channel.as_ref().and_then(|c| c.time.as_deref());
            }
            ServerEvent::SessionStarted(response) => {
                let _ = format!("{response:?}");
            }
            ServerEvent::Error(error) => {
                let _ = error.to_string();
            }
            ServerEvent::EchoResponse
            | ServerEvent::Unknown { .. }
            | ServerEvent::Unreadable { .. } => {}
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("StructuredMessage".to_string()),
            Just("SessionResponse".to_string()),
            Just("Outbound".to_string()),
            Just("9000-01-01T00:00:00Z".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("class".to_string()),
            Just("code".to_string()),
            Just("body".to_string()),
            Just("text".to_string()),
            Just("direction".to_string()),
            Just("channel".to_string()),
            Just("time".to_string()),
            Just("content".to_string()),
            Just("events".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn random_json_values_never_panic() {
    let mut runner = TestRunner::new(config());
    runner
        .run(&json_value(), |value| {
            decode_and_record(&value.to_string());
            // The same inside a frame envelope, so the body decoders run too.
            for class in ["StructuredMessage", "SessionResponse", "string", "TooManyRequestsErrorMessage"] {
                let frame = serde_json::json!({"type": "message", "class": class, "code": 200, "body": value});
                decode_and_record(&frame.to_string());
            }
            Ok(())
        })
        .unwrap();
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (
            any::<usize>(),
            prop_oneof![
                Just("{".to_string()),
                Just("\"".to_string()),
                Just("null".to_string()),
                Just("[]".to_string()),
                Just("\\u0000".to_string()),
                ".{1,4}"
            ]
        )
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(seed: &str, mutations: &[Mutation]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Insert(at, s) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, s.bytes());
            }
            Mutation::Replace(at, b) => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = *b;
                }
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_real_captures_never_panic() {
    let mut runner = TestRunner::new(config());
    let strategy = (
        0..CAPTURES.len(),
        proptest::collection::vec(mutation(), 1..6),
    );
    runner
        .run(&strategy, |(seed, mutations)| {
            decode_and_record(&mutate(CAPTURES[seed], &mutations));
            Ok(())
        })
        .unwrap();
    for capture in CAPTURES {
        assert!(decode_server_frame(capture).is_ok(), "{capture}");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut runner = TestRunner::new(config());
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            decode_and_record(&String::from_utf8_lossy(&bytes));
            Ok(())
        })
        .unwrap();
}
