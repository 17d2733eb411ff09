//! The resource limits of a running simulator: how much any guest (or all of them together)
//! may hold on to, and how long a socket may sit idle.

use std::time::Duration;

/// How much a running [`Simulator`](crate::Simulator) lets its guests hold: connections,
/// stored sessions, token length, frame size, inbound frame rate, and how long a socket may
/// take to upgrade, to configure its session and to stay silent.
///
/// The defaults leave room for load tests of tens of thousands of guests while keeping a
/// single misbehaving (or hostile) client from using up memory, sockets or CPU. Only the
/// token length is Genesys' documented behaviour; the other values are the simulator's own
/// (the real service's limits are not published), see the crate's README.
///
/// ```
/// # use web_messaging_simulator::{BotFlow, Simulator, SimulatorLimits};
/// # use std::time::Duration;
/// # async fn example(flow: BotFlow) -> std::io::Result<()> {
/// let mut limits = SimulatorLimits::default();
/// limits.max_connections = 100;
/// limits.idle_timeout = Some(Duration::from_secs(60));
/// let simulator = Simulator::builder(flow).limits(limits).start().await?;
/// # let _ = simulator;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatorLimits {
    /// Open TCP connections at once (upgraded or not). Beyond it a new connection is closed
    /// as soon as it is accepted, before anything is read from it; open ones are not affected.
    pub max_connections: usize,
    /// Guest sessions kept in the store. When a new session would exceed it, expired sessions
    /// go first, then the least recently active ones (sessions with a socket attached last).
    /// An evicted session's token starts a new conversation if it is used again.
    pub max_sessions: usize,
    /// The longest `configureSession` token, in characters. Longer (or empty) tokens are
    /// refused and never stored. Genesys documents 2048.
    pub max_token_chars: usize,
    /// The largest WebSocket frame or message from a guest, in bytes (raised when the flow's
    /// `limits.maxMessageLength` needs more). A larger one gets 4011 and the socket is closed
    /// with code 1009.
    pub max_frame_bytes: usize,
    /// Frames (of any kind) read per second from one socket, on average. A socket that sends
    /// faster is read more slowly: its frames wait in the network buffers, and other guests
    /// are not slowed down. `0` turns the limit off.
    pub frames_per_second: u32,
    /// Frames one socket may send at once, beyond `frames_per_second`, before it is slowed.
    pub frame_burst: u32,
    /// How long the TLS handshake and the WebSocket upgrade may take together. A slower
    /// client (a slowloris) is disconnected.
    pub handshake_timeout: Duration,
    /// How long an upgraded socket may go without sending a `configureSession` with a valid
    /// token. Then it is closed (code 1008). `None`: no limit.
    pub configure_timeout: Option<Duration>,
    /// How long a socket may go without sending any frame (not even an `echo` heartbeat or a
    /// WebSocket ping) once it sent `configureSession`. Then it is closed (code 1001).
    /// `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// How long writing to a guest may stall (a guest that does not read) before the socket
    /// is dropped.
    pub write_timeout: Duration,
    /// How long one plain-HTTP exchange on the simulator's port (`config.json`, an upload, a
    /// download, the history) may take, from the first byte to the end of the response.
    pub http_timeout: Duration,
    /// Messages kept per session for the guest history REST call (the oldest go first).
    /// `0`: no history is kept.
    pub max_history_messages: usize,
    /// Attachments (pending or uploaded) kept at once, over every session; the oldest go
    /// first.
    pub max_uploads: usize,
    /// Uploaded bytes kept at once, over every session; the oldest attachments go first.
    pub max_upload_bytes: usize,
}

impl Default for SimulatorLimits {
    fn default() -> Self {
        SimulatorLimits {
            max_connections: 50_000,
            max_sessions: 100_000,
            max_token_chars: 2048,
            max_frame_bytes: 1 << 20,
            frames_per_second: 100,
            frame_burst: 200,
            handshake_timeout: Duration::from_secs(10),
            configure_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(600)),
            write_timeout: Duration::from_secs(30),
            http_timeout: Duration::from_secs(30),
            max_history_messages: 100,
            max_uploads: 10_000,
            max_upload_bytes: 256 << 20,
        }
    }
}

/// A token bucket for one socket's inbound frames: `rate` per second, up to `burst` at once.
#[derive(Debug)]
pub(crate) struct FrameBudget {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: tokio::time::Instant,
}

impl FrameBudget {
    pub(crate) fn new(limits: &SimulatorLimits, now: tokio::time::Instant) -> Option<FrameBudget> {
        if limits.frames_per_second == 0 {
            return None;
        }
        let burst = f64::from(limits.frame_burst.max(1));
        Some(FrameBudget {
            rate: f64::from(limits.frames_per_second),
            burst,
            tokens: burst,
            updated: now,
        })
    }

    fn refill(&mut self, now: tokio::time::Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
    }

    /// `None` when a frame may be read now; otherwise when the next one may.
    pub(crate) fn ready_at(&mut self, now: tokio::time::Instant) -> Option<tokio::time::Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            return None;
        }
        let wait = Duration::from_secs_f64(((1.0 - self.tokens) / self.rate).max(0.0));
        Some(now + wait.max(Duration::from_millis(1)))
    }

    /// Counts one frame read.
    pub(crate) fn spend(&mut self, now: tokio::time::Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_a_burst_then_the_rate() {
        let limits = SimulatorLimits {
            frames_per_second: 10,
            frame_burst: 3,
            ..SimulatorLimits::default()
        };
        let start = tokio::time::Instant::now();
        let mut budget = FrameBudget::new(&limits, start).expect("a limit");
        for _ in 0..3 {
            assert_eq!(budget.ready_at(start), None);
            budget.spend(start);
        }
        let next = budget.ready_at(start).expect("must wait");
        let wait = next - start;
        assert!(
            wait >= Duration::from_millis(90) && wait <= Duration::from_millis(110),
            "{wait:?}"
        );
        assert_eq!(budget.ready_at(next), None);
        let off = SimulatorLimits {
            frames_per_second: 0,
            ..SimulatorLimits::default()
        };
        assert!(FrameBudget::new(&off, start).is_none());
    }
}
