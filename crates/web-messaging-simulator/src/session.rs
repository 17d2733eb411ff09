//! The deployment's guest sessions, by token, shared by every socket.
//!
//! A session outlives its sockets: a guest that reconnects with the same token resumes the
//! same conversation (its state, captured values, custom attributes and read-only flag).
//! Locks are plain mutexes, never held across an `.await`, and at most one session is locked
//! at a time.

use crate::conversation::FlowRecord;
use crate::flow::Captures;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

/// What one socket (or the HTTP side) tells another socket of the same session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Another socket sent `closeSession` with `closeAllConnections: true`.
    ConnectionClosed,
    /// Another socket cleared the conversation (Presence `Clear`).
    Cleared,
    /// A frame to write as it is (an upload's success or failure event).
    Frame(String),
}

/// Numbers sessions, so that stores outside the session map can tell sessions apart.
static NEXT_SESSION_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// One guest session and its conversation.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// The session's number, unique in the process.
    pub(crate) id: u64,
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
    /// The handover to an agent and the DatePickers offered in this conversation.
    pub(crate) record: FlowRecord,
    /// The conversation's messages (StructuredMessage bodies as JSON), oldest first, for the
    /// guest history REST call; at most `SimulatorLimits::max_history_messages`.
    pub(crate) history: VecDeque<Box<str>>,
}

impl SessionState {
    pub(crate) fn new(start: usize, now: Instant) -> SessionState {
        SessionState {
            id: NEXT_SESSION_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            state: start,
            read_only: false,
            welcomed: false,
            captures: Captures::new(),
            attributes: BTreeMap::new(),
            last_activity: now,
            expired: false,
            recent: VecDeque::new(),
            sockets: Vec::new(),
            record: FlowRecord::default(),
            history: VecDeque::new(),
        }
    }

    /// Keeps one message body for the history, forgetting the oldest beyond `max`.
    pub(crate) fn remember(&mut self, body: String, max: usize) {
        if max == 0 {
            return;
        }
        while self.history.len() >= max {
            self.history.pop_front();
        }
        self.history.push_back(body.into_boxed_str());
    }

    /// Starts a new conversation on the same token (`startNew: true`).
    pub(crate) fn restart(&mut self, start: usize) {
        self.state = start;
        self.read_only = false;
        self.welcomed = false;
        self.captures.clear();
        self.attributes.clear();
        self.record = FlowRecord::default();
        self.history.clear();
    }
}

/// A shared, lockable session.
pub(crate) type SharedSession = Arc<Mutex<SessionState>>;

/// Locks a session, ignoring poisoning (a panicking connection leaves plain data behind).
pub(crate) fn lock(session: &SharedSession) -> MutexGuard<'_, SessionState> {
    session.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the store knows of a token.
pub(crate) enum Lookup {
    /// A session made just now.
    New(SharedSession),
    /// The token's existing session.
    Existing(SharedSession),
    /// The token's session expired and was removed: the token is dead (4006).
    Expired,
}

/// Every session of the deployment, by token, with a cap on how many are kept and the
/// removal of expired ones.
///
/// The store orders sessions by the last activity it knows of. That order may be stale (a
/// session's own `last_activity` is the truth, updated under the session's lock only), so a
/// session found at the front is looked at before it goes: a more recently active one is
/// moved back to where it belongs. The store's lock is taken before a session's lock, and a
/// session's lock only with `try_lock`: no socket ever waits on the store while holding a
/// session.
#[derive(Debug)]
pub(crate) struct Sessions {
    store: Mutex<Store>,
    ttl: Option<Duration>,
    max: usize,
}

#[derive(Debug, Default)]
struct Store {
    by_token: HashMap<Arc<str>, Stored>,
    /// Tokens by (last known activity, insertion number).
    order: BTreeMap<(Instant, u64), Arc<str>>,
    next: u64,
    /// Hashes of the tokens whose session expired and was removed, oldest first: they keep
    /// answering 4006. As many are kept as sessions at most.
    dead: HashSet<u64>,
    dead_order: VecDeque<u64>,
    hasher: RandomState,
}

#[derive(Debug)]
struct Stored {
    session: SharedSession,
    key: (Instant, u64),
}

/// What the store does with the session at the front of its order.
#[derive(Clone, Copy)]
enum Verdict {
    /// Still in use: put it back with this activity time.
    Keep(Instant),
    /// Remove it; `true`: its token is dead (the session expired).
    Remove(bool),
}

impl Sessions {
    /// A store of at most `max` sessions (at least one), expiring after `ttl` of inactivity.
    pub(crate) fn new(ttl: Option<Duration>, max: usize) -> Sessions {
        Sessions {
            store: Mutex::new(Store::default()),
            ttl,
            max: max.max(1),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session of `token`; a new one (starting in `start`) if the token is unknown.
    /// Expired sessions are removed first, and, if the store is full, the least recently
    /// active ones.
    pub(crate) fn get_or_create(&self, token: &str, start: usize, now: Instant) -> Lookup {
        let mut store = self.store();
        if let Some(stored) = store.by_token.get(token) {
            return Lookup::Existing(Arc::clone(&stored.session));
        }
        if !store.dead.is_empty() && store.dead.contains(&store.hasher.hash_one(token)) {
            return Lookup::Expired;
        }
        self.sweep_locked(&mut store, now);
        // Each round either removes a session or moves one back; after as many rounds as
        // there are sessions, the front one goes whatever it is.
        let mut rounds = store.by_token.len();
        while store.by_token.len() >= self.max {
            let force = rounds == 0;
            rounds = rounds.saturating_sub(1);
            let Some(first) = store.order.first_entry() else {
                break;
            };
            let at = first.key().0;
            let token = first.remove();
            let verdict = match store.by_token.get(&token) {
                None => continue,
                Some(stored) => self.judge(&stored.session, at, now, force, true),
            };
            store.apply(token, verdict, self.max);
        }
        let session = Arc::new(Mutex::new(SessionState::new(start, now)));
        let token: Arc<str> = Arc::from(token);
        let key = (now, store.next);
        store.next += 1;
        store.order.insert(key, Arc::clone(&token));
        store.by_token.insert(
            token,
            Stored {
                session: Arc::clone(&session),
                key,
            },
        );
        Lookup::New(session)
    }

    /// The session of `token`, if it is stored (never creates one).
    pub(crate) fn get(&self, token: &str) -> Option<SharedSession> {
        self.store()
            .by_token
            .get(token)
            .map(|stored| Arc::clone(&stored.session))
    }

    /// Forgets `token`'s session (Presence `Clear`): the token starts a new conversation if
    /// it is used again.
    pub(crate) fn remove(&self, token: &str) {
        let mut store = self.store();
        if let Some(stored) = store.by_token.remove(token) {
            store.order.remove(&stored.key);
        }
    }

    /// Removes every session past its TTL.
    pub(crate) fn sweep(&self, now: Instant) {
        let mut store = self.store();
        self.sweep_locked(&mut store, now);
    }

    /// Every session stored now (for the simulated Platform API's lookups).
    pub(crate) fn all(&self) -> Vec<SharedSession> {
        self.store()
            .by_token
            .values()
            .map(|stored| Arc::clone(&stored.session))
            .collect()
    }

    /// The number of sessions stored.
    pub(crate) fn len(&self) -> usize {
        self.store().by_token.len()
    }

    fn sweep_locked(&self, store: &mut Store, now: Instant) {
        let Some(ttl) = self.ttl else {
            return;
        };
        while let Some(first) = store.order.first_entry() {
            let at = first.key().0;
            if at.checked_add(ttl).is_none_or(|due| due > now) {
                break;
            }
            let token = first.remove();
            let verdict = match store.by_token.get(&token) {
                None => continue,
                Some(stored) => self.judge(&stored.session, at, now, false, false),
            };
            store.apply(token, verdict, self.max);
        }
    }

    /// Whether the session at the front of the order (known active at `at`) goes.
    /// `evicting`: the store is full, so a live session may go too (unless a socket uses it,
    /// or it was active later than `at`); `force`: it goes whatever it is.
    fn judge(
        &self,
        session: &SharedSession,
        at: Instant,
        now: Instant,
        force: bool,
        evicting: bool,
    ) -> Verdict {
        let Ok(state) = session.try_lock() else {
            // A socket is using it right now.
            return if force {
                Verdict::Remove(false)
            } else {
                Verdict::Keep(now)
            };
        };
        let expired = state.expired
            || self
                .ttl
                .is_some_and(|ttl| now.saturating_duration_since(state.last_activity) >= ttl);
        if expired {
            return Verdict::Remove(true);
        }
        if force {
            return Verdict::Remove(false);
        }
        if state.last_activity > at {
            return Verdict::Keep(state.last_activity);
        }
        if !evicting {
            // Not reached by a sweep (a session at the front past its TTL either expired or
            // was active later); `now` keeps the sweep finite all the same.
            return Verdict::Keep(now);
        }
        if state.sockets.is_empty() {
            Verdict::Remove(false)
        } else {
            Verdict::Keep(now)
        }
    }
}

impl Store {
    fn apply(&mut self, token: Arc<str>, verdict: Verdict, max: usize) {
        match verdict {
            Verdict::Keep(at) => {
                let key = (at, self.next);
                self.next += 1;
                if let Some(stored) = self.by_token.get_mut(&token) {
                    stored.key = key;
                }
                self.order.insert(key, token);
            }
            Verdict::Remove(dead) => {
                if let Some(stored) = self.by_token.remove(&token) {
                    // The order may still hold the session under its current key.
                    self.order.remove(&stored.key);
                }
                if dead {
                    let hash = self.hasher.hash_one(&*token);
                    if self.dead.insert(hash) {
                        self.dead_order.push_back(hash);
                    }
                    while self.dead_order.len() > max {
                        if let Some(old) = self.dead_order.pop_front() {
                            self.dead.remove(&old);
                        }
                    }
                }
            }
        }
    }
}
