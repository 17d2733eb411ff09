//! The project's one HTTP retry rule, for the Platform API and the model providers alike:
//! 429 and 5xx answers (and time-outs, connection errors) are tried again; the wait is the
//! server's `Retry-After` when it gave one, else an exponential backoff; never more than a cap.

use std::time::Duration;

/// When and how often a failed request is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryRule {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub first_backoff: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for RetryRule {
    fn default() -> Self {
        RetryRule {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            max_wait: crate::retry_after::MAX_WAIT,
        }
    }
}

impl RetryRule {
    /// The wait before attempt `attempt + 1` (attempts count from 1): `Retry-After` when the
    /// server gave one, else exponential backoff; never more than `max_wait`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .first_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(backoff).min(self.max_wait)
    }

    /// Whether an answer with this status is tried again: 429 and every 5xx.
    pub fn retryable(status: u16) -> bool {
        status == 429 || (500..600).contains(&status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_and_retry_after_wins() {
        let rule = RetryRule::default();
        assert_eq!(rule.wait(1, None), Duration::from_millis(500));
        assert_eq!(rule.wait(2, None), Duration::from_secs(1));
        assert_eq!(rule.wait(3, None), Duration::from_secs(2));
        assert_eq!(rule.wait(20, None), Duration::from_secs(30));
        assert_eq!(
            rule.wait(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            rule.wait(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
        assert!(RetryRule::retryable(429) && RetryRule::retryable(503));
        assert!(!RetryRule::retryable(404) && !RetryRule::retryable(401));
    }
}
