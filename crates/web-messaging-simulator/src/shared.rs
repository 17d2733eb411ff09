//! What every task of a running simulator shares: the flow, the sessions, the uploads, the
//! record of received frames, the counters; and the stop signal.

use crate::flow::{BotFlow, RateLimit};
use crate::limits::SimulatorLimits;
use crate::rest::{Jwts, Uploads};
use crate::session::Sessions;
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) flow: BotFlow,
    /// The seed of every socket's random generators.
    pub(crate) seed: u64,
    /// The guest sessions, by token.
    pub(crate) sessions: Sessions,
    pub(crate) received: Mutex<Vec<Value>>,
    /// Whether `received` keeps frames: a long-running `simulate` under load must not grow.
    recording: bool,
    connections: AtomicU64,
    /// Open TCP connections, upgraded or not.
    pub(crate) open: AtomicUsize,
    pub(crate) limits: SimulatorLimits,
    /// `http(s)://HOST:PORT/downloads`: where attachments without a URL of their own are
    /// offered. Set once the address is known.
    pub(crate) downloads: std::sync::OnceLock<String>,
    /// The `onMessage` rate limit in force: the flow's, unless the builder overrides it.
    pub(crate) rate_limit: RateLimit,
    /// Guest JWTs from `getJwt`.
    pub(crate) jwts: Jwts,
    /// Attachments from `onAttachment`.
    pub(crate) uploads: Uploads,
    /// The address listened on, for URLs when a request names no usable host.
    pub(crate) addr: SocketAddr,
    /// Whether the port speaks TLS (`wss://`, `https://`).
    pub(crate) tls: bool,
    /// The simulated Platform API's tokens and fault counter.
    pub(crate) platform: PlatformState,
}

impl Shared {
    pub(crate) fn new(
        flow: BotFlow,
        seed: u64,
        recording: bool,
        limits: SimulatorLimits,
    ) -> Shared {
        Shared {
            sessions: Sessions::new(flow.session.ttl, limits.max_sessions),
            rate_limit: flow.limits.rate_limit,
            jwts: Jwts::new(limits.max_sessions),
            uploads: Uploads::new(limits.max_uploads, limits.max_upload_bytes),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            platform: PlatformState::default(),
            flow,
            seed,
            received: Mutex::new(Vec::new()),
            recording,
            connections: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            limits,
            downloads: std::sync::OnceLock::new(),
        }
    }

    /// The base of the simulator's own download URLs (`http://127.0.0.1/downloads` until the
    /// address is known).
    pub(crate) fn downloads(&self) -> &str {
        self.downloads
            .get()
            .map_or("http://127.0.0.1/downloads", String::as_str)
    }

    /// Records one frame a guest sent, in arrival order.
    pub(crate) fn record(&self, frame: Value) {
        if !self.recording {
            return;
        }
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(frame);
    }

    /// `http://HOST:PORT` (or `https://`) for URLs handed to a client that reached the
    /// simulator as `host` (the request's `Host` header, used when it looks like a host).
    pub(crate) fn base_url(&self, host: Option<&str>) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = host
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .map_or_else(|| self.addr.to_string(), str::to_string);
        format!("{scheme}://{host}")
    }

    /// The number of the next connection: 0, 1, 2... in accept order.
    pub(crate) fn next_connection_id(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed)
    }
}

/// Counts one open connection until dropped.
pub(crate) struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    /// Counts a new connection, unless `max_connections` are open already.
    pub(crate) fn admit(shared: &Arc<Shared>) -> Option<OpenConnection> {
        let max = shared.limits.max_connections;
        shared
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| OpenConnection(Arc::clone(shared)))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A deadline that never comes in practice, for durations too long to add to `now`.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

/// Resolves once the simulator stops (or is dropped). The `Ref` that `wait_for` returns is
/// released here, never held across an `.await` of the caller.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The simulated Platform API's issued tokens and the request counter of its fault schedule
/// (kept here, with the rest of what every task shares, so `platform` depends on `shared`
/// and not the other way round).
#[derive(Debug, Default)]
pub(crate) struct PlatformState {
    /// Issued tokens and how many requests each has left; the oldest first, for eviction.
    pub(crate) tokens: std::sync::Mutex<(
        std::collections::HashMap<String, u64>,
        std::collections::VecDeque<String>,
    )>,
    /// Platform API requests served so far.
    pub(crate) requests: std::sync::atomic::AtomicU64,
}
