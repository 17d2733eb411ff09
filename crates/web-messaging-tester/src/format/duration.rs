//! Durations: how they are read (upstream's seconds or `2s`/`500ms`, within each setting's
//! bounds) and how they are written (upstream's words, the compact form, milliseconds). The one
//! place for both, so a value is always read and shown the same way.

use std::time::Duration;

/// Bounds of a wait's time limit (`-t`, `config.timeout`, a step's `timeout`).
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(3600));
/// Bounds of the quiet time before each `say` (`--say-delay`, `config.sayDelay`).
pub const SAY_DELAY_RANGE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(60));
/// Bounds of a whole scenario's time limit (`--scenario-timeout`, `config.scenarioTimeout`,
/// `ai --time-limit`).
pub const SCENARIO_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(86_400));

/// Reads seconds as upstream's `--timeout` (`10`, `2.5`) or a duration (`2s`, `500ms`, `1m`),
/// rounded to the millisecond. `None` when it is neither; never panics.
fn parse_duration(value: &str) -> Option<Duration> {
    let trimmed = value.trim();
    let duration = match trimmed.parse::<f64>() {
        Ok(seconds) if !seconds.is_finite() => return None,
        // Out of every range, whatever the range.
        Ok(seconds) if seconds < 0.0 => return Some(Duration::MAX),
        // Above a year, the exact value does not matter: it is out of every range.
        Ok(seconds) => Duration::from_secs_f64(seconds.min(31_536_000.0)),
        Err(_) => humantime::parse_duration(trimmed).ok()?,
    };
    // Whole milliseconds: sub-millisecond precision means nothing on a network.
    let millis = duration.as_nanos().saturating_add(500_000) / 1_000_000;
    if millis == 0 {
        // Zero stays zero; a sub-millisecond value stays as it is, to be refused as too short.
        return Some(duration);
    }
    Some(Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

fn in_range(
    value: &str,
    duration: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, String> {
    if duration < min || duration > max {
        let min_text = if min.is_zero() {
            "0".to_string()
        } else {
            humanize(min)
        };
        return Err(format!(
            "'{}' is out of range: must be from {min_text} to {}",
            value.trim(),
            humanize(max)
        ));
    }
    Ok(duration)
}

/// Parses a wait's time limit: seconds as upstream's `--timeout` (`10`, `2.5`), or a duration
/// (`2s`, `500ms`, `1m`); from 1 ms to 1 hour.
pub fn parse_timeout(value: &str) -> Result<Duration, String> {
    let duration = parse_duration(value)
        .ok_or_else(|| format!("'{value}' is not a number of seconds or a duration like 2s"))?;
    if duration.is_zero() {
        return Err(format!("'{}' must be greater than 0", value.trim()));
    }
    in_range(value, duration, TIMEOUT_RANGE)
}

/// Parses the quiet time before each `say`: `2s`, `500ms` or `0`; at most 60 seconds.
pub fn parse_say_delay(value: &str) -> Result<Duration, String> {
    let duration = parse_delay(value)?;
    in_range(value, duration, SAY_DELAY_RANGE)
}

/// Parses a whole scenario's time limit, like a timeout (`600`, `10m`); from 1 second to
/// 24 hours.
pub fn parse_scenario_timeout(value: &str) -> Result<Duration, String> {
    let duration = parse_duration(value)
        .ok_or_else(|| format!("'{value}' is not a number of seconds or a duration like 10m"))?;
    in_range(value, duration, SCENARIO_TIMEOUT_RANGE)
}

/// Parses a delay such as `2s`, `500ms` or `0`.
pub fn parse_delay(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("'{value}' is not a duration like 2s or 500ms ({e})"))
}

/// A duration as humanize-duration writes it: `1 second`, `10 seconds`, `1 minute, 30 seconds`,
/// `0.5 seconds`; below a second, other than whole tenths, in milliseconds: `1 ms`, `250 ms`
/// (never `0 seconds`).
pub fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    let unit = |n: u128, name: &str| format!("{n} {name}{}", if n == 1 { "" } else { "s" });
    if (millis < 1000 && !millis.is_multiple_of(100)) || millis == 0 {
        let micros_rounded_up = duration.as_micros().div_ceil(1000);
        return format!("{} ms", micros_rounded_up.max(1));
    }
    if !millis.is_multiple_of(1000) {
        let seconds = duration.as_secs_f64();
        return format!("{} seconds", trim_float(seconds));
    }
    let seconds = millis / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(unit(hours, "hour"));
    }
    if minutes > 0 {
        parts.push(unit(minutes, "minute"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(unit(seconds, "second"));
    }
    parts.join(", ")
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A duration as humans write it: `1m 30s`, `500ms`, `0s`.
pub fn compact(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    // Whole milliseconds are precise enough for every profile setting.
    let d = Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    humantime::format_duration(d).to_string()
}

/// Milliseconds as text: `850 µs`, `12.3 ms`, `1.52 s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A duration in a summary: `2 s`, `1.5 s`, `250 ms`, `10 min`.
pub fn short_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 && !millis.is_multiple_of(100) {
        return format!("{} ms", duration.as_micros().div_ceil(1000).max(1));
    }
    if millis >= 60_000 && millis.is_multiple_of(60_000) {
        return format!("{} min", millis / 60_000);
    }
    format!("{} s", trim_float(duration.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizes_like_upstream() {
        assert_eq!(humanize(Duration::from_secs(1)), "1 second");
        assert_eq!(humanize(Duration::from_secs(10)), "10 seconds");
        assert_eq!(humanize(Duration::from_secs(60)), "1 minute");
        assert_eq!(humanize(Duration::from_secs(90)), "1 minute, 30 seconds");
        assert_eq!(humanize(Duration::from_millis(500)), "0.5 seconds");
        assert_eq!(humanize(Duration::from_millis(1)), "1 ms");
        assert_eq!(humanize(Duration::from_millis(250)), "250 ms");
        assert_eq!(humanize(Duration::from_nanos(1)), "1 ms");
        assert_eq!(humanize(Duration::from_millis(1500)), "1.5 seconds");
        assert_eq!(humanize(Duration::from_secs(3600)), "1 hour");
    }
}
