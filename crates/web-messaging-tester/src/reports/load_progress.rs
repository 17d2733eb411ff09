//! Live progress on stderr: one updating line on a terminal, plain periodic lines when piped
//! or in CI.

use crate::format::duration::format_ms;
use crate::load::stats::{Progress, Recorder};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the live line is refreshed.
const LIVE_EVERY: Duration = Duration::from_secs(1);
/// How often a plain line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The running display; [`Display::finish`] removes it before the report is printed.
pub struct Display {
    task: JoinHandle<()>,
    bar: Option<ProgressBar>,
}

fn line(elapsed: Duration, p: &Progress) -> String {
    let p95 = p
        .recent_p95
        .map_or_else(|| "-".to_string(), |d| format_ms(d.as_secs_f64() * 1000.0));
    format!(
        "{:>4}s  active {}  completed {}  errors {}  p95 {}",
        elapsed.as_secs(),
        p.active,
        p.completed,
        p.errors,
        p95
    )
}

impl Display {
    /// Starts showing the recorder's numbers: a live line when `live`, else plain lines.
    pub fn start(recorder: Arc<Recorder>, live: bool) -> Display {
        let started = Instant::now();
        if live {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            let shown = bar.clone();
            let task = tokio::spawn(async move {
                let mut ticks = tokio::time::interval(LIVE_EVERY);
                loop {
                    ticks.tick().await;
                    shown.set_message(line(started.elapsed(), &recorder.progress()));
                }
            });
            Display {
                task,
                bar: Some(bar),
            }
        } else {
            let task = tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(started + PLAIN_EVERY, PLAIN_EVERY);
                loop {
                    ticks.tick().await;
                    eprintln!("[LOAD] {}", line(started.elapsed(), &recorder.progress()));
                }
            });
            Display { task, bar: None }
        }
    }

    /// Stops and clears the display.
    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
