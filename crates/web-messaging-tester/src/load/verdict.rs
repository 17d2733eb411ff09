//! Load thresholds checked against a run's summary (their syntax is
//! [`crate::format::threshold`]).

use super::stats::Summary;
use crate::format::duration::format_ms;
use crate::format::threshold::{Metric, Op, Threshold};
use serde::Serialize;

/// A threshold checked against a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The threshold as written.
    pub threshold: String,
    /// The measured value (milliseconds, a fraction, a count or a rate); `None` when the
    /// run measured nothing for it (no reply at all): that counts as breached.
    pub actual: Option<f64>,
    /// The measured value as text, e.g. `1.2 s` or `0.3 %`.
    pub actual_text: String,
    /// Whether the run met it.
    pub passed: bool,
}

impl Threshold {
    /// The measured value for this threshold's metric.
    pub fn actual(&self, summary: &Summary) -> Option<f64> {
        match self.metric {
            Metric::ResponseTime(stat) => summary.response_time_ms.map(|l| l.get(stat)),
            Metric::ErrorRate => {
                (summary.conversations.completed > 0).then_some(summary.errors.rate)
            }
            Metric::Errors => Some(summary.errors.total as f64),
            Metric::ConversationsPerSecond => Some(summary.conversations.per_second),
            Metric::MessagesPerSecond => Some(summary.messages.per_second),
        }
    }

    /// Checks the run against this threshold.
    pub fn check(&self, summary: &Summary) -> Verdict {
        let actual = self.actual(summary);
        let passed = actual.is_some_and(|a| match self.op {
            Op::Less => a < self.limit,
            Op::LessOrEqual => a <= self.limit,
            Op::Greater => a > self.limit,
            Op::GreaterOrEqual => a >= self.limit,
        });
        let actual_text = match actual {
            None => "no data".into(),
            Some(a) => match self.metric {
                Metric::ResponseTime(_) => format_ms(a),
                Metric::ErrorRate => format!("{:.2} %", a * 100.0),
                Metric::Errors => format!("{a}"),
                Metric::ConversationsPerSecond => format!("{a:.1} conversations/s"),
                Metric::MessagesPerSecond => format!("{a:.1} messages/s"),
            },
        };
        Verdict {
            threshold: self.source.clone(),
            actual,
            actual_text,
            passed,
        }
    }
}
