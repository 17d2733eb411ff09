//! What the user sees while scenarios run: a live line per scenario on a terminal, plain
//! `[STARTED]`/`[SUCCESS]`/`[FAILED]` lines (on stderr) when piped, in CI or without colour.

use crate::run::{Activity, Progress, ScenarioResult};
use crate::secrets::terminal_line;
use genesys_web_messaging::{SessionLog, Transcript};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether this looks like a CI job, with the variables npm's `ci-info` (upstream) honours.
pub fn is_ci() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if let Ok(ci) = std::env::var("CI") {
        return ci != "false" && !ci.is_empty();
    }
    [
        "CONTINUOUS_INTEGRATION",
        "BUILD_NUMBER",
        "RUN_ID",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "TF_BUILD",
        "JENKINS_URL",
        "BUILDKITE",
        "CIRCLECI",
        "TEAMCITY_VERSION",
        "BITBUCKET_BUILD_NUMBER",
        "CODEBUILD_BUILD_ID",
    ]
    .iter()
    .any(|name| set(name))
}

/// Whether the live display can be used: both streams are terminals, not CI, colour allowed.
pub fn live_display_possible(colour_allowed: bool) -> bool {
    colour_allowed && std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !is_ci()
}

/// Plain lines on stderr, one when a scenario starts and one when it ends.
pub struct PlainProgress;

impl Progress for PlainProgress {
    fn started(&self, _index: usize, name: &str, _log: Arc<SessionLog>) {
        eprintln!("[STARTED] {}", terminal_line(name));
    }

    fn finished(&self, _index: usize, result: &ScenarioResult) {
        if result.passed() {
            eprintln!(
                "[SUCCESS] {} (PASS) in {:.1} s",
                terminal_line(&result.name),
                result.duration.as_secs_f64()
            );
        } else {
            eprintln!(
                "[FAILED] {} (FAIL) in {:.1} s",
                terminal_line(&result.name),
                result.duration.as_secs_f64()
            );
        }
    }
}

/// What a scenario's line shows before its latest message: its activity and since when.
type Doing = Arc<Mutex<Option<(Activity, std::time::Instant)>>>;

/// A spinner per running scenario, showing what it is doing (`waiting for "welcome" 3.1 s /
/// 10 s`, redrawn with the spinner) and its latest message.
pub struct LiveProgress {
    bars: MultiProgress,
    running: Mutex<Vec<(usize, ProgressBar, Doing)>>,
}

impl Default for LiveProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveProgress {
    /// A display drawing on stderr.
    pub fn new() -> Self {
        LiveProgress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            running: Mutex::new(Vec::new()),
        }
    }

    /// Removes every line, before the report is printed.
    pub fn clear(&self) {
        let _ = self.bars.clear();
    }
}

impl Progress for LiveProgress {
    fn started(&self, index: usize, name: &str, log: Arc<SessionLog>) {
        let bar = self.bars.add(ProgressBar::new_spinner());
        let doing: Doing = Arc::new(Mutex::new(None));
        let shown = Arc::clone(&doing);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} {prefix:.bold} {activity:.yellow} {wide_msg:.dim}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "activity",
                move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    if let Ok(doing) = shown.lock()
                        && let Some((activity, since)) = doing.as_ref()
                    {
                        let text = terminal_line(&activity.describe(since.elapsed()));
                        let _ = write!(out, "{} ·", crate::secrets::redact(&text));
                    }
                },
            ),
        );
        bar.set_prefix(terminal_line(name));
        bar.enable_steady_tick(Duration::from_millis(100));
        let watched = bar.clone();
        // Follow the log: every new message becomes the line's text, until the bar finishes.
        tokio::spawn(async move {
            while !watched.is_finished() {
                let changed = log.changed();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let transcript = Transcript::from_messages(&log.snapshot().messages);
                if let Some(last) = transcript.render("You", "Them").last() {
                    let first_line = last.lines().next().unwrap_or_default().trim();
                    let more = if last.contains('\n') { "..." } else { "" };
                    let shown = crate::secrets::global().redact_truncated(first_line, 200);
                    watched.set_message(format!("{}{more}", terminal_line(&shown)));
                }
                if log.snapshot().closed.is_some() {
                    break;
                }
                changed.await;
            }
        });
        if let Ok(mut running) = self.running.lock() {
            running.push((index, bar, doing));
        }
    }

    fn activity(&self, index: usize, activity: &Activity) {
        let Ok(running) = self.running.lock() else {
            return;
        };
        if let Some((_, _, doing)) = running.iter().find(|(i, _, _)| *i == index)
            && let Ok(mut doing) = doing.lock()
        {
            *doing = Some((activity.clone(), std::time::Instant::now()));
        }
    }

    fn finished(&self, index: usize, result: &ScenarioResult) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        if let Some(at) = running.iter().position(|(i, _, _)| *i == index) {
            let (_, bar, _) = running.remove(at);
            let verdict = if result.passed() { "PASS" } else { "FAIL" };
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.finish_with_message(format!("({verdict})"));
        }
    }
}
