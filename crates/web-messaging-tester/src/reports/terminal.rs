//! The text report printed after a run: a block per scenario and the summary, in the shapes
//! upstream prints (`<name> (PASS)`, `You:`/`Them:` lines, `Scenario Test Results`,
//! `PASS - <name>`), so existing CI greps keep working. One renderer for `scripted` and `ai`:
//! each result becomes a block (title, body lines), then the summary.

use crate::ai::conversation::{Line, Speaker};
use crate::ai::result::AiResult;
use crate::results::{Verdict, association_words, bounded_transcript, describe_failure};
use crate::run::ScenarioResult;
use crate::run::associate::Association;
use crate::secrets::{bound, terminal, terminal_line};
use anstyle::{AnsiColor, Style};
use std::fmt::Write;
use std::time::Duration;

const RULE: &str = "---------------------";
const PASS: Style = AnsiColor::Green.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const INTERRUPTED: Style = AnsiColor::Yellow.on_default().bold();

/// The word and colour of a verdict.
fn word_and_style(verdict: Verdict) -> (&'static str, Style) {
    let style = match verdict {
        Verdict::Pass => PASS,
        Verdict::Fail => FAIL,
        Verdict::Interrupted => INTERRUPTED,
    };
    (verdict.word(), style)
}

/// What a caller adds to one result's block (`--associate-id`'s conversation, a file's own
/// timeout).
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// In the title, upstream's way: `<name> (PASS - <label>)` / `<name> (FAIL) - <label>`.
    pub label: Option<String>,
    /// Lines at the end of the block.
    pub notes: Vec<String>,
    /// The time limit this result ran with, when not the run's `timeout`.
    pub timeout: Option<Duration>,
}

impl Extra {
    /// Shows `association`: the conversation id as the label and its link as a note, or the
    /// "unable to associate" label and the warning.
    pub fn add_association(&mut self, association: &Association) {
        let (label, note) = association_words(association);
        self.label = Some(label);
        self.notes.push(note);
    }
}

/// What a result without an extra gets: nothing added.
static NO_EXTRA: Extra = Extra {
    label: None,
    notes: Vec::new(),
    timeout: None,
};

/// One scenario's block: its title (name, verdict, label) and the lines under it.
struct Block<'a> {
    name: &'a str,
    verdict: Verdict,
    label: Option<&'a str>,
    body: Vec<String>,
}

impl<'a> Block<'a> {
    /// The block of one result, titled with its extra's label.
    fn new(name: &'a str, verdict: Verdict, extra: &'a Extra, body: Vec<String>) -> Block<'a> {
        Block {
            name,
            verdict,
            label: extra.label.as_deref(),
            body,
        }
    }
}

/// Each result with the extra at its position (nothing added where `extras` is shorter).
fn with_extras<'a, R>(
    results: &'a [R],
    extras: &'a [Extra],
) -> impl Iterator<Item = (&'a R, &'a Extra)> {
    let extras = extras.iter().chain(std::iter::repeat(&NO_EXTRA));
    results.iter().zip(extras)
}

/// The one text renderer: passed blocks (unless `failures_only`), failed blocks, then the
/// summary. Colour codes are always written; the output stream strips them where colour is
/// off.
fn render_blocks(blocks: &[Block<'_>], failures_only: bool) -> String {
    let (passed, failed): (Vec<&Block<'_>>, Vec<&Block<'_>>) =
        blocks.iter().partition(|b| b.verdict == Verdict::Pass);
    let mut out = String::new();
    let shown = if failures_only { &[][..] } else { &passed[..] };
    for block in shown.iter().chain(&failed) {
        let mut lines = head(block.name, block.verdict, block.label);
        lines.extend(block.body.iter().cloned());
        out.push_str(&lines.join("\n"));
        out.push('\n');
    }
    out.push_str(&verdict_summary(
        passed.iter().chain(&failed).map(|b| (b.name, b.verdict)),
    ));
    out
}

/// Renders a `scripted` run: a block per result (transcript, failure, notes, warnings), then
/// the summary. `extras` go with `results` by position (missing ones add nothing).
pub fn render(
    results: &[ScenarioResult],
    extras: &[Extra],
    failures_only: bool,
    timeout: Duration,
) -> String {
    let blocks: Vec<Block<'_>> = with_extras(results, extras)
        .map(|(result, extra)| {
            let body = scenario_body(result, extra, timeout);
            Block::new(&result.name, Verdict::of(result), extra, body)
        })
        .collect();
    render_blocks(&blocks, failures_only)
}

/// Renders an `ai` run: a block per result (placeholder values, conversation, verdict, notes),
/// then the summary. `extras` go with `results` by position.
pub fn render_ai(results: &[AiResult], extras: &[Extra]) -> String {
    let blocks: Vec<Block<'_>> = with_extras(results, extras)
        .map(|(result, extra)| {
            let verdict = if result.passed() {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            Block::new(&result.name, verdict, extra, ai_body(result, extra))
        })
        .collect();
    render_blocks(&blocks, false)
}

/// The summary: `Scenario Test Results`, then a `PASS - <name>`, `FAIL - <name>` or
/// `INTERRUPTED - <name>` line for each scenario, in the order given.
fn verdict_summary<'a>(outcomes: impl IntoIterator<Item = (&'a str, Verdict)>) -> String {
    let mut out = format!("\nScenario Test Results\n{RULE}\n");
    let lines: Vec<String> = outcomes
        .into_iter()
        .map(|(name, verdict)| {
            let name = terminal_line(name);
            let (word, style) = word_and_style(verdict);
            format!("{style}{word}{style:#} - {name}")
        })
        .collect();
    out.push_str(&lines.join("\n"));
    out.push('\n');
    out
}

/// A block's first lines: a blank line, the title, the rule. The title is `<name> (PASS)`,
/// `<name> (FAIL)` or `<name> (INTERRUPTED)`; a `label` (an [`Extra`]'s) goes in it upstream's
/// way: `<name> (PASS - <label>)` / `<name> (FAIL) - <label>`.
fn head(name: &str, verdict: Verdict, label: Option<&str>) -> Vec<String> {
    let name = terminal_line(name);
    let label = label.map(terminal_line);
    let (word, style) = word_and_style(verdict);
    let title = match (verdict, label) {
        (Verdict::Pass, None) => format!("{style}{name} (PASS){style:#}"),
        (Verdict::Pass, Some(label)) => format!("{style}{name} (PASS - {label}){style:#}"),
        (_, None) => format!("{style}{name} ({word}){style:#}"),
        (_, Some(label)) => format!("{style}{name} ({word}) - {label}{style:#}"),
    };
    vec![String::new(), title, RULE.to_string()]
}

fn scenario_body(result: &ScenarioResult, extra: &Extra, timeout: Duration) -> Vec<String> {
    let mut lines: Vec<String> = bounded_transcript(&result.transcript)
        .render("You", "Them")
        .iter()
        .map(|line| terminal(line))
        .collect();
    if let Some(failure) = &result.failure {
        lines.push(String::new());
        lines.push(terminal(&describe_failure(
            failure,
            extra.timeout.unwrap_or(timeout),
        )));
    }
    lines.extend(extra.notes.iter().map(|note| terminal(note)));
    lines.extend(
        result
            .warnings
            .iter()
            .map(|warning| terminal(&bound(&format!("Warning: {warning}")))),
    );
    lines
}

fn ai_body(result: &AiResult, extra: &Extra) -> Vec<String> {
    let mut lines = Vec::new();
    if !result.placeholder_values.is_empty() {
        lines.extend(
            result
                .placeholder_values
                .iter()
                .map(|(key, value)| terminal(&format!("{key}: {value}"))),
        );
        lines.push(String::new());
    }
    lines.extend(
        result
            .lines
            .iter()
            .map(|line| terminal(&bound(&transcript_line(line)))),
    );
    lines.push(String::new());
    lines.extend(result.verdict_lines().iter().map(|line| terminal(line)));
    lines.extend(extra.notes.iter().map(|note| terminal(note)));
    lines
}

/// An `ai` conversation's line as upstream prints it: `AI: ...` or `Chatbot: ...`.
pub fn transcript_line(line: &Line) -> String {
    let who = match line.speaker {
        Speaker::Customer => "AI",
        Speaker::Bot => "Chatbot",
    };
    format!("{who}: {}", line.text)
}

/// The run's totals, the report's last line: `3 passed, 1 failed in 2.4 s`, with `, 2
/// interrupted` before ` in` when a signal stopped scenarios (they are not counted as failed).
pub fn totals(results: &[ScenarioResult], duration: Duration) -> String {
    let passed = results.iter().filter(|r| r.passed()).count();
    let interrupted = results.iter().filter(|r| r.interrupted()).count();
    let failed = results.len() - passed - interrupted;
    let mut line = format!("{passed} passed, {failed} failed");
    if interrupted > 0 {
        let _ = write!(line, ", {interrupted} interrupted");
    }
    let style = if failed > 0 {
        FAIL
    } else if interrupted > 0 {
        INTERRUPTED
    } else {
        PASS
    };
    format!(
        "\n{style}{line}{style:#} in {:.1} s\n",
        duration.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Failure;

    #[test]
    fn totals_count_interruptions_apart() {
        let result = |failure: Option<Failure>| ScenarioResult {
            failure,
            ..ScenarioResult::new("s".into(), jiff::Timestamp::now())
        };
        let results = [
            result(None),
            result(Some(Failure::Internal("x".into()))),
            result(Some(Failure::Interrupted {
                signal: crate::interrupt::Signal::Int,
                during: None,
            })),
        ];
        let text = totals(&results, Duration::from_millis(2345));
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(plain, "\n1 passed, 1 failed, 1 interrupted in 2.3 s\n");
        let plain =
            anstream::adapter::strip_str(&totals(&results[..1], Duration::ZERO)).to_string();
        assert_eq!(plain, "\n1 passed, 0 failed in 0.0 s\n");
    }

    #[test]
    fn one_passing_scenario_matches_upstreams_exact_output() {
        let results = [ScenarioResult::new(
            "scenario1".into(),
            jiff::Timestamp::now(),
        )];
        let text = render(&results, &[], false, Duration::from_secs(10));
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(
            plain,
            "\nscenario1 (PASS)\n---------------------\n\nScenario Test Results\n---------------------\nPASS - scenario1\n"
        );
    }
}
