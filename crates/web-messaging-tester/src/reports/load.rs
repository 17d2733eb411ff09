//! The load report: a table on stdout and, with `--report-json`, the same numbers as JSON
//! (written atomically: readers see the old file or the whole new one, never half of it).

use crate::format::duration::format_ms;
use crate::load::profile::{Model, Profile, Stop};
use crate::load::stats::{LatencySummary, Summary};
use crate::load::tally::EncodedHistograms;
use crate::load::verdict::Verdict;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

const PASS: Style = AnsiColor::Green.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const BOLD: Style = Style::new().bold();
/// Width of the first column of the response-time table.
const LABEL: usize = 46;

/// What was run, for the report's head.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// The test-script.
    pub script: String,
    /// Where the guests connected (without the deployment query).
    pub target: String,
    /// Whether that was the simulator started for `--simulate`.
    pub simulated: bool,
    /// When the load started.
    pub started_at: String,
    /// The profile.
    pub profile: ProfileInfo,
    /// Whether the run was interrupted (Ctrl-C) before its end.
    pub interrupted: bool,
    /// Why the run ended: see [`Stopped`].
    pub stopped: Stopped,
    /// What happened, for every ending but `completed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_detail: Option<String>,
    /// `sha256:<hex>` of the test-script's bytes: `report merge` refuses shards of different
    /// scripts.
    pub script_hash: String,
    /// This process's part of the profile (`--shard K/N`), or null.
    pub shard: Option<ShardInfo>,
    /// `--start-at`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// How late the load started after `--start-at` when later than its ramp-up allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_late_ms: Option<u64>,
}

/// Why a load run ended. Every run's report says it, including a run that never got to its
/// load (the target was unavailable, the smoke test failed) or whose load failed inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stopped {
    /// The profile ran to its end.
    Completed,
    /// SIGINT or SIGTERM stopped the guests.
    Interrupted,
    /// The simulator could not start or the deployment configuration could not be read:
    /// no load was started.
    TargetUnavailable,
    /// The one-guest smoke test failed: no load was started.
    SmokeTestFailed,
    /// The load stopped on a bug in this tool (the detail says which); what was measured
    /// until then is reported.
    InternalError,
    /// A checkpoint written while the load runs (every 10 s): a report still saying this
    /// after the process ended means it was killed (SIGKILL, out of memory).
    Running,
}

impl Stopped {
    /// The reason as the report spells it, e.g. `smoke-test-failed`.
    pub fn reason(&self) -> &'static str {
        match self {
            Stopped::Completed => "completed",
            Stopped::Interrupted => "interrupted",
            Stopped::TargetUnavailable => "target-unavailable",
            Stopped::SmokeTestFailed => "smoke-test-failed",
            Stopped::InternalError => "internal-error",
            Stopped::Running => "running",
        }
    }
}

/// `--shard K/N`, and the guests it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardInfo {
    /// K, from 1.
    pub index: u32,
    /// N.
    pub total: u32,
    /// This shard's guests (closed model) or most at once (open model).
    pub users: usize,
}

/// The profile, as the JSON report spells it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    /// `closed` (fixed guests) or `open` (arrival rate).
    pub model: String,
    /// Guests (closed) or the most at once (open).
    pub users: usize,
    /// Ramp-up, in milliseconds.
    pub ramp_up_ms: u64,
    /// `--duration`, in milliseconds.
    pub duration_ms: Option<u64>,
    /// `--iterations`.
    pub iterations: Option<u64>,
    /// `--arrival-rate`.
    pub arrival_rate: Option<f64>,
    /// Quiet time before each say, in milliseconds.
    pub say_delay_ms: u64,
    /// Default wait timeout, in milliseconds.
    pub timeout_ms: u64,
}

impl ProfileInfo {
    /// Describes a profile with its pacing.
    pub fn new(profile: &Profile, say_delay: Duration, timeout: Duration) -> ProfileInfo {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        ProfileInfo {
            model: match profile.model {
                Model::Closed => "closed".into(),
                Model::Open { .. } => "open".into(),
            },
            users: profile.users,
            ramp_up_ms: ms(profile.ramp_up),
            duration_ms: match profile.stop {
                Stop::Duration(d) => Some(ms(d)),
                Stop::Iterations(_) => None,
            },
            iterations: match profile.stop {
                Stop::Iterations(n) => Some(n),
                Stop::Duration(_) => None,
            },
            arrival_rate: match profile.model {
                Model::Open { per_second } => Some(per_second),
                Model::Closed => None,
            },
            say_delay_ms: ms(say_delay),
            timeout_ms: ms(timeout),
        }
    }
}

/// The version of the load report's format; `report merge` reads this one only.
pub const LOAD_FORMAT_VERSION: u32 = 1;
/// The load report's `kind`, which tells it from `scripted`'s reports.
pub const KIND: &str = "load";
/// The load report's `tool`.
pub const TOOL: &str = "web-messaging-tester load";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    kind: &'static str,
    format_version: u32,
    tool: &'static str,
    version: &'static str,
    #[serde(flatten)]
    info: &'a RunInfo,
    #[serde(flatten)]
    summary: &'a Summary,
    thresholds: &'a [Verdict],
    passed: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    merged_from: &'a [MergedShard],
    histograms: &'a EncodedHistograms,
}

/// One input of a merged report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedShard {
    /// The report's file, as given.
    pub file: String,
    /// Its shard, if it was one.
    pub shard: Option<ShardInfo>,
    /// Why it ended.
    pub stopped: Stopped,
}

/// The JSON report: the numbers, and the histograms they came from.
pub fn to_json(
    info: &RunInfo,
    summary: &Summary,
    verdicts: &[Verdict],
    passed: bool,
    histograms: &EncodedHistograms,
    merged_from: &[MergedShard],
) -> String {
    let report = JsonReport {
        kind: KIND,
        format_version: LOAD_FORMAT_VERSION,
        tool: TOOL,
        version: env!("CARGO_PKG_VERSION"),
        info,
        summary,
        thresholds: verdicts,
        passed,
        merged_from,
        histograms,
    };
    let mut json = serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise the report: {e}\"}}"));
    json.push('\n');
    json
}

fn latency_cells(latency: Option<&LatencySummary>) -> String {
    match latency {
        None => format!("{:>8}", 0) + &format!("{:>10}", "-").repeat(5),
        Some(l) => {
            let mut cells = format!("{:>8}", l.count);
            for value in [l.p50, l.p90, l.p95, l.p99, l.max] {
                let _ = write!(cells, "{:>10}", format_ms(value));
            }
            cells
        }
    }
}

/// A label's first line, cut to `width`, redacted and made safe for a terminal (names and
/// steps come from the test-script).
fn truncate(text: &str, width: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() <= width && !text.contains('\n') {
        return crate::secrets::terminal_line(first_line);
    }
    let kept: String = first_line.chars().take(width.saturating_sub(3)).collect();
    format!("{}...", crate::secrets::terminal_line(&kept))
}

fn errors_cell(errors: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = errors.values().sum();
    if total == 0 {
        String::new()
    } else {
        format!("{total:>8}")
    }
}

/// The table printed after the run. Colour codes are always written; the output stream strips
/// them where colour is off.
// The table top to bottom, as it is printed.
#[allow(clippy::too_many_lines)]
pub fn render(info: &RunInfo, summary: &Summary, verdicts: &[Verdict], passed: bool) -> String {
    let mut out = String::new();
    let s = summary;
    let _ = writeln!(
        out,
        "\n{BOLD}Load test{BOLD:#}: {} against {}",
        info.script, info.target
    );
    let seconds = s.wall_time_ms / 1000.0;
    let _ = writeln!(
        out,
        "{} conversations in {seconds:.2} s ({:.1}/s), {} passed, {} failed; at most {} at once",
        s.conversations.completed,
        s.conversations.per_second,
        s.conversations.passed,
        s.conversations.failed,
        s.peak_active_guests
    );
    let _ = writeln!(
        out,
        "{} messages ({:.1}/s): {} sent by guests ({:.1}/s), {} from the bot ({:.1}/s)",
        s.messages.total,
        s.messages.per_second,
        s.messages.sent,
        s.messages.sent_per_second,
        s.messages.received,
        s.messages.received_per_second
    );
    if s.dropped_arrivals > 0 {
        let _ = writeln!(
            out,
            "{} arrivals skipped: all {} guests were busy (raise --users, or the bot is slow)",
            s.dropped_arrivals, info.profile.users
        );
    }
    if s.rate_limited_resent > 0 {
        let _ = writeln!(
            out,
            "{} messages refused with 429 were sent again after retryAfter",
            s.rate_limited_resent
        );
    }
    if let Some(shard) = &info.shard {
        let _ = writeln!(
            out,
            "Shard {}/{}: {} of the profile's {} guests (merge the shards' JSON reports with `report merge`)",
            shard.index, shard.total, shard.users, info.profile.users
        );
    }
    if !matches!(info.stopped, Stopped::Completed | Stopped::Interrupted) {
        let _ = writeln!(
            out,
            "{FAIL}Stopped{FAIL:#} ({}): {}",
            info.stopped.reason(),
            crate::secrets::terminal_line(info.stopped_detail.as_deref().unwrap_or("-"))
        );
    }
    if info.interrupted {
        let _ = writeln!(
            out,
            "Interrupted: {} conversations under way were dropped and are not counted",
            s.interrupted_conversations
        );
    }

    let _ = writeln!(
        out,
        "\n{BOLD}{:<LABEL$}{:>8}{:>10}{:>10}{:>10}{:>10}{:>10}{:>8}{BOLD:#}",
        "Response time (say/click to matching reply)",
        "count",
        "p50",
        "p90",
        "p95",
        "p99",
        "max",
        "errors"
    );
    let _ = writeln!(
        out,
        "{:<LABEL$}{}",
        "all steps",
        latency_cells(s.response_time_ms.as_ref())
    );
    let _ = writeln!(
        out,
        "{:<LABEL$}{}{}",
        "session start (connect to SessionResponse)",
        latency_cells(s.session_start_ms.as_ref()),
        errors_cell(&s.session_start_errors)
    );
    let mut scenario = None;
    for step in &s.steps {
        if scenario != Some(&step.scenario) {
            scenario = Some(&step.scenario);
            let _ = writeln!(out, "{}", truncate(&step.scenario, LABEL + 58));
        }
        let label = truncate(&format!("  {}. {}", step.step, step.description), LABEL - 1);
        let cells = if step.waits_for_reply {
            latency_cells(step.response_time_ms.as_ref())
        } else {
            " ".repeat(58)
        };
        let _ = writeln!(
            out,
            "{}",
            format!("{label:<LABEL$}{cells}{}", errors_cell(&step.errors)).trim_end()
        );
    }

    if s.errors.by_kind.is_empty() {
        let _ = writeln!(out, "\nErrors: none");
    } else {
        let _ = writeln!(
            out,
            "\n{BOLD}Errors{BOLD:#}: {} of {} conversations failed ({:.2} %)",
            s.errors.total,
            s.conversations.completed,
            s.errors.rate * 100.0
        );
        for (key, count) in &s.errors.by_kind {
            let label = s
                .errors
                .labels
                .get(key)
                .map_or(key.as_str(), String::as_str);
            let label = crate::secrets::terminal_line(label);
            let _ = writeln!(out, "  {label:<40}{count:>8}");
        }
    }

    if !verdicts.is_empty() {
        let _ = writeln!(out, "\n{BOLD}Thresholds{BOLD:#}");
        for v in verdicts {
            let mark = if v.passed {
                format!("{PASS}PASS{PASS:#}")
            } else {
                format!("{FAIL}FAIL{FAIL:#}")
            };
            let _ = writeln!(out, "  {mark} {} (actual: {})", v.threshold, v.actual_text);
        }
    }
    let verdict = if passed {
        format!("{PASS}PASS{PASS:#}")
    } else {
        format!("{FAIL}FAIL{FAIL:#}")
    };
    let _ = writeln!(out, "\nResult: {verdict}");
    out
}
