//! The session log: every event the server sent, kept in conversation order.
//!
//! The session task decodes each frame and records it here; conversations read it. Messages are
//! kept sorted by `channel.time` (ties and untimed messages by arrival), so a reply that arrives
//! late on the wire but was created earlier lands in its right place without holding every
//! message back for a fixed window. Nothing is ever removed, so nothing is lost between steps.
//!
//! Two guards keep a hostile or broken server from breaking that: a `channel.time` more than
//! [`CHANNEL_TIME_TOLERANCE`] from the moment the message arrived is replaced by the arrival time
//! for ordering (and kept in [`Received::clamped_time`]), so one message dated in the year 9000
//! cannot hide every later reply behind it; and the log keeps at most its capacity of events,
//! past which the session is closed with [`Closed::LimitExceeded`].

use crate::protocol::{FrameError, ServerError, SessionResponse, StructuredMessage};
use jiff::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How far a message's `channel.time` may be from the moment it was received (either way)
/// and still order it. Beyond, the receive time orders it: Genesys stamps messages when it
/// creates them, a fraction of a second before they arrive, so a minute off is a broken clock
/// or a hostile server, never a late delivery worth repairing.
pub const CHANNEL_TIME_TOLERANCE: Duration = Duration::from_secs(60);

/// Where a message sits in the conversation: its `channel.time`, then its arrival number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey {
    time: Timestamp,
    seq: u64,
}

/// A message as it was received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The message itself.
    pub message: StructuredMessage,
    /// When it was created: `channel.time`, or for untimed messages the time of the message
    /// that arrived before it.
    pub time: Timestamp,
    /// When this client received it.
    pub received_at: Instant,
    /// Its position in arrival order (0 = first frame received).
    pub arrival: u64,
    /// Whether it arrived after a message with a later `channel.time` (out-of-order delivery).
    pub arrived_out_of_order: bool,
    /// The `channel.time` the server gave, when it was more than [`CHANNEL_TIME_TOLERANCE`]
    /// from the receive time and so was not believed: the message is then ordered by its
    /// receive time instead (`time` places it after every message received before it and
    /// before any received after it).
    pub clamped_time: Option<Timestamp>,
    /// The envelope's `tracingId`: on the Inbound echo of a guest message, the id of the
    /// request that sent it.
    pub tracing_id: Option<String>,
}

impl Received {
    /// Its place in the conversation order.
    pub fn key(&self) -> OrderKey {
        OrderKey {
            time: self.time,
            seq: self.arrival,
        }
    }
}

/// Something that went wrong on the session, in arrival order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The server answered with an error.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The server sent a frame that could not be decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The server answered `configureSession` with a `SessionResponse` that could not be
    /// read, even leniently.
    #[error(
        "Genesys answered configureSession with a SessionResponse that could not be read ({reason}): {frame}"
    )]
    UnreadableSession {
        /// Why it could not be read.
        reason: String,
        /// The frame, cut to [`MAX_WARNING_FRAME`] characters.
        frame: String,
    },
}

/// Most characters of a frame kept in a [`Warning`] (or [`Fault::UnreadableSession`]).
pub const MAX_WARNING_FRAME: usize = 2000;

/// Most warnings a session keeps; further ones are only counted.
pub const MAX_WARNINGS: usize = 100;

/// A frame the client could not use, kept for the scenario's report rather than dropped: a
/// class it does not know, or a body that could not be read even leniently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}: {frame}")]
pub struct Warning {
    /// What was wrong, e.g. `Genesys sent a StructuredMessage that could not be read
    /// (unknown direction 'sideways')`.
    pub message: String,
    /// The raw frame, cut to [`MAX_WARNING_FRAME`] characters.
    pub frame: String,
}

impl Warning {
    /// A warning about `frame` (cut to [`MAX_WARNING_FRAME`] characters).
    pub(crate) fn new(message: impl Into<String>, frame: &str) -> Warning {
        Warning {
            message: message.into(),
            frame: cut(frame),
        }
    }
}

/// `text` cut to [`MAX_WARNING_FRAME`] characters, saying how much was left out.
pub(crate) fn cut(text: &str) -> String {
    let total = text.chars().count();
    if total <= MAX_WARNING_FRAME {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX_WARNING_FRAME).collect();
    format!("{kept}… ({} more characters)", total - MAX_WARNING_FRAME)
}

/// How many `onMessage` write times the log keeps (more than any rate limit needs).
const WRITES_KEPT: usize = 16;

/// Why the socket is no longer usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Closed {
    /// The server sent a close frame or the TCP connection ended.
    #[error("the server closed the socket{}", describe_close(*code, reason))]
    ByServer {
        /// WebSocket close code, when one was sent.
        code: Option<u16>,
        /// Close reason text.
        reason: String,
    },
    /// The connection failed (reset, TLS error, protocol violation).
    #[error("the connection failed: {0}")]
    Failed(String),
    /// This client closed the session.
    #[error("the session was closed by the client")]
    ByClient,
    /// This client closed the session because the server went past one of its limits (a
    /// message too large, too many messages).
    #[error("{0}")]
    LimitExceeded(String),
}

fn describe_close(code: Option<u16>, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (Some(code), true) => format!(" (code {code})"),
        (Some(code), false) => format!(" (code {code}: {reason})"),
        (None, _) => " without a close frame".to_string(),
    }
}

#[derive(Debug)]
struct State {
    capacity: usize,
    messages: Vec<Arc<Received>>,
    session: Option<SessionResponse>,
    faults: Vec<Fault>,
    warnings: Vec<Warning>,
    warnings_dropped: usize,
    on_message_writes: std::collections::VecDeque<Instant>,
    closed: Option<Closed>,
    arrivals: u64,
    latest_time: Option<Timestamp>,
    last_reply_at: Option<Instant>,
}

/// The shared, ordered record of a session. Cheap to clone handles come from [`Arc`].
///
/// Read-only to users ([`SessionLog::snapshot`], [`SessionLog::changed`] and the other
/// readers): only the session task that owns the socket records into it, so what a test sees
/// is exactly what the server sent, in conversation order.
#[derive(Debug)]
pub struct SessionLog {
    state: Mutex<State>,
    changed: Notify,
    full: AtomicBool,
    /// Bytes of every text frame received so far, against `byte_budget`.
    received_bytes: AtomicUsize,
    byte_budget: usize,
}

/// Most bytes of frames one session takes in, all frames together (64 MiB): with the message
/// size limit and the message cap, this bounds a session's memory against a hostile server.
pub const DEFAULT_MAX_SESSION_BYTES: usize = 64 << 20;

/// A consistent view of the log at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every message in conversation order.
    pub messages: Vec<Arc<Received>>,
    /// The session response, once received.
    pub session: Option<SessionResponse>,
    /// Errors and malformed frames, in arrival order.
    pub faults: Vec<Fault>,
    /// Set once the socket is gone.
    pub closed: Option<Closed>,
    /// When the bot last sent a reply.
    pub last_reply_at: Option<Instant>,
}

impl SessionLog {
    /// An empty log keeping at most `capacity` events (messages and faults).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        SessionLog {
            state: Mutex::new(State {
                capacity: capacity.max(1),
                messages: Vec::new(),
                session: None,
                faults: Vec::new(),
                warnings: Vec::new(),
                warnings_dropped: 0,
                on_message_writes: std::collections::VecDeque::new(),
                closed: None,
                arrivals: 0,
                latest_time: None,
                last_reply_at: None,
            }),
            changed: Notify::new(),
            full: AtomicBool::new(false),
            received_bytes: AtomicUsize::new(0),
            byte_budget: DEFAULT_MAX_SESSION_BYTES,
        }
    }

    /// An empty log keeping at most `capacity` events and taking in at most `byte_budget`
    /// bytes of frames in all.
    /// (Only tests set a smaller budget than the default.)
    #[cfg(test)]
    pub(crate) fn with_limits(capacity: usize, byte_budget: usize) -> Self {
        SessionLog {
            byte_budget: byte_budget.max(1),
            ..SessionLog::with_capacity(capacity)
        }
    }

    /// Counts a received frame of `bytes` against the session's byte budget. Past the budget
    /// the session is closed (a reason naming the limit) and the frame must be dropped:
    /// returns `false`.
    pub(crate) fn account_frame(&self, bytes: usize) -> bool {
        let total = self
            .received_bytes
            .fetch_add(bytes, Ordering::AcqRel)
            .saturating_add(bytes);
        if total <= self.byte_budget {
            return true;
        }
        if !self.full.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: crate::WIRE_TARGET, "the server sent more than {} bytes: closing", self.byte_budget);
        }
        let mut s = self.lock();
        if s.closed.is_none() {
            s.closed = Some(Closed::LimitExceeded(format!(
                "the server sent more than {} bytes in all, the most a session takes in (max session bytes)",
                self.byte_budget
            )));
        }
        false
    }

    /// Whether the log went past its capacity (and so closed the session).
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Refuses one more event once the capacity is reached: closes the session instead.
    fn over_capacity(&self, s: &mut State) -> bool {
        if s.messages.len() + s.faults.len() < s.capacity {
            return false;
        }
        if !self.full.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: crate::WIRE_TARGET, "the server sent more than {} messages: closing", s.capacity);
        }
        if s.closed.is_none() {
            s.closed = Some(Closed::LimitExceeded(format!(
                "the bot sent more than {} messages, the most a session keeps (max messages)",
                s.capacity
            )));
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written (every update
        // is a single push or assignment), so a poisoned lock is still safe to read.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a message, in its conversation-order place. Waiters see it once the batch it
    /// came in is [published](SessionLog::publish).
    #[cfg(test)]
    pub(crate) fn record_message(&self, message: StructuredMessage) {
        self.record_traced_message(message, None);
    }

    /// Records a message with its envelope's `tracingId` (see [`SessionLog::record_message`]).
    pub(crate) fn record_traced_message(
        &self,
        message: StructuredMessage,
        tracing_id: Option<String>,
    ) {
        let mut s = self.lock();
        if self.over_capacity(&mut s) {
            return;
        }
        let now = Instant::now();
        let wall = Timestamp::now();
        let mut parsed = message.time().and_then(|t| t.parse::<Timestamp>().ok());
        let clamped_time = parsed.filter(|&t| !within_tolerance(t, wall));
        if let Some(given) = clamped_time {
            tracing::warn!(
                target: crate::WIRE_TARGET,
                "message {} has channel.time {given}, more than {} s from its receive time \
                 {wall}: ordered by its receive time",
                message.id,
                CHANNEL_TIME_TOLERANCE.as_secs()
            );
            // Where it arrived: after every message received before it, and before any
            // message received after it (whose time is at least its own receive time less the
            // tolerance).
            let earliest_believable = wall.checked_sub(CHANNEL_TIME_TOLERANCE).unwrap_or(wall);
            parsed = Some(s.latest_time.map_or(earliest_believable, |latest| {
                latest.max(earliest_believable)
            }));
        }
        let time = parsed.or(s.latest_time).unwrap_or(wall);
        let arrived_out_of_order = parsed.is_some_and(|t| s.latest_time.is_some_and(|l| t < l));
        if s.latest_time.is_none_or(|l| time > l) {
            s.latest_time = Some(time);
        }
        if message.is_reply() {
            s.last_reply_at = Some(now);
        }
        let received = Arc::new(Received {
            message,
            time,
            received_at: now,
            arrival: s.arrivals,
            arrived_out_of_order,
            clamped_time,
            tracing_id,
        });
        s.arrivals += 1;
        let key = received.key();
        let at = s.messages.partition_point(|m| m.key() <= key);
        s.messages.insert(at, received);
    }

    /// Records the session response (seen once published).
    pub(crate) fn record_session(&self, response: SessionResponse) {
        self.lock().session = Some(response);
    }

    /// Records an error response or malformed frame (seen once published).
    pub(crate) fn record_fault(&self, fault: Fault) {
        let mut s = self.lock();
        if !self.over_capacity(&mut s) {
            s.faults.push(fault);
        }
    }

    /// Records a frame the client could not use (seen once published). Past [`MAX_WARNINGS`]
    /// warnings are only counted.
    pub(crate) fn record_warning(&self, warning: Warning) {
        tracing::warn!(target: crate::WIRE_TARGET, "{warning}");
        let mut s = self.lock();
        if s.warnings.len() < MAX_WARNINGS {
            s.warnings.push(warning);
        } else {
            s.warnings_dropped += 1;
        }
    }

    /// Records that an `onMessage` request was written to the socket at `at` (the rate limit
    /// counts from there).
    pub(crate) fn record_on_message_written(&self, at: Instant) {
        let mut s = self.lock();
        if s.on_message_writes.len() >= WRITES_KEPT {
            s.on_message_writes.pop_front();
        }
        s.on_message_writes.push_back(at);
    }

    /// Wakes every waiter to look at what was recorded since the last call. The session task
    /// calls it once per batch of frames that arrived together, so a step never sees half of a
    /// batch (a goodbye without the disconnect that came with it).
    pub(crate) fn publish(&self) {
        self.changed.notify_waiters();
    }

    /// Records that the socket is gone, and publishes at once. The first reason wins.
    pub(crate) fn record_closed(&self, closed: Closed) {
        let mut s = self.lock();
        if s.closed.is_none() {
            s.closed = Some(closed);
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// Forgets that the socket closed, for a session reconnecting with the same token
    /// (`GuestSession::reconnect`). Refused (`false`) once the log is full.
    pub(crate) fn reopen(&self) -> bool {
        if self.is_full() {
            return false;
        }
        self.lock().closed = None;
        true
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        Snapshot {
            messages: s.messages.clone(),
            session: s.session.clone(),
            faults: s.faults.clone(),
            closed: s.closed.clone(),
            last_reply_at: s.last_reply_at,
        }
    }

    /// Frames the client could not use, in arrival order (at most [`MAX_WARNINGS`]), and how
    /// many more there were.
    pub fn warnings(&self) -> (Vec<Warning>, usize) {
        let s = self.lock();
        (s.warnings.clone(), s.warnings_dropped)
    }

    /// The warnings as report lines: one per warning, then `… and N more` when some were
    /// only counted.
    pub fn warning_lines(&self) -> Vec<String> {
        let (warnings, dropped) = self.warnings();
        let mut lines: Vec<String> = warnings.iter().map(Warning::to_string).collect();
        if dropped > 0 {
            lines.push(format!("… and {dropped} more warnings"));
        }
        lines
    }

    /// When the latest `onMessage` requests were written to the socket, oldest first.
    pub fn on_message_writes(&self) -> Vec<Instant> {
        self.lock().on_message_writes.iter().copied().collect()
    }

    /// A future that completes on the next change to the log. Create (and `enable`) it before
    /// looking at a snapshot, so a change between the look and the wait is never missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

fn within_tolerance(time: Timestamp, now: Timestamp) -> bool {
    let tolerance = i64::try_from(CHANNEL_TIME_TOLERANCE.as_millis()).unwrap_or(i64::MAX);
    let gap = time.as_millisecond().saturating_sub(now.as_millisecond());
    (-tolerance..=tolerance).contains(&gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Direction, OutgoingChannel};
    use proptest::prelude::*;

    /// A `channel.time` this many milliseconds after now (within the tolerance).
    fn at(offset_ms: i64) -> String {
        Timestamp::from_millisecond(Timestamp::now().as_millisecond() + offset_ms)
            .unwrap()
            .to_string()
    }

    fn texts(log: &SessionLog) -> Vec<String> {
        log.snapshot()
            .messages
            .iter()
            .map(|m| m.message.text.clone().unwrap())
            .collect()
    }

    #[test]
    fn a_channel_time_far_from_now_is_clamped_to_the_receive_time() {
        let log = SessionLog::with_capacity(crate::session::DEFAULT_MAX_MESSAGES);
        log.record_message(msg("a", &at(0)));
        log.record_message(msg("future", "9000-01-01T00:00:00Z"));
        log.record_message(msg("past", "1970-01-01T00:00:00Z"));
        log.record_message(msg("b", &at(10)));
        assert_eq!(texts(&log), ["a", "future", "past", "b"]);
        let snap = log.snapshot();
        assert_eq!(
            snap.messages[1].clamped_time,
            Some("9000-01-01T00:00:00Z".parse().unwrap())
        );
        assert!(snap.messages[0].clamped_time.is_none());
        assert!(snap.messages[3].clamped_time.is_none());
        // A minute off is still ordered by channel.time.
        assert!(within_tolerance(
            at(59_000).parse().unwrap(),
            Timestamp::now()
        ));
    }

    #[test]
    fn closes_the_session_past_its_capacity() {
        let log = SessionLog::with_capacity(3);
        for i in 0..5 {
            log.record_message(msg(&format!("m{i}"), &at(i)));
        }
        assert!(log.is_full());
        let snap = log.snapshot();
        assert_eq!(snap.messages.len(), 3);
        assert_eq!(
            snap.closed.unwrap().to_string(),
            "the bot sent more than 3 messages, the most a session keeps (max messages)"
        );
    }

    fn msg(text: &str, time: &str) -> StructuredMessage {
        StructuredMessage {
            id: text.into(),
            kind: "Text".into(),
            direction: Direction::Outbound,
            text: Some(text.into()),
            channel: Some(OutgoingChannel {
                time: Some(time.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_messages_in_channel_time_order() {
        let log = SessionLog::with_capacity(crate::session::DEFAULT_MAX_MESSAGES);
        log.record_message(msg("hello2", &at(3_000)));
        log.record_message(msg("hello1", &at(0)));
        log.record_message(msg("hello3", &at(4_000)));
        let snap = log.snapshot();
        let texts: Vec<_> = snap
            .messages
            .iter()
            .map(|m| m.message.text.clone().unwrap())
            .collect();
        assert_eq!(texts, ["hello1", "hello2", "hello3"]);
        assert!(snap.messages[0].arrived_out_of_order);
        assert!(!snap.messages[1].arrived_out_of_order);
    }

    #[test]
    fn untimed_messages_follow_the_message_before_them() {
        let log = SessionLog::with_capacity(crate::session::DEFAULT_MAX_MESSAGES);
        log.record_message(msg("a", &at(0)));
        let mut untimed = msg("b", "x");
        untimed.channel = None;
        log.record_message(untimed);
        log.record_message(msg("c", &at(1_000)));
        let texts: Vec<_> = log
            .snapshot()
            .messages
            .iter()
            .map(|m| m.message.text.clone().unwrap())
            .collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }

    #[test]
    fn a_session_takes_in_at_most_its_byte_budget() {
        let log = SessionLog::with_limits(10, 100);
        assert!(log.account_frame(60));
        assert!(!log.is_full());
        assert!(!log.account_frame(60));
        assert!(log.is_full());
        assert!(matches!(
            log.snapshot().closed,
            Some(Closed::LimitExceeded(reason)) if reason.contains("more than 100 bytes")
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]
        /// Whatever times the server gives (garbage, far past or future, none), recording
        /// never panics, keeps every message up to the capacity, and the snapshot is in
        /// order.
        #[test]
        fn recording_any_times_keeps_an_ordered_lossless_log(
            times in proptest::collection::vec(
                proptest::prop_oneof![
                    (-120_000i64..120_000).prop_map(|ms| Some(at(ms))),
                    "\\PC{0,24}".prop_map(Some),
                    proptest::strategy::Just(None),
                ],
                0..24,
            )
        ) {
            let log = SessionLog::with_capacity(16);
            for (i, time) in times.iter().enumerate() {
                let mut message = msg(&format!("m{i}"), time.as_deref().unwrap_or_default());
                if time.is_none() {
                    message.channel = None;
                }
                log.record_message(message);
            }
            log.publish();
            let snap = log.snapshot();
            prop_assert_eq!(snap.messages.len(), times.len().min(16));
            prop_assert!(snap.messages.windows(2).all(|w| w[0].key() <= w[1].key()));
        }
    }
}
