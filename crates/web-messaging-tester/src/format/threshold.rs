//! Pass/fail thresholds: `p95<2s`, `error-rate<1%`, `conversations-per-second>=50`.

use std::fmt;

/// A statistic of the response-time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// Largest.
    Max,
    /// Mean.
    Mean,
    /// Smallest.
    Min,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Bot response time over every step (milliseconds).
    ResponseTime(Stat),
    /// Failed conversations / completed ones (a fraction).
    ErrorRate,
    /// Failed conversations.
    Errors,
    /// Completed conversations per second.
    ConversationsPerSecond,
    /// Guest and bot messages per second.
    MessagesPerSecond,
}

/// How the actual value must compare to the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`.
    Less,
    /// `<=`.
    LessOrEqual,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterOrEqual,
}

/// One threshold, e.g. `p95<2s`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As written.
    pub source: String,
    /// What it measures.
    pub metric: Metric,
    /// The comparison.
    pub op: Op,
    /// The limit: milliseconds for response times, a fraction for the error rate.
    pub limit: f64,
}

const METRICS: &str = "p50, p90, p95, p99, max, mean, min (response time), error-rate, errors, conversations-per-second, messages-per-second";

/// Parses a threshold; the error says what is wrong (usable as a clap value parser).
pub fn parse(text: &str) -> Result<Threshold, String> {
    let source: String = text.split_whitespace().collect();
    let Some(at) = source.find(['<', '>']) else {
        return Err(format!(
            "'{text}' is not a threshold like p95<2s or error-rate<1%: it needs <, <=, > or >="
        ));
    };
    let (name, rest) = source.split_at(at);
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::LessOrEqual, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::GreaterOrEqual, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Less, v)
    } else {
        (Op::Greater, &rest[1..])
    };
    let metric = match name.to_ascii_lowercase().as_str() {
        "p50" | "median" => Metric::ResponseTime(Stat::P50),
        "p90" => Metric::ResponseTime(Stat::P90),
        "p95" => Metric::ResponseTime(Stat::P95),
        "p99" => Metric::ResponseTime(Stat::P99),
        "max" => Metric::ResponseTime(Stat::Max),
        "mean" | "avg" => Metric::ResponseTime(Stat::Mean),
        "min" => Metric::ResponseTime(Stat::Min),
        "error-rate" | "errors-rate" => Metric::ErrorRate,
        "errors" => Metric::Errors,
        "conversations-per-second" | "conversations/s" => Metric::ConversationsPerSecond,
        "messages-per-second" | "messages/s" => Metric::MessagesPerSecond,
        "" => return Err(format!("'{text}' names no metric (one of {METRICS})")),
        other => {
            return Err(format!(
                "'{text}': unknown metric '{other}' (one of {METRICS})"
            ));
        }
    };
    if value.is_empty() {
        return Err(format!("'{text}' has no value after the comparison"));
    }
    let limit = match metric {
        Metric::ResponseTime(_) => {
            let duration = humantime::parse_duration(value).map_err(|_| {
                format!("'{text}': '{value}' is not a duration like 2s, 500ms or 1.5s")
            })?;
            duration.as_secs_f64() * 1000.0
        }
        Metric::ErrorRate => {
            let Some(percent) = value.strip_suffix('%') else {
                return Err(format!(
                    "'{text}': the error rate is a percentage, like 1% or 0.5%"
                ));
            };
            match percent.parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => p / 100.0,
                _ => {
                    return Err(format!(
                        "'{text}': '{value}' is not a percentage from 0% to 100%"
                    ));
                }
            }
        }
        Metric::Errors => value
            .parse::<u64>()
            .map_err(|_| format!("'{text}': '{value}' is not a whole number"))?
            as f64,
        Metric::ConversationsPerSecond | Metric::MessagesPerSecond => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => n,
            _ => return Err(format!("'{text}': '{value}' is not a number")),
        },
    };
    Ok(Threshold {
        source,
        metric,
        op,
        limit,
    })
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thresholds() {
        let t = parse("p95<2s").unwrap();
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::ResponseTime(Stat::P95), Op::Less, 2000.0)
        );
        let t = parse(" error-rate <= 1.5% ").unwrap();
        assert_eq!(t.source, "error-rate<=1.5%");
        assert_eq!((t.metric, t.op), (Metric::ErrorRate, Op::LessOrEqual));
        assert!((t.limit - 0.015).abs() < 1e-12);
        let t = parse("conversations-per-second>=50").unwrap();
        assert_eq!((t.op, t.limit), (Op::GreaterOrEqual, 50.0));
        assert_eq!(parse("p99<250ms").unwrap().limit, 250.0);
        assert_eq!(parse("errors<1").unwrap().metric, Metric::Errors);
    }

    #[test]
    fn refuses_malformed_thresholds() {
        for (bad, fragment) in [
            ("p95", "needs <"),
            ("p97<1s", "unknown metric 'p97'"),
            ("p95<2", "not a duration"),
            ("error-rate<1", "percentage"),
            ("error-rate<150%", "from 0% to 100%"),
            ("<1s", "names no metric"),
            ("p95<", "no value"),
            ("errors<1.5", "whole number"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(fragment), "{bad}: {e}");
        }
    }
}
