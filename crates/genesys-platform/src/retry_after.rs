//! `Retry-After`, as seconds or as an HTTP date, read safely: any value (huge, negative,
//! `NaN`, `1e30`, a date far away) gives a wait of at most [`MAX_WAIT`], never a panic.

use std::time::Duration;

/// The longest wait a server can ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The wait the `Retry-After` header of `headers` asks for, capped at [`MAX_WAIT`].
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse(value, jiff::Timestamp::now())
}

/// A `Retry-After` value at `now`, capped at [`MAX_WAIT`]; `None` when it means nothing.
pub fn parse(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_WAIT));
    }
    if value.chars().all(|c| c.is_ascii_digit()) {
        // Too many digits for a u64: a very long wait.
        return Some(MAX_WAIT);
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        let capped = seconds.min(MAX_WAIT.as_secs_f64());
        return Duration::try_from_secs_f64(capped).ok();
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_panics_and_is_capped() {
        let now: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse(" 0.5 ", now), Some(Duration::from_millis(500)));
        assert_eq!(parse("1e30", now), Some(MAX_WAIT));
        assert_eq!(parse("1e308", now), Some(MAX_WAIT));
        assert_eq!(parse("inf", now), None);
        assert_eq!(parse("NaN", now), None);
        assert_eq!(parse("-1", now), None);
        assert_eq!(parse("-1e30", now), None);
        assert_eq!(parse("18446744073709551615", now), Some(MAX_WAIT));
        assert_eq!(parse("99999999999999999999999999", now), Some(MAX_WAIT));
        assert_eq!(
            parse("Wed, 01 Jan 2025 00:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse("Tue, 31 Dec 2024 00:00:05 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("Wed, 01 Jan 2031 00:00:00 GMT", now), Some(MAX_WAIT));
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("", now), None);
    }
}
