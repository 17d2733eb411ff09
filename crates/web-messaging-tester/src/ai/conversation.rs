//! One scenario's conversation: the model plays the customer against the bot until a
//! terminating phrase, an empty answer, a bot disconnect, the turn limit or the time limit.
//!
//! Each turn, the model writes the customer's next message from the prompt (its system
//! message) and the conversation so far (the bot's lines as the other party's turns, its own
//! as its turns). Terminating phrases are looked for in the model's messages only (fail phrases
//! first, ignoring case); the message that carries one is the verdict and is not sent to the bot.
//! When the conversation cannot go on (the bot disconnected, or the turn limit is reached),
//! the model still gets one last look: a terminating phrase then still decides.

use super::provider::{ChatMessage, Provider, Usage};
use crate::format::ai_script::TerminatingPhrases;
use crate::plan::guest::GuestSettings;
use crate::run::Failure;
use crate::text::capitalise;
use genesys_web_messaging::{Conversation, ConversationOptions, Reply, Transcript};
use std::time::Duration;
use tokio::time::Instant;

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The model, as the customer.
    Customer,
    /// The bot.
    Bot,
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said; a bot line ends with the options it offered, ` [Yes] [No]`.
    pub text: String,
}

/// How a conversation (or the judge) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// A pass phrase.
    Pass,
    /// A fail phrase, or a limit, an empty answer, a disconnect.
    Fail,
    /// Something broke: the session, the provider. (Saved as `fail`, as upstream knows
    /// only `pass` and `fail`.)
    Error,
}

/// Why a conversation ended.
#[derive(Debug, Clone)]
pub struct EndReason {
    /// Pass, fail or error.
    pub kind: EndKind,
    /// Upstream's wording where upstream has one (empty when `failure` says why).
    pub description: String,
    /// The session's failure that ended it, with the time limit it ran under: worded by
    /// [`crate::results`] (the engine words no failure of the runner's).
    pub failure: Option<(Failure, Duration)>,
}

impl EndReason {
    fn fail(description: impl Into<String>) -> Self {
        EndReason {
            kind: EndKind::Fail,
            description: description.into(),
            failure: None,
        }
    }

    fn error(description: impl Into<String>) -> Self {
        EndReason {
            kind: EndKind::Error,
            description: description.into(),
            failure: None,
        }
    }

    fn session_failure(failure: Failure, timeout: Duration) -> Self {
        EndReason {
            kind: EndKind::Error,
            description: String::new(),
            failure: Some((failure, timeout)),
        }
    }
}

/// How each conversation runs.
#[derive(Debug, Clone)]
pub struct ConversationSettings {
    /// Where each conversation's session goes, how long it may take to start, and the quiet
    /// time before each message.
    pub guest: GuestSettings,
    /// Most messages the model may send to the bot.
    pub max_turns: u32,
    /// Bot silence that ends its turn.
    pub silence: Duration,
    /// Most time the whole conversation may take.
    pub time_limit: Duration,
    /// SIGINT/SIGTERM: stops the conversation where it is.
    pub interrupt: crate::interrupt::Interrupt,
}

/// What a conversation produced.
#[derive(Debug, Clone)]
pub struct ConversationOutcome {
    /// Every line, in order.
    pub lines: Vec<Line>,
    /// Why it ended.
    pub end: EndReason,
    /// Messages the model sent to the bot.
    pub turns: u32,
    /// Tokens used.
    pub usage: Usage,
    /// What the session carried, as Genesys recorded it (for the CI reports); empty when no
    /// session opened.
    pub transcript: Transcript,
    /// The id of the session's first message (for `--associate-id`).
    pub first_message_id: Option<String>,
}

/// The conversation's state, kept outside the future that the time limit may cut short.
struct State<'a> {
    lines: Vec<Line>,
    turns: u32,
    usage: Usage,
    on_line: &'a (dyn Fn(&Line) + Sync),
}

impl State<'_> {
    fn push(&mut self, speaker: Speaker, text: String) {
        let line = Line { speaker, text };
        (self.on_line)(&line);
        self.lines.push(line);
    }

    /// The model's view: the bot's lines are the other party's, its own are its.
    fn history(&self) -> Vec<ChatMessage> {
        self.lines
            .iter()
            .map(|line| match line.speaker {
                Speaker::Customer => ChatMessage::assistant(&line.text),
                Speaker::Bot => ChatMessage::user(&line.text),
            })
            .collect()
    }
}

/// Runs one conversation. `on_line` sees every line as it is said.
pub async fn converse(
    prompt: &str,
    phrases: &TerminatingPhrases,
    provider: &Provider,
    settings: &ConversationSettings,
    on_line: &(dyn Fn(&Line) + Sync),
) -> ConversationOutcome {
    let deadline = Instant::now()
        .checked_add(settings.time_limit)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let mut state = State {
        lines: Vec::new(),
        turns: 0,
        usage: Usage::default(),
        on_line,
    };
    let mut conversation = None;
    let limited = tokio::time::timeout_at(
        deadline,
        run(
            &mut state,
            &mut conversation,
            prompt,
            phrases,
            provider,
            settings,
            deadline,
        ),
    );
    let end = tokio::select! {
        limited = limited => match limited {
            Ok(end) => end,
            Err(_) => EndReason::fail(format!(
                "The conversation did not end within the time limit of {}",
                crate::format::duration::humanize(settings.time_limit)
            )),
        },
        signal = settings.interrupt.wait() => {
            EndReason::error(format!("Interrupted by {signal} before the conversation ended"))
        }
    };
    let mut transcript = Transcript::default();
    let mut first_message_id = None;
    if let Some(conversation) = conversation {
        transcript = conversation.transcript();
        first_message_id = conversation.first_message_id();
        conversation.close().await;
    }
    ConversationOutcome {
        lines: state.lines,
        end,
        turns: state.turns,
        usage: state.usage,
        transcript,
        first_message_id,
    }
}

async fn run(
    state: &mut State<'_>,
    slot: &mut Option<Conversation>,
    prompt: &str,
    phrases: &TerminatingPhrases,
    provider: &Provider,
    settings: &ConversationSettings,
    deadline: Instant,
) -> EndReason {
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let conversation = match Conversation::connect(
        settings.guest.session.clone(),
        ConversationOptions {
            // The model is asked only after the bot's silence window, so this rarely waits.
            say_delay: settings.guest.say_delay,
            ..ConversationOptions::default()
        },
    )
    .await
    {
        Ok(conversation) => slot.insert(conversation),
        Err(e) => {
            return EndReason::session_failure(
                Failure::Connect(format!("Could not open a session: {e}")),
                settings.guest.timeout,
            );
        }
    };
    let start_timeout = settings.guest.timeout.min(remaining());
    if let Err(e) = conversation.wait_for_start(start_timeout).await {
        return EndReason::session_failure(Failure::Start(e), start_timeout);
    }
    let faults_before = conversation.session().log().snapshot().faults.len();
    // A welcome message is part of the conversation the model answers.
    let mut offered = bot_turn(
        state,
        &conversation
            .wait_for_replies_until_silence(settings.silence, remaining())
            .await,
    );
    loop {
        if let Some(broken) = broken_session(conversation, faults_before) {
            return broken;
        }
        let last_look = if conversation.is_disconnected() {
            Some("Chatbot disconnected unexpectedly".to_string())
        } else if state.turns >= settings.max_turns {
            Some(format!(
                "The conversation reached the limit of {} turns without a terminating phrase",
                settings.max_turns
            ))
        } else {
            None
        };
        let completion = match provider.complete(prompt, &state.history()).await {
            Ok(completion) => completion,
            Err(e) => {
                return EndReason::error(format!("{} failed: {e}", capitalise(provider.name())));
            }
        };
        state.usage += completion.usage;
        let text = completion.text;
        if text.is_empty() {
            let why = completion
                .unusual_stop
                .map(|stop| format!(" (the model stopped: {stop})"))
                .unwrap_or_default();
            return EndReason::fail(format!("AI didn't have a response{why}"));
        }
        if let Some(kind) = terminating_phrase(&text, phrases) {
            state.push(Speaker::Customer, text.clone());
            return EndReason {
                kind,
                description: format!("Terminating phrase found in response: '{text}'"),
                failure: None,
            };
        }
        if let Some(reason) = last_look {
            return EndReason::fail(reason);
        }
        // A message that is exactly one of the offered options clicks it, as a person would.
        let option = offered
            .iter()
            .find(|o| o.to_lowercase() == text.to_lowercase())
            .cloned();
        let sent = match option {
            Some(label) => conversation.click(&label).await,
            None => conversation.say(&text).await,
        };
        match sent {
            Ok(()) => {
                state.turns += 1;
                state.push(Speaker::Customer, text);
            }
            // The bot left meanwhile: the next round gives the model its last look.
            Err(
                genesys_web_messaging::SayError::Disconnected
                | genesys_web_messaging::SayError::ReadOnly { .. },
            ) => continue,
            Err(e) => {
                state.push(Speaker::Customer, text);
                return EndReason::session_failure(Failure::Say(e), Duration::ZERO);
            }
        }
        offered = bot_turn(
            state,
            &conversation
                .wait_for_replies_until_silence(settings.silence, remaining())
                .await,
        );
    }
}

/// Records the bot's replies; returns the options they offered.
fn bot_turn(state: &mut State<'_>, replies: &[Reply]) -> Vec<String> {
    let transcript = Transcript::from_messages(replies);
    let mut offered = Vec::new();
    for line in transcript.lines {
        let options: String = line.options.iter().map(|o| format!(" [{o}]")).collect();
        state.push(Speaker::Bot, format!("{}{options}", line.text));
        offered.extend(line.options);
    }
    offered
}

/// A session that can no longer carry the conversation: its socket closed, or Genesys
/// reported an error.
fn broken_session(conversation: &Conversation, faults_before: usize) -> Option<EndReason> {
    let snapshot = conversation.session().log().snapshot();
    if let Some(fault) = snapshot.faults.get(faults_before) {
        return Some(EndReason::error(capitalise(&fault.to_string())));
    }
    if let Some(closed) = snapshot.closed
        && !conversation.is_disconnected()
    {
        return Some(EndReason::error(format!("The connection closed: {closed}")));
    }
    None
}

/// Whether `text` carries a terminating phrase, ignoring case; fail phrases win.
fn terminating_phrase(text: &str, phrases: &TerminatingPhrases) -> Option<EndKind> {
    let text = text.to_lowercase();
    let found = |list: &[String]| list.iter().any(|p| text.contains(&p.to_lowercase()));
    if found(&phrases.fail) {
        Some(EndKind::Fail)
    } else if found(&phrases.pass) {
        Some(EndKind::Pass)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_phrases_win_and_case_is_ignored() {
        let phrases = TerminatingPhrases {
            pass: vec!["success".into()],
            fail: vec!["FAILURE".into()],
        };
        assert_eq!(
            terminating_phrase("This was a Success", &phrases),
            Some(EndKind::Pass)
        );
        assert_eq!(
            terminating_phrase("success? no: failure", &phrases),
            Some(EndKind::Fail)
        );
        assert_eq!(terminating_phrase("inconclusive", &phrases), None);
    }
}
