//! One guest connection: the upgrade, then the protocol, until either side closes.
//!
//! A connection is one task running one loop. The loop waits for whichever comes first: the
//! simulator stopping, a scheduled bot action falling due, or a frame from the guest. Handling
//! a frame or an action is synchronous and yields the frames to write, so timestamps are taken
//! in the same order the frames go on the wire (except where `outOfOrder` asks otherwise).
//! Bot replies never block reading: they wait in a timer queue keyed by when they are due.

use crate::flow::Rule;
use crate::server::{Shared, check_upgrade, stopped};
use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::protocol::{
    ClientRequest, Direction, EventKind, FrameType, IncomingMessage, MessageEvent, OutgoingChannel,
    ServerFrame, SessionResponse, StructuredMessage, TooManyRequests,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

/// A guest that opens a TCP connection but never completes the upgrade is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same when the simulator shuts down: a guest that does not answer at once is not
/// worth keeping `shutdown` waiting.
const SHUTDOWN_CLOSE_TIMEOUT: Duration = Duration::from_millis(250);
/// Largest frame or message accepted from a guest.
const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// `onMessage` requests allowed per session within [`RATE_WINDOW`] (Genesys: 2 per second).
const RATE_LIMIT: usize = 2;
/// The rate-limit window.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Slack for scheduling jitter: a client that spaces its third message exactly one second
/// after its first must not be refused because the first one was read a few ms late.
const RATE_TOLERANCE: Duration = Duration::from_millis(50);

/// Serves one accepted TCP connection until it closes or the simulator stops.
#[expect(
    clippy::result_large_err,
    reason = "the shape of tungstenite's handshake callback"
)]
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let flow = &shared.flow;
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| check_upgrade(flow, request, response),
        Some(config),
    );
    let ws = tokio::select! {
        result = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake) => match result {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade timed out");
                return;
            }
        },
        () = stopped(&mut stop) => return,
    };
    tracing::debug!(target: "web_messaging_simulator", %peer, "guest connected");
    Connection::new(Arc::clone(&shared)).run(ws, stop).await;
    tracing::debug!(target: "web_messaging_simulator", %peer, "guest gone");
}

/// What to write after handling an event.
#[derive(Debug, PartialEq)]
pub(crate) enum Out {
    /// A text frame.
    Frame(String),
    /// Close the socket with code 1000.
    Close,
}

/// A bot action waiting for its time.
#[derive(Debug)]
enum Action {
    Reply {
        text: String,
        correlation_id: String,
    },
    /// `outOfOrder`: timestamps in this order, written in the reverse order.
    Reversed {
        texts: Vec<String>,
        correlation_id: String,
    },
    Disconnect {
        correlation_id: String,
    },
    Error {
        code: i64,
        body: String,
    },
    Raw(String),
    Close,
}

/// The guest session on this connection.
#[derive(Debug)]
struct Session {
    token: String,
    /// Index of the bot's current state.
    state: usize,
    /// Set once the bot's Presence Disconnect went out, or after `closeSession`.
    read_only: bool,
}

/// Hands out `channel.time` values: ISO-8601 UTC with milliseconds, strictly increasing.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last_ms: i64,
}

impl Clock {
    pub(crate) fn next(&mut self) -> String {
        let now = jiff::Timestamp::now().as_millisecond();
        let ms = now.max(self.last_ms.saturating_add(1));
        self.last_ms = ms;
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default()
    }
}

enum Event {
    Stop,
    Due,
    Incoming(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
}

pub(crate) struct Connection {
    shared: Arc<Shared>,
    session: Option<Session>,
    /// `session.respond: false` and a `configureSession` came: answer nothing any more.
    silent: bool,
    clock: Clock,
    /// Arrival times of the accepted `onMessage` requests still inside the rate window.
    recent: VecDeque<Instant>,
    /// Bot actions by due time, then by scheduling order.
    pending: BTreeMap<(Instant, u64), Action>,
    next_seq: u64,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>) -> Connection {
        Connection {
            shared,
            session: None,
            silent: false,
            clock: Clock::default(),
            recent: VecDeque::new(),
            pending: BTreeMap::new(),
            next_seq: 0,
        }
    }

    async fn run(mut self, mut ws: WebSocketStream<TcpStream>, mut stop: watch::Receiver<bool>) {
        loop {
            let due = self.pending.first_key_value().map(|(&(at, _), _)| at);
            let event = tokio::select! {
                biased;
                () = stopped(&mut stop) => Event::Stop,
                () = sleep_until(due) => Event::Due,
                incoming = ws.next() => Event::Incoming(incoming),
            };
            let mut out = match event {
                Event::Stop => {
                    close(
                        &mut ws,
                        CloseCode::Away,
                        "The simulator is shutting down",
                        SHUTDOWN_CLOSE_TIMEOUT,
                    )
                    .await;
                    return;
                }
                Event::Due => Vec::new(),
                Event::Incoming(None | Some(Err(_))) => return,
                Event::Incoming(Some(Ok(message))) => match message {
                    Message::Text(text) => self.handle_text(text.as_str(), Instant::now()),
                    Message::Binary(bytes) => self.handle_binary(&bytes),
                    Message::Close(_) => {
                        // tungstenite answers the close; the next read ends the stream.
                        self.pending.clear();
                        Vec::new()
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Vec::new(),
                },
            };
            // Whatever is due now goes out at once, in the same batch: a timer set for "now"
            // may need another millisecond to fire, and a frame read meanwhile would overtake
            // a zero-delay reply (or welcome message).
            out.extend(self.run_due(Instant::now()));
            if !write(&mut ws, out).await {
                return;
            }
        }
    }

    /// Handles one text frame from the guest.
    pub(crate) fn handle_text(&mut self, text: &str, now: Instant) -> Vec<Out> {
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        self.shared.record(
            parsed
                .clone()
                .unwrap_or_else(|| Value::String(text.to_string())),
        );
        if self.silent {
            return Vec::new();
        }
        let Some(value) = parsed else {
            return vec![bad_request(None)];
        };
        let tracing_id = value
            .get("tracingId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let request = match serde_json::from_value::<ClientRequest>(value) {
            Ok(request) => request,
            Err(_) => return vec![bad_request(tracing_id)],
        };
        match request {
            ClientRequest::ConfigureSession {
                token,
                start_new,
                tracing_id,
                ..
            } => self.configure(token, start_new.unwrap_or(false), tracing_id, now),
            _ if self.session.is_none() => vec![string_error(
                4007,
                "session not found error message",
                tracing_id,
            )],
            ClientRequest::OnMessage {
                message,
                tracing_id,
                ..
            } => self.on_message(message, tracing_id, now),
            ClientRequest::Echo {
                message,
                tracing_id,
                ..
            } => vec![echo_response(message, tracing_id)],
            ClientRequest::CloseSession { tracing_id, .. } => {
                if let Some(session) = self.session.as_mut() {
                    session.read_only = true;
                }
                vec![frame(
                    FrameType::Response,
                    "SessionResponse",
                    200,
                    SessionResponse {
                        connected: false,
                        read_only: Some(true),
                        ..SessionResponse::default()
                    },
                    tracing_id,
                )]
            }
        }
    }

    /// Handles one binary frame: never valid in this protocol.
    fn handle_binary(&mut self, bytes: &[u8]) -> Vec<Out> {
        self.shared
            .record(Value::String(String::from_utf8_lossy(bytes).into_owned()));
        if self.silent {
            Vec::new()
        } else {
            vec![bad_request(None)]
        }
    }

    fn configure(
        &mut self,
        token: String,
        start_new: bool,
        tracing_id: Option<String>,
        now: Instant,
    ) -> Vec<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        if !flow.session.respond {
            self.silent = true;
            return Vec::new();
        }
        if let Some(session) = &self.session
            && session.token == token
            && !start_new
        {
            // The same token again on this connection: the session resumes.
            return vec![frame(
                FrameType::Response,
                "SessionResponse",
                200,
                SessionResponse {
                    connected: true,
                    new_session: Some(false),
                    read_only: session.read_only.then_some(true),
                    ..SessionResponse::default()
                },
                tracing_id,
            )];
        }
        self.session = Some(Session {
            token,
            state: flow.start,
            read_only: false,
        });
        self.recent.clear();
        let out = vec![frame(
            FrameType::Response,
            "SessionResponse",
            200,
            SessionResponse {
                connected: true,
                new_session: Some(true),
                ..SessionResponse::default()
            },
            tracing_id,
        )];
        let mut at = now;
        for reply in &flow.session.welcome {
            at += reply.delay;
            self.push(
                at,
                Action::Reply {
                    text: reply.text.clone(),
                    correlation_id: Uuid::new_v4().to_string(),
                },
            );
        }
        out
    }

    fn on_message(
        &mut self,
        message: IncomingMessage,
        tracing_id: Option<String>,
        now: Instant,
    ) -> Vec<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let Some(session) = self.session.as_mut() else {
            return vec![string_error(
                4007,
                "session not found error message",
                tracing_id,
            )];
        };
        if session.read_only {
            return vec![string_error(400, "Conversation is read-only", tracing_id)];
        }
        while let Some(&oldest) = self.recent.front()
            && now.duration_since(oldest) >= RATE_WINDOW - RATE_TOLERANCE
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= RATE_LIMIT {
            return vec![frame(
                FrameType::Response,
                "TooManyRequestsErrorMessage",
                429,
                TooManyRequests {
                    retry_after: 1,
                    error_code: 4029,
                    error_message: "Message rate too high for this session".into(),
                },
                tracing_id,
            )];
        }
        self.recent.push_back(now);

        let correlation_id = Uuid::new_v4().to_string();
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.clone().into());
        let text = message.text.clone().unwrap_or_else(|| {
            message
                .content
                .iter()
                .find_map(|c| c.button_response.as_ref().map(|b| b.text.clone()))
                .unwrap_or_default()
        });
        let is_event = message.kind == "Event";
        let echo = StructuredMessage {
            id: Uuid::new_v4().to_string(),
            kind: message.kind,
            direction: Direction::Inbound,
            text: message.text,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: Some(Uuid::new_v4().to_string()),
                kind: None,
            }),
            content: message.content,
            events: message.events,
            metadata,
            originating_entity: Some(String::new()),
        };
        let out = vec![frame(
            FrameType::Message,
            "StructuredMessage",
            200,
            echo,
            tracing_id,
        )];
        if is_event {
            // Presence and typing events are echoed but do not speak to the bot.
            return out;
        }
        let state = &flow.states[session.state];
        if let Some(rule) = state.rules.iter().find(|rule| rule.when.matches(&text)) {
            if let Some(next) = rule.goto {
                tracing::trace!(
                    target: "web_messaging_simulator",
                    from = %state.name,
                    to = %flow.states[next].name,
                    "bot changes state"
                );
                session.state = next;
            }
            self.schedule(rule, now, correlation_id);
        }
        out
    }

    /// Queues a matched rule's actions, timed from the guest message's arrival.
    fn schedule(&mut self, rule: &Rule, arrival: Instant, correlation_id: String) {
        let mut at = arrival;
        if rule.out_of_order {
            for reply in &rule.replies {
                at += reply.delay;
            }
            if !rule.replies.is_empty() {
                let texts = rule.replies.iter().map(|r| r.text.clone()).collect();
                self.push(
                    at,
                    Action::Reversed {
                        texts,
                        correlation_id: correlation_id.clone(),
                    },
                );
            }
        } else {
            for reply in &rule.replies {
                at += reply.delay;
                self.push(
                    at,
                    Action::Reply {
                        text: reply.text.clone(),
                        correlation_id: correlation_id.clone(),
                    },
                );
            }
        }
        if rule.disconnect {
            self.push(
                at,
                Action::Disconnect {
                    correlation_id: correlation_id.clone(),
                },
            );
        }
        if let Some(error) = &rule.error {
            self.push(
                at,
                Action::Error {
                    code: error.code,
                    body: error.body.clone(),
                },
            );
        }
        for raw in &rule.raw {
            self.push(at, Action::Raw(raw.clone()));
        }
        if rule.close_socket {
            self.push(at, Action::Close);
        }
    }

    fn push(&mut self, at: Instant, action: Action) {
        self.pending.insert((at, self.next_seq), action);
        self.next_seq += 1;
    }

    /// Runs every action due at `now`, in order.
    pub(crate) fn run_due(&mut self, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(entry) = self.pending.first_entry()
            && entry.key().0 <= now
        {
            match entry.remove() {
                Action::Reply {
                    text,
                    correlation_id,
                } => out.push(self.bot_message(text, &correlation_id)),
                Action::Reversed {
                    texts,
                    correlation_id,
                } => {
                    let frames: Vec<Out> = texts
                        .into_iter()
                        .map(|text| self.bot_message(text, &correlation_id))
                        .collect();
                    out.extend(frames.into_iter().rev());
                }
                Action::Disconnect { correlation_id } => {
                    if let Some(session) = self.session.as_mut() {
                        session.read_only = true;
                    }
                    out.push(self.disconnect_event(&correlation_id));
                }
                Action::Error { code, body } => out.push(string_error(code, &body, None)),
                Action::Raw(text) => out.push(Out::Frame(text)),
                Action::Close => {
                    out.push(Out::Close);
                    self.pending.clear();
                    break;
                }
            }
        }
        out
    }

    fn bot_message(&mut self, text: String, correlation_id: &str) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.into());
        let message = StructuredMessage {
            id: Uuid::new_v4().simple().to_string(),
            kind: "Text".into(),
            direction: Direction::Outbound,
            text: Some(text),
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: None,
                kind: Some("Private".into()),
            }),
            metadata,
            originating_entity: Some("Bot".into()),
            ..StructuredMessage::default()
        };
        frame(FrameType::Message, "StructuredMessage", 200, message, None)
    }

    fn disconnect_event(&mut self, correlation_id: &str) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.into());
        metadata.insert("readOnly".into(), "true".into());
        let message = StructuredMessage {
            id: Uuid::new_v4().to_string(),
            kind: "Event".into(),
            direction: Direction::Outbound,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: Some(Uuid::new_v4().to_string()),
                kind: None,
            }),
            events: vec![MessageEvent {
                event_type: "Presence".into(),
                presence: Some(EventKind {
                    kind: "Disconnect".into(),
                    duration: None,
                }),
                typing: None,
            }],
            metadata,
            ..StructuredMessage::default()
        };
        frame(FrameType::Message, "StructuredMessage", 200, message, None)
    }
}

fn frame(
    frame_type: FrameType,
    class: &str,
    code: i64,
    body: impl Serialize,
    tracing_id: Option<String>,
) -> Out {
    Out::Frame(
        ServerFrame::new(frame_type, class, code, body)
            .with_tracing_id(tracing_id)
            .to_json(),
    )
}

fn string_error(code: i64, body: &str, tracing_id: Option<String>) -> Out {
    frame(FrameType::Response, "string", code, body, tracing_id)
}

fn bad_request(tracing_id: Option<String>) -> Out {
    string_error(400, "Request failed.", tracing_id)
}

/// The answer to an `echo` heartbeat: a `response` StructuredMessage without `channel`.
fn echo_response(message: IncomingMessage, tracing_id: Option<String>) -> Out {
    let body = StructuredMessage {
        id: Uuid::new_v4().to_string(),
        kind: "Text".into(),
        direction: Direction::Inbound,
        text: Some(message.text.unwrap_or_else(|| "ping".into())),
        ..StructuredMessage::default()
    };
    frame(
        FrameType::Response,
        "StructuredMessage",
        200,
        body,
        tracing_id,
    )
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes `out`; false when the connection is over (closed here, or the write failed).
async fn write(ws: &mut WebSocketStream<TcpStream>, out: Vec<Out>) -> bool {
    if out.is_empty() {
        return true;
    }
    for item in out {
        match item {
            Out::Frame(text) => {
                if ws.feed(Message::text(text)).await.is_err() {
                    return false;
                }
            }
            Out::Close => {
                if ws.flush().await.is_err() {
                    return false;
                }
                close(
                    ws,
                    CloseCode::Normal,
                    "The bot closed the connection",
                    CLOSE_TIMEOUT,
                )
                .await;
                return false;
            }
        }
    }
    ws.flush().await.is_ok()
}

/// Sends a close frame and waits (briefly) for the guest's answer.
async fn close(ws: &mut WebSocketStream<TcpStream>, code: CloseCode, reason: &str, wait: Duration) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(wait, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::BotFlow;

    fn connection(yaml: &str) -> Connection {
        let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
        Connection::new(Arc::new(Shared::new(flow)))
    }

    fn frames(out: Vec<Out>) -> Vec<Value> {
        out.into_iter()
            .map(|o| match o {
                Out::Frame(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                Out::Close => Value::String("<close>".into()),
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
        assert!(c.session.as_ref().unwrap().read_only);
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
        let t3 = t0 + Duration::from_millis(1000);
        assert_eq!(class(frames(c.handle_text(say, t3))), "StructuredMessage");
        // t0 and t1 have left the window (less the tolerance): one more fits, not two.
        let t4 = t0 + Duration::from_millis(1001);
        assert_eq!(class(frames(c.handle_text(say, t4))), "StructuredMessage");
        let t5 = t0 + Duration::from_millis(1002);
        assert_eq!(
            class(frames(c.handle_text(say, t5))),
            "TooManyRequestsErrorMessage"
        );
    }
}
