//! How a load run ends: always with its report and the reason it stopped.
//!
//! Once the input is valid, every way out writes the JSON report (with `--report-json`) with
//! `stopped` set: the target unavailable or the smoke test failed (nothing loaded, empty
//! counts), an interruption, a panic inside the load (caught: the load runs in its own task),
//! or the normal end. While the load runs, a checkpoint report (`stopped: running`) is written
//! every [`CHECKPOINT_EVERY`], so even a process killed outright (SIGKILL, the out-of-memory
//! killer) leaves a report that says it never finished, with what was measured until then.

use crate::format::threshold::Threshold;
use crate::load::stats::Recorder;
use crate::load::tally::Tally;
use crate::reports::load::{self as report, RunInfo, Stopped};
use crate::reports::write::write_atomically;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

/// How often the checkpoint report is rewritten while the load runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// What the report needs besides the numbers.
pub struct Ending {
    /// `--report-json`.
    pub report_json: Option<PathBuf>,
    /// What was run, and how it stopped.
    pub info: RunInfo,
    /// The thresholds to check.
    pub thresholds: Vec<Threshold>,
    /// The tally of a run that measured nothing (the steps, no counts).
    pub empty: Tally,
}

impl Ending {
    /// No load was started (`stopped` says why): the JSON report, with empty counts.
    pub fn write_before_load(&mut self, stopped: Stopped, detail: &str) {
        self.info.stopped = stopped;
        self.info.stopped_detail = Some(crate::secrets::redact(detail));
        let empty = self.empty.clone();
        if let Err(message) = self.write_json(&empty, Duration::ZERO) {
            eprintln!("error: {message}");
        }
    }

    /// The table on stdout, then the JSON report; returns whether the run passed (it ran to
    /// its end and met every threshold), and whether its report could be written (see
    /// [`crate::commands::after_writing_reports`]).
    pub fn finish(&self, tally: &Tally, wall_time: Duration) -> (bool, Result<(), String>) {
        let summary = tally.summary(wall_time);
        let verdicts: Vec<_> = self.thresholds.iter().map(|t| t.check(&summary)).collect();
        let passed = self.info.stopped == Stopped::Completed && verdicts.iter().all(|v| v.passed);
        let mut stdout = anstream::stdout();
        let _ =
            stdout.write_all(report::render(&self.info, &summary, &verdicts, passed).as_bytes());
        let _ = stdout.flush();
        (passed, self.write_json(tally, wall_time))
    }

    /// Writes the JSON report, if asked for; the error says which file and why.
    fn write_json(&self, tally: &Tally, wall_time: Duration) -> Result<(), String> {
        let Some(path) = &self.report_json else {
            return Ok(());
        };
        let json = json(&self.info, &self.thresholds, tally, wall_time);
        write_atomically(path, json.as_bytes())
            .map_err(|e| format!("--report-json {}: cannot write it: {e}", path.display()))
    }

    /// Rewrites the report every [`CHECKPOINT_EVERY`] while the load runs (`stopped:
    /// running`); `None` without `--report-json`. Abort the task (and await it) before the
    /// final report is written.
    pub fn checkpoints(
        &self,
        recorder: Arc<Recorder>,
        timeline: Instant,
    ) -> Option<JoinHandle<()>> {
        let path = self.report_json.clone()?;
        let mut info = self.info.clone();
        info.stopped = Stopped::Running;
        info.stopped_detail =
            Some("checkpoint: the load was still running when this was written".into());
        let thresholds = self.thresholds.clone();
        Some(tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
            loop {
                ticks.tick().await;
                let json = json(
                    &info,
                    &thresholds,
                    &recorder.tally(crate::results::load_error_words),
                    timeline.elapsed(),
                );
                if let Err(e) = write_atomically(&path, json.as_bytes()) {
                    tracing::debug!("cannot write the checkpoint report: {e}");
                }
            }
        }))
    }
}

fn json(info: &RunInfo, thresholds: &[Threshold], tally: &Tally, wall_time: Duration) -> String {
    let summary = tally.summary(wall_time);
    let verdicts: Vec<_> = thresholds.iter().map(|t| t.check(&summary)).collect();
    let passed = info.stopped == Stopped::Completed && verdicts.iter().all(|v| v.passed);
    report::to_json(info, &summary, &verdicts, passed, &tally.encoded(), &[])
}

/// What a panicked (or cancelled) task said.
pub fn panic_message(e: JoinError) -> String {
    if !e.is_panic() {
        return "the load task was cancelled".into();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    format!("panic: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_the_load_task_becomes_a_stated_reason() {
        let task = tokio::spawn(async {
            if std::hint::black_box(true) {
                panic!("guest bookkeeping broke");
            }
        });
        let message = panic_message(task.await.unwrap_err());
        assert_eq!(message, "panic: guest bookkeeping broke");
    }
}
