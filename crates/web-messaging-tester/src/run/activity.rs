//! What a running scenario is doing now, as the runner tells its [`super::Progress`]: the
//! session start, a wait (what for, and its limit), the pause before a message, another step.
//! The live display words it with the time since it began (`waiting for "welcome" 3.1 s /
//! 10 s`), so the runner sends one event per step and never polls.

use crate::format::duration::short_duration;
use crate::format::script::{Step, WaitFor};
use std::time::Duration;

/// What a scenario is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Connecting and waiting for the `SessionResponse`, up to `limit`.
    Starting {
        /// The connect and session-start timeout.
        limit: Duration,
    },
    /// A wait step, up to `limit`.
    Waiting {
        /// What it waits for, e.g. `"welcome"` or `/thank(s| you)/`.
        what: String,
        /// The wait's timeout.
        limit: Duration,
    },
    /// A `say`, `click` or date pick: the quiet time before it (the say delay), then sending.
    Sending {
        /// `say`, `click` or `pickDate`.
        kind: &'static str,
        /// Whether the say delay is more than zero (else nothing pauses).
        paced: bool,
    },
    /// Any other step (attachments, lifecycle steps), as written.
    Step(String),
}

/// Most characters of an expectation in the live line.
const SHOWN_CHARS: usize = 40;

impl Activity {
    /// The activity of running `step` with these timeouts.
    pub fn of_step(step: &Step, default_timeout: Duration, say_delay: Duration) -> Activity {
        let paced = !say_delay.is_zero();
        match step {
            Step::Say(_) => Activity::Sending { kind: "say", paced },
            Step::Click(_) => Activity::Sending {
                kind: "click",
                paced,
            },
            Step::PickDate(_) => Activity::Sending {
                kind: "pickDate",
                paced,
            },
            Step::Wait { what, timeout, .. } => Activity::Waiting {
                what: describe_wait(what),
                limit: timeout.unwrap_or(default_timeout),
            },
            other => Activity::Step(shorten(&other.to_string())),
        }
    }

    /// The words of the live line, `elapsed` after the activity began.
    pub fn describe(&self, elapsed: Duration) -> String {
        let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        match self {
            Activity::Starting { limit } => format!(
                "starting the session {} / {}",
                seconds(elapsed.min(*limit)),
                short_duration(*limit)
            ),
            Activity::Waiting { what, limit } => format!(
                "waiting for {what} {} / {}",
                seconds(elapsed.min(*limit)),
                short_duration(*limit)
            ),
            Activity::Sending { kind, paced: true } => {
                format!("pausing before {kind} {}", seconds(elapsed))
            }
            Activity::Sending { kind, paced: false } => {
                format!("sending {kind} {}", seconds(elapsed))
            }
            Activity::Step(step) => format!("{step} {}", seconds(elapsed)),
        }
    }
}

fn describe_wait(what: &WaitFor) -> String {
    let quoted = |text: &str| format!("\"{}\"", shorten(text));
    let labels = |labels: &[String]| {
        labels
            .iter()
            .map(|l| quoted(l))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match what {
        WaitFor::ReplyContaining(text) => quoted(text),
        WaitFor::ReplyMatching(regex) => format!("/{}/", shorten(regex.source())),
        WaitFor::QuickReplies(l) => format!("quick replies {}", labels(l)),
        WaitFor::Buttons(l) => format!("buttons {}", labels(l)),
        WaitFor::Agent(Some(name)) => format!("agent {}", quoted(name)),
        WaitFor::Agent(None) => "an agent".to_string(),
        WaitFor::DatePicker(_) => "a date picker".to_string(),
        WaitFor::Attachment { .. } => "an attachment".to_string(),
        WaitFor::Disconnect => "the bot to disconnect".to_string(),
    }
}

/// The first line of `text`, cut to [`SHOWN_CHARS`] characters.
fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut shown: String = line.chars().take(SHOWN_CHARS).collect();
    if line.chars().count() > SHOWN_CHARS || text.contains('\n') {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_waits_and_pauses_with_the_time_so_far() {
        let wait = Activity::Waiting {
            what: "\"welcome\"".into(),
            limit: Duration::from_secs(10),
        };
        assert_eq!(
            wait.describe(Duration::from_millis(3120)),
            "waiting for \"welcome\" 3.1 s / 10 s"
        );
        let say = Activity::Sending {
            kind: "say",
            paced: true,
        };
        assert_eq!(
            say.describe(Duration::from_millis(1200)),
            "pausing before say 1.2 s"
        );
        let step = Step::Wait {
            what: WaitFor::ReplyContaining("welcome".into()),
            timeout: Some(Duration::from_secs(3)),
            from: None,
        };
        assert_eq!(
            Activity::of_step(&step, Duration::from_secs(10), Duration::ZERO),
            Activity::Waiting {
                what: "\"welcome\"".into(),
                limit: Duration::from_secs(3)
            }
        );
    }
}
