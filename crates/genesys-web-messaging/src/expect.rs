//! What a step waits for in a reply.
//!
//! Regular expressions have JavaScript semantics (regress). A pattern that has an exact
//! linear-time equivalent (see `linear.rs`) is matched with the `regex` crate and can never be
//! slow; any other (lookaround, backreferences...) runs on a helper thread under a deadline, so
//! a catastrophic pattern fails its step with [`TooExpensive`] instead of hanging it.

use crate::log::{Received, SessionLog};
use crate::protocol::{Sender, StructuredMessage};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

/// A regular expression with ECMAScript (JavaScript `RegExp`) syntax and semantics, as
/// upstream's `waitForReplyMatching` uses: lookbehind, backreferences, `[^]`, ASCII `\d`, and
/// with the `m` flag `^`/`$` at every JavaScript line terminator.
///
/// Matching is safe against catastrophic backtracking: see [`JsRegex::is_linear`] and
/// [`JsRegex::is_match_within`].
#[derive(Clone)]
pub struct JsRegex {
    regex: Arc<regress::Regex>,
    linear: Option<regex::Regex>,
    /// Whether `linear`'s named groups capture exactly what regress's do.
    linear_captures: bool,
    source: String,
    flags: String,
}

/// A pattern that could not be matched within the time it was given (only patterns without a
/// linear-time equivalent: lookaround, backreferences...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern {pattern} too expensive to match against a {chars}-character reply{}", if *busy { " (other expensive matches were still running)" } else { "" })]
pub struct TooExpensive {
    /// The pattern, as `/source/flags`.
    pub pattern: String,
    /// The length of the text, in characters.
    pub chars: usize,
    /// Whether the match could not even start, because earlier expensive matches still hold
    /// every helper thread.
    pub busy: bool,
}

/// Backtracking matches running on helper threads, process-wide. A match that overran its
/// deadline keeps its thread until it ends (regress cannot be interrupted), so this bounds the
/// CPU a hostile pattern can take.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

fn max_running() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZero::get)
            .unwrap_or(2)
            .max(2)
    })
}

struct Slot;

impl Slot {
    fn acquire() -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max_running()).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

impl JsRegex {
    /// Compiles `pattern` with JavaScript `flags` (e.g. `"im"`).
    pub fn new(pattern: &str, flags: &str) -> Result<JsRegex, regress::Error> {
        let regex = regress::Regex::with_flags(pattern, flags)?;
        let (linear, linear_captures) = match crate::linear::compile(pattern, flags) {
            Some((linear, exact)) => (Some(linear), exact),
            None => (None, false),
        };
        Ok(JsRegex {
            regex: Arc::new(regex),
            linear,
            linear_captures,
            source: pattern.to_string(),
            flags: flags.to_string(),
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern is matched in linear time (it has an exact equivalent without
    /// backtracking). Other patterns are matched by a backtracking engine, under a deadline.
    pub fn is_linear(&self) -> bool {
        self.linear.is_some()
    }

    /// Whether the pattern matches anywhere in `text` (JavaScript's `RegExp.test`).
    ///
    /// Unbounded for a pattern that is not [linear](JsRegex::is_linear): prefer
    /// [`JsRegex::is_match_within`] on text from outside.
    pub fn is_match(&self, text: &str) -> bool {
        match &self.linear {
            Some(linear) => linear.is_match(text),
            None => self.regex.find(text).is_some(),
        }
    }

    /// Whether the pattern matches anywhere in `text`, deciding within `budget`. A linear
    /// pattern always decides at once; any other runs on a helper thread while this thread
    /// waits at most `budget` (call it from blocking code, not from an async task).
    pub fn is_match_within(&self, text: &str, budget: Duration) -> Result<bool, TooExpensive> {
        if let Some(linear) = &self.linear {
            return Ok(linear.is_match(text));
        }
        let (sender, receiver) = mpsc::channel();
        self.spawn_match(text, move |found| {
            let _ = sender.send(found);
        })?;
        receiver
            .recv_timeout(budget)
            .map_err(|_| self.too_expensive(text, false))
    }

    /// The match, with its named groups, within `budget`: `Ok(None)` when it does not match.
    /// Linear patterns reject a non-matching text at once; a matching one (or any other
    /// pattern) runs regress on a helper thread for the groups.
    pub fn find_groups_within(
        &self,
        text: &str,
        budget: Duration,
    ) -> Result<Option<Vec<(String, String)>>, TooExpensive> {
        if let Some(linear) = &self.linear {
            if self.linear_captures {
                return Ok(linear.captures(text).map(|found| {
                    linear
                        .capture_names()
                        .flatten()
                        .filter_map(|name| {
                            Some((name.to_string(), found.name(name)?.as_str().to_string()))
                        })
                        .collect()
                }));
            }
            if !linear.is_match(text) {
                return Ok(None);
            }
            let named_group = self
                .source
                .match_indices("(?<")
                .any(|(at, _)| !matches!(self.source[at + 3..].chars().next(), Some('=' | '!')));
            if !named_group {
                return Ok(Some(Vec::new()));
            }
        }
        let slot = Slot::acquire().ok_or_else(|| self.too_expensive(text, true))?;
        let (sender, receiver) = mpsc::channel();
        let regex = Arc::clone(&self.regex);
        let owned = text.to_string();
        std::thread::spawn(move || {
            let _slot = slot;
            let groups = regex.find(&owned).map(|found| {
                found
                    .named_groups()
                    .filter_map(|(name, range)| {
                        Some((name.to_string(), owned.get(range?)?.to_string()))
                    })
                    .collect::<Vec<_>>()
            });
            let _ = sender.send(groups);
        });
        receiver
            .recv_timeout(budget)
            .map_err(|_| self.too_expensive(text, false))
    }

    /// Starts a backtracking match on a helper thread; `done` gets the answer.
    fn spawn_match(
        &self,
        text: &str,
        done: impl FnOnce(bool) + Send + 'static,
    ) -> Result<(), TooExpensive> {
        let slot = Slot::acquire().ok_or_else(|| self.too_expensive(text, true))?;
        let regex = Arc::clone(&self.regex);
        let owned = text.to_string();
        std::thread::spawn(move || {
            let found = regex.find(&owned).is_some();
            drop(slot);
            done(found);
        });
        Ok(())
    }

    fn too_expensive(&self, text: &str, busy: bool) -> TooExpensive {
        TooExpensive {
            pattern: self.to_js_string(),
            chars: text.chars().count(),
            busy,
        }
    }

    /// The pattern as JavaScript prints a `RegExp`: `/source/flags`, with `/` escaped.
    pub fn to_js_string(&self) -> String {
        let mut escaped = String::with_capacity(self.source.len());
        let mut chars = self.source.chars();
        let mut in_class = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    escaped.push('\\');
                    if let Some(next) = chars.next() {
                        escaped.push(next);
                    }
                }
                '[' => {
                    in_class = true;
                    escaped.push(c);
                }
                ']' => {
                    in_class = false;
                    escaped.push(c);
                }
                '/' if !in_class => escaped.push_str("\\/"),
                _ => escaped.push(c),
            }
        }
        format!("/{escaped}/{}", self.flags)
    }
}

/// Two patterns are equal when written the same, with the same flags.
impl PartialEq for JsRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl fmt::Debug for JsRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_js_string())
    }
}

/// What a reply must look like for a wait to be satisfied.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Any reply.
    Any,
    /// A reply containing this text.
    Containing {
        /// The text to find.
        text: String,
        /// Compare case-insensitively (the default, as upstream).
        case_insensitive: bool,
    },
    /// A reply matching this regular expression.
    Matching(JsRegex),
    /// A reply offering at least these quick replies (labels compared ignoring case).
    QuickReplies(Vec<String>),
    /// A reply whose cards or carousel offer at least these buttons (labels ignoring case).
    Buttons(Vec<String>),
    /// A message from a human agent (`originatingEntity: "Human"`), from the one with this
    /// nickname when given (ignoring case).
    Agent(Option<String>),
    /// A reply offering a date picker with at least these slots (ISO-8601 `dateTime`s,
    /// compared as instants); an empty list: any date picker.
    DatePicker(Vec<String>),
    /// A reply carrying an attachment, with this file name (ignoring case) and media type
    /// (`Image`, `File`, ... ignoring case) when given.
    Attachment {
        /// The file name, compared ignoring case.
        filename: Option<String>,
        /// `Audio`, `File`, `Image`, `Link` or `Video`, compared ignoring case.
        media_type: Option<String>,
    },
    /// The inner expectation, met only by messages from this kind of sender.
    From(SenderKind, Box<Expectation>),
}

/// Whose messages a wait accepts (`from: bot|agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderKind {
    /// Only bot messages (`originatingEntity: "Bot"`).
    Bot,
    /// Only agent messages (`originatingEntity: "Human"`).
    Agent,
}

impl SenderKind {
    /// Whether `sender` is of this kind.
    pub fn accepts(self, sender: &Sender) -> bool {
        matches!(
            (self, sender),
            (SenderKind::Bot, Sender::Bot) | (SenderKind::Agent, Sender::Agent(_))
        )
    }

    /// `the bot` or `an agent`.
    pub fn describe(self) -> &'static str {
        match self {
            SenderKind::Bot => "the bot",
            SenderKind::Agent => "an agent",
        }
    }
}

impl Expectation {
    /// A reply containing `text`, ignoring case.
    pub fn containing(text: impl Into<String>) -> Self {
        Expectation::Containing {
            text: text.into(),
            case_insensitive: true,
        }
    }

    /// This expectation restricted to messages from `from`.
    pub fn from(self, from: SenderKind) -> Self {
        Expectation::From(from, Box::new(self))
    }

    /// The sender restriction, if any, and the expectation without it.
    pub fn split_from(&self) -> (Option<SenderKind>, &Expectation) {
        match self {
            Expectation::From(kind, inner) => {
                let (_, innermost) = inner.split_from();
                (Some(*kind), innermost)
            }
            other => (None, other),
        }
    }

    /// Whether a message satisfies this expectation: the one test of a message against an
    /// expectation (the reply waits use it too, with a backtracking pattern's match moved off
    /// the async task).
    pub fn is_met_by(&self, message: &StructuredMessage) -> bool {
        let offers = |labels: &[String], offered: Vec<&str>| {
            labels
                .iter()
                .all(|l| offered.iter().any(|o| o.to_lowercase() == l.to_lowercase()))
        };
        match self {
            Expectation::QuickReplies(labels) => offers(
                labels,
                message.quick_replies().map(|q| q.text.as_str()).collect(),
            ),
            Expectation::Buttons(labels) => {
                offers(labels, message.buttons().map(|b| b.text.as_str()).collect())
            }
            Expectation::Agent(nickname) => match (message.sender(), nickname) {
                (sender @ Sender::Agent(_), Some(name)) => sender.is_agent_named(name),
                (Sender::Agent(_), None) => true,
                _ => false,
            },
            Expectation::DatePicker(slots) => message.date_pickers().any(|picker| {
                slots.iter().all(|slot| {
                    picker
                        .available_times
                        .iter()
                        .any(|offered| offered.starts_at(slot))
                })
            }),
            Expectation::Attachment {
                filename,
                media_type,
            } => {
                let same = |wanted: &Option<String>, got: &Option<String>| match wanted {
                    None => true,
                    Some(w) => got
                        .as_deref()
                        .is_some_and(|g| g.trim().to_lowercase() == w.trim().to_lowercase()),
                };
                message
                    .attachments()
                    .any(|a| same(filename, &a.filename) && same(media_type, &a.media_type))
            }
            Expectation::From(kind, inner) => {
                kind.accepts(&message.sender()) && inner.is_met_by(message)
            }
            _ => self.text_meets(message.text.as_deref().unwrap_or_default()),
        }
    }

    /// Whether a reply's text satisfies this expectation (option expectations need the whole
    /// message, and are never met by a text alone).
    fn text_meets(&self, reply: &str) -> bool {
        match self {
            Expectation::QuickReplies(_)
            | Expectation::Buttons(_)
            | Expectation::Agent(_)
            | Expectation::DatePicker(_)
            | Expectation::Attachment { .. } => false,
            Expectation::From(_, inner) => inner.text_meets(reply),
            Expectation::Any => true,
            Expectation::Containing {
                text,
                case_insensitive: true,
            } => reply.to_lowercase().contains(&text.to_lowercase()),
            Expectation::Containing { text, .. } => reply.contains(text.as_str()),
            Expectation::Matching(regex) => regex.is_match(reply),
        }
    }

    /// How the expectation is shown in failures: the text as written, or `/pattern/flags`.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Any => "any reply".to_string(),
            Expectation::Containing { text, .. } => text.clone(),
            Expectation::Matching(regex) => regex.to_js_string(),
            Expectation::QuickReplies(labels) => format!("quick replies: {}", labels.join(", ")),
            Expectation::Buttons(labels) => format!("buttons: {}", labels.join(", ")),
            Expectation::Agent(None) => "a message from an agent".to_string(),
            Expectation::Agent(Some(name)) => format!("a message from the agent {name}"),
            Expectation::DatePicker(slots) if slots.is_empty() => "a date picker".to_string(),
            Expectation::DatePicker(slots) => {
                format!("a date picker offering: {}", slots.join(", "))
            }
            Expectation::Attachment {
                filename,
                media_type,
            } => {
                let mut text = "an attachment".to_string();
                if let Some(name) = filename {
                    text.push_str(&format!(" named {name}"));
                }
                if let Some(kind) = media_type {
                    text.push_str(&format!(" of media type {kind}"));
                }
                text
            }
            Expectation::From(kind, inner) => {
                format!("{} (from {})", inner.describe(), kind.describe())
            }
        }
    }
}

/// Decides, once per message, whether bot messages meet an expectation, without ever blocking
/// the async task that asks: a backtracking match runs on a helper thread, and the session log
/// is published when it ends so the waiting step looks again. Used by the reply waits.
pub(crate) struct Evaluator<'e> {
    expectation: &'e Expectation,
    log: Arc<SessionLog>,
    verdicts: HashMap<u64, Verdict>,
}

enum Verdict {
    Done(bool),
    Running(Arc<OnceLock<bool>>, usize),
    /// Every helper thread is busy: try again shortly.
    Waiting(usize),
}

/// How often a wait looks again while every helper thread is busy.
pub(crate) const BUSY_RETRY: Duration = Duration::from_millis(20);

impl<'e> Evaluator<'e> {
    pub(crate) fn new(expectation: &'e Expectation, log: Arc<SessionLog>) -> Self {
        Evaluator {
            expectation,
            log,
            verdicts: HashMap::new(),
        }
    }

    /// Whether `received` meets the expectation; `None` while that is still being worked out.
    pub(crate) fn verdict(&mut self, received: &Received) -> Option<bool> {
        let key = received.arrival;
        match self.verdicts.get(&key) {
            Some(Verdict::Done(met)) => return Some(*met),
            Some(Verdict::Running(cell, _)) => {
                let met = *cell.get()?;
                self.verdicts.insert(key, Verdict::Done(met));
                return Some(met);
            }
            Some(Verdict::Waiting(_)) | None => {}
        }
        let (from, inner) = self.expectation.split_from();
        if from.is_some_and(|kind| !kind.accepts(&received.message.sender())) {
            self.verdicts.insert(key, Verdict::Done(false));
            return Some(false);
        }
        let regex = match inner {
            Expectation::Matching(regex) if !regex.is_linear() => regex,
            expectation => {
                let met = expectation.is_met_by(&received.message);
                self.verdicts.insert(key, Verdict::Done(met));
                return Some(met);
            }
        };
        let text = received.message.text.as_deref().unwrap_or_default();
        let chars = text.chars().count();
        let cell = Arc::new(OnceLock::new());
        let answer = Arc::clone(&cell);
        let log = Arc::clone(&self.log);
        let started = regex.spawn_match(text, move |met| {
            let _ = answer.set(met);
            log.publish();
        });
        let verdict = match started {
            Ok(()) => Verdict::Running(cell, chars),
            Err(_) => Verdict::Waiting(chars),
        };
        self.verdicts.insert(key, verdict);
        None
    }

    /// Whether a pending verdict waits for a free helper thread (then look again after
    /// [`BUSY_RETRY`]) rather than for a running match (which publishes when done).
    pub(crate) fn is_waiting_for_a_thread(&self) -> bool {
        self.verdicts
            .values()
            .any(|v| matches!(v, Verdict::Waiting(_)))
    }

    /// Why the wait could not finish, when a match was still undecided at its deadline.
    pub(crate) fn undecided(&self) -> Option<TooExpensive> {
        let Expectation::Matching(regex) = self.expectation.split_from().1 else {
            return None;
        };
        self.verdicts.values().find_map(|v| match v {
            Verdict::Running(cell, chars) if cell.get().is_none() => Some(TooExpensive {
                pattern: regex.to_js_string(),
                chars: *chars,
                busy: false,
            }),
            Verdict::Waiting(chars) => Some(TooExpensive {
                pattern: regex.to_js_string(),
                chars: *chars,
                busy: true,
            }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_semantics() {
        let r = JsRegex::new(r"^second line$", "im").unwrap();
        assert!(r.is_match("first\r\nsecond line\r\nthird"));
        let r = JsRegex::new(r"\d+", "im").unwrap();
        assert!(!r.is_match("٣"));
        let r = JsRegex::new(r"(?<=order )\d+", "im").unwrap();
        assert!(r.is_match("your ORDER 42"));
        assert!(JsRegex::new("(", "im").is_err());
    }

    #[test]
    fn describes_like_javascript() {
        let r = JsRegex::new("a/b[/]", "im").unwrap();
        assert_eq!(r.to_js_string(), r"/a\/b[/]/im");
        assert_eq!(Expectation::containing("Hello").describe(), "Hello");
    }

    #[test]
    fn containing_ignores_case_by_default() {
        let says = |text: &str| StructuredMessage {
            text: Some(text.into()),
            ..StructuredMessage::default()
        };
        assert!(
            Expectation::containing("EXAMPLE question")
                .is_met_by(&says("This is an example question"))
        );
        let exact = Expectation::Containing {
            text: "EXAMPLE".into(),
            case_insensitive: false,
        };
        assert!(!exact.is_met_by(&says("example")));
    }
}
