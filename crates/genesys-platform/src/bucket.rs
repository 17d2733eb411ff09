//! The client's request budget: a token bucket shared by every clone of a client, so that
//! parallel scenarios together stay under the per-client rate Genesys enforces (300
//! requests a minute per client-credentials token by default, Genesys' Platform API documentation).

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `burst` requests at once, refilled at `per_minute` a minute.
#[derive(Debug)]
pub(crate) struct Bucket {
    state: Mutex<State>,
    per_second: f64,
    burst: f64,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
    /// Nothing goes out before this (a 429's `Retry-After` pauses every clone).
    paused_until: Option<Instant>,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(per_minute: u32, burst: u32) -> Bucket {
        let per_minute = per_minute.max(1);
        let burst = f64::from(burst.max(1));
        Bucket {
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
                paused_until: None,
            }),
            per_second: f64::from(per_minute) / 60.0,
            burst,
        }
    }

    /// Takes one token, or says how long to wait before trying again.
    fn try_take(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(until) = state.paused_until {
            if now < until {
                return Err(until - now);
            }
            state.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.per_second).min(self.burst);
        state.last = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - state.tokens;
            Err(Duration::from_secs_f64(missing / self.per_second).max(Duration::from_millis(1)))
        }
    }

    /// Waits for one token.
    pub(crate) async fn take(&self) {
        loop {
            match self.try_take() {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Holds every request back for `wait` (the server said so).
    pub(crate) fn pause(&self, wait: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + wait;
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let bucket = Bucket::new(60, 3);
        let start = Instant::now();
        for _ in 0..3 {
            bucket.take().await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        bucket.take().await;
        bucket.take().await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1990) && elapsed < Duration::from_millis(2100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone() {
        let bucket = Bucket::new(6000, 10);
        bucket.pause(Duration::from_secs(3));
        let start = Instant::now();
        bucket.take().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }
}
