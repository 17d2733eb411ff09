//! The session log: every event the server sent, kept in conversation order.
//!
//! The session task decodes each frame and records it here; conversations read it. Messages are
//! kept sorted by `channel.time` (ties and untimed messages by arrival), so a reply that arrives
//! late on the wire but was created earlier lands in its right place without holding every
//! message back for a fixed window. Nothing is ever removed, so nothing is lost between steps.

use crate::protocol::{FrameError, ServerError, SessionResponse, StructuredMessage};
use jiff::Timestamp;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use tokio::time::Instant;

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
}

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
}

fn describe_close(code: Option<u16>, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (Some(code), true) => format!(" (code {code})"),
        (Some(code), false) => format!(" (code {code}: {reason})"),
        (None, _) => " without a close frame".to_string(),
    }
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<Arc<Received>>,
    session: Option<SessionResponse>,
    faults: Vec<Fault>,
    closed: Option<Closed>,
    arrivals: u64,
    latest_time: Option<Timestamp>,
    last_reply_at: Option<Instant>,
}

/// The shared, ordered record of a session. Cheap to clone handles come from [`Arc`].
#[derive(Debug, Default)]
pub struct SessionLog {
    state: Mutex<State>,
    changed: Notify,
}

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
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written (every update
        // is a single push or assignment), so a poisoned lock is still safe to read.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a message, in its conversation-order place. Waiters see it once the batch it
    /// came in is [published](SessionLog::publish).
    pub fn record_message(&self, message: StructuredMessage) {
        let mut s = self.lock();
        let now = Instant::now();
        let parsed = message.time().and_then(|t| t.parse::<Timestamp>().ok());
        let time = parsed.or(s.latest_time).unwrap_or_else(Timestamp::now);
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
        });
        s.arrivals += 1;
        let key = received.key();
        let at = s.messages.partition_point(|m| m.key() <= key);
        s.messages.insert(at, received);
    }

    /// Records the session response (seen once published).
    pub fn record_session(&self, response: SessionResponse) {
        self.lock().session = Some(response);
    }

    /// Records an error response or malformed frame (seen once published).
    pub fn record_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Wakes every waiter to look at what was recorded since the last call. The session task
    /// calls it once per batch of frames that arrived together, so a step never sees half of a
    /// batch (a goodbye without the disconnect that came with it).
    pub fn publish(&self) {
        self.changed.notify_waiters();
    }

    /// Records that the socket is gone, and publishes at once. The first reason wins.
    pub fn record_closed(&self, closed: Closed) {
        let mut s = self.lock();
        if s.closed.is_none() {
            s.closed = Some(closed);
        }
        drop(s);
        self.changed.notify_waiters();
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

    /// A future that completes on the next change to the log. Create (and `enable`) it before
    /// looking at a snapshot, so a change between the look and the wait is never missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Direction, OutgoingChannel};

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
        let log = SessionLog::default();
        log.record_message(msg("hello2", "2001-01-01T01:01:16.001Z"));
        log.record_message(msg("hello1", "2001-01-01T01:01:13.001Z"));
        log.record_message(msg("hello3", "2001-01-01T01:01:17.001Z"));
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
        let log = SessionLog::default();
        log.record_message(msg("a", "2001-01-01T01:01:13.001Z"));
        let mut untimed = msg("b", "x");
        untimed.channel = None;
        log.record_message(untimed);
        log.record_message(msg("c", "2001-01-01T01:01:14.001Z"));
        let texts: Vec<_> = log
            .snapshot()
            .messages
            .iter()
            .map(|m| m.message.text.clone().unwrap())
            .collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }
}
