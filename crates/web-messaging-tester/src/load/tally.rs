//! Everything a load run counted, histograms included: what [`Recorder`](super::stats::Recorder)
//! holds, as plain data. The summary (table, JSON, thresholds) is computed from a tally, and
//! `report merge` rebuilds one tally per shard from its JSON report and adds them: counts
//! added, histograms merged, every percentile recomputed from the merged histograms.
//!
//! The histograms travel in the JSON report in HdrHistogram's standard "V2 compressed"
//! encoding (the V2 format, deflated) in base64, the same text as a `.hlog` line, so any
//! HdrHistogram implementation (Java, Go, JavaScript, Python, Rust) can read them.

use super::stats::{
    ConversationSummary, ErrorSummary, HIGHEST_MICROS, LatencySummary, MessageSummary, StepSummary,
    Summary, histogram,
};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How the report names the histograms' encoding.
pub const HISTOGRAM_ENCODING: &str = "hdrhistogram-v2-deflate-base64";
/// The largest encoded histogram accepted (a real one is a few hundred bytes to a few KiB).
const MAX_ENCODED: usize = 1 << 20;

/// One step of one scenario.
#[derive(Debug, Clone)]
pub struct StepTally {
    /// The scenario's name.
    pub scenario: String,
    /// The step's number in its scenario, from 1.
    pub step: usize,
    /// The step as written.
    pub description: String,
    /// Whether it waits for a bot reply.
    pub waits_for_reply: bool,
    /// Response times at this step, in microseconds.
    pub histogram: Histogram<u64>,
    /// Conversations that failed at this step, by kind.
    pub errors: BTreeMap<String, u64>,
}

/// Every count and histogram of a run (or of merged shards).
#[derive(Debug, Clone)]
pub struct Tally {
    /// Response times over every step, in microseconds.
    pub overall: Histogram<u64>,
    /// Connect to `SessionResponse`, in microseconds.
    pub session_start: Histogram<u64>,
    /// Whole conversations, in microseconds.
    pub conversation: Histogram<u64>,
    /// Per step, in report order.
    pub steps: Vec<StepTally>,
    /// Failures before the first step, by kind.
    pub start_errors: BTreeMap<String, u64>,
    /// Failed conversations by kind.
    pub errors: BTreeMap<String, u64>,
    /// Each error kind's description.
    pub labels: BTreeMap<String, String>,
    /// Conversations begun.
    pub started: u64,
    /// Conversations ended.
    pub completed: u64,
    /// Conversations failed.
    pub failed: u64,
    /// Guest messages.
    pub sent: u64,
    /// Bot messages.
    pub received: u64,
    /// 429s cured by resending.
    pub rate_limited_resent: u64,
    /// Open-model arrivals skipped.
    pub dropped_arrivals: u64,
    /// Conversations cut short by an interruption.
    pub interrupted: u64,
    /// The most conversations at once (merged: the sum of the shards' peaks, an upper bound).
    pub peak_active: u64,
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl Tally {
    /// Every number of the run, over `wall_time` (for the per-second rates).
    pub fn summary(&self, wall_time: Duration) -> Summary {
        let seconds = wall_time.as_secs_f64().max(1e-9);
        let per_second = |n: u64| n as f64 / seconds;
        let messages = self.sent + self.received;
        let steps = self
            .steps
            .iter()
            .map(|s| StepSummary {
                scenario: s.scenario.clone(),
                step: s.step,
                description: s.description.clone(),
                waits_for_reply: s.waits_for_reply,
                response_time_ms: LatencySummary::of(&s.histogram),
                errors: s.errors.clone(),
            })
            .collect();
        Summary {
            wall_time_ms: millis(wall_time),
            peak_active_guests: usize::try_from(self.peak_active).unwrap_or(usize::MAX),
            dropped_arrivals: self.dropped_arrivals,
            interrupted_conversations: self.interrupted,
            conversations: ConversationSummary {
                started: self.started,
                completed: self.completed,
                passed: self.completed.saturating_sub(self.failed),
                failed: self.failed,
                per_second: per_second(self.completed),
            },
            messages: MessageSummary {
                sent: self.sent,
                received: self.received,
                total: messages,
                per_second: per_second(messages),
                sent_per_second: per_second(self.sent),
                received_per_second: per_second(self.received),
            },
            response_time_ms: LatencySummary::of(&self.overall),
            session_start_ms: LatencySummary::of(&self.session_start),
            conversation_ms: LatencySummary::of(&self.conversation),
            session_start_errors: self.start_errors.clone(),
            steps,
            errors: ErrorSummary {
                total: self.failed,
                rate: if self.completed == 0 {
                    0.0
                } else {
                    self.failed as f64 / self.completed as f64
                },
                by_kind: self.errors.clone(),
                labels: self.labels.clone(),
            },
            rate_limited_resent: self.rate_limited_resent,
        }
    }

    /// Adds another shard's tally: counts summed, histograms merged (exactly: the same
    /// buckets). The steps must be the same (the same script); the caller checked its hash.
    pub fn add(&mut self, other: &Tally) -> Result<(), String> {
        if self.steps.len() != other.steps.len()
            || self
                .steps
                .iter()
                .zip(&other.steps)
                .any(|(a, b)| a.scenario != b.scenario || a.description != b.description)
        {
            return Err("the reports have different steps (not the same test-script)".into());
        }
        let merge = |into: &mut Histogram<u64>, from: &Histogram<u64>| {
            into.add(from)
                .map_err(|e| format!("cannot merge the histograms: {e:?}"))
        };
        merge(&mut self.overall, &other.overall)?;
        merge(&mut self.session_start, &other.session_start)?;
        merge(&mut self.conversation, &other.conversation)?;
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            merge(&mut mine.histogram, &theirs.histogram)?;
            add_counts(&mut mine.errors, &theirs.errors);
        }
        add_counts(&mut self.start_errors, &other.start_errors);
        add_counts(&mut self.errors, &other.errors);
        for (key, label) in &other.labels {
            self.labels
                .entry(key.clone())
                .or_insert_with(|| label.clone());
        }
        self.started += other.started;
        self.completed += other.completed;
        self.failed += other.failed;
        self.sent += other.sent;
        self.received += other.received;
        self.rate_limited_resent += other.rate_limited_resent;
        self.dropped_arrivals += other.dropped_arrivals;
        self.interrupted += other.interrupted;
        self.peak_active += other.peak_active;
        Ok(())
    }

    /// The histograms as the JSON report carries them.
    pub fn encoded(&self) -> EncodedHistograms {
        EncodedHistograms {
            encoding: HISTOGRAM_ENCODING.into(),
            unit: "microseconds".into(),
            response_time: encode(&self.overall),
            session_start: encode(&self.session_start),
            conversation: encode(&self.conversation),
            steps: self.steps.iter().map(|s| encode(&s.histogram)).collect(),
        }
    }
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (key, n) in from {
        *into.entry(key.clone()).or_default() += n;
    }
}

/// The histograms of a report: `responseTime`, `sessionStart`, `conversation` and one per
/// entry of `steps[]`, in the same order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EncodedHistograms {
    /// Always [`HISTOGRAM_ENCODING`].
    pub encoding: String,
    /// Always `microseconds`.
    pub unit: String,
    /// Response times over every step.
    pub response_time: String,
    /// Connect to `SessionResponse`.
    pub session_start: String,
    /// Whole conversations.
    pub conversation: String,
    /// Per step, in the order of the report's `steps[]`.
    pub steps: Vec<String>,
}

/// One histogram in the report's encoding.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        // Serialising to memory only fails for values beyond the histogram's range, which
        // recording clamps away.
        Err(_) => String::new(),
    }
}

/// Reads one histogram; the error says what is wrong. Its bounds must be the load
/// histograms' (1 µs to an hour, 3 significant digits), so that merging is exact.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    if text.len() > MAX_ENCODED {
        return Err(format!(
            "a histogram of {} bytes (at most {MAX_ENCODED})",
            text.len()
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("a histogram that is not base64: {e}"))?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("a histogram that cannot be read: {e:?}"))?;
    let reference = histogram();
    if decoded.low() != reference.low()
        || decoded.high() != HIGHEST_MICROS
        || decoded.sigfig() != reference.sigfig()
    {
        return Err(format!(
            "a histogram with other bounds ({}..{} at {} digits, expected 1..{HIGHEST_MICROS} at 3)",
            decoded.low(),
            decoded.high(),
            decoded.sigfig()
        ));
    }
    // Copy into a histogram of exactly the load bounds (the decoded one may auto-resize).
    let mut exact = histogram();
    exact
        .add(&decoded)
        .map_err(|e| format!("a histogram out of range: {e:?}"))?;
    Ok(exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_encoding_exactly() {
        let mut h = histogram();
        for v in [1u64, 7, 999, 1_000, 12_345, 250_000, 3_600_000_000] {
            h.record_n(v, v % 5 + 1).unwrap();
        }
        let text = encode(&h);
        assert!(text.len() < 400, "compact: {} bytes", text.len());
        let back = decode(&text).unwrap();
        assert_eq!(back, h);
        assert_eq!(decode(&encode(&histogram())).unwrap().len(), 0);
    }

    #[test]
    fn refuses_what_is_not_a_load_histogram() {
        assert!(decode("not base64!").unwrap_err().contains("base64"));
        assert!(decode("aGVsbG8=").unwrap_err().contains("cannot be read"));
        let other = Histogram::<u64>::new_with_bounds(1, 1000, 2).unwrap();
        assert!(
            decode(&encode(&other))
                .unwrap_err()
                .contains("other bounds")
        );
        assert!(decode(&"A".repeat(MAX_ENCODED + 1)).is_err());
    }
}
