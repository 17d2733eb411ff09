//! One guest connection: the upgrade, then the protocol, until either side closes.
//!
//! A connection is one task running one loop. The loop waits for whichever comes first: the
//! simulator stopping, a notice from another socket of the same session, a scheduled action
//! (or the session's expiry) falling due, or a frame from the guest. Handling any of these is
//! synchronous and yields the frames to write, so timestamps are taken in the order the frames
//! go on the wire (except where an out-of-order fault asks otherwise). Bot replies never block
//! reading: they wait in a timer queue keyed by when they are due.
//!
//! The conversation itself (state, captured values, read-only flag, expiry) lives in the
//! session store shared by every socket; the timer queue, the random generators and the fault
//! counters belong to the socket.

use crate::flow::{BotFlow, Captures, CardTemplate, GuestInput, Reply, Rule};
use crate::frames;
use crate::http::{self, Head, Rewind};
use crate::limits::FrameBudget;
use crate::rest;
use crate::server::{OpenConnection, Shared, check_upgrade, query_value, stopped};
use crate::session::{Lookup, Notice, SessionState, SharedSession, lock};
use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::protocol::{
    Card, CardAction, Carousel, Content, Direction, EventKind, FrameType, MessageEvent,
    OutgoingChannel, QuickReply, ServerFrame, StructuredMessage,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use uuid::Uuid;

/// How long a close handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same when the simulator shuts down: a guest that does not answer at once is not
/// worth keeping `shutdown` waiting.
const SHUTDOWN_CLOSE_TIMEOUT: Duration = Duration::from_millis(250);
/// The rate-limit window: `limits.rateLimit.messagesPerSecond` `onMessage` requests per
/// session in any rolling second (Genesys: 2).
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The longest attachment file name, in characters (4005 beyond; Genesys' value is not
/// documented).
const MAX_FILE_NAME_CHARS: usize = 255;

/// Serves one accepted TCP connection (with TLS first when `tls` is given) until it closes or
/// the simulator stops.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
    _open: OpenConnection,
) {
    // One deadline for the TLS handshake and the upgrade together: a client that dribbles
    // its bytes (a slowloris) is dropped when it passes.
    let deadline = Instant::now()
        .checked_add(shared.limits.handshake_timeout)
        .unwrap_or_else(far_future);
    match tls {
        None => serve_stream(stream, peer, shared, stop, deadline).await,
        Some(acceptor) => {
            let accepted = tokio::select! {
                result = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => result,
                () = stopped(&mut stop) => return,
            };
            match accepted {
                Ok(Ok(stream)) => serve_stream(stream, peer, shared, stop, deadline).await,
                Ok(Err(e)) => {
                    tracing::debug!(target: "web_messaging_simulator", %peer, "TLS handshake failed: {e}");
                }
                Err(_) => {
                    tracing::debug!(target: "web_messaging_simulator", %peer, "TLS handshake timed out");
                }
            }
        }
    }
}

/// Reads the request head, then serves a WebSocket guest, or a plain-HTTP request.
async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    let head = tokio::select! {
        head = tokio::time::timeout_at(deadline, http::read_head(&mut stream)) => match head {
            Ok(Some(head)) => head,
            Ok(None) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "closed before a request");
                return;
            }
            Err(_) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade timed out");
                return;
            }
        },
        () = stopped(&mut stop) => return,
    };
    let Head { bytes, websocket } = head;
    let stream = Rewind::new(bytes, stream);
    if websocket {
        serve_websocket(stream, peer, shared, stop, deadline).await;
    } else {
        http::serve(stream, peer, shared, stop).await;
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the shape of tungstenite's handshake callback"
)]
async fn serve_websocket<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    // Largest frame or message accepted from a guest, unless `limits.maxMessageLength` needs
    // more. A larger frame gets 4011 and the socket is closed (1009): its bytes cannot be
    // skipped.
    let limit = shared.limits.max_frame_bytes.max(
        shared
            .flow
            .limits
            .max_message_length
            .saturating_mul(4)
            .saturating_add(64 * 1024),
    );
    // tungstenite's default 128 KiB read buffer per socket dominates memory with thousands of
    // guests; guest frames are small.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let flow = &shared.flow;
    // The upgrade URL's deploymentId and the Host header, for the connection.
    let mut seen: (Option<String>, Option<String>) = (None, None);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| {
            seen.0 = request
                .uri()
                .query()
                .and_then(|q| query_value(q, "deploymentId"));
            seen.1 = request
                .headers()
                .get(tokio_tungstenite::tungstenite::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            check_upgrade(flow, request, response)
        },
        Some(config),
    );
    let ws = tokio::select! {
        result = tokio::time::timeout_at(deadline, handshake) => match result {
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
    let mut connection = Connection::new(Arc::clone(&shared));
    (connection.deployment_id, connection.host) = seen;
    connection.run(ws, stop).await;
    tracing::debug!(target: "web_messaging_simulator", %peer, "guest gone");
}

/// What to write after handling an event.
#[derive(Debug, PartialEq)]
pub(crate) enum Out {
    /// A text frame.
    Frame(String),
    /// Close the socket with code 1000 and this reason.
    Close(&'static str),
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// A bot message ready to be stamped and sent.
#[derive(Debug)]
struct Outgoing {
    kind: &'static str,
    text: Option<String>,
    content: Vec<Content>,
    correlation_id: String,
    /// Attachments, DatePickers, and the agent who writes it (see [`agent`]).
    extras: agent::Extras,
}

/// An action waiting for its time.
#[derive(Debug)]
enum Action {
    /// `session.respondAfterMs`: the delayed answer to `configureSession`.
    Configure {
        token: String,
        start_new: bool,
        tracing_id: Option<String>,
    },
    /// Bot messages, stamped in this order; written in this order or reversed.
    Messages {
        items: Vec<Outgoing>,
        reversed: bool,
    },
    Typing {
        duration_ms: Option<u64>,
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
    Drop,
    /// `faults.latencyMs`: a frame already made, held back.
    Deliver {
        out: Out,
        bot_message: bool,
    },
}

/// The session this socket is attached to.
struct Attached {
    session: SharedSession,
    /// The token it was configured with: every later request must carry it.
    token: String,
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

/// The random generators of one socket, one per purpose, so that (for instance) a reply's
/// jitter does not change which guest message the error-rate fault hits.
struct Dice {
    /// `jitterMs`.
    delay: SmallRng,
    /// `faults.errorRate` and `faults.outOfOrder`.
    faults: SmallRng,
    /// `faults.latencyMs`.
    latency: SmallRng,
}

impl Dice {
    fn new(seed: u64, connection: u64) -> Dice {
        let stream = |n: u64| SmallRng::seed_from_u64(mix(mix(seed) ^ connection) ^ n);
        Dice {
            delay: stream(1),
            faults: stream(2),
            latency: stream(3),
        }
    }
}

/// SplitMix64's finaliser: spreads nearby seeds far apart.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

enum Event {
    Stop,
    Notice(Option<Notice>),
    Due,
    Incoming(Option<Result<Message, WsError>>),
}

pub(crate) struct Connection {
    shared: Arc<Shared>,
    /// The upgrade URL's `deploymentId`: `configureSession` must name the same.
    deployment_id: Option<String>,
    /// The upgrade's `Host` header, for the URLs handed to this guest.
    host: Option<String>,
    /// The socket's number, in accept order: it seeds the socket's random generators.
    id: u64,
    session: Option<Attached>,
    /// `session.respond: false` and a `configureSession` came: answer nothing any more.
    silent: bool,
    clock: Clock,
    dice: Dice,
    /// Actions by due time, then by scheduling order.
    pending: BTreeMap<(Instant, u64), Action>,
    next_seq: u64,
    notices_tx: mpsc::UnboundedSender<Notice>,
    notices: mpsc::UnboundedReceiver<Notice>,
    /// Guest messages (text or button) accepted on this socket, for `dropAfterMessages`.
    guest_messages: u64,
    /// When the bot's last message went out, for `ignoreInputWithinMs`.
    last_bot_message: Option<Instant>,
    /// When the last held-back frame is due, so that latency never reorders frames.
    last_delivery: Option<Instant>,
    /// The SessionExpiredEvent went out on this socket.
    expiry_notified: bool,
    /// Until a valid `configureSession` comes, the socket is closed at this time.
    configure_by: Option<Instant>,
    /// A valid `configureSession` came on this socket.
    configured: bool,
    /// When the guest last sent a frame (any frame).
    last_frame: Instant,
    /// The inbound frame rate limit.
    budget: Option<FrameBudget>,
    /// `originatingMessageId` of the button response in the frame being handled (the
    /// protocol types do not carry it).
    inbound_origin: Option<String>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.detach();
    }
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>) -> Connection {
        let id = shared.next_connection_id();
        let dice = Dice::new(shared.seed, id);
        let (notices_tx, notices) = mpsc::unbounded_channel();
        let now = Instant::now();
        let limits = &shared.limits;
        let configure_by = limits
            .configure_timeout
            .map(|limit| now.checked_add(limit).unwrap_or_else(far_future));
        let budget = FrameBudget::new(limits, now);
        Connection {
            shared,
            deployment_id: None,
            host: None,
            id,
            session: None,
            silent: false,
            clock: Clock::default(),
            dice,
            pending: BTreeMap::new(),
            next_seq: 0,
            notices_tx,
            notices,
            guest_messages: 0,
            last_bot_message: None,
            last_delivery: None,
            expiry_notified: false,
            configure_by,
            configured: false,
            last_frame: now,
            budget,
            inbound_origin: None,
        }
    }

    /// When the socket is closed for idling: no valid `configureSession` yet, or no frame at
    /// all for the idle timeout once configured.
    fn idle_deadline(&self) -> Option<Instant> {
        if !self.configured {
            return self.configure_by;
        }
        let limit = self.shared.limits.idle_timeout?;
        Some(
            self.last_frame
                .checked_add(limit)
                .unwrap_or_else(far_future),
        )
    }

    /// Why the socket must be closed now for idling, if it must.
    fn idled(&self, now: Instant) -> Option<(CloseCode, &'static str)> {
        let due = self.idle_deadline()?;
        if now < due {
            return None;
        }
        Some(if self.configured {
            (CloseCode::Away, "Idle for too long")
        } else {
            (CloseCode::Policy, "No configureSession in time")
        })
    }

    fn flow(&self) -> &BotFlow {
        &self.shared.flow
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        mut self,
        mut ws: WebSocketStream<S>,
        mut stop: watch::Receiver<bool>,
    ) {
        let write_timeout = self.shared.limits.write_timeout;
        loop {
            // A guest over its frame rate is not read until it has budget again.
            let read_at = self
                .budget
                .as_mut()
                .and_then(|budget| budget.ready_at(Instant::now()));
            let due = [
                self.pending.first_key_value().map(|(&(at, _), _)| at),
                self.expiry_deadline(),
                self.idle_deadline(),
                read_at,
            ]
            .into_iter()
            .flatten()
            .min();
            let event = tokio::select! {
                biased;
                () = stopped(&mut stop) => Event::Stop,
                notice = self.notices.recv() => Event::Notice(notice),
                () = sleep_until(due) => Event::Due,
                incoming = ws.next(), if read_at.is_none() => Event::Incoming(incoming),
            };
            let now = Instant::now();
            if matches!(event, Event::Due)
                && let Some((code, reason)) = self.idled(now)
            {
                tracing::debug!(target: "web_messaging_simulator", "closing an idle socket: {reason}");
                let _ = tokio::time::timeout(
                    write_timeout,
                    close(&mut ws, code, reason, CLOSE_TIMEOUT),
                )
                .await;
                return;
            }
            if let Event::Incoming(Some(Ok(_))) = &event {
                self.last_frame = now;
                if let Some(budget) = &mut self.budget {
                    budget.spend(now);
                }
            }
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
                Event::Notice(Some(notice)) => self.on_notice(notice),
                Event::Notice(None) | Event::Due => Vec::new(),
                Event::Incoming(None) => return,
                Event::Incoming(Some(Err(WsError::Capacity(e)))) => {
                    tracing::debug!(target: "web_messaging_simulator", "oversized frame: {e}");
                    let answer = async {
                        let _ = write(&mut ws, vec![string_error(4011, "message too long", None)])
                            .await;
                        let frame = CloseFrame {
                            code: CloseCode::Size,
                            reason: "Message too long".into(),
                        };
                        let _ = ws.close(Some(frame)).await;
                    };
                    let _ = tokio::time::timeout(write_timeout, answer).await;
                    // The rest of the frame is still unread: closing now would reset the
                    // connection, and the guest could lose the answer. Read it away first.
                    drain_raw(ws.get_mut(), CLOSE_TIMEOUT).await;
                    return;
                }
                Event::Incoming(Some(Err(_))) => return,
                Event::Incoming(Some(Ok(message))) => match message {
                    Message::Text(text) => self.handle_text(text.as_str(), now),
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
            out.extend(self.check_expiry(now));
            out.extend(self.run_due(now));
            // A guest that does not read would hold the task (and its socket) forever.
            match tokio::time::timeout(write_timeout, write(&mut ws, out)).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(_) => {
                    tracing::debug!(target: "web_messaging_simulator", "a guest stopped reading: dropped");
                    return;
                }
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
        let Some(Value::Object(request)) = parsed else {
            return vec![bad_request(None)];
        };
        let tracing_id = request
            .get("tracingId")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.inbound_origin = agent::button_origin(&request);
        let tracing = tracing_id.as_deref();
        let Some(action) = request.get("action").and_then(Value::as_str) else {
            return vec![bad_request(tracing)];
        };
        match action {
            "configureSession" => return self.configure_request(&request, false, tracing, now),
            "configureAuthenticatedSession" => {
                return self.configure_request(&request, true, tracing, now);
            }
            "onMessage" | "echo" | "closeSession" | "getJwt" | "onAttachment" | "getAttachment"
            | "deleteAttachment" | "getConfiguration" => {}
            _ => return vec![bad_request(tracing)],
        }
        let Some(attached) = &self.session else {
            return vec![not_found(tracing)];
        };
        // Every request carries the socket's token; a browser example leaves it out of
        // `echo` only.
        let token_ok = match request.get("token") {
            None => action == "echo",
            Some(Value::String(token)) => *token == attached.token,
            Some(_) => false,
        };
        if !token_ok {
            return vec![not_found(tracing)];
        }
        let session = Arc::clone(&attached.session);
        let mut state = lock(&session);
        if self.has_expired(&mut state, now) {
            return vec![session_expired(tracing)];
        }
        match action {
            "onMessage" => self.on_message(&mut state, &request, tracing, now),
            "echo" => {
                state.last_activity = now;
                let text = request
                    .get("message")
                    .and_then(|m| m.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("ping");
                let mut body = json!({
                    "id": Uuid::new_v4().to_string(),
                    "type": "Text",
                    "direction": "Inbound",
                    "text": text,
                });
                let metadata = self.expiry_metadata();
                if !metadata.is_empty() {
                    body["metadata"] = Value::Object(metadata);
                }
                vec![Out::Frame(frames::response(
                    "StructuredMessage",
                    200,
                    &body,
                    tracing,
                ))]
            }
            "closeSession" => {
                state.read_only = true;
                state.last_activity = now;
                let close_all = request
                    .get("closeAllConnections")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if close_all {
                    for (id, socket) in &state.sockets {
                        if *id != self.id {
                            let _ = socket.send(Notice::ConnectionClosed);
                        }
                    }
                }
                // The mobile SDK's fixture of this reply (protocol.md §5.1, third line).
                let body = json!({
                    "connected": false,
                    "newSession": true,
                    "readOnly": true,
                    "maxCustomDataBytes": self.flow().limits.max_custom_attributes_bytes,
                    "clearedExistingSession": false,
                });
                vec![Out::Frame(frames::response(
                    "SessionResponse",
                    200,
                    &body,
                    tracing,
                ))]
            }
            "getJwt" => {
                state.last_activity = now;
                let now_s = jiff::Timestamp::now().as_second();
                let exp = now_s.saturating_add(rest::JWT_LIFETIME_SECONDS);
                let deployment = self.deployment_id.as_deref().unwrap_or_default();
                let jwt = rest::make_jwt(exp, now_s, deployment);
                self.shared
                    .jwts
                    .insert(jwt.clone(), Arc::downgrade(&session), exp);
                vec![Out::Frame(frames::jwt_response(&jwt, exp, tracing))]
            }
            "onAttachment" => {
                state.last_activity = now;
                self.on_attachment(state.id, &request, tracing)
            }
            "getAttachment" => {
                state.last_activity = now;
                let id = request
                    .get("attachmentId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let found = self.shared.uploads.get(id).filter(|u| {
                    u.session_id == state.id && u.bytes().is_some() && u.download_url.is_some()
                });
                let Some(upload) = found else {
                    return vec![attachment_not_found(tracing)];
                };
                let url = frames::PresignedUrl {
                    attachment_id: id,
                    url: upload.download_url.as_deref().unwrap_or_default(),
                    headers: Map::new(),
                    file_name: &upload.file_name,
                    file_type: &upload.file_type,
                    file_size: upload.bytes().map(|b| b.len() as u64),
                };
                vec![Out::Frame(frames::presigned_url(&url, tracing))]
            }
            "deleteAttachment" => {
                state.last_activity = now;
                let id = request
                    .get("attachmentId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if self.shared.uploads.delete(id, state.id) {
                    vec![Out::Frame(frames::attachment_deleted(id, tracing))]
                } else {
                    vec![attachment_not_found(tracing)]
                }
            }
            _ => {
                // getConfiguration
                state.last_activity = now;
                let mut body = self.media_fields();
                body.insert("messageRoutingEnabled".into(), true.into());
                if let Some(ttl) = self.flow().session.ttl {
                    body.insert("sessionDurationSeconds".into(), ttl.as_secs().into());
                }
                vec![Out::Frame(frames::response(
                    "GetConfigurationResponse",
                    200,
                    &Value::Object(body),
                    tracing,
                ))]
            }
        }
    }

    /// `maxCustomDataBytes`, `allowedMedia` (with file uploads) and `blockedExtensions`, as
    /// `SessionResponse` and `GetConfigurationResponse` carry them.
    fn media_fields(&self) -> Map<String, Value> {
        let flow = self.flow();
        let messenger = &flow.messenger;
        let mut body = Map::new();
        body.insert(
            "maxCustomDataBytes".into(),
            flow.limits.max_custom_attributes_bytes.into(),
        );
        if !messenger.upload_modes.is_empty() {
            let mut types: Vec<&str> = Vec::new();
            for mode in &messenger.upload_modes {
                for kind in &mode.file_types {
                    if !types.contains(&kind.as_str()) {
                        types.push(kind);
                    }
                }
            }
            let file_types: Vec<Value> = types.iter().map(|t| json!({"type": t})).collect();
            body.insert(
                "allowedMedia".into(),
                json!({"inbound": {"fileTypes": file_types, "maxFileSizeKB": messenger.max_kb()}}),
            );
        }
        body.insert(
            "blockedExtensions".into(),
            messenger.blocked_extensions.clone().into(),
        );
        body
    }

    /// `onAttachment`: checks the file against the deployment's limits and hands out a
    /// presigned upload URL on the simulator's own port.
    fn on_attachment(
        &mut self,
        session_id: u64,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        let attachment_id = match request.get("attachmentId") {
            None | Some(Value::Null) => Uuid::new_v4().to_string(),
            Some(Value::String(id))
                if !id.is_empty()
                    && id.len() <= 128
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                id.clone()
            }
            Some(_) => return vec![bad_request(tracing)],
        };
        let as_json = request
            .get("errorsAsJson")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (Some(file_type), Some(file_size)) = (
            request.get("fileType").and_then(Value::as_str),
            request.get("fileSize").and_then(Value::as_u64),
        ) else {
            return vec![bad_request(tracing)];
        };
        let file_name = request
            .get("fileName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let refuse = |code: i64, message: String| {
            let frame = if as_json {
                frames::generate_url_error(&attachment_id, code, &message, tracing)
            } else {
                frames::string_error(code, &message, tracing)
            };
            vec![Out::Frame(frame)]
        };
        let messenger = &self.shared.flow.messenger;
        if file_name.trim().is_empty()
            || file_name.contains(['/', '\\'])
            || file_name.chars().any(char::is_control)
        {
            return refuse(4004, "FileNameInvalid: the file name is not valid".into());
        }
        if file_name.chars().count() > MAX_FILE_NAME_CHARS {
            return refuse(
                4005,
                format!(
                    "FileNameTooLong: the file name is longer than {MAX_FILE_NAME_CHARS} characters"
                ),
            );
        }
        if messenger.is_blocked(file_name) {
            return refuse(
                4001,
                "FileTypeInvalid: files with this extension are blocked".into(),
            );
        }
        let Some(max_kb) = messenger.max_kb_for(file_type) else {
            return refuse(
                4001,
                format!("FileTypeInvalid: {file_type} is not an allowed file type"),
            );
        };
        let max_bytes = max_kb.saturating_mul(1024);
        if file_size > max_bytes {
            return refuse(
                4002,
                format!("FileSizeInvalid: the file is larger than {max_kb} KB"),
            );
        }
        let signature = rest::random_token(24);
        let tagging = "organizationId=simulator&originPlatform=PureCloud".to_string();
        let base = self.shared.base_url(self.host.as_deref());
        let url = format!("{base}/uploads/{attachment_id}?signature={signature}");
        let upload = rest::Upload {
            session_id,
            signature,
            headers: vec![("x-amz-tagging".into(), tagging.clone())],
            file_name: file_name.to_string(),
            file_type: file_type.to_string(),
            max_bytes,
            state: rest::UploadState::Pending,
            notify: self.notices_tx.clone(),
            download_url: None,
        };
        if !self.shared.uploads.insert(&attachment_id, upload) {
            return vec![bad_request(tracing)];
        }
        let mut headers = Map::new();
        headers.insert("x-amz-tagging".into(), tagging.into());
        let presigned = frames::PresignedUrl {
            attachment_id: &attachment_id,
            url: &url,
            headers,
            file_name,
            file_type,
            file_size: None,
        };
        vec![Out::Frame(frames::presigned_url(&presigned, tracing))]
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

    fn on_notice(&mut self, notice: Notice) -> Vec<Out> {
        match notice {
            Notice::ConnectionClosed => {
                self.detach();
                self.pending.clear();
                vec![
                    Out::Frame(frames::connection_closed()),
                    Out::Close("Another connection of this session closed it"),
                ]
            }
            Notice::Cleared => {
                self.detach();
                self.pending.clear();
                vec![
                    Out::Frame(frames::session_cleared()),
                    Out::Frame(frames::connection_closed()),
                ]
            }
            Notice::Frame(text) => vec![Out::Frame(text)],
        }
    }

    /// Leaves the attached session, if any.
    fn detach(&mut self) {
        if let Some(attached) = self.session.take() {
            lock(&attached.session)
                .sockets
                .retain(|(id, _)| *id != self.id);
        }
    }

    /// Whether the session is past its TTL (and marks it so).
    fn has_expired(&self, state: &mut SessionState, now: Instant) -> bool {
        if let Some(ttl) = self.flow().session.ttl
            && now.saturating_duration_since(state.last_activity) >= ttl
        {
            state.expired = true;
        }
        state.expired
    }

    /// When this socket should tell its guest that the session expired.
    fn expiry_deadline(&self) -> Option<Instant> {
        let ttl = self.flow().session.ttl?;
        if self.expiry_notified {
            return None;
        }
        let attached = self.session.as_ref()?;
        let last = lock(&attached.session).last_activity;
        Some(last.checked_add(ttl).unwrap_or_else(far_future))
    }

    /// Sends the SessionExpiredEvent once the session has been inactive for its TTL.
    fn check_expiry(&mut self, now: Instant) -> Vec<Out> {
        let Some(due) = self.expiry_deadline() else {
            return Vec::new();
        };
        if now < due {
            return Vec::new();
        }
        if let Some(attached) = &self.session {
            lock(&attached.session).expired = true;
        }
        self.expiry_notified = true;
        self.pending.clear();
        vec![Out::Frame(frames::session_expired_event())]
    }

    /// `durationSeconds` and `expirationDate` (epoch seconds) from now, with a TTL.
    fn expiry(&self) -> Option<(u64, u64)> {
        let ttl = self.flow().session.ttl?.as_secs();
        let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
        Some((ttl, now.saturating_add(ttl)))
    }

    /// The echo response's metadata: the session's lifetime, as strings, with a TTL.
    fn expiry_metadata(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        if let Some((duration, expiration)) = self.expiry() {
            metadata.insert("durationSeconds".into(), duration.to_string().into());
            metadata.insert("expirationDate".into(), expiration.to_string().into());
        }
        metadata
    }

    /// `configureSession` / `configureAuthenticatedSession`: the checks Genesys makes before
    /// a session is configured.
    fn configure_request(
        &mut self,
        request: &Map<String, Value>,
        authenticated: bool,
        tracing: Option<&str>,
        now: Instant,
    ) -> Vec<Out> {
        if !self.flow().session.respond {
            self.silent = true;
            self.configured = true;
            return Vec::new();
        }
        let (Some(token), Some(deployment)) = (
            request.get("token").and_then(Value::as_str),
            request.get("deploymentId").and_then(Value::as_str),
        ) else {
            return vec![bad_request(tracing)];
        };
        // Genesys: "the token cannot exceed 2048 characters". What the real service answers
        // is not documented: a 400 string error, as for other malformed requests. The token is
        // never stored, and the socket stays unconfigured.
        let max = self.shared.limits.max_token_chars;
        if token.is_empty() || token.chars().take(max.saturating_add(1)).count() > max {
            return vec![string_error(
                400,
                &format!("token must be 1 to {max} characters"),
                tracing,
            )];
        }
        // The answer to a mismatch is inferred (Genesys documents none for the socket).
        if let Some(expected) = &self.deployment_id
            && expected != deployment
        {
            return vec![string_error(
                400,
                "Deployment Id in the request does not match the deployment Id of the connection",
                tracing,
            )];
        }
        let messenger = &self.shared.flow.messenger;
        if !messenger.enabled || !messenger.active {
            return vec![string_error(
                403,
                "Messenger is not enabled or the deployment is not active",
                tracing,
            )];
        }
        if authenticated {
            let auth = &self.shared.flow.auth;
            let code = request
                .get("data")
                .and_then(|d| d.get("code"))
                .and_then(Value::as_str);
            let valid =
                auth.enabled && code.is_some_and(|c| auth.valid_codes.iter().any(|v| v == c));
            if !valid {
                return vec![string_error(401, "User is unauthorized", tracing)];
            }
        }
        let start_new = request
            .get("startNew")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.configured = true;
        let after = self.flow().session.respond_after;
        let token = token.to_string();
        let tracing_id = tracing.map(str::to_string);
        if after > Duration::ZERO {
            self.push(
                now.checked_add(after).unwrap_or_else(far_future),
                Action::Configure {
                    token,
                    start_new,
                    tracing_id,
                },
            );
            return Vec::new();
        }
        self.configure_now(token, start_new, tracing_id, now)
    }

    fn configure_now(
        &mut self,
        token: String,
        start_new: bool,
        tracing_id: Option<String>,
        now: Instant,
    ) -> Vec<Out> {
        let tracing = tracing_id.as_deref();
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let (session, existed) = match shared.sessions.get_or_create(&token, flow.start, now) {
            Lookup::New(session) => (session, false),
            Lookup::Existing(session) => (session, true),
            Lookup::Expired => return vec![session_expired(tracing)],
        };
        let mut state = lock(&session);
        if existed && self.has_expired(&mut state, now) {
            return vec![session_expired(tracing)];
        }
        let new_session = !existed || start_new;
        if existed && start_new {
            state.restart(flow.start);
        }
        state.last_activity = now;
        let same = self
            .session
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(&a.session, &session));
        if !same {
            drop(state);
            self.detach();
            state = lock(&session);
            state.sockets.push((self.id, self.notices_tx.clone()));
            self.session = Some(Attached {
                session: Arc::clone(&session),
                token,
            });
        }
        self.expiry_notified = false;
        // The fields of the rich capture (protocol.md §5.1). No welcome here: Genesys runs no
        // inbound flow before the guest's first message, or its Presence Join with auto-start.
        let mut body = Map::new();
        body.insert("connected".into(), true.into());
        body.insert("newSession".into(), new_session.into());
        body.insert("readOnly".into(), (!new_session && state.read_only).into());
        drop(state);
        body.extend(self.media_fields());
        body.insert("clearedExistingSession".into(), false.into());
        if let Some((duration, expiration)) = self.expiry() {
            body.insert("durationSeconds".into(), duration.into());
            body.insert("expirationDate".into(), expiration.into());
        }
        vec![Out::Frame(frames::response(
            "SessionResponse",
            200,
            &Value::Object(body),
            tracing,
        ))]
    }

    fn schedule_welcome(&mut self, at: Instant, captures: &Captures) -> Instant {
        let shared = Arc::clone(&self.shared);
        let correlation_id = Uuid::new_v4().to_string();
        self.schedule_replies(
            &shared.flow.session.welcome,
            at,
            &correlation_id,
            false,
            captures,
        )
    }

    fn on_message(
        &mut self,
        state: &mut SessionState,
        request: &Map<String, Value>,
        tracing: Option<&str>,
        now: Instant,
    ) -> Vec<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let Some(Value::Object(message)) = request.get("message") else {
            return vec![bad_request(tracing)];
        };
        let Some(kind) = message.get("type").and_then(Value::as_str) else {
            return vec![bad_request(tracing)];
        };
        let text = match message.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.as_str()),
            Some(_) => return vec![bad_request(tracing)],
        };
        let list = |key: &str| match message.get(key) {
            None | Some(Value::Null) => Some(&[][..]),
            Some(Value::Array(items)) => Some(items.as_slice()),
            Some(_) => None,
        };
        let (Some(content), Some(events)) = (list("content"), list("events")) else {
            return vec![bad_request(tracing)];
        };
        let mut attributes = BTreeMap::new();
        for channel in [request.get("channel"), message.get("channel")]
            .into_iter()
            .flatten()
        {
            match channel
                .get("metadata")
                .and_then(|m| m.get("customAttributes"))
            {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (name, value) in map {
                        let Value::String(value) = value else {
                            return vec![bad_request(tracing)];
                        };
                        attributes.insert(name.clone(), value.clone());
                    }
                }
                Some(_) => return vec![bad_request(tracing)],
            }
        }
        let presence = |wanted: &str| {
            events.iter().any(|e| {
                e.get("eventType").and_then(Value::as_str) == Some("Presence")
                    && e.pointer("/presence/type").and_then(Value::as_str) == Some(wanted)
            })
        };
        let is_event = kind == "Event";
        let clears = is_event && presence("Clear");
        let joins = is_event && presence("Join");
        if state.read_only && !clears {
            return vec![string_error(400, "Conversation is read-only", tracing)];
        }
        let limits = &flow.limits;
        if text.is_some_and(|t| t.chars().count() > limits.max_message_length) {
            return vec![string_error(4011, "message too long", tracing)];
        }
        if !attributes.is_empty() {
            // The message's attributes, and the session's once they are merged: a guest that
            // sends new names every time must not grow its session without end.
            let size = |map: &BTreeMap<String, String>| {
                serde_json::to_string(map).map_or(usize::MAX, |s| s.len())
            };
            let merged = || {
                let mut merged = state.attributes.clone();
                merged.extend(attributes.clone());
                size(&merged)
            };
            if size(&attributes) > limits.max_custom_attributes_bytes
                || merged() > limits.max_custom_attributes_bytes
            {
                let body = format!(
                    "Custom Attributes in channel metadata is larger than {} bytes",
                    limits.max_custom_attributes_bytes
                );
                return vec![string_error(4013, &body, tracing)];
            }
        }
        // Exactly `messagesPerSecond` per rolling second, no slack (Genesys: 2).
        let rate = shared.rate_limit;
        if rate.messages_per_second > 0 {
            while let Some(&oldest) = state.recent.front()
                && now.saturating_duration_since(oldest) >= RATE_WINDOW
            {
                state.recent.pop_front();
            }
            let allowed = usize::try_from(rate.messages_per_second).unwrap_or(usize::MAX);
            if state.recent.len() >= allowed {
                let tracing = if rate.tracing_id { tracing } else { None };
                return vec![Out::Frame(frames::too_many_requests(
                    rate.retry_after_seconds,
                    tracing,
                ))];
            }
            state.recent.push_back(now);
        }
        state.last_activity = now;

        if clears {
            return self.clear(state, tracing);
        }

        // Attachments must have been uploaded by this session (4010 otherwise).
        let mut content = content.to_vec();
        let mut has_attachment = false;
        let attachment_ids: Vec<String> = content
            .iter()
            .filter(|c| c.get("contentType").and_then(Value::as_str) == Some("Attachment"))
            .map(|c| {
                c.pointer("/attachment/id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        for id in &attachment_ids {
            let uploaded = shared
                .uploads
                .get(id)
                .is_some_and(|u| u.session_id == state.id && u.bytes().is_some());
            if !uploaded {
                return vec![string_error(
                    4010,
                    "AttachmentNotSuccessfullyUploaded: the attachment was not uploaded",
                    tracing,
                )];
            }
        }
        for item in &mut content {
            if item.get("contentType").and_then(Value::as_str) != Some("Attachment") {
                continue;
            }
            has_attachment = true;
            let id = item
                .pointer("/attachment/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let (Some(upload), Some(Value::Object(attachment))) = (
                shared.uploads.send(&id, state.id),
                item.get_mut("attachment"),
            ) else {
                continue;
            };
            // What the echo says of the file is inferred: what was declared and uploaded.
            let size = upload.bytes().map_or(0, |b| b.len());
            attachment
                .entry("filename")
                .or_insert_with(|| upload.file_name.clone().into());
            attachment
                .entry("mime")
                .or_insert_with(|| upload.file_type.clone().into());
            attachment
                .entry("mediaType")
                .or_insert_with(|| media_type(&upload.file_type).into());
            attachment.entry("fileSize").or_insert_with(|| size.into());
            if let Some(url) = upload.download_url {
                attachment.entry("url").or_insert_with(|| url.into());
            }
        }
        state.attributes.extend(attributes);

        let faults = &flow.faults;
        if !is_event && faults.error_rate > 0.0 && self.dice.faults.random_bool(faults.error_rate) {
            return vec![string_error(faults.error.code, &faults.error.body, tracing)];
        }

        let correlation_id = Uuid::new_v4().to_string();
        let rule_text = text.map(str::to_string).unwrap_or_else(|| {
            content
                .iter()
                .find_map(|c| c.pointer("/buttonResponse/text").and_then(Value::as_str))
                .unwrap_or_default()
                .to_string()
        });
        let payload = content
            .iter()
            .find_map(|c| c.pointer("/buttonResponse/payload").and_then(Value::as_str))
            .map(str::to_string);
        let date_pick = self.date_pick(&content, &state.record);
        let echo = self.echo(request, message, content, &correlation_id, tracing);
        if !is_event {
            state.remember(echo.1, shared.limits.max_history_messages);
        }
        let mut out = vec![echo.0];

        if is_event {
            // Presence and typing events do not speak to the bot. With auto-start, a Join
            // starts the conversation; without it, the conversation waits for a message.
            if joins && flow.session.autostart && !state.welcomed {
                state.welcomed = true;
                self.schedule_welcome(now, &state.captures);
            }
            return out;
        }
        self.guest_messages += 1;
        if faults
            .drop_after_messages
            .is_some_and(|n| self.guest_messages >= n)
        {
            out.push(Out::Drop);
            return out;
        }
        if let (Some(window), Some(last)) = (faults.ignore_input_within, self.last_bot_message)
            && now.saturating_duration_since(last) < window
        {
            tracing::debug!(target: "web_messaging_simulator", "the bot ignores a message sent too soon after its own");
            return out;
        }
        if state.record.handover.is_some() {
            // The conversation is the agent's: the bot's rules no longer answer.
            self.agent_answer(state, now);
            return out;
        }
        let mut start = now;
        if !state.welcomed {
            state.welcomed = true;
            start = self.schedule_welcome(now, &state.captures);
        }
        let input = GuestInput {
            text: &rule_text,
            payload: payload.as_deref(),
            attributes: &state.attributes,
            date_pick,
            has_attachment,
        };
        let current = &flow.states[state.state];
        let matched = current
            .rules
            .iter()
            .find_map(|rule| rule.when.check(input).map(|captured| (rule, captured)));
        if let Some((rule, captured)) = matched {
            state.captures.extend(captured);
            if let Some(next) = rule.goto {
                tracing::trace!(
                    target: "web_messaging_simulator",
                    from = %current.name,
                    to = %flow.states[next].name,
                    "bot changes state"
                );
                state.state = next;
            }
            let at = self.schedule(rule, start, &correlation_id, &state.captures);
            crate::platform::on_rule(state, rule, at);
            if let Some(transfer) = &rule.transfer {
                self.start_transfer(state, transfer, at, now);
            }
        }
        out
    }

    /// Presence `Clear` on a deployment that allows it: every socket of the session gets
    /// `SessionClearedEvent` then `ConnectionClosedEvent` and leaves the session, whose token
    /// starts a new conversation if it is used again.
    fn clear(&mut self, state: &mut SessionState, tracing: Option<&str>) -> Vec<Out> {
        if !self.flow().messenger.clear_enabled {
            // The mobile SDK's fixture of a deployment without conversation clearing.
            return vec![string_error(
                403,
                "Presence events Conversation Clear are not supported",
                tracing,
            )];
        }
        for (id, socket) in &state.sockets {
            if *id != self.id {
                let _ = socket.send(Notice::Cleared);
            }
        }
        state.sockets.retain(|(id, _)| *id != self.id);
        state.history.clear();
        state.read_only = true;
        if let Some(attached) = self.session.take() {
            self.shared.sessions.remove(&attached.token);
        }
        self.pending.clear();
        vec![
            Out::Frame(frames::session_cleared()),
            Out::Frame(frames::connection_closed()),
        ]
    }

    /// The Inbound echo of a guest message: every field the guest sent, plus a fresh `id`,
    /// `direction`, `channel.time` and `channel.messageId`, `metadata.correlationId` and
    /// `originatingEntity: ""` (as captured). Returns the frame and the body's JSON.
    fn echo(
        &mut self,
        request: &Map<String, Value>,
        message: &Map<String, Value>,
        content: Vec<Value>,
        correlation_id: &str,
        tracing: Option<&str>,
    ) -> (Out, String) {
        let mut body = message.clone();
        let mut channel = match body
            .remove("channel")
            .or_else(|| request.get("channel").cloned())
        {
            Some(Value::Object(channel)) => channel,
            _ => Map::new(),
        };
        channel.insert("time".into(), self.clock.next().into());
        channel.insert("messageId".into(), Uuid::new_v4().to_string().into());
        let mut metadata = match body.remove("metadata") {
            Some(Value::Object(metadata)) => metadata,
            _ => Map::new(),
        };
        metadata.insert("correlationId".into(), correlation_id.into());
        body.insert("id".into(), Uuid::new_v4().to_string().into());
        body.insert("direction".into(), "Inbound".into());
        body.insert("channel".into(), Value::Object(channel));
        body.insert("metadata".into(), Value::Object(metadata));
        body.insert("originatingEntity".into(), "".into());
        if body.contains_key("content") || !content.is_empty() {
            body.insert("content".into(), Value::Array(content));
        }
        let body = Value::Object(body);
        let frame = frames::message("StructuredMessage", &body, tracing);
        (Out::Frame(frame), body.to_string())
    }

    /// Queues a matched rule's actions, timed from `start`; returns when its last reply is due.
    fn schedule(
        &mut self,
        rule: &Rule,
        start: Instant,
        correlation_id: &str,
        captures: &Captures,
    ) -> Instant {
        let at = self.schedule_replies(
            &rule.replies,
            start,
            correlation_id,
            rule.out_of_order,
            captures,
        );
        if rule.disconnect {
            self.push(
                at,
                Action::Disconnect {
                    correlation_id: correlation_id.to_string(),
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
        if rule.drop_socket {
            self.push(at, Action::Drop);
        }
        at
    }

    /// Queues replies one after the other from `start`; returns when the last is due.
    /// `reverse_all`: they are written latest first, all at once after the total delay.
    /// Otherwise `faults.outOfOrder` may swap adjacent pairs.
    fn schedule_replies(
        &mut self,
        replies: &[Reply],
        start: Instant,
        correlation_id: &str,
        reverse_all: bool,
        captures: &Captures,
    ) -> Instant {
        let swap = self.flow().faults.out_of_order;
        let mut at = start;
        // `reverse_all`: every message, written at the end.
        let mut all = Vec::new();
        // A message waiting to go out after the next one (a swapped pair).
        let mut held: Option<Outgoing> = None;
        for (index, reply) in replies.iter().enumerate() {
            let mut delay = reply.delay;
            if !reply.jitter.is_zero() {
                let jitter = u64::try_from(reply.jitter.as_millis()).unwrap_or(u64::MAX);
                delay = delay.saturating_add(Duration::from_millis(
                    self.dice.delay.random_range(0..=jitter),
                ));
            }
            if reply.typing {
                let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                self.push(
                    at,
                    Action::Typing {
                        duration_ms: (ms > 0).then_some(ms),
                        correlation_id: correlation_id.to_string(),
                    },
                );
            }
            at = at.checked_add(delay).unwrap_or_else(far_future);
            let item = render(reply, captures, correlation_id);
            if reverse_all {
                all.push(item);
            } else if let Some(first) = held.take() {
                self.push(
                    at,
                    Action::Messages {
                        items: vec![first, item],
                        reversed: true,
                    },
                );
            } else if index + 1 < replies.len() && swap > 0.0 && self.dice.faults.random_bool(swap)
            {
                held = Some(item);
            } else {
                self.push(
                    at,
                    Action::Messages {
                        items: vec![item],
                        reversed: false,
                    },
                );
            }
        }
        if !all.is_empty() {
            self.push(
                at,
                Action::Messages {
                    items: all,
                    reversed: true,
                },
            );
        }
        at
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
                Action::Configure {
                    token,
                    start_new,
                    tracing_id,
                } => out.extend(self.configure_now(token, start_new, tracing_id, now)),
                Action::Messages { items, reversed } => {
                    let mut frames: Vec<Out> = items
                        .into_iter()
                        .map(|item| self.bot_message(item))
                        .collect();
                    if reversed {
                        frames.reverse();
                    }
                    self.emit(&mut out, frames, true, now);
                }
                Action::Typing {
                    duration_ms,
                    correlation_id,
                } => {
                    let event = MessageEvent {
                        event_type: "Typing".into(),
                        presence: None,
                        typing: Some(EventKind {
                            kind: "On".into(),
                            duration: duration_ms,
                        }),
                    };
                    let frame = self.event_message(event, &correlation_id, false);
                    self.emit(&mut out, vec![frame], false, now);
                }
                Action::Disconnect { correlation_id } => {
                    // `conversationDisconnect.type: Send` leaves the conversation writable.
                    let read_only = self.flow().messenger.disconnect_read_only;
                    if read_only && let Some(attached) = &self.session {
                        lock(&attached.session).read_only = true;
                    }
                    let event = MessageEvent {
                        event_type: "Presence".into(),
                        presence: Some(EventKind {
                            kind: "Disconnect".into(),
                            duration: None,
                        }),
                        typing: None,
                    };
                    let frame = self.event_message(event, &correlation_id, read_only);
                    self.emit(&mut out, vec![frame], false, now);
                }
                Action::Error { code, body } => {
                    let frame = string_error(code, &body, None);
                    self.emit(&mut out, vec![frame], false, now);
                }
                Action::Raw(text) => self.emit(&mut out, vec![Out::Frame(text)], false, now),
                action @ (Action::Close | Action::Drop) => {
                    let end = match action {
                        Action::Close => Out::Close("The bot closed the connection"),
                        _ => Out::Drop,
                    };
                    if self.flow().faults.latency.is_some() {
                        // After every frame still held back; nothing else runs any more.
                        let at = self.last_delivery.map_or(now, |t| t.max(now));
                        self.pending
                            .retain(|_, action| matches!(action, Action::Deliver { .. }));
                        self.push(
                            at,
                            Action::Deliver {
                                out: end,
                                bot_message: false,
                            },
                        );
                    } else {
                        out.push(end);
                        self.pending.clear();
                        break;
                    }
                }
                Action::Deliver {
                    out: item,
                    bot_message,
                } => {
                    if bot_message {
                        self.last_bot_message = Some(now);
                    }
                    let ends = !matches!(item, Out::Frame(_));
                    out.push(item);
                    if ends {
                        self.pending.clear();
                        break;
                    }
                }
            }
        }
        out
    }

    /// Writes frames now, or (with `faults.latencyMs`) holds each back by a random delay,
    /// keeping their order.
    fn emit(&mut self, out: &mut Vec<Out>, frames: Vec<Out>, bot_message: bool, now: Instant) {
        let Some((min, max)) = self.flow().faults.latency else {
            if bot_message && !frames.is_empty() {
                self.last_bot_message = Some(now);
            }
            out.extend(frames);
            return;
        };
        let (min, max) = (
            u64::try_from(min.as_millis()).unwrap_or(u64::MAX),
            u64::try_from(max.as_millis()).unwrap_or(u64::MAX),
        );
        for frame in frames {
            let latency = Duration::from_millis(self.dice.latency.random_range(min..=max));
            let at = now
                .checked_add(latency)
                .unwrap_or_else(far_future)
                .max(self.last_delivery.unwrap_or(now));
            self.last_delivery = Some(at);
            self.push(
                at,
                Action::Deliver {
                    out: frame,
                    bot_message,
                },
            );
        }
    }

    fn bot_message(&mut self, item: Outgoing) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), item.correlation_id.into());
        let id = Uuid::new_v4().simple().to_string();
        let message = StructuredMessage {
            id: id.clone(),
            kind: item.kind.into(),
            direction: Direction::Outbound,
            text: item.text,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: None,
                kind: Some("Private".into()),
                ..OutgoingChannel::default()
            }),
            content: item.content,
            metadata,
            originating_entity: Some("Bot".into()),
            ..StructuredMessage::default()
        };
        let mut body = serde_json::to_value(message).unwrap_or_default();
        self.decorate(&mut body, &id, item.extras);
        if let Some(attached) = &self.session {
            let max = self.shared.limits.max_history_messages;
            lock(&attached.session).remember(body.to_string(), max);
        }
        frame(FrameType::Message, "StructuredMessage", 200, body, None)
    }

    /// An Outbound event message (typing, disconnect).
    fn event_message(&mut self, event: MessageEvent, correlation_id: &str, read_only: bool) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.into());
        if read_only {
            metadata.insert("readOnly".into(), "true".into());
        }
        let message = StructuredMessage {
            id: Uuid::new_v4().to_string(),
            kind: "Event".into(),
            direction: Direction::Outbound,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: Some(Uuid::new_v4().to_string()),
                kind: None,
                ..OutgoingChannel::default()
            }),
            events: vec![event],
            metadata,
            ..StructuredMessage::default()
        };
        frame(FrameType::Message, "StructuredMessage", 200, message, None)
    }
}

/// A reply's message, with the captured values filled in.
fn render(reply: &Reply, captures: &Captures, correlation_id: &str) -> Outgoing {
    let fill = |t: &crate::template::Template| t.render(captures);
    let card = |card: &CardTemplate| Card {
        title: fill(&card.title),
        description: card.description.as_ref().map(fill),
        image: card.image.as_ref().map(fill),
        actions: card
            .actions
            .iter()
            .map(|action| CardAction {
                kind: if action.url.is_some() {
                    "Link"
                } else {
                    "Postback"
                }
                .into(),
                text: fill(&action.text),
                payload: action.payload.as_ref().map(fill),
                url: action.url.as_ref().map(fill),
            })
            .collect(),
    };
    let mut content = Vec::new();
    if let Some(one) = &reply.card {
        content.push(Content {
            content_type: "Card".into(),
            card: Some(card(one)),
            ..Content::default()
        });
    }
    if !reply.carousel.is_empty() {
        content.push(Content {
            content_type: "Carousel".into(),
            carousel: Some(Carousel {
                cards: reply.carousel.iter().map(card).collect(),
            }),
            ..Content::default()
        });
    }
    for quick in &reply.quick_replies {
        content.push(Content {
            content_type: "QuickReply".into(),
            quick_reply: Some(QuickReply {
                text: fill(&quick.text),
                payload: fill(&quick.payload),
                action: Some("Message".into()),
            }),
            ..Content::default()
        });
    }
    let extras = agent::Extras::render(reply, captures);
    Outgoing {
        // An attachment alone keeps `Text` (as captured); a DatePicker is structured.
        kind: if content.is_empty() && !extras.is_structured() {
            "Text"
        } else {
            "Structured"
        },
        text: reply.text.as_ref().map(fill),
        content,
        correlation_id: correlation_id.to_string(),
        extras,
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

fn string_error(code: i64, body: &str, tracing_id: Option<&str>) -> Out {
    Out::Frame(frames::string_error(code, body, tracing_id))
}

fn bad_request(tracing_id: Option<&str>) -> Out {
    string_error(400, "Request failed.", tracing_id)
}

fn session_expired(tracing_id: Option<&str>) -> Out {
    string_error(4006, "session expired error message", tracing_id)
}

/// 4007: no session on this socket, or a token other than the socket's.
fn not_found(tracing_id: Option<&str>) -> Out {
    string_error(4007, "session not found error message", tracing_id)
}

fn attachment_not_found(tracing_id: Option<&str>) -> Out {
    string_error(
        4009,
        "AttachmentNotFound: no such attachment in this session",
        tracing_id,
    )
}

/// The `mediaType` of an attachment of this MIME type.
fn media_type(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or_default() {
        "image" => "Image",
        "video" => "Video",
        "audio" => "Audio",
        _ => "File",
    }
}

/// A deadline that never comes in practice, for durations too long to add to `now`.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes `out`; false when the connection is over (closed or dropped here, or the write
/// failed).
async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    out: Vec<Out>,
) -> bool {
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
            Out::Close(reason) => {
                if ws.flush().await.is_err() {
                    return false;
                }
                close(ws, CloseCode::Normal, reason, CLOSE_TIMEOUT).await;
                return false;
            }
            Out::Drop => {
                // What was written before still goes out; then the socket is dropped by the
                // caller, without a close frame.
                let _ = ws.flush().await;
                return false;
            }
        }
    }
    ws.flush().await.is_ok()
}

/// Reads and discards raw bytes until the guest closes the connection or `wait` passes.
async fn drain_raw<S: AsyncRead + Unpin>(stream: &mut S, wait: Duration) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0; 64 * 1024];
    let drain = async { while let Ok(1..) = stream.read(&mut buffer).await {} };
    let _ = tokio::time::timeout(wait, drain).await;
}

/// Sends a close frame and waits (briefly) for the guest's answer.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &str,
    wait: Duration,
) {
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

mod agent;
#[cfg(test)]
mod tests;
