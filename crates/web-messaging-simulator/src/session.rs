//! The deployment's guest sessions, by token, shared by every socket.
//!
//! A session outlives its sockets: a guest that reconnects with the same token resumes the
//! same conversation (its state, captured values, custom attributes and read-only flag).
//! Locks are plain mutexes, never held across an `.await`, and at most one session is locked
//! at a time.

use crate::flow::Captures;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

/// What one socket tells another of the same session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Another socket sent `closeSession` with `closeAllConnections: true`.
    ConnectionClosed,
}

/// One guest session and its conversation.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// Index of the bot's current state.
    pub(crate) state: usize,
    /// Set once the bot's Presence Disconnect went out, or after `closeSession`.
    pub(crate) read_only: bool,
    /// Whether the welcome messages were scheduled for this conversation.
    pub(crate) welcomed: bool,
    /// Values captured by named groups of `matches` patterns.
    pub(crate) captures: Captures,
    /// The guest's custom attributes, merged over every message.
    pub(crate) attributes: BTreeMap<String, String>,
    /// The last request of the guest, on any socket.
    pub(crate) last_activity: Instant,
    /// The session outlived its TTL: every request now gets 4006.
    pub(crate) expired: bool,
    /// Arrival times of the accepted `onMessage` requests still inside the rate window.
    pub(crate) recent: VecDeque<Instant>,
    /// The sockets attached to this session, by connection id.
    pub(crate) sockets: Vec<(u64, UnboundedSender<Notice>)>,
}

impl SessionState {
    pub(crate) fn new(start: usize, now: Instant) -> SessionState {
        SessionState {
            state: start,
            read_only: false,
            welcomed: false,
            captures: Captures::new(),
            attributes: BTreeMap::new(),
            last_activity: now,
            expired: false,
            recent: VecDeque::new(),
            sockets: Vec::new(),
        }
    }

    /// Starts a new conversation on the same token (`startNew: true`).
    pub(crate) fn restart(&mut self, start: usize) {
        self.state = start;
        self.read_only = false;
        self.welcomed = false;
        self.captures.clear();
        self.attributes.clear();
    }
}

/// A shared, lockable session.
pub(crate) type SharedSession = Arc<Mutex<SessionState>>;

/// Locks a session, ignoring poisoning (a panicking connection leaves plain data behind).
pub(crate) fn lock(session: &SharedSession) -> MutexGuard<'_, SessionState> {
    session.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every session of the deployment, by token.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_token: Mutex<HashMap<String, SharedSession>>,
}

impl Sessions {
    /// The session of `token`, and whether it existed before; a new one starts in `start`.
    pub(crate) fn get_or_create(
        &self,
        token: &str,
        start: usize,
        now: Instant,
    ) -> (SharedSession, bool) {
        let mut map = self.by_token.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(token) {
            Some(session) => (Arc::clone(session), true),
            None => {
                let session = Arc::new(Mutex::new(SessionState::new(start, now)));
                map.insert(token.to_string(), Arc::clone(&session));
                (session, false)
            }
        }
    }
}
