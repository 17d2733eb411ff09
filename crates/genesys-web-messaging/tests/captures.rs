//! The client against real captures and their lenient variants, served by a tiny WebSocket
//! server that knows nothing of the project's serde types: it writes raw JSON text, exactly as
//! Genesys' captures record it (agent messages with `channel.from`, DatePicker and Attachment
//! content, lower-case `direction`, `content: null`, a float `expirationDate`, a 429 without
//! `tracingId`). Real loopback sockets, generous deadlines, no fixed sleeps.

use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::protocol::{Sender, ServerError};
use genesys_web_messaging::{
    Conversation, ConversationOptions, Expectation, Fault, SenderKind, SessionConfig, Speaker,
    WaitFailure,
};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// What the server answers to each request: the raw frames, given the request. `{TRACING}` in
/// a frame becomes the request's `tracingId`; `{NOW}` the current time (ISO-8601).
type Script = Box<dyn Fn(&Value, usize) -> Vec<String> + Send + Sync>;

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn fill(frame: &str, request: &Value) -> String {
    frame
        .replace(
            "{TRACING}",
            request["tracingId"].as_str().unwrap_or_default(),
        )
        .replace("{NOW}", &now())
}

/// Starts the server; returns its URL and a channel of every request it received, with the
/// instant it read it.
async fn serve(
    session_response: &'static str,
    on_message: Script,
) -> (String, mpsc::UnboundedReceiver<(Instant, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1", listener.local_addr().unwrap());
    let (seen, received) = mpsc::unbounded_channel();
    let on_message = std::sync::Arc::new(on_message);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let on_message = std::sync::Arc::clone(&on_message);
            tokio::spawn(async move {
                let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut stream) = socket.split();
                let mut n = 0;
                while let Some(Ok(frame)) = stream.next().await {
                    let Message::Text(text) = frame else { continue };
                    let request: Value = serde_json::from_str(&text).unwrap();
                    let _ = seen.send((Instant::now(), request.clone()));
                    let frames = match request["action"].as_str() {
                        Some("configureSession") => vec![fill(session_response, &request)],
                        Some("onMessage") => {
                            n += 1;
                            on_message(&request, n)
                                .iter()
                                .map(|f| fill(f, &request))
                                .collect()
                        }
                        _ => continue,
                    };
                    for frame in frames {
                        if sink.send(Message::text(frame)).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, received)
}

const SESSION: &str = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;

/// The Inbound echo of the guest's text, as captured (with the request's tracingId).
fn echo(request: &Value) -> String {
    let text = request["message"]["text"].as_str().unwrap_or_default();
    serde_json::json!({"type":"message","class":"StructuredMessage","code":200,
        "body":{"originatingEntity":"","text":text,"direction":"Inbound","id":"e-1",
            "channel":{"time":now(),"messageId":"m-1"},"type":"Text",
            "metadata":{"correlationId":"c-1"}},
        "tracingId":"{TRACING}"})
    .to_string()
}

fn fast() -> ConversationOptions {
    ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    }
}

async fn started(url: &str) -> Conversation {
    let config = SessionConfig::for_endpoint("test-deployment", url);
    let mut conversation = Conversation::connect(config, fast()).await.unwrap();
    conversation
        .wait_for_start(Duration::from_secs(20))
        .await
        .unwrap();
    conversation
}

const AGENT: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"a1","type":"Text","text":"Hi, I'm Anna","direction":"Outbound","originatingEntity":"Human","channel":{"time":"{NOW}","messageId":"m2","type":"Private","from":{"nickname":"Anna","image":"https://example.com/anna.png"}},"metadata":{"correlationId":"c"}}}"#;
const BOT: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"Transferring you","direction":"Outbound","id":"0123456789abcdef0123456789abcdef","channel":{"time":"{NOW}","type":"Private"},"type":"Text","originatingEntity":"Bot","metadata":{"correlationId":"c"}}}"#;

#[tokio::test]
async fn agent_messages_are_told_apart_from_the_bots() {
    let (url, _) = serve(
        SESSION,
        Box::new(|request, _| vec![echo(request), BOT.into(), AGENT.into()]),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("agent please").await.unwrap();
    // `from: agent` skips the bot's reply, though it contains the text too.
    let reply = conversation
        .wait_for_reply(
            &Expectation::containing("i").from(SenderKind::Agent),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    match reply.message.sender() {
        Sender::Agent(agent) => {
            assert_eq!(agent.nickname.as_deref(), Some("Anna"));
            assert_eq!(agent.image.as_deref(), Some("https://example.com/anna.png"));
        }
        other => panic!("expected an agent, got {other:?}"),
    }
    let transcript = conversation.transcript();
    let rendered = transcript.render("You", "Them");
    assert_eq!(
        rendered,
        [
            "You: agent please",
            "Them: Transferring you",
            "Agent (Anna): Hi, I'm Anna"
        ]
    );
    assert_eq!(transcript.lines[2].speaker, Speaker::Agent);
    conversation.close().await;
}

#[tokio::test]
async fn wait_for_agent_by_nickname_and_from_bot() {
    let (url, _) = serve(
        SESSION,
        Box::new(|request, _| vec![echo(request), AGENT.into(), BOT.into()]),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("hello").await.unwrap();
    conversation
        .wait_for_agent(Some("anna"), Duration::from_secs(20))
        .await
        .unwrap();
    // The agent's message came first; a bot-only wait still finds the bot's.
    let mut conversation2 = started(&url).await;
    conversation2.say("hello").await.unwrap();
    let reply = conversation2
        .wait_for_reply(
            &Expectation::Any.from(SenderKind::Bot),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(reply.message.sender(), Sender::Bot);
    // No agent named Bob: the wait times out, listing what came.
    let error = conversation2
        .wait_for_agent(Some("Bob"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(error.reason, WaitFailure::TimedOut);
    assert_eq!(error.expected, "a message from the agent Bob");
    conversation.close().await;
    conversation2.close().await;
}

const DATE_PICKER: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"dp-1","channel":{"time":"{NOW}","type":"Private"},"type":"Structured","text":"When suits you?","content":[{"contentType":"DatePicker","datePicker":{"title":"Book","subtitle":"a slot","imageUrl":"https://example.com/i.png","availableTimes":[{"duration":3600,"dateTime":"2025-01-31T09:00:00.000Z"},{"duration":3600,"dateTime":"2025-01-31T10:00:00.000Z"}]}}],"originatingEntity":"Bot"}}"#;

#[tokio::test]
async fn date_pickers_are_asserted_and_answered_as_documented() {
    let (url, mut received) = serve(
        SESSION,
        Box::new(|request, n| {
            if n == 1 {
                vec![echo(request), DATE_PICKER.into()]
            } else {
                vec![]
            }
        }),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("book").await.unwrap();
    conversation
        .wait_for_date_picker(&["2025-01-31T10:00:00+00:00"], Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        conversation.transcript().render("You", "Them")[1],
        "Them: When suits you? [date picker: 2 slots: 2025-01-31T09:00:00.000Z, 2025-01-31T10:00:00.000Z]"
    );
    let missing = conversation.pick_date("2030-01-01T00:00:00Z").await;
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("No date picker offered a slot at '2030-01-01T00:00:00Z'")
    );
    conversation
        .pick_date("2025-01-31T11:00:00+01:00")
        .await
        .unwrap();
    let answer = loop {
        let (_, request) = tokio::time::timeout(Duration::from_secs(20), received.recv())
            .await
            .unwrap()
            .unwrap();
        if request["action"] == "onMessage" && request["message"]["content"].is_array() {
            break request;
        }
    };
    let response = &answer["message"]["content"][0];
    assert_eq!(response["contentType"], "ButtonResponse");
    assert_eq!(response["buttonResponse"]["type"], "DatePicker");
    // The slot's dateTime as the bot wrote it, and the DatePicker message's id.
    assert_eq!(
        response["buttonResponse"]["payload"],
        "2025-01-31T10:00:00.000Z"
    );
    assert_eq!(response["buttonResponse"]["originatingMessageId"], "dp-1");
    conversation.close().await;
}

const ATTACHMENT: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","channel":{"time":"{NOW}","type":"Private","from":{"firstName":"Tony","lastName":"Stark"}},"type":"Text","text":"Hi","content":[{"attachment":{"id":"attachment_id","filename":"invoice.pdf","mediaType":"File","fileSize":4242,"mime":"application/pdf","url":"https://downloadurl.com"},"contentType":"Attachment"}],"originatingEntity":"Human"}}"#;

#[tokio::test]
async fn attachments_are_asserted_and_shown_by_name() {
    let (url, _) = serve(
        SESSION,
        Box::new(|request, _| vec![echo(request), ATTACHMENT.into()]),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("send it").await.unwrap();
    let error = conversation
        .wait_for_attachment(
            Some("invoice.pdf"),
            Some("Image"),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert_eq!(error.reason, WaitFailure::TimedOut);
    let reply = conversation
        .wait_for_attachment(Some("INVOICE.PDF"), Some("file"), Duration::from_secs(20))
        .await
        .unwrap();
    let attachment = reply.message.attachments().next().unwrap();
    assert_eq!(attachment.file_size, Some(4242));
    assert_eq!(
        conversation.transcript().render("You", "Them")[1],
        "Agent (Tony Stark): Hi [attachment: invoice.pdf (application/pdf)]"
    );
    conversation.close().await;
}

#[tokio::test]
async fn lenient_frames_are_read_and_the_rest_become_warnings() {
    // Lower-case direction, `content: null`, `events: null`, `metadata: null`, a numeric
    // channel.time: all read. A direction that means nothing, and an unknown class: warnings.
    let (url, _) = serve(
        r#"{"type":"Response","class":"SessionResponse","code":"200","body":{"connected":true,"newSession":true,"expirationDate":1893456000.5,"durationSeconds":"3600","allowedMedia":null}}"#,
        Box::new(|request, _| {
            let echoed = echo(request);
            // Epoch milliseconds, a millisecond after the echo's time.
            let at = jiff::Timestamp::now().as_millisecond() + 1;
            vec![
                echoed,
                format!(
                    r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"id":"x1","type":"Text","text":"lenient hello","direction":"outbound","content":null,"events":null,"metadata":null,"originatingEntity":"Bot","channel":{{"time":{at},"type":"Private"}}}}}}"#
                ),
                r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"x2","type":"Text","text":"sideways","direction":"Sideways"}}"#.into(),
                r#"{"type":"message","class":"BrandNewEvent","code":200,"body":{"secret":"no"}}"#.into(),
                r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"x3","type":"Structured","text":"Fill this in","direction":"OUTBOUND","originatingEntity":"Bot","content":[{"contentType":"Form","form":{"fields":[]}}]}}"#.into(),
            ]
        }),
    )
    .await;
    let config = SessionConfig::for_endpoint("test-deployment", &url);
    let mut conversation = Conversation::connect(config, fast()).await.unwrap();
    let session = conversation
        .wait_for_start(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(session.expiration_date, Some(1_893_456_000));
    assert_eq!(session.duration_seconds, Some(3600));
    conversation.say("hi").await.unwrap();
    conversation
        .wait_for_reply_containing("lenient hello", Duration::from_secs(20))
        .await
        .unwrap();
    conversation
        .wait_for_reply_containing("fill this in", Duration::from_secs(20))
        .await
        .unwrap();
    let lines = conversation.transcript().render("You", "Them");
    assert_eq!(
        lines,
        [
            "You: hi",
            "Them: lenient hello",
            "Them: Fill this in [unsupported content: Form]"
        ]
    );
    let warnings = conversation.session().log().warning_lines();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "Genesys sent a StructuredMessage that could not be read (unknown direction 'Sideways'"
        ) && warnings[0].contains(r#""text":"sideways""#),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with(
            "Genesys sent a frame of class BrandNewEvent, which this tool does not use: "
        ),
        "{warnings:?}"
    );
    conversation.close().await;
}

#[tokio::test]
async fn an_unreadable_session_response_fails_the_start_saying_so() {
    let (url, _) = serve(
        r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":{"very":"odd"}}}"#,
        Box::new(|_, _| vec![]),
    )
    .await;
    let config = SessionConfig::for_endpoint("test-deployment", &url);
    let mut conversation = Conversation::connect(config, fast()).await.unwrap();
    let started = Instant::now();
    let error = conversation
        .wait_for_start(Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed at once"
    );
    match &error.reason {
        WaitFailure::Server(fault @ Fault::UnreadableSession { .. }) => {
            let text = fault.to_string();
            assert!(
                text.starts_with("Genesys answered configureSession with a SessionResponse that could not be read (expected a boolean, found an object"),
                "{text}"
            );
            assert!(text.contains(r#""very":"odd""#), "{text}");
        }
        other => panic!("unexpected {other:?}"),
    }
    conversation.close().await;
}

#[tokio::test]
async fn every_request_carries_a_fresh_tracing_id() {
    let (url, mut received) = serve(SESSION, Box::new(|request, _| vec![echo(request)])).await;
    let mut conversation = started(&url).await;
    conversation.say("one").await.unwrap();
    conversation.say("two").await.unwrap();
    let mut ids = Vec::new();
    while ids.len() < 3 {
        let (_, request) = tokio::time::timeout(Duration::from_secs(20), received.recv())
            .await
            .unwrap()
            .unwrap();
        let id = request["tracingId"]
            .as_str()
            .expect("a tracingId")
            .to_string();
        assert!(!id.is_empty());
        ids.push((request["action"].as_str().unwrap().to_string(), id));
    }
    assert_eq!(ids[0].0, "configureSession");
    let unique: std::collections::HashSet<_> = ids.iter().map(|(_, id)| id).collect();
    assert_eq!(unique.len(), 3, "{ids:?}");
    conversation.close().await;
}

/// The captured 429 frame: no tracingId.
const RATE_LIMITED: &str = r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":2,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}"#;

#[tokio::test]
async fn a_429_without_tracing_id_resends_the_oldest_unanswered_message() {
    // The first 'second' is refused with the captured frame (retryAfter 2, no tracingId); the
    // wait of 1 s that follows still gets its reply, and a later failure names the 429.
    let (url, mut received) = serve(
        SESSION,
        Box::new(|request, n| {
            let text = request["message"]["text"].as_str().unwrap_or_default();
            match (text, n) {
                ("second", 2) => vec![RATE_LIMITED.into()],
                ("second", _) => vec![echo(request), BOT.replace("Transferring you", "got second")],
                _ => vec![echo(request)],
            }
        }),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("first").await.unwrap();
    conversation.say("second").await.unwrap();
    let started = Instant::now();
    // Shorter than retryAfter: the pause does not count against the wait.
    conversation
        .wait_for_reply_containing("got second", Duration::from_secs(1))
        .await
        .expect("the resent message is answered");
    assert!(started.elapsed() >= Duration::from_millis(1900));
    let mut texts = Vec::new();
    while texts.len() < 3 {
        let (_, request) = tokio::time::timeout(Duration::from_secs(20), received.recv())
            .await
            .unwrap()
            .unwrap();
        if request["action"] == "onMessage" {
            texts.push(request["message"]["text"].as_str().unwrap().to_string());
        }
    }
    // 'second' again, never 'first' (it was echoed).
    assert_eq!(texts, ["first", "second", "second"]);
    conversation.close().await;
}

#[tokio::test]
async fn a_step_that_still_fails_names_every_429_it_met() {
    let (url, _) = serve(
        SESSION,
        Box::new(|request, n| {
            if n == 1 {
                vec![echo(request)]
            } else {
                vec![RATE_LIMITED.replace("\"retryAfter\":2", "\"retryAfter\":0.2")]
            }
        }),
    )
    .await;
    let mut conversation = started(&url).await;
    conversation.say("first").await.unwrap();
    conversation.say("second").await.unwrap();
    let error = conversation
        .wait_for_reply_containing("never", Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.reason,
            WaitFailure::Server(Fault::Server(ServerError::TooManyRequests { .. }))
        ),
        "{error}"
    );
    // Three resends (the default), each named, then the fourth 429 ends the wait.
    assert_eq!(error.rate_limited.len(), 3, "{error}");
    for note in &error.rate_limited {
        assert!(
            note.starts_with("Genesys rate-limited the message 'second' (429, retry after 1 s; matched by the oldest message not yet echoed"),
            "{note}"
        );
    }
    conversation.close().await;
}

#[tokio::test]
async fn pacing_keeps_two_per_rolling_second_from_write_times() {
    let (url, mut received) = serve(SESSION, Box::new(|request, _| vec![echo(request)])).await;
    let mut conversation = started(&url).await;
    for n in 0..5 {
        conversation.say(&format!("m{n}")).await.unwrap();
    }
    let mut times = Vec::new();
    while times.len() < 5 {
        let (at, request) = tokio::time::timeout(Duration::from_secs(20), received.recv())
            .await
            .unwrap()
            .unwrap();
        if request["action"] == "onMessage" {
            times.push(at);
        }
    }
    // Read by the server: any three consecutive at least a second apart.
    for window in times.windows(3) {
        let gap = window[2].duration_since(window[0]);
        assert!(gap >= Duration::from_millis(990), "{gap:?}");
    }
    conversation.close().await;
}
