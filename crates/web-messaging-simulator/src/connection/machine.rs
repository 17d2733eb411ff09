//! The sans-IO state machine of one guest socket: its state, and the handling of every
//! event (a frame, a notice from another socket, time passing) into the frames to write.

use super::agent;
use super::draws::Dice;
use super::outgoing::{Clock, bad_request, not_found, session_expired};
use super::schedule::Schedule;
use crate::flow::BotFlow;
use crate::frames;
use crate::limits::FrameBudget;
use crate::session::{Notice, SessionState, SharedSession, lock};
use crate::shared::{Shared, far_future};
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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

/// The session this socket is attached to.
pub(super) struct Attached {
    pub(super) session: SharedSession,
    /// The token it was configured with: every later request must carry it.
    pub(super) token: String,
}

/// The state of one guest socket, and what it answers to each event. Sans IO: the shell
/// ([`super`]) reads, writes and sleeps; the machine only turns events and times into frames.
pub(crate) struct Machine {
    pub(super) shared: Arc<Shared>,
    /// The upgrade URL's `deploymentId`: `configureSession` must name the same.
    pub(super) deployment_id: Option<String>,
    /// The upgrade's `Host` header, for the URLs handed to this guest.
    pub(super) host: Option<String>,
    /// The socket's number, in accept order: it seeds the socket's random generators.
    pub(super) id: u64,
    pub(super) session: Option<Attached>,
    /// `session.respond: false` and a `configureSession` came: answer nothing any more.
    pub(super) silent: bool,
    pub(super) clock: Clock,
    pub(super) dice: Dice,
    /// What is due later: bot replies, delayed answers, held-back frames.
    pub(super) schedule: Schedule,
    pub(super) notices_tx: mpsc::UnboundedSender<Notice>,
    /// Guest messages (text or button) accepted on this socket, for `dropAfterMessages`.
    pub(super) guest_messages: u64,
    /// When the bot's last message went out, for `ignoreInputWithinMs`.
    pub(super) last_bot_message: Option<Instant>,
    /// When the last held-back frame is due, so that latency never reorders frames.
    pub(super) last_delivery: Option<Instant>,
    /// The SessionExpiredEvent went out on this socket.
    pub(super) expiry_notified: bool,
    /// Until a valid `configureSession` comes, the socket is closed at this time.
    pub(super) configure_by: Option<Instant>,
    /// A valid `configureSession` came on this socket.
    pub(super) configured: bool,
    /// When the guest last sent a frame (any frame).
    pub(super) last_frame: Instant,
    /// The inbound frame rate limit.
    pub(super) budget: Option<FrameBudget>,
    /// `originatingMessageId` of the button response in the frame being handled (the
    /// protocol types do not carry it).
    pub(super) inbound_origin: Option<String>,
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.detach();
    }
}

impl Machine {
    /// A machine for a new socket, and the receiver of the notices other sockets of its
    /// session send it (the shell reads them).
    pub(crate) fn new(shared: Arc<Shared>) -> (Machine, mpsc::UnboundedReceiver<Notice>) {
        let id = shared.next_connection_id();
        let dice = Dice::new(shared.seed, id);
        let (notices_tx, notices) = mpsc::unbounded_channel();
        let now = Instant::now();
        let limits = &shared.limits;
        let configure_by = limits
            .configure_timeout
            .map(|limit| now.checked_add(limit).unwrap_or_else(far_future));
        let budget = FrameBudget::new(limits, now);
        let machine = Machine {
            shared,
            deployment_id: None,
            host: None,
            id,
            session: None,
            silent: false,
            clock: Clock::default(),
            dice,
            schedule: Schedule::default(),
            notices_tx,
            guest_messages: 0,
            last_bot_message: None,
            last_delivery: None,
            expiry_notified: false,
            configure_by,
            configured: false,
            last_frame: now,
            budget,
            inbound_origin: None,
        };
        (machine, notices)
    }

    /// When the guest may be read again, if it is over its frame rate now.
    pub(super) fn read_ready_at(&mut self, now: Instant) -> Option<Instant> {
        self.budget.as_mut().and_then(|budget| budget.ready_at(now))
    }

    /// The next time something falls due: a scheduled action, the session's expiry, the
    /// idle timeout, or the end of a read pause (`read_at`).
    pub(super) fn next_deadline(&self, read_at: Option<Instant>) -> Option<Instant> {
        [
            self.schedule.next_due(),
            self.expiry_deadline(),
            self.idle_deadline(),
            read_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Handles one frame read from the guest.
    pub(super) fn on_frame(&mut self, message: Message, now: Instant) -> Vec<Out> {
        self.last_frame = now;
        if let Some(budget) = &mut self.budget {
            budget.spend(now);
        }
        match message {
            Message::Text(text) => self.handle_text(text.as_str(), now),
            Message::Binary(bytes) => self.handle_binary(&bytes),
            Message::Close(_) => {
                // tungstenite answers the close; the next read ends the stream.
                self.schedule.clear();
                Vec::new()
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Vec::new(),
        }
    }

    /// Whatever is due at `now`: the expiry notice, then the scheduled actions.
    pub(crate) fn catch_up(&mut self, now: Instant) -> Vec<Out> {
        let mut out = self.check_expiry(now);
        out.extend(self.run_due(now));
        out
    }

    /// When the socket is closed for idling: no valid `configureSession` yet, or no frame at
    /// all for the idle timeout once configured.
    pub(super) fn idle_deadline(&self) -> Option<Instant> {
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
    pub(super) fn idled(&self, now: Instant) -> Option<(CloseCode, &'static str)> {
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

    pub(super) fn flow(&self) -> &BotFlow {
        &self.shared.flow
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
        if action == "onMessage" {
            // A message keeps the session alive only once it is accepted (`on_message`).
            return self.on_message(&mut state, &request, tracing, now);
        }
        // Every other request keeps the session alive.
        state.last_activity = now;
        match action {
            "echo" => self.echo_request(&request, tracing),
            "closeSession" => self.close_session(&mut state, &request, tracing),
            "getJwt" => self.get_jwt(&session, tracing),
            "onAttachment" => self.on_attachment(state.id, &request, tracing),
            "getAttachment" => self.get_attachment(state.id, &request, tracing),
            "deleteAttachment" => self.delete_attachment(state.id, &request, tracing),
            _ => self.get_configuration(tracing),
        }
    }

    /// Handles one binary frame: never valid in this protocol.
    pub(super) fn handle_binary(&mut self, bytes: &[u8]) -> Vec<Out> {
        self.shared
            .record(Value::String(String::from_utf8_lossy(bytes).into_owned()));
        if self.silent {
            Vec::new()
        } else {
            vec![bad_request(None)]
        }
    }

    pub(super) fn on_notice(&mut self, notice: Notice) -> Vec<Out> {
        match notice {
            Notice::ConnectionClosed => {
                self.detach();
                self.schedule.clear();
                vec![
                    Out::Frame(frames::connection_closed()),
                    Out::Close("Another connection of this session closed it"),
                ]
            }
            Notice::Cleared => {
                self.detach();
                self.schedule.clear();
                vec![
                    Out::Frame(frames::session_cleared()),
                    Out::Frame(frames::connection_closed()),
                ]
            }
            Notice::Frame(text) => vec![Out::Frame(text)],
        }
    }

    /// Leaves the attached session, if any.
    pub(super) fn detach(&mut self) {
        if let Some(attached) = self.session.take() {
            lock(&attached.session)
                .sockets
                .retain(|(id, _)| *id != self.id);
        }
    }

    /// Whether the session is past its TTL (and marks it so).
    pub(super) fn has_expired(&self, state: &mut SessionState, now: Instant) -> bool {
        if let Some(ttl) = self.flow().session.ttl
            && now.saturating_duration_since(state.last_activity) >= ttl
        {
            state.expired = true;
        }
        state.expired
    }

    /// When this socket should tell its guest that the session expired.
    pub(super) fn expiry_deadline(&self) -> Option<Instant> {
        let ttl = self.flow().session.ttl?;
        if self.expiry_notified {
            return None;
        }
        let attached = self.session.as_ref()?;
        let last = lock(&attached.session).last_activity;
        Some(last.checked_add(ttl).unwrap_or_else(far_future))
    }

    /// Sends the SessionExpiredEvent once the session has been inactive for its TTL.
    pub(super) fn check_expiry(&mut self, now: Instant) -> Vec<Out> {
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
        self.schedule.clear();
        vec![Out::Frame(frames::session_expired_event())]
    }

    /// `durationSeconds` and `expirationDate` (epoch seconds) from now, with a TTL.
    pub(super) fn expiry(&self) -> Option<(u64, u64)> {
        let ttl = self.flow().session.ttl?.as_secs();
        let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
        Some((ttl, now.saturating_add(ttl)))
    }

    /// The echo response's metadata: the session's lifetime, as strings, with a TTL.
    pub(super) fn expiry_metadata(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        if let Some((duration, expiration)) = self.expiry() {
            metadata.insert("durationSeconds".into(), duration.to_string().into());
            metadata.insert("expirationDate".into(), expiration.to_string().into());
        }
        metadata
    }
}
