//! What a load run measures: response-time histograms (overall and per step), counts, and
//! errors by kind. Guests hand in one [`ConversationRecord`] per conversation; the recorder
//! folds it in under one short lock, and [`Recorder::summary`] turns it into the numbers the
//! table and the JSON report show.

use super::tally::{StepTally, Tally};
use crate::format::script::{Scenario, Step, WaitFor};
use genesys_web_messaging::{
    Closed, ConnectError, Fault, SayError, SendError, WaitError, WaitFailure, protocol::ServerError,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Largest value the histograms hold: one hour, in microseconds (larger values are clamped).
pub const HIGHEST_MICROS: u64 = 3_600_000_000;

/// Why a conversation failed. Each failed conversation counts once, under its first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The socket could not be opened (DNS, TCP, TLS, out of file descriptors...).
    ConnectFailed,
    /// Opening the socket took longer than its timeout.
    ConnectTimeout,
    /// The server refused the WebSocket upgrade with this HTTP status.
    ConnectRefused(u16),
    /// No `SessionResponse` to `configureSession` in time.
    SessionNotStarted,
    /// A wait got no reply at all in time.
    Timeout,
    /// A wait timed out after replies that did not match (or a click found no such option).
    WrongReply,
    /// The bot ended the conversation while a step still expected something.
    Disconnect,
    /// Genesys answered with this error code.
    ServerError(i64),
    /// Genesys refused a message with 429 and resending did not help.
    RateLimited,
    /// Genesys closed the connection (`ConnectionClosedEvent`).
    ConnectionClosedEvent,
    /// A frame that could not be read.
    BadFrame,
    /// The server closed the socket.
    SocketClosed,
    /// The connection failed (reset, protocol error).
    SocketFailed,
    /// A `sendAttachment` or lifecycle step (`clearConversation`, `reconnect`, `startNew`,
    /// `closeSession`) failed.
    StepFailed,
    /// A bug in this tool (a guest task stopped unexpectedly).
    Internal,
}

impl ErrorKind {
    /// The key in the JSON report, e.g. `timeout`, `server-error-5000`.
    pub fn key(&self) -> String {
        match self {
            ErrorKind::ConnectFailed => "connect-failed".into(),
            ErrorKind::ConnectTimeout => "connect-timeout".into(),
            ErrorKind::ConnectRefused(status) => format!("connect-refused-{status}"),
            ErrorKind::SessionNotStarted => "session-not-started".into(),
            ErrorKind::Timeout => "timeout".into(),
            ErrorKind::WrongReply => "wrong-reply".into(),
            ErrorKind::Disconnect => "disconnect".into(),
            ErrorKind::ServerError(code) => format!("server-error-{code}"),
            ErrorKind::RateLimited => "rate-limited-429".into(),
            ErrorKind::ConnectionClosedEvent => "connection-closed-event".into(),
            ErrorKind::BadFrame => "bad-frame".into(),
            ErrorKind::SocketClosed => "socket-closed".into(),
            ErrorKind::SocketFailed => "socket-failed".into(),
            ErrorKind::StepFailed => "step-failed".into(),
            ErrorKind::Internal => "internal".into(),
        }
    }

    /// Classifies a failed connect.
    pub fn of_connect(e: &ConnectError) -> ErrorKind {
        match e {
            ConnectError::Refused { status, .. } => ErrorKind::ConnectRefused(*status),
            ConnectError::TimedOut { .. } => ErrorKind::ConnectTimeout,
            ConnectError::Failed { .. } | ConnectError::InvalidUrl { .. } => {
                ErrorKind::ConnectFailed
            }
        }
    }

    /// Classifies a failed wait (or session start).
    pub fn of_wait(e: &WaitError) -> ErrorKind {
        match &e.reason {
            WaitFailure::TimedOut if e.received.is_empty() => ErrorKind::Timeout,
            WaitFailure::TimedOut => ErrorKind::WrongReply,
            WaitFailure::BotDisconnected => ErrorKind::Disconnect,
            WaitFailure::Server(Fault::Server(error)) => ErrorKind::of_server(error),
            WaitFailure::Server(Fault::Frame(_) | Fault::UnreadableSession { .. }) => {
                ErrorKind::BadFrame
            }
            WaitFailure::Closed(closed) => ErrorKind::of_closed(closed),
            WaitFailure::SessionNotStarted => ErrorKind::SessionNotStarted,
            WaitFailure::TooExpensive(_) => ErrorKind::WrongReply,
        }
    }

    /// Classifies a failed `say` or click.
    pub fn of_say(e: &SayError) -> ErrorKind {
        match e {
            SayError::Send(SendError::Closed(closed)) => ErrorKind::of_closed(closed),
            SayError::Disconnected | SayError::ReadOnly { .. } => ErrorKind::Disconnect,
            SayError::NoSuchOption { .. }
            | SayError::NoSuchSlot { .. }
            | SayError::NotClickable { .. } => ErrorKind::WrongReply,
            SayError::EmptyText => ErrorKind::Internal,
        }
    }

    fn of_server(error: &ServerError) -> ErrorKind {
        match error {
            ServerError::TooManyRequests { .. } => ErrorKind::RateLimited,
            ServerError::ConnectionClosed { .. } => ErrorKind::ConnectionClosedEvent,
            other => ErrorKind::ServerError(other.code()),
        }
    }

    fn of_closed(closed: &Closed) -> ErrorKind {
        match closed {
            Closed::ByServer { .. } => ErrorKind::SocketClosed,
            Closed::Failed(_) | Closed::LimitExceeded(_) => ErrorKind::SocketFailed,
            Closed::ByClient => ErrorKind::Internal,
        }
    }
}

/// What one conversation did, handed to the recorder when it ends.
#[derive(Debug, Clone, Default)]
pub struct ConversationRecord {
    /// Which scenario it ran.
    pub scenario: usize,
    /// From connecting to the `SessionResponse`, when the session started.
    pub session_start: Option<Duration>,
    /// Bot response times, by step index.
    pub responses: Vec<(usize, Duration)>,
    /// Why it failed, and at which step (`None`: before the first step).
    pub failure: Option<(Option<usize>, ErrorKind)>,
    /// Guest messages sent (says and clicks).
    pub sent: u64,
    /// Bot messages received.
    pub received: u64,
    /// 429 refusals that were resent (and so did not fail the conversation).
    pub rate_limited_resent: u64,
    /// How long the whole conversation took, connect to close.
    pub duration: Duration,
}

struct StepStats {
    histogram: Histogram<u64>,
    errors: BTreeMap<ErrorKind, u64>,
}

struct Inner {
    overall: Histogram<u64>,
    interval: Histogram<u64>,
    session_start: Histogram<u64>,
    conversation: Histogram<u64>,
    steps: Vec<Vec<StepStats>>,
    start_errors: BTreeMap<ErrorKind, u64>,
    errors: BTreeMap<ErrorKind, u64>,
    completed: u64,
    failed: u64,
    sent: u64,
    received: u64,
    rate_limited_resent: u64,
    dropped_arrivals: u64,
    interrupted: u64,
}

/// Collects every guest's results.
pub struct Recorder {
    inner: Mutex<Inner>,
    active: AtomicUsize,
    peak_active: AtomicUsize,
    started: AtomicU64,
    names: Vec<(String, Vec<(String, bool)>)>,
    /// `--samples-csv`: every response time as it is recorded (buffered, flushed at the end).
    samples: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
}

/// A conversation under way (see [`Recorder::begin`]).
pub struct Active<'a> {
    recorder: &'a Recorder,
    done: bool,
}

impl Active<'_> {
    /// The conversation ended: fold in its record.
    pub fn end(mut self, record: &ConversationRecord) {
        self.done = true;
        self.recorder.end(record);
    }

    /// The run was interrupted (Ctrl-C) while this conversation was under way: it is
    /// counted as interrupted, not as completed or failed.
    pub fn interrupted(mut self) {
        self.done = true;
        self.recorder.active.fetch_sub(1, Ordering::Relaxed);
        self.recorder.lock().interrupted += 1;
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.recorder.end(&ConversationRecord {
                failure: Some((None, ErrorKind::Internal)),
                ..ConversationRecord::default()
            });
        }
    }
}

/// What the live display shows.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Conversations under way.
    pub active: usize,
    /// Conversations finished (passed or failed).
    pub completed: u64,
    /// Conversations failed.
    pub errors: u64,
    /// p95 response time since the previous look, when any reply arrived meanwhile.
    pub recent_p95: Option<Duration>,
}

/// An empty histogram with the bounds every load histogram has (so any two can be added).
pub fn histogram() -> Histogram<u64> {
    // Three significant digits from 1 µs to an hour: bounds that are always valid.
    Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
        .unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, HIGHEST_MICROS)
}

impl Recorder {
    /// A recorder for these scenarios.
    pub fn new(scenarios: &[Scenario]) -> Recorder {
        let steps = scenarios
            .iter()
            .map(|s| {
                s.steps
                    .iter()
                    .map(|_| StepStats {
                        histogram: histogram(),
                        errors: BTreeMap::new(),
                    })
                    .collect()
            })
            .collect();
        let names = scenarios
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.steps
                        .iter()
                        .map(|step| {
                            let waits_for_reply = matches!(
                                step,
                                Step::Wait { what, .. } if !matches!(what, WaitFor::Disconnect)
                            );
                            (step.to_string(), waits_for_reply)
                        })
                        .collect(),
                )
            })
            .collect();
        Recorder {
            inner: Mutex::new(Inner {
                overall: histogram(),
                interval: histogram(),
                session_start: histogram(),
                conversation: histogram(),
                steps,
                start_errors: BTreeMap::new(),
                errors: BTreeMap::new(),
                completed: 0,
                failed: 0,
                sent: 0,
                received: 0,
                rate_limited_resent: 0,
                dropped_arrivals: 0,
                interrupted: 0,
            }),
            active: AtomicUsize::new(0),
            peak_active: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            names,
            samples: None,
        }
    }

    /// Also writes every response time to `file`, one CSV line each: the scenario's and the
    /// step's numbers (from 1, as in the report's `steps[]`) and the time in microseconds,
    /// unrounded (the histograms keep 3 significant digits).
    pub fn with_samples(mut self, file: std::fs::File) -> Recorder {
        use std::io::Write as _;
        let mut writer = std::io::BufWriter::new(file);
        let _ = writeln!(writer, "scenario,step,response_time_us");
        self.samples = Some(Mutex::new(writer));
        self
    }

    /// Flushes `--samples-csv`; the error says what went wrong.
    pub fn flush_samples(&self) -> std::io::Result<()> {
        use std::io::Write as _;
        match &self.samples {
            Some(writer) => writer.lock().unwrap_or_else(|p| p.into_inner()).flush(),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is complete before the lock is released, so a poisoned lock (a panic
        // elsewhere) still holds consistent numbers.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A conversation begins; the guard records how it ends (a guard dropped without an
    /// outcome, e.g. by a panic, counts as an internal error: never hidden).
    pub fn begin(&self) -> Active<'_> {
        self.started.fetch_add(1, Ordering::Relaxed);
        let active = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_active.fetch_max(active, Ordering::Relaxed);
        Active {
            recorder: self,
            done: false,
        }
    }

    fn end(&self, record: &ConversationRecord) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner.completed += 1;
        inner.sent += record.sent;
        inner.received += record.received;
        inner.rate_limited_resent += record.rate_limited_resent;
        if let Some(start) = record.session_start {
            let _ = inner.session_start.record(micros(start));
        }
        let _ = inner.conversation.record(micros(record.duration));
        for &(step, time) in &record.responses {
            let value = micros(time);
            let _ = inner.overall.record(value);
            let _ = inner.interval.record(value);
            if let Some(stats) = inner
                .steps
                .get_mut(record.scenario)
                .and_then(|s| s.get_mut(step))
            {
                let _ = stats.histogram.record(value);
            }
        }
        if let Some(samples) = &self.samples {
            use std::io::Write as _;
            let mut writer = samples.lock().unwrap_or_else(|p| p.into_inner());
            for &(step, time) in &record.responses {
                let _ = writeln!(
                    writer,
                    "{},{},{}",
                    record.scenario + 1,
                    step + 1,
                    time.as_micros()
                );
            }
        }
        if let Some((step, kind)) = record.failure {
            inner.failed += 1;
            *inner.errors.entry(kind).or_default() += 1;
            let per_step = step.and_then(|step| {
                inner
                    .steps
                    .get_mut(record.scenario)
                    .and_then(|s| s.get_mut(step))
            });
            match per_step {
                Some(stats) => *stats.errors.entry(kind).or_default() += 1,
                None => *inner.start_errors.entry(kind).or_default() += 1,
            }
        }
    }

    /// An open-model arrival found every guest busy and was skipped.
    pub fn dropped_arrival(&self) {
        self.lock().dropped_arrivals += 1;
    }

    /// The live numbers; starts a new window for the recent p95.
    pub fn progress(&self) -> Progress {
        let mut inner = self.lock();
        let recent_p95 = (!inner.interval.is_empty())
            .then(|| Duration::from_micros(inner.interval.value_at_quantile(0.95)));
        inner.interval.reset();
        Progress {
            active: self.active.load(Ordering::Relaxed),
            completed: inner.completed,
            errors: inner.failed,
            recent_p95,
        }
    }

    /// Every number of the run so far.
    /// `words` names each kind of error for people (the report's labels): the wording is
    /// [`crate::results`]'s, handed in by the command.
    #[cfg(test)]
    pub fn summary(&self, wall_time: Duration, words: impl Fn(ErrorKind) -> String) -> Summary {
        self.tally(words).summary(wall_time)
    }

    /// A copy of everything counted so far, histograms included (for the summary, the JSON
    /// report and `report merge`); `words` names each kind of error, as for the summary.
    pub fn tally(&self, words: impl Fn(ErrorKind) -> String) -> Tally {
        let inner = self.lock();
        let steps = self
            .names
            .iter()
            .zip(&inner.steps)
            .flat_map(|((scenario, descriptions), stats)| {
                descriptions.iter().zip(stats).enumerate().map(
                    move |(index, ((description, waits), stats))| StepTally {
                        scenario: scenario.clone(),
                        step: index + 1,
                        description: description.clone(),
                        waits_for_reply: *waits,
                        histogram: stats.histogram.clone(),
                        errors: keyed(&stats.errors),
                    },
                )
            })
            .collect();
        Tally {
            overall: inner.overall.clone(),
            session_start: inner.session_start.clone(),
            conversation: inner.conversation.clone(),
            steps,
            start_errors: keyed(&inner.start_errors),
            errors: keyed(&inner.errors),
            labels: inner.errors.keys().map(|k| (k.key(), words(*k))).collect(),
            started: self.started.load(Ordering::Relaxed),
            completed: inner.completed,
            failed: inner.failed,
            sent: inner.sent,
            received: inner.received,
            rate_limited_resent: inner.rate_limited_resent,
            dropped_arrivals: inner.dropped_arrivals,
            interrupted: inner.interrupted,
            peak_active: self.peak_active.load(Ordering::Relaxed) as u64,
        }
    }
}

fn keyed(errors: &BTreeMap<ErrorKind, u64>) -> BTreeMap<String, u64> {
    errors.iter().map(|(k, n)| (k.key(), *n)).collect()
}

fn micros_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Every number of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// From the first guest's start to the last conversation's end.
    pub wall_time_ms: f64,
    /// The most conversations under way at once.
    pub peak_active_guests: usize,
    /// Open model: arrivals skipped because every guest was busy.
    pub dropped_arrivals: u64,
    /// Conversations cut short by an interruption (Ctrl-C); not counted as completed.
    pub interrupted_conversations: u64,
    /// Conversation counts.
    pub conversations: ConversationSummary,
    /// Message counts.
    pub messages: MessageSummary,
    /// Bot response time over every step, from the guest's say/click to the matching reply.
    pub response_time_ms: Option<LatencySummary>,
    /// From connecting to the `SessionResponse`.
    pub session_start_ms: Option<LatencySummary>,
    /// Whole conversations, connect to close.
    pub conversation_ms: Option<LatencySummary>,
    /// Failures before the first step (connect, session start), by kind.
    pub session_start_errors: BTreeMap<String, u64>,
    /// Per step of each scenario.
    pub steps: Vec<StepSummary>,
    /// Failed conversations.
    pub errors: ErrorSummary,
    /// 429 refusals that were resent after `retryAfter` (not failures).
    pub rate_limited_resent: u64,
}

/// Conversation counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    /// Begun.
    pub started: u64,
    /// Ended (passed or failed).
    pub completed: u64,
    /// Ended with every step passed.
    pub passed: u64,
    /// Ended with a failure.
    pub failed: u64,
    /// Completed per second of wall time.
    pub per_second: f64,
}

/// Message counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSummary {
    /// Sent by guests (says and clicks).
    pub sent: u64,
    /// Bot messages received.
    pub received: u64,
    /// Both.
    pub total: u64,
    /// Both, per second of wall time.
    pub per_second: f64,
    /// Sent per second.
    pub sent_per_second: f64,
    /// Received per second.
    pub received_per_second: f64,
}

/// A latency distribution, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl LatencySummary {
    /// The statistics of a histogram of microseconds, in milliseconds (`None` when empty).
    pub fn of(h: &Histogram<u64>) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        let q = |q: f64| micros_to_ms(h.value_at_quantile(q));
        Some(LatencySummary {
            count: h.len(),
            min: micros_to_ms(h.min()),
            mean: h.mean().round() / 1000.0,
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            max: micros_to_ms(h.max()),
        })
    }

    /// A quantile by name, in milliseconds.
    pub fn get(&self, stat: crate::format::threshold::Stat) -> f64 {
        use crate::format::threshold::Stat;
        match stat {
            Stat::P50 => self.p50,
            Stat::P90 => self.p90,
            Stat::P95 => self.p95,
            Stat::P99 => self.p99,
            Stat::Max => self.max,
            Stat::Mean => self.mean,
            Stat::Min => self.min,
        }
    }
}

/// One step of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSummary {
    /// The scenario's name.
    pub scenario: String,
    /// The step's number in its scenario, from 1.
    pub step: usize,
    /// The step as written.
    pub description: String,
    /// Whether it waits for a bot reply (and so has response times).
    pub waits_for_reply: bool,
    /// Bot response time at this step (waits that got their reply).
    pub response_time_ms: Option<LatencySummary>,
    /// Conversations that failed at this step, by kind.
    pub errors: BTreeMap<String, u64>,
}

/// Failed conversations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSummary {
    /// How many.
    pub total: u64,
    /// Failed / completed (0 to 1).
    pub rate: f64,
    /// By kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Each kind's description, e.g. `timeout` → `timeout (no reply)`.
    pub labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(steps: usize) -> Scenario {
        Scenario {
            name: "s".into(),
            steps: (0..steps).map(|i| Step::Say(format!("m{i}"))).collect(),
        }
    }

    #[test]
    fn folds_conversations_into_counts_histograms_and_errors() {
        let recorder = Recorder::new(&[scenario(2)]);
        for i in 1..=100u64 {
            recorder.begin().end(&ConversationRecord {
                scenario: 0,
                session_start: Some(Duration::from_millis(1)),
                responses: vec![(1, Duration::from_millis(i))],
                failure: (i > 98).then_some((Some(1), ErrorKind::Timeout)),
                sent: 1,
                received: 2,
                rate_limited_resent: 0,
                duration: Duration::from_millis(i),
            });
        }
        recorder.begin().end(&ConversationRecord {
            failure: Some((None, ErrorKind::ConnectRefused(403))),
            ..ConversationRecord::default()
        });
        recorder.begin().interrupted();
        drop(recorder.begin());
        let summary = recorder.summary(Duration::from_secs(2), crate::results::load_error_words);
        assert_eq!(summary.conversations.started, 103);
        assert_eq!(summary.interrupted_conversations, 1);
        assert_eq!(summary.errors.by_kind["internal"], 1);
        assert_eq!(summary.conversations.completed, 102);
        assert_eq!(summary.conversations.failed, 4);
        assert_eq!(summary.messages.total, 300);
        assert!((summary.messages.per_second - 150.0).abs() < 1e-9);
        let rt = summary.response_time_ms.unwrap();
        assert_eq!(rt.count, 100);
        assert!((rt.p50 - 50.0).abs() < 0.1, "{rt:?}");
        assert!((rt.p99 - 99.0).abs() < 0.1, "{rt:?}");
        assert!((rt.max - 100.0).abs() < 0.1, "{rt:?}");
        assert_eq!(summary.errors.by_kind["timeout"], 2);
        assert!((summary.errors.rate - 4.0 / 102.0).abs() < 1e-12);
        assert_eq!(summary.errors.by_kind["connect-refused-403"], 1);
        assert_eq!(summary.session_start_errors["connect-refused-403"], 1);
        assert_eq!(summary.steps[1].errors["timeout"], 2);
        assert!(summary.steps[0].response_time_ms.is_none());
        assert_eq!(summary.peak_active_guests, 1);
    }
}
