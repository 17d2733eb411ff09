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
use crate::limits::FrameBudget;
use crate::server::{OpenConnection, Shared, check_upgrade, stopped};
use crate::session::{Lookup, Notice, SessionState, SharedSession, lock};
use futures_util::{SinkExt, StreamExt};
use genesys_web_messaging::protocol::{
    Card, CardAction, Carousel, ClientRequest, Content, Direction, EventKind, FrameType,
    IncomingChannel, IncomingMessage, MessageEvent, OutgoingChannel, QuickReply, ServerFrame,
    SessionResponse, StructuredMessage, TooManyRequests,
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
/// `onMessage` requests allowed per session within [`RATE_WINDOW`] (Genesys: 2 per second).
const RATE_LIMIT: usize = 2;
/// The rate-limit window.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Slack for scheduling jitter: a client that spaces its third message exactly one second
/// after its first must not be refused because the first one was read a few ms late.
const RATE_TOLERANCE: Duration = Duration::from_millis(50);

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
        None => serve_websocket(stream, peer, shared, stop, deadline).await,
        Some(acceptor) => {
            let accepted = tokio::select! {
                result = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => result,
                () = stopped(&mut stop) => return,
            };
            match accepted {
                Ok(Ok(stream)) => serve_websocket(stream, peer, shared, stop, deadline).await,
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
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| check_upgrade(flow, request, response),
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
    Connection::new(Arc::clone(&shared)).run(ws, stop).await;
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
        if let ClientRequest::ConfigureSession {
            token,
            start_new,
            tracing_id,
            ..
        } = request
        {
            return self.configure(token, start_new.unwrap_or(false), tracing_id, now);
        }
        let Some(attached) = &self.session else {
            return vec![string_error(
                4007,
                "session not found error message",
                tracing_id,
            )];
        };
        let session = Arc::clone(&attached.session);
        let mut state = lock(&session);
        if self.has_expired(&mut state, now) {
            return vec![session_expired(tracing_id)];
        }
        match request {
            ClientRequest::ConfigureSession { .. } => Vec::new(),
            ClientRequest::OnMessage {
                message,
                channel,
                tracing_id,
                ..
            } => self.on_message(&mut state, message, channel, tracing_id, now),
            ClientRequest::Echo {
                message,
                tracing_id,
                ..
            } => {
                state.last_activity = now;
                let metadata = self.expiry_metadata();
                vec![echo_response(message, metadata, tracing_id)]
            }
            ClientRequest::CloseSession {
                close_all_connections,
                tracing_id,
                ..
            } => {
                state.read_only = true;
                state.last_activity = now;
                if close_all_connections {
                    for (id, socket) in &state.sockets {
                        if *id != self.id {
                            let _ = socket.send(Notice::ConnectionClosed);
                        }
                    }
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

    fn on_notice(&mut self, notice: Notice) -> Vec<Out> {
        match notice {
            Notice::ConnectionClosed => {
                self.detach();
                self.pending.clear();
                vec![
                    frame(
                        FrameType::Message,
                        "ConnectionClosedEvent",
                        200,
                        json!({}),
                        None,
                    ),
                    Out::Close("Another connection of this session closed it"),
                ]
            }
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
        vec![frame(
            FrameType::Response,
            "SessionExpiredEvent",
            200,
            json!({}),
            None,
        )]
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

    fn configure(
        &mut self,
        token: String,
        start_new: bool,
        tracing_id: Option<String>,
        now: Instant,
    ) -> Vec<Out> {
        if !self.flow().session.respond {
            self.silent = true;
            self.configured = true;
            return Vec::new();
        }
        // Genesys: "the token cannot exceed 2048 characters". What the real service answers
        // is not documented: a 400 string error, as for other malformed requests. The token is
        // never stored, and the socket stays unconfigured.
        let max = self.shared.limits.max_token_chars;
        if token.is_empty() || token.chars().take(max.saturating_add(1)).count() > max {
            return vec![string_error(
                400,
                &format!("token must be 1 to {max} characters"),
                tracing_id,
            )];
        }
        self.configured = true;
        let after = self.flow().session.respond_after;
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
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let (session, existed) = match shared.sessions.get_or_create(&token, flow.start, now) {
            Lookup::New(session) => (session, false),
            Lookup::Existing(session) => (session, true),
            Lookup::Expired => return vec![session_expired(tracing_id)],
        };
        let mut state = lock(&session);
        if existed && self.has_expired(&mut state, now) {
            return vec![session_expired(tracing_id)];
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
            });
        }
        self.expiry_notified = false;
        let (duration_seconds, expiration_date) = self.expiry().unzip();
        let out = vec![frame(
            FrameType::Response,
            "SessionResponse",
            200,
            SessionResponse {
                connected: true,
                new_session: Some(new_session),
                read_only: (!new_session && state.read_only).then_some(true),
                duration_seconds,
                expiration_date,
                ..SessionResponse::default()
            },
            tracing_id,
        )];
        if new_session && !flow.session.autostart {
            state.welcomed = true;
            let captures = state.captures.clone();
            drop(state);
            self.schedule_welcome(now, &captures);
        }
        out
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
        message: IncomingMessage,
        channel: Option<IncomingChannel>,
        tracing_id: Option<String>,
        now: Instant,
    ) -> Vec<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        if state.read_only {
            return vec![string_error(400, "Conversation is read-only", tracing_id)];
        }
        let limits = &flow.limits;
        if message
            .text
            .as_ref()
            .is_some_and(|t| t.chars().count() > limits.max_message_length)
        {
            return vec![string_error(4011, "message too long", tracing_id)];
        }
        let mut attributes = BTreeMap::new();
        for channel in [channel.as_ref(), message.channel.as_ref()]
            .into_iter()
            .flatten()
        {
            attributes.extend(channel.metadata.custom_attributes.clone());
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
                return vec![string_error(4013, &body, tracing_id)];
            }
        }
        while let Some(&oldest) = state.recent.front()
            && now.saturating_duration_since(oldest) >= RATE_WINDOW - RATE_TOLERANCE
        {
            state.recent.pop_front();
        }
        if state.recent.len() >= RATE_LIMIT {
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
        state.recent.push_back(now);
        state.last_activity = now;
        state.attributes.extend(attributes);

        let is_event = message.kind == "Event";
        let faults = &flow.faults;
        if !is_event && faults.error_rate > 0.0 && self.dice.faults.random_bool(faults.error_rate) {
            return vec![string_error(
                faults.error.code,
                &faults.error.body,
                tracing_id,
            )];
        }

        let correlation_id = Uuid::new_v4().to_string();
        let text = message.text.clone().unwrap_or_else(|| {
            message
                .content
                .iter()
                .find_map(|c| c.button_response.as_ref().map(|b| b.text.clone()))
                .unwrap_or_default()
        });
        let payload = message
            .content
            .iter()
            .find_map(|c| c.button_response.as_ref().map(|b| b.payload.clone()));
        let joins = message.events.iter().any(|e| {
            e.event_type == "Presence" && e.presence.as_ref().is_some_and(|p| p.kind == "Join")
        });
        let mut out = vec![self.echo(message, &correlation_id, tracing_id)];

        if is_event {
            // Presence and typing events do not speak to the bot; a Join starts the
            // conversation when the welcome waits for it.
            if joins && !state.welcomed {
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
        let mut start = now;
        if !state.welcomed {
            state.welcomed = true;
            start = self.schedule_welcome(now, &state.captures);
        }
        let input = GuestInput {
            text: &text,
            payload: payload.as_deref(),
            attributes: &state.attributes,
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
            self.schedule(rule, start, &correlation_id, &state.captures);
        }
        out
    }

    /// The Inbound echo of a guest message: same type, text and content.
    fn echo(
        &mut self,
        message: IncomingMessage,
        correlation_id: &str,
        tracing_id: Option<String>,
    ) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.into());
        let echo = StructuredMessage {
            id: Uuid::new_v4().to_string(),
            kind: message.kind,
            direction: Direction::Inbound,
            text: message.text,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: Some(Uuid::new_v4().to_string()),
                kind: None,
                ..OutgoingChannel::default()
            }),
            content: message.content,
            events: message.events,
            metadata,
            originating_entity: Some(String::new()),
        };
        frame(
            FrameType::Message,
            "StructuredMessage",
            200,
            echo,
            tracing_id,
        )
    }

    /// Queues a matched rule's actions, timed from `start`.
    fn schedule(&mut self, rule: &Rule, start: Instant, correlation_id: &str, captures: &Captures) {
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
                    if let Some(attached) = &self.session {
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
                    let frame = self.event_message(event, &correlation_id, true);
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
        let message = StructuredMessage {
            id: Uuid::new_v4().simple().to_string(),
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
        frame(FrameType::Message, "StructuredMessage", 200, message, None)
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
    Outgoing {
        kind: if content.is_empty() {
            "Text"
        } else {
            "Structured"
        },
        text: reply.text.as_ref().map(fill),
        content,
        correlation_id: correlation_id.to_string(),
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

fn session_expired(tracing_id: Option<String>) -> Out {
    string_error(4006, "session expired error message", tracing_id)
}

/// The answer to an `echo` heartbeat: a `response` StructuredMessage without `channel`.
fn echo_response(
    message: IncomingMessage,
    metadata: Map<String, Value>,
    tracing_id: Option<String>,
) -> Out {
    let body = StructuredMessage {
        id: Uuid::new_v4().to_string(),
        kind: "Text".into(),
        direction: Direction::Inbound,
        text: Some(message.text.unwrap_or_else(|| "ping".into())),
        metadata,
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

#[cfg(test)]
mod tests;
