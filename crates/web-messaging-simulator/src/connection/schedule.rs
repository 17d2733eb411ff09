//! The timer queue of one socket: actions keyed by when they fall due, then by the order they
//! were scheduled in.

use super::machine::Out;
use super::outgoing::Outgoing;
use std::collections::BTreeMap;
use tokio::time::Instant;

/// An action waiting for its time.
#[derive(Debug)]
pub(super) enum Action {
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

/// Actions by due time, then by scheduling order.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    pending: BTreeMap<(Instant, u64), Action>,
    next_seq: u64,
}

impl Schedule {
    /// Queues `action` for `at`, after every action already queued for the same time.
    pub(super) fn push(&mut self, at: Instant, action: Action) {
        self.pending.insert((at, self.next_seq), action);
        self.next_seq += 1;
    }

    /// When the earliest action is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.pending.first_key_value().map(|(&(at, _), _)| at)
    }

    /// Takes the earliest action, if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Action> {
        let entry = self.pending.first_entry()?;
        (entry.key().0 <= now).then(|| entry.remove())
    }

    /// Forgets every action.
    pub(super) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Keeps only the actions `keep` accepts.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Action) -> bool) {
        self.pending.retain(|_, action| keep(action));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn actions_come_by_time_then_by_order_and_only_when_due() {
        let mut schedule = Schedule::default();
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(5);
        schedule.push(later, Action::Raw("c".into()));
        schedule.push(t0, Action::Raw("a".into()));
        schedule.push(t0, Action::Raw("b".into()));
        assert_eq!(schedule.next_due(), Some(t0));
        let mut due = Vec::new();
        while let Some(Action::Raw(text)) = schedule.pop_due(t0) {
            due.push(text);
        }
        assert_eq!(due, ["a", "b"]);
        assert!(schedule.pop_due(t0).is_none(), "not due yet");
        assert!(matches!(schedule.pop_due(later), Some(Action::Raw(c)) if c == "c"));
        assert_eq!(schedule.next_due(), None);
    }
}
