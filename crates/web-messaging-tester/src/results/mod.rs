//! The one wording of every result: what a failure is called (its kind), how it is told in
//! full (the terminal report, the JSON and HTML reports, `load`'s smoke test, `ai`) and in one
//! line (JUnit's `message`, the HTML summary), and the verdict's word. Every output words a
//! result through this module, so they never disagree.

use crate::format::duration::humanize;
use crate::load::stats::ErrorKind;
use crate::run::associate::{Association, UNASSOCIATED};
use crate::run::{Failure, ScenarioResult};
use crate::secrets::{bound, redact};
use crate::text::capitalise;
use genesys_web_messaging::{Expectation, Fault, SayError, Transcript, WaitError, WaitFailure};
use std::fmt::Write;
use std::time::Duration;

/// How a scenario ended, as the text report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `PASS`.
    Pass,
    /// `FAIL`.
    Fail,
    /// `INTERRUPTED`: SIGINT or SIGTERM stopped it (it counts as not passed).
    Interrupted,
}

impl Verdict {
    /// The word reports show: `PASS`, `FAIL` or `INTERRUPTED`.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Interrupted => "INTERRUPTED",
        }
    }

    /// The verdict of a result.
    pub fn of(result: &ScenarioResult) -> Verdict {
        if result.passed() {
            Verdict::Pass
        } else if result.interrupted() {
            Verdict::Interrupted
        } else {
            Verdict::Fail
        }
    }
}

/// The kind of a failure, as the JSON report names it.
pub fn failure_kind(failure: &Failure) -> &'static str {
    match failure {
        Failure::Connect(_) => "connect",
        Failure::Start(_) => "start",
        Failure::Say(_) => "say",
        Failure::Wait(_) => "wait",
        Failure::NoDisconnect(_) => "disconnect",
        Failure::Step(_) => "step",
        Failure::Internal(_) => "internal",
        Failure::Verdict(_) => "verdict",
        Failure::ScenarioTimeout { .. } => "scenario-timeout",
        Failure::Interrupted { .. } => "interrupted",
    }
}

/// A kind of `load` error in words, as the load report labels it (e.g. `timeout (no reply)`).
pub fn load_error_words(kind: ErrorKind) -> String {
    match kind {
        ErrorKind::ConnectFailed => "connect failed".into(),
        ErrorKind::ConnectTimeout => "connect timed out".into(),
        ErrorKind::ConnectRefused(status) => format!("connect refused (HTTP {status})"),
        ErrorKind::SessionNotStarted => "session not started".into(),
        ErrorKind::Timeout => "timeout (no reply)".into(),
        ErrorKind::WrongReply => "wrong reply".into(),
        ErrorKind::Disconnect => "bot disconnected".into(),
        ErrorKind::ServerError(code) => format!("server error {code}"),
        ErrorKind::RateLimited => "429 too many requests".into(),
        ErrorKind::ConnectionClosedEvent => "connection closed by Genesys".into(),
        ErrorKind::BadFrame => "unreadable frame".into(),
        ErrorKind::SocketClosed => "socket closed by server".into(),
        ErrorKind::SocketFailed => "socket failed".into(),
        ErrorKind::StepFailed => "attachment or lifecycle step failed".into(),
        ErrorKind::Internal => "internal error".into(),
    }
}

/// How an association is shown: the label beside the scenario's name (the conversation id, or
/// upstream's "unable to associate") and the note under its block (the link, or the warning).
pub fn association_words(association: &Association) -> (String, String) {
    match association {
        Association::Found { id, link } => (id.clone(), format!("Conversation: {link}")),
        Association::NotFound { warning } => (UNASSOCIATED.to_string(), warning.clone()),
    }
}

/// The transcript as outputs copy it: every text and option redacted and cut to
/// [`crate::secrets::TEXT_LIMIT`] characters.
pub fn bounded_transcript(transcript: &Transcript) -> Transcript {
    let mut bounded = transcript.clone();
    for line in &mut bounded.lines {
        line.text = bound(&line.text);
        for option in &mut line.options {
            *option = bound(option);
        }
    }
    bounded
}

/// A failure in upstream's wording, extended for the failures upstream cannot report. What
/// was received is redacted and each text cut to [`crate::secrets::TEXT_LIMIT`] characters.
pub fn describe_failure(failure: &Failure, timeout: Duration) -> String {
    redact(&describe_failure_raw(failure, timeout))
}

fn describe_failure_raw(failure: &Failure, timeout: Duration) -> String {
    match failure {
        Failure::Connect(reason) => bound(reason),
        Failure::Internal(reason) => format!("Internal error: {}", bound(reason)),
        Failure::Verdict(reason) => reason.clone(),
        Failure::Step(reason) => bound(reason),
        Failure::Say(SayError::Send(e)) => format!("Could not send text: {e}"),
        Failure::Say(e) => e.to_string(),
        Failure::Start(e) => describe_start(e, timeout),
        Failure::Wait(e) => describe_wait(e),
        Failure::NoDisconnect(e) => describe_no_disconnect(e),
        Failure::ScenarioTimeout { limit, during } => format!(
            "The scenario did not finish within its time limit of {} (--scenario-timeout or config.scenarioTimeout): stopped {during}",
            humanize(*limit)
        ),
        Failure::Interrupted {
            signal,
            during: Some(during),
        } => format!("Interrupted by {signal} {during}"),
        Failure::Interrupted {
            signal,
            during: None,
        } => format!("Interrupted by {signal} before the scenario started"),
    }
}

/// A failure in one line, for CI tools that show one line per failed test (JUnit's `message`):
/// what was expected and what came, e.g. `expected a reply containing "welcome" within 2 s;
/// got 2 other replies, the last "Hello"`. Redacted; long texts are cut.
pub fn summarize_failure(failure: &Failure, timeout: Duration) -> String {
    let summary = match failure {
        Failure::Connect(reason) => one_line(reason, SUMMARY_LIMIT),
        Failure::Internal(reason) => format!("internal error: {}", one_line(reason, SUMMARY_LIMIT)),
        Failure::Verdict(reason) => one_line(reason, SUMMARY_LIMIT),
        Failure::Step(reason) => one_line(reason, SUMMARY_LIMIT),
        Failure::Say(SayError::Send(e)) => format!(
            "could not send: {}",
            one_line(&e.to_string(), SUMMARY_LIMIT)
        ),
        Failure::Say(e) => one_line(&e.to_string(), SUMMARY_LIMIT),
        Failure::Start(e) => match &e.reason {
            WaitFailure::Server(fault) => format!(
                "the session could not start: {}",
                one_line(&fault.to_string(), TEXT_IN_SUMMARY)
            ),
            WaitFailure::Closed(closed) => format!(
                "the session could not start: {}",
                one_line(&closed.to_string(), TEXT_IN_SUMMARY)
            ),
            _ => format!(
                "the session did not start within {}: Genesys never answered configureSession",
                crate::format::duration::short_duration(timeout)
            ),
        },
        Failure::Wait(e) => summarize_wait(e),
        Failure::NoDisconnect(e) => {
            let head = match &e.reason {
                WaitFailure::TimedOut => format!(
                    "expected the bot to disconnect within {}",
                    crate::format::duration::short_duration(e.timeout)
                ),
                WaitFailure::Server(fault) => fault_while(fault, "the bot to disconnect"),
                WaitFailure::Closed(closed) => closed_while(closed, "the bot to disconnect"),
                _ => "expected the bot to disconnect".to_string(),
            };
            format!("{head}; {}", what_came(&e.received))
        }
        Failure::ScenarioTimeout { limit, during } => format!(
            "the scenario was stopped at its time limit of {} {}",
            crate::format::duration::short_duration(*limit),
            one_line(during, TEXT_IN_SUMMARY)
        ),
        Failure::Interrupted {
            signal,
            during: Some(during),
        } => format!(
            "interrupted by {signal} {}",
            one_line(during, TEXT_IN_SUMMARY)
        ),
        Failure::Interrupted {
            signal,
            during: None,
        } => format!("interrupted by {signal} before the scenario started"),
    };
    one_line(&summary, SUMMARY_LIMIT)
}

/// Most characters of a one-line summary.
const SUMMARY_LIMIT: usize = 300;
/// Most characters of one quoted text (an expectation, a reply) inside a summary.
const TEXT_IN_SUMMARY: usize = 80;

/// A wait that Genesys' error cut short, in one line.
fn fault_while(fault: &Fault, waiting_for: &str) -> String {
    format!(
        "{} while waiting for {waiting_for}: {}",
        fault_words(fault),
        one_line(&fault.to_string(), TEXT_IN_SUMMARY)
    )
}

/// A wait that the connection's closing cut short, in one line.
fn closed_while(closed: &impl std::fmt::Display, waiting_for: &str) -> String {
    format!(
        "the connection closed while waiting for {waiting_for}: {}",
        one_line(&closed.to_string(), TEXT_IN_SUMMARY)
    )
}

fn summarize_wait(e: &WaitError) -> String {
    let wanted = wanted_reply(e);
    let mut text = match &e.reason {
        WaitFailure::TimedOut => format!(
            "expected {wanted} within {}; {}",
            crate::format::duration::short_duration(e.timeout),
            what_came(&e.received)
        ),
        WaitFailure::BotDisconnected => format!(
            "the bot disconnected while waiting for {wanted}; {}",
            what_came(&e.received)
        ),
        WaitFailure::Server(fault) => fault_while(fault, &wanted),
        WaitFailure::Closed(closed) => closed_while(closed, &wanted),
        WaitFailure::SessionNotStarted => "the session did not start".to_string(),
        WaitFailure::TooExpensive(_) => format!(
            "could not decide within {} whether a reply matches {}",
            crate::format::duration::short_duration(e.timeout),
            one_line(&e.expected, TEXT_IN_SUMMARY)
        ),
    };
    if !e.late.is_empty() {
        let n = e.late.len();
        let _ = write!(
            text,
            "; {n} {} out of order",
            if n == 1 { "reply came" } else { "replies came" }
        );
    }
    text
}

fn fault_words(fault: &Fault) -> &'static str {
    match fault {
        Fault::Server(_) => "Genesys reported an error",
        Fault::Frame(_) => "Genesys sent an unreadable frame",
        Fault::UnreadableSession { .. } => "Genesys sent an unreadable SessionResponse",
    }
}

/// `a reply containing "welcome"`, `a reply matching /x/i`, `a reply offering the quick
/// replies "Yes", "No"`.
fn wanted_reply(e: &WaitError) -> String {
    let quoted = |labels: &[String]| {
        labels
            .iter()
            .map(|l| quote(l))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &e.expectation {
        Some(Expectation::Any) => "a reply".to_string(),
        Some(Expectation::Containing { text, .. }) => {
            format!("a reply containing {}", quote(text))
        }
        Some(Expectation::Matching(_)) => {
            format!(
                "a reply matching {}",
                one_line(&e.expected, TEXT_IN_SUMMARY)
            )
        }
        Some(Expectation::QuickReplies(labels)) => {
            format!("a reply offering the quick replies {}", quoted(labels))
        }
        Some(Expectation::Buttons(labels)) => {
            format!("a reply offering the buttons {}", quoted(labels))
        }
        // Agents, date pickers, attachments and `from:` say what they wait for in `expected`.
        Some(_) => format!("a reply: {}", one_line(&e.expected, TEXT_IN_SUMMARY)),
        None if e.expected.is_empty() => "a reply".to_string(),
        None => format!("a reply containing {}", quote(&e.expected)),
    }
}

/// `got no reply`, `got 1 other reply: "Hi"`, `got 3 other replies, the last "Bye"`.
fn what_came(received: &[String]) -> String {
    match received {
        [] => "got no reply".to_string(),
        [only] => format!("got 1 other reply: {}", quote(only)),
        [.., last] => format!(
            "got {} other replies, the last {}",
            received.len(),
            quote(last)
        ),
    }
}

/// `"text"` on one line, cut to [`TEXT_IN_SUMMARY`] characters.
fn quote(text: &str) -> String {
    format!("\"{}\"", one_line(text, TEXT_IN_SUMMARY))
}

/// `text` redacted, its line breaks and runs of spaces made single spaces, cut to `limit`
/// characters (with `…`).
fn one_line(text: &str, limit: usize) -> String {
    let flat = bound(text).split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= limit {
        flat
    } else {
        let mut cut: String = flat.chars().take(limit.saturating_sub(1)).collect();
        cut.push('…');
        cut
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

// One arm per expectation and way of failing: the wording of a wait, read in one place.
#[allow(clippy::too_many_lines)]
fn describe_wait(e: &WaitError) -> String {
    // Upstream's wording, "a message containing:", extended to the option waits.
    let (from, inner) = match &e.expectation {
        Some(expectation) => {
            let (from, inner) = expectation.split_from();
            (from, Some(inner))
        }
        None => (None, None),
    };
    let any = || "(any)".to_string();
    let (what, mut expected) = match inner {
        Some(Expectation::QuickReplies(labels)) => {
            ("offering the quick replies", labels.join(", "))
        }
        Some(Expectation::Buttons(labels)) => ("offering the buttons", labels.join(", ")),
        Some(Expectation::Agent(name)) => ("from the agent", name.clone().unwrap_or_else(any)),
        Some(Expectation::DatePicker(slots)) => (
            "offering a date picker with the slots",
            if slots.is_empty() {
                any()
            } else {
                slots.join(", ")
            },
        ),
        Some(Expectation::Attachment {
            filename,
            media_type,
        }) => {
            let parts: Vec<String> = [("filename", filename), ("mediaType", media_type)]
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
                .collect();
            (
                "carrying the attachment",
                if parts.is_empty() {
                    any()
                } else {
                    parts.join(", ")
                },
            )
        }
        Some(inner) if from.is_some() => ("containing", inner.describe()),
        _ => ("containing", e.expected.clone()),
    };
    if let Some(kind) = from {
        expected.push_str(&format!(" (from {})", kind.describe()));
    }
    let mut text = match &e.reason {
        WaitFailure::TimedOut => {
            let head = format!(
                "Expected a message within {} {what}:\n {expected}",
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
                "Bot disconnected from the conversation whilst waiting a message {what}:\n {expected}"
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
            let problem = match fault {
                Fault::Server(_) => "Genesys reported an error",
                Fault::Frame(_) | Fault::UnreadableSession { .. } => {
                    "Genesys sent a frame that could not be read"
                }
            };
            with_received(
                &format!(
                    "{problem} whilst waiting a message {what}:\n {expected}\n{}",
                    capitalise(&fault.to_string())
                ),
                &e.received,
            )
        }
        WaitFailure::Closed(closed) => with_received(
            &format!(
                "The connection closed whilst waiting a message {what}:\n {expected}\n{}",
                capitalise(&closed.to_string())
            ),
            &e.received,
        ),
        WaitFailure::SessionNotStarted => "The session did not start".to_string(),
        WaitFailure::TooExpensive(too) => with_received(
            &format!(
                "Could not decide within {} whether a reply matches:\n {expected}\n{}",
                humanize(e.timeout),
                capitalise(&too.to_string())
            ),
            &e.received,
        ),
    };
    for note in &e.rate_limited {
        let _ = write!(text, "\n{note}");
    }
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
    with_received(&head, &e.received)
}

fn with_received(head: &str, received: &[String]) -> String {
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
        .map(|t| format!("\n - {}", bound(t).replace('\n', "\n   ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_error(
        expectation: Option<Expectation>,
        reason: WaitFailure,
        received: &[&str],
    ) -> WaitError {
        WaitError {
            expected: "welcome".into(),
            expectation,
            timeout: Duration::from_secs(2),
            received: received
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            reason,
            late: Vec::new(),
            rate_limited: Vec::new(),
        }
    }

    #[test]
    fn failures_are_summarized_in_one_line() {
        let t = Duration::from_secs(10);
        let containing = Some(Expectation::containing("welcome"));
        let summary = |failure: Failure| summarize_failure(&failure, t);
        assert_eq!(
            summary(Failure::Wait(wait_error(
                containing.clone(),
                WaitFailure::TimedOut,
                &["Hi", "How\nare you?"]
            ))),
            "expected a reply containing \"welcome\" within 2 s; got 2 other replies, the last \"How are you?\""
        );
        assert_eq!(
            summary(Failure::Wait(wait_error(
                containing.clone(),
                WaitFailure::TimedOut,
                &[]
            ))),
            "expected a reply containing \"welcome\" within 2 s; got no reply"
        );
        assert_eq!(
            summary(Failure::Wait(wait_error(
                containing,
                WaitFailure::BotDisconnected,
                &["Bye"]
            ))),
            "the bot disconnected while waiting for a reply containing \"welcome\"; got 1 other reply: \"Bye\""
        );
        assert_eq!(
            summary(Failure::Wait(wait_error(
                Some(Expectation::QuickReplies(vec!["Yes".into(), "No".into()])),
                WaitFailure::TimedOut,
                &[]
            ))),
            "expected a reply offering the quick replies \"Yes\", \"No\" within 2 s; got no reply"
        );
        assert_eq!(
            summary(Failure::NoDisconnect(wait_error(
                None,
                WaitFailure::TimedOut,
                &[]
            ))),
            "expected the bot to disconnect within 2 s; got no reply"
        );
        assert_eq!(
            summary(Failure::Start(wait_error(
                None,
                WaitFailure::SessionNotStarted,
                &[]
            ))),
            "the session did not start within 10 s: Genesys never answered configureSession"
        );
        assert_eq!(
            summary(Failure::ScenarioTimeout {
                limit: Duration::from_secs(600),
                during: "during step 2 (say: hi)".into()
            }),
            "the scenario was stopped at its time limit of 10 min during step 2 (say: hi)"
        );
        let long = "x".repeat(500);
        let cut = summary(Failure::Wait(wait_error(
            Some(Expectation::containing(long)),
            WaitFailure::TimedOut,
            &[],
        )));
        assert!(cut.contains("xxx…\" within 2 s"), "{cut}");
        assert!(!cut.contains('\n'));
        assert_eq!(
            crate::format::duration::short_duration(Duration::from_millis(1500)),
            "1.5 s"
        );
        assert_eq!(
            crate::format::duration::short_duration(Duration::from_millis(250)),
            "250 ms"
        );
    }
}
