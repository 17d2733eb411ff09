//! The text report printed after a run: a block per scenario and the summary, in the shapes
//! upstream prints (`<name> (PASS)`, `You:`/`Them:` lines, `Scenario Test Results`,
//! `PASS - <name>`), so existing CI greps keep working.

use crate::runner::{Failure, ScenarioResult};
use anstyle::{AnsiColor, Style};
use genesys_web_messaging::{Fault, SayError, WaitError, WaitFailure};
use std::fmt::Write;
use std::time::Duration;

const RULE: &str = "---------------------";
const PASS: Style = AnsiColor::Green.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();

/// Renders the whole report: passed blocks (unless `failures_only`), failed blocks, summary.
/// Colour codes are always written; the output stream strips them where colour is off.
pub fn render(results: &[ScenarioResult], failures_only: bool, timeout: Duration) -> String {
    let mut out = String::new();
    let (passed, failed): (Vec<_>, Vec<_>) = results.iter().partition(|r| r.passed());
    if !failures_only {
        for result in &passed {
            out.push_str(&block(result, timeout));
        }
    }
    for result in &failed {
        out.push_str(&block(result, timeout));
    }
    let _ = write!(out, "\nScenario Test Results\n{RULE}\n");
    let lines: Vec<String> = passed
        .iter()
        .map(|r| format!("{PASS}PASS{PASS:#} - {}", r.name))
        .chain(
            failed
                .iter()
                .map(|r| format!("{FAIL}FAIL{FAIL:#} - {}", r.name)),
        )
        .collect();
    out.push_str(&lines.join("\n"));
    out.push('\n');
    out
}

fn block(result: &ScenarioResult, timeout: Duration) -> String {
    let mut lines = vec![String::new()];
    lines.push(match result.failure {
        None => format!("{PASS}{} (PASS){PASS:#}", result.name),
        Some(_) => format!("{FAIL}{} (FAIL){FAIL:#}", result.name),
    });
    lines.push(RULE.to_string());
    lines.extend(result.transcript.render("You", "Them"));
    if let Some(failure) = &result.failure {
        lines.push(String::new());
        lines.push(describe_failure(failure, timeout));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A failure in upstream's wording, extended for the failures upstream cannot report.
pub fn describe_failure(failure: &Failure, timeout: Duration) -> String {
    match failure {
        Failure::Connect(reason) => reason.clone(),
        Failure::Internal(reason) => format!("Internal error: {reason}"),
        Failure::Say(SayError::Send(e)) => format!("Could not send text: {e}"),
        Failure::Say(e) => e.to_string(),
        Failure::Start(e) => describe_start(e, timeout),
        Failure::Wait(e) => describe_wait(e),
        Failure::NoDisconnect(e) => describe_no_disconnect(e),
    }
}

fn describe_start(e: &WaitError, timeout: Duration) -> String {
    match &e.reason {
        WaitFailure::Server(fault) => format!("The session could not start: {fault}"),
        WaitFailure::Closed(closed) => format!("The session could not start: {closed}"),
        _ => format!(
            "The session did not start within {}: Genesys never answered configureSession",
            humanize(timeout)
        ),
    }
}

fn describe_wait(e: &WaitError) -> String {
    let expected = &e.expected;
    let mut text = match &e.reason {
        WaitFailure::TimedOut => {
            let head = format!(
                "Expected a message within {} containing:\n {expected}",
                humanize(e.timeout)
            );
            if e.received.is_empty() {
                format!("{head}\nDidn't receive any response")
            } else {
                format!("{head}\nReceived:{}", list(&e.received))
            }
        }
        WaitFailure::BotDisconnected => {
            let head = format!(
                "Bot disconnected from the conversation whilst waiting a message containing:\n {expected}"
            );
            if e.received.is_empty() {
                format!("{head}\nNo messages were received before disconnection")
            } else {
                format!(
                    "{head}\nReceived the following messages before disconnection:{}",
                    list(&e.received)
                )
            }
        }
        WaitFailure::Server(fault) => {
            let what = match fault {
                Fault::Server(_) => "Genesys reported an error",
                Fault::Frame(_) => "Genesys sent a frame that could not be read",
            };
            with_received(
                format!(
                    "{what} whilst waiting a message containing:\n {expected}\n{}",
                    capitalise(&fault.to_string())
                ),
                &e.received,
            )
        }
        WaitFailure::Closed(closed) => with_received(
            format!(
                "The connection closed whilst waiting a message containing:\n {expected}\n{}",
                capitalise(&closed.to_string())
            ),
            &e.received,
        ),
        WaitFailure::SessionNotStarted => "The session did not start".to_string(),
    };
    if !e.late.is_empty() {
        let _ = write!(
            text,
            "\nThese replies were delivered out of order, after a later reply had already been matched:{}",
            list(&e.late)
        );
    }
    text
}

fn describe_no_disconnect(e: &WaitError) -> String {
    let head = match &e.reason {
        WaitFailure::TimedOut => format!(
            "Expected the bot to disconnect within {}",
            humanize(e.timeout)
        ),
        WaitFailure::Server(fault) => format!(
            "Genesys reported an error whilst waiting for the bot to disconnect\n{}",
            capitalise(&fault.to_string())
        ),
        WaitFailure::Closed(closed) => format!(
            "The connection closed whilst waiting for the bot to disconnect\n{}",
            capitalise(&closed.to_string())
        ),
        other => format!("Expected the bot to disconnect ({other:?})"),
    };
    with_received(head, &e.received)
}

fn with_received(head: String, received: &[String]) -> String {
    if received.is_empty() {
        format!("{head}\nNo messages were received")
    } else {
        format!("{head}\nReceived:{}", list(received))
    }
}

/// ` - item` lines; a multi-line item's further lines are indented under its first.
fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|t| format!("\n - {}", t.replace('\n', "\n   ")))
        .collect()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A duration as humanize-duration writes it: `1 second`, `10 seconds`, `1 minute, 30 seconds`,
/// `0.5 seconds`.
pub fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    let unit = |n: u128, name: &str| format!("{n} {name}{}", if n == 1 { "" } else { "s" });
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

#[cfg(test)]
mod tests {
    use super::*;
    use genesys_web_messaging::Transcript;

    #[test]
    fn humanizes_like_upstream() {
        assert_eq!(humanize(Duration::from_secs(1)), "1 second");
        assert_eq!(humanize(Duration::from_secs(10)), "10 seconds");
        assert_eq!(humanize(Duration::from_secs(60)), "1 minute");
        assert_eq!(humanize(Duration::from_secs(90)), "1 minute, 30 seconds");
        assert_eq!(humanize(Duration::from_millis(500)), "0.5 seconds");
    }

    #[test]
    fn one_passing_scenario_matches_upstreams_exact_output() {
        let results = [ScenarioResult {
            name: "scenario1".into(),
            failure: None,
            transcript: Transcript::default(),
            duration: Duration::ZERO,
            started_at: jiff::Timestamp::now(),
            steps: Vec::new(),
            first_message_id: None,
        }];
        let text = render(&results, false, Duration::from_secs(10));
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(
            plain,
            "\nscenario1 (PASS)\n---------------------\n\nScenario Test Results\n---------------------\nPASS - scenario1\n"
        );
    }
}
