//! The conversation API: say things, wait for what the bot answers.
//!
//! A conversation reads the session's ordered log through a *cursor*: the place of the last
//! reply a wait consumed. Each wait looks at the replies after the cursor, in `channel.time`
//! order, so a reply that arrived while no step was waiting is still seen by the next one, and
//! a reply delivered out of order is seen in its right place. `say` does not move the cursor:
//! every bot reply is offered to the waits that follow, whenever it arrived.
//!
//! Pacing lives in one place, `pacing.rs` beside this file: [`Conversation::say`] (and the
//! click, date and attachment paths) waits there until the bot has been quiet for the
//! configured delay and keeps within Genesys' limit of 2 `onMessage` per second, and a message
//! refused with 429 is sent again from there.
//!
//! Nothing here waits without a deadline: every wait ends at its timeout, pacing gives up
//! waiting for quiet after [`ConversationOptions::max_quiet_wait`] (and sends anyway), a
//! server's `retryAfter` is capped at [`ConversationOptions::max_retry_after`] and followed at
//! most [`ConversationOptions::max_resends`] times per wait, and deadlines never overflow.

use crate::expect::{BUSY_RETRY, Evaluator, Expectation, TooExpensive};
use crate::log::{Closed, Fault, OrderKey, Received, SessionLog, Snapshot};
use crate::protocol::SessionResponse;
use crate::protocol::{ButtonResponse, Content, IncomingMessage};
use crate::session::{ConnectError, DisconnectMode, GuestSession, SendError, SessionConfig};
use crate::transcript::{Transcript, readable};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod pacing;

pub use pacing::MAX_RETRY_AFTER;

/// A reply from the bot, as recorded in the session log.
pub type Reply = Arc<Received>;

/// Timing rules for a conversation.
#[derive(Debug, Clone)]
pub struct ConversationOptions {
    /// Before each `say`, wait until the bot has sent nothing for this long (counted from the
    /// session start when it has not replied yet). Genesys has been seen to ignore text sent
    /// right after a bot reply (upstream issue #38); upstream waits a fixed 3 s before each say.
    pub say_delay: Duration,
    /// Most `onMessage` requests in any one-second window (Genesys allows 2 per session).
    pub max_messages_per_second: usize,
    /// When a wait sees the bot disconnect, how long it still accepts a matching reply that was
    /// created before the disconnect but is delivered after it (out-of-order delivery).
    pub disconnect_grace: Duration,
    /// Most time a `say` waits for the bot to go quiet (never less than `say_delay`): a bot
    /// that keeps talking gets the message anyway after this long. The rate limit is still
    /// kept.
    pub max_quiet_wait: Duration,
    /// Cap on a server's `retryAfter` (429): a message refused for being too fast is sent again
    /// after `retryAfter` or this, whichever is shorter.
    pub max_retry_after: Duration,
    /// Most times one wait sends a rate-limited message again; a further 429 ends the wait.
    pub max_resends: u32,
}

impl Default for ConversationOptions {
    fn default() -> Self {
        ConversationOptions {
            say_delay: Duration::from_secs(2),
            max_messages_per_second: 2,
            disconnect_grace: Duration::from_millis(300),
            max_quiet_wait: Duration::from_secs(10),
            max_retry_after: MAX_RETRY_AFTER,
            max_resends: 3,
        }
    }
}

/// Far enough to mean "never" for a deadline (about 30 years), near enough not to overflow.
const FAR: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `at + duration`, saturating at a far-future instant instead of panicking on overflow.
pub(crate) fn later(at: Instant, duration: Duration) -> Instant {
    at.checked_add(duration.min(FAR))
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

/// Why a wait ended without the reply it wanted.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFailure {
    /// No matching reply within the timeout.
    TimedOut,
    /// The bot ended the conversation (Presence Disconnect).
    BotDisconnected,
    /// The server answered with an error, or sent a frame that could not be read.
    Server(Fault),
    /// The socket is gone.
    Closed(Closed),
    /// The session never started (no `SessionResponse`) within the timeout.
    SessionNotStarted,
    /// A reply could not be matched against the pattern within the timeout (a backtracking
    /// pattern, e.g. with lookaround or backreferences, that takes too long on that reply).
    TooExpensive(TooExpensive),
}

/// A wait that failed, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct WaitError {
    /// What was expected, as the user wrote it (`/pattern/flags` for regular expressions).
    pub expected: String,
    /// The expectation of a reply wait (`None` for the session start and disconnect waits).
    pub expectation: Option<Expectation>,
    /// How long the wait was allowed to take.
    pub timeout: Duration,
    /// The text of every reply seen during the wait, in conversation order.
    pub received: Vec<String>,
    /// Why the wait ended.
    pub reason: WaitFailure,
    /// Replies that were delivered so late they sorted before an already-matched reply, and so
    /// could not be offered to this wait. Only ever non-empty after out-of-order delivery.
    pub late: Vec<String>,
    /// Every time Genesys refused a message for being too fast (429) during this wait, and
    /// what was done about it, e.g. `Genesys rate-limited the message 'hi' (429, retry after
    /// 5 s; matched by its tracingId): it was sent again after 5 s`.
    pub rate_limited: Vec<String>,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = &self.expected;
        match &self.reason {
            WaitFailure::TimedOut => write!(
                f,
                "Timed-out after {}ms waiting for a message that contained '{expected}'",
                self.timeout.as_millis()
            )?,
            WaitFailure::BotDisconnected => write!(
                f,
                "Bot disconnected from the conversation whilst waiting a message that contained '{expected}'"
            )?,
            WaitFailure::Server(fault) => write!(
                f,
                "{fault} whilst waiting a message that contained '{expected}'"
            )?,
            WaitFailure::Closed(closed) => write!(
                f,
                "{} whilst waiting a message that contained '{expected}'",
                capitalise(&closed.to_string())
            )?,
            WaitFailure::TooExpensive(e) => write!(
                f,
                "{} within the step's timeout of {}ms",
                capitalise(&e.to_string()),
                self.timeout.as_millis()
            )?,
            WaitFailure::SessionNotStarted => write!(
                f,
                "The session did not start within {}ms: no SessionResponse to configureSession",
                self.timeout.as_millis()
            )?,
        }
        if self.received.is_empty() {
            write!(f, "\nNo messages were received.")?;
        } else {
            write!(f, "\nReceived:")?;
            for text in &self.received {
                write!(f, "\n - {text}")?;
            }
        }
        for note in &self.rate_limited {
            write!(f, "\n{note}")?;
        }
        Ok(())
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why a `say` could not be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SayError {
    /// Genesys would reject it, and upstream refuses it too.
    #[error("Text cannot be empty")]
    EmptyText,
    /// The bot already ended the conversation.
    #[error("Cannot send text as conversation was disconnected by Genesys")]
    Disconnected,
    /// The bot ended the conversation and it is read-only: Genesys' own clients refuse to send
    /// (see [`DisconnectMode::ReadOnly`]).
    #[error(
        "Cannot send text as conversation was disconnected by Genesys and is read-only ({reason})"
    )]
    ReadOnly {
        /// Why it is read-only: the deployment's setting, or the disconnect event's flag.
        reason: String,
    },
    /// The socket is gone.
    #[error(transparent)]
    Send(#[from] SendError),
    /// No bot message offers a quick reply or button with this label.
    #[error("No quick reply or button labelled '{label}' was offered{}", if offered.is_empty() { String::new() } else { format!(" (offered: {})", offered.join(", ")) })]
    NoSuchOption {
        /// The label asked for.
        label: String,
        /// Every label the bot did offer, latest message first.
        offered: Vec<String>,
    },
    /// No date picker offers a slot starting at this time.
    #[error("No date picker offered a slot at '{date_time}'{}", if offered.is_empty() { String::new() } else { format!(" (offered: {})", offered.join(", ")) })]
    NoSuchSlot {
        /// The slot asked for.
        date_time: String,
        /// Every slot offered, latest message first.
        offered: Vec<String>,
    },
    /// The option exists but cannot be clicked.
    #[error("'{label}' cannot be clicked: {reason}")]
    NotClickable {
        /// The option's label.
        label: String,
        /// Why.
        reason: String,
    },
}

/// The guest's answer to a quick reply (`Text`) or card postback (`Structured`), as Genesys'
/// own clients send it.
fn button_response(text: &str, payload: &str, kind: &str, message_type: &str) -> IncomingMessage {
    IncomingMessage {
        kind: message_type.to_string(),
        // A postback carries its label as text; a quick reply only in the button response.
        text: (message_type == "Structured").then(|| text.to_string()),
        content: vec![Content {
            content_type: "ButtonResponse".into(),
            button_response: Some(ButtonResponse {
                text: text.to_string(),
                payload: payload.to_string(),
                kind: kind.to_string(),
                originating_message_id: None,
            }),
            ..Content::default()
        }],
        ..IncomingMessage::default()
    }
}

/// A guest's conversation with the bot of a deployment.
///
/// ```no_run
/// use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = SessionConfig::for_region("your-deployment-id", "mypurecloud.ie")
///     .custom_attribute("IsAutomatedTest", "true");
/// let mut conversation = Conversation::connect(config, ConversationOptions::default()).await?;
/// conversation.wait_for_start(Duration::from_secs(10)).await?;
/// conversation.say("hi").await?;
/// let reply = conversation
///     .wait_for_reply_containing("Can we ask you some questions", Duration::from_secs(10))
///     .await?;
/// println!("{}", reply.message.text.as_deref().unwrap_or_default());
/// conversation.close().await;
/// # Ok(()) }
/// ```
pub struct Conversation {
    session: GuestSession,
    options: ConversationOptions,
    pub(crate) cursor: Option<OrderKey>,
    pub(crate) cursor_moved_at: Option<Instant>,
    pub(crate) faults_reported: usize,
    started_at: Instant,
    /// Messages sent and not yet echoed, oldest first, with their tracing ids: one refused
    /// with 429 is sent again after `retryAfter`.
    pub(crate) sent: VecDeque<(String, IncomingMessage)>,
    /// Where the current conversation starts in the log (after `start_new`): disconnects
    /// before it no longer count.
    pub(crate) epoch: Option<OrderKey>,
    /// Names of the attachments sent, by id, for the transcript.
    pub(crate) attachment_names: HashMap<String, String>,
    /// With [`DisconnectMode::Send`], the latest disconnect the guest sent past: it and those
    /// before it no longer end waits.
    disconnect_passed: Option<OrderKey>,
    /// When the latest paced guest message was handed to the session task, just before its
    /// frame is written (see [`Conversation::last_sent_at`]).
    last_sent_at: Option<Instant>,
}

impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conversation")
            .field("token", &self.session.token())
            .field("cursor", &self.cursor)
            .finish()
    }
}

enum Check<T> {
    Done(T),
    /// Not yet; look again on the next change, or at this instant at the latest.
    Pending(Option<Instant>),
}

impl Conversation {
    /// Connects a new guest session and wraps it.
    pub async fn connect(
        config: SessionConfig,
        options: ConversationOptions,
    ) -> Result<Conversation, ConnectError> {
        Ok(Conversation::new(
            GuestSession::connect(config).await?,
            options,
        ))
    }

    /// Wraps an already connected session.
    pub fn new(session: GuestSession, options: ConversationOptions) -> Conversation {
        Conversation {
            session,
            options,
            cursor: None,
            cursor_moved_at: None,
            faults_reported: 0,
            started_at: Instant::now(),
            sent: VecDeque::new(),
            disconnect_passed: None,
            last_sent_at: None,
            epoch: None,
            attachment_names: HashMap::new(),
        }
    }

    /// When the latest `say`, `click` or `pick_date` message was sent: the instant taken after
    /// its pacing and just before its frame was handed over to be written (`None` before the
    /// first). Response times count from here, so every reply to it is later. A 429 resend
    /// does not move it: the bot's answer is still to the guest's original message.
    pub fn last_sent_at(&self) -> Option<Instant> {
        self.last_sent_at
    }

    /// The underlying session.
    pub fn session(&self) -> &GuestSession {
        &self.session
    }

    /// The underlying session, to reconnect it.
    pub(crate) fn session_mut(&mut self) -> &mut GuestSession {
        &mut self.session
    }

    pub(crate) fn log(&self) -> &SessionLog {
        self.session.log()
    }

    /// Waits for the `SessionResponse` to `configureSession`.
    pub async fn wait_for_start(
        &mut self,
        timeout: Duration,
    ) -> Result<SessionResponse, WaitError> {
        let deadline = later(Instant::now(), timeout);
        let faults_reported = self.faults_reported;
        let outcome = self
            .wait_until(deadline, |snap| {
                if let Some(session) = &snap.session {
                    return Check::Done(Ok(session.clone()));
                }
                if let Some(failure) = ended(snap, faults_reported) {
                    return Check::Done(Err(failure));
                }
                Check::Pending(None)
            })
            .await;
        self.started_at = Instant::now();
        match outcome {
            Some(Ok(session)) => Ok(session),
            failure => {
                if matches!(failure, Some(Err(WaitFailure::Server(_)))) {
                    self.faults_reported += 1;
                }
                Err(WaitError {
                    expected: "a SessionResponse".into(),
                    expectation: None,
                    timeout,
                    received: Vec::new(),
                    reason: failure
                        .and_then(Result::err)
                        .unwrap_or(WaitFailure::SessionNotStarted),
                    late: Vec::new(),
                    rate_limited: Vec::new(),
                })
            }
        }
    }

    /// Sends text as the guest, after the pacing rules allow it.
    pub async fn say(&mut self, text: &str) -> Result<(), SayError> {
        if text.is_empty() {
            return Err(SayError::EmptyText);
        }
        self.send_paced(IncomingMessage::text(text)).await
    }

    /// Clicks the quick reply or card button labelled `label` (ignoring case), as offered by
    /// the latest bot message offering it: sends the button response Genesys expects.
    pub async fn click(&mut self, label: &str) -> Result<(), SayError> {
        let message = self.button_response_for(label)?;
        self.send_paced(message).await
    }

    /// Picks the slot starting at `date_time` (ISO-8601, compared as an instant) in the latest
    /// message offering it in a date picker: sends the documented answer, a `ButtonResponse`
    /// of type `DatePicker` whose payload is the slot's `dateTime` as the bot wrote it, with
    /// `originatingMessageId` set to the date picker message's id.
    pub async fn pick_date(&mut self, date_time: &str) -> Result<(), SayError> {
        let message = self.date_response_for(date_time)?;
        self.send_paced(message).await
    }

    fn date_response_for(&self, date_time: &str) -> Result<IncomingMessage, SayError> {
        let snap = self.log().snapshot();
        let mut offered = Vec::new();
        for received in snap.messages.iter().rev().filter(|r| r.message.is_reply()) {
            let message = &received.message;
            for picker in message.date_pickers() {
                if let Some(slot) = picker
                    .available_times
                    .iter()
                    .find(|slot| slot.starts_at(date_time))
                {
                    let mut answer =
                        button_response(&slot.date_time, &slot.date_time, "DatePicker", "Text");
                    if let Some(b) = answer
                        .content
                        .first_mut()
                        .and_then(|c| c.button_response.as_mut())
                    {
                        b.originating_message_id = Some(message.id.clone());
                    }
                    return Ok(answer);
                }
                offered.extend(picker.available_times.iter().map(|s| s.date_time.clone()));
            }
        }
        Err(SayError::NoSuchSlot {
            date_time: date_time.to_string(),
            offered,
        })
    }

    fn button_response_for(&self, label: &str) -> Result<IncomingMessage, SayError> {
        let snap = self.log().snapshot();
        let same = |text: &str| text.to_lowercase() == label.to_lowercase();
        let mut offered = Vec::new();
        for received in snap.messages.iter().rev().filter(|r| r.message.is_reply()) {
            let message = &received.message;
            if let Some(q) = message.quick_replies().find(|q| same(&q.text)) {
                return Ok(button_response(&q.text, &q.payload, "QuickReply", "Text"));
            }
            if let Some(b) = message.buttons().find(|b| same(&b.text)) {
                return match &b.payload {
                    Some(payload) => Ok(button_response(&b.text, payload, "Button", "Structured")),
                    None => Err(SayError::NotClickable {
                        label: b.text.clone(),
                        reason: "it is a link, not a postback button".into(),
                    }),
                };
            }
            offered.extend(message.quick_replies().map(|q| q.text.clone()));
            offered.extend(message.buttons().map(|b| b.text.clone()));
        }
        Err(SayError::NoSuchOption {
            label: label.to_string(),
            offered,
        })
    }

    /// Whether a message may go now. After a disconnect this depends on the deployment's
    /// `conversationDisconnect.type` ([`DisconnectMode`]): unknown or `ReadOnly` refuse, `Send`
    /// allows unless the disconnect event says the conversation is read-only. Returns the
    /// disconnect a `Send` message goes past, if any.
    fn check_can_send(&self) -> Result<Option<OrderKey>, SayError> {
        let snap = self.log().snapshot();
        if let Some(closed) = snap.closed {
            return Err(SayError::Send(SendError::Closed(closed)));
        }
        let (epoch, passed) = (self.epoch, self.disconnect_passed);
        let Some(disconnect) = snap
            .messages
            .iter()
            .rev()
            .find(|m| Self::ends_conversation(epoch, passed, m))
        else {
            return Ok(None);
        };
        match self.session.conversation_disconnect() {
            None => Err(SayError::Disconnected),
            Some(DisconnectMode::ReadOnly) => Err(SayError::ReadOnly {
                reason: "the deployment's conversationDisconnect type is ReadOnly".into(),
            }),
            Some(DisconnectMode::Send) if disconnect.message.is_read_only() => {
                Err(SayError::ReadOnly {
                    reason: "the disconnect event carries readOnly: true".into(),
                })
            }
            Some(DisconnectMode::Send) => Ok(Some(disconnect.key())),
        }
    }

    /// Whether `received` is a disconnect that still ends waits: in the current conversation
    /// (after `start_new`'s epoch) and not one the guest sent past.
    fn ends_conversation(
        epoch: Option<OrderKey>,
        passed: Option<OrderKey>,
        received: &Received,
    ) -> bool {
        received.message.is_disconnect()
            && epoch.is_none_or(|e| received.key() > e)
            && passed.is_none_or(|p| received.key() > p)
    }

    /// Waits for the next reply, whatever it says.
    pub async fn wait_for_next_reply(&mut self, timeout: Duration) -> Result<Reply, WaitError> {
        self.wait_for_reply(&Expectation::Any, timeout).await
    }

    /// Waits for a reply offering at least these quick replies (labels ignoring case).
    pub async fn wait_for_quick_replies(
        &mut self,
        labels: &[&str],
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        let labels = labels.iter().map(ToString::to_string).collect();
        self.wait_for_reply(&Expectation::QuickReplies(labels), timeout)
            .await
    }

    /// Waits for the first message from a human agent, from the one with this nickname when
    /// given (ignoring case).
    pub async fn wait_for_agent(
        &mut self,
        nickname: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        let expectation = Expectation::Agent(nickname.map(str::to_string));
        self.wait_for_reply(&expectation, timeout).await
    }

    /// Waits for a reply offering a date picker with at least these slots (ISO-8601; none:
    /// any date picker).
    pub async fn wait_for_date_picker(
        &mut self,
        slots: &[&str],
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        let slots = slots.iter().map(ToString::to_string).collect();
        self.wait_for_reply(&Expectation::DatePicker(slots), timeout)
            .await
    }

    /// Waits for a reply carrying an attachment, with this file name (ignoring case) and
    /// media type (`Image`, `File`...) when given.
    pub async fn wait_for_attachment(
        &mut self,
        filename: Option<&str>,
        media_type: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        let expectation = Expectation::Attachment {
            filename: filename.map(str::to_string),
            media_type: media_type.map(str::to_string),
        };
        self.wait_for_reply(&expectation, timeout).await
    }

    /// Waits for a reply containing `text`, ignoring case.
    pub async fn wait_for_reply_containing(
        &mut self,
        text: &str,
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        self.wait_for_reply(&Expectation::containing(text), timeout)
            .await
    }

    /// Waits for a reply matching a JavaScript-style regular expression.
    pub async fn wait_for_reply_matching(
        &mut self,
        pattern: &crate::JsRegex,
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        self.wait_for_reply(&Expectation::Matching(pattern.clone()), timeout)
            .await
    }

    /// Waits for the first reply after the cursor that meets `expectation`, and moves the
    /// cursor to it. Ends at once, with the reason, when the bot disconnects, the server
    /// reports an error, or the socket closes.
    pub async fn wait_for_reply(
        &mut self,
        expectation: &Expectation,
        timeout: Duration,
    ) -> Result<Reply, WaitError> {
        let mut deadline = later(Instant::now(), timeout);
        let cursor = self.cursor;
        let (epoch, passed) = (self.epoch, self.disconnect_passed);
        let grace = self.options.disconnect_grace;
        let mut disconnect_seen_at: Option<Instant> = None;
        let mut resends = 0;
        let mut rate_limited = Vec::new();
        let mut evaluator = Evaluator::new(expectation, Arc::clone(self.session.log()));
        let outcome = loop {
            let faults_reported = self.faults_reported;
            let outcome = self
                .wait_until(deadline, |snap| {
                    for received in after(snap, cursor) {
                        let message = &received.message;
                        if message.is_reply() {
                            match evaluator.verdict(received) {
                                Some(true) => return Check::Done(Ok(Arc::clone(received))),
                                Some(false) => {}
                                // Decided on a helper thread, which publishes when done.
                                None if evaluator.is_waiting_for_a_thread() => {
                                    return Check::Pending(Some(Instant::now() + BUSY_RETRY));
                                }
                                None => return Check::Pending(None),
                            }
                        }
                        if Self::ends_conversation(epoch, passed, received) {
                            let seen = *disconnect_seen_at.get_or_insert_with(Instant::now);
                            if Instant::now() >= later(seen, grace) || snap.closed.is_some() {
                                return Check::Done(Err(WaitFailure::BotDisconnected));
                            }
                            return Check::Pending(Some(later(seen, grace)));
                        }
                    }
                    if let Some(failure) = ended(snap, faults_reported) {
                        return Check::Done(Err(failure));
                    }
                    Check::Pending(None)
                })
                .await;
            if let Some(Err(failure)) = &outcome {
                let paused_at = Instant::now();
                // Boxed: a rare path, which inline would size every wait (and every load
                // guest's task) by a third more.
                let resend = Box::pin(self.resend_if_rate_limited(failure, &mut resends));
                if let Some(note) = resend.await {
                    // The time spent obeying the server does not count against this wait.
                    deadline = later(deadline, paused_at.elapsed());
                    rate_limited.push(note);
                    continue;
                }
            }
            break outcome;
        };
        match outcome {
            Some(Ok(reply)) => {
                self.cursor = Some(reply.key());
                self.cursor_moved_at = Some(Instant::now());
                Ok(reply)
            }
            other => {
                let reason = match other {
                    Some(Err(reason)) => reason,
                    _ => evaluator
                        .undecided()
                        .map_or(WaitFailure::TimedOut, WaitFailure::TooExpensive),
                };
                let mut error = self.failure(expectation.describe(), timeout, reason);
                error.expectation = Some(expectation.clone());
                error.rate_limited = rate_limited;
                Err(error)
            }
        }
    }

    /// Collects replies until the bot has been silent for `silence`, or `max_wait` has passed.
    /// Returns what arrived (possibly nothing) and moves the cursor past it. Ends early, with
    /// the replies so far, when the bot disconnects or the socket closes.
    pub async fn wait_for_replies_until_silence(
        &mut self,
        silence: Duration,
        max_wait: Duration,
    ) -> Vec<Reply> {
        let deadline = later(Instant::now(), max_wait);
        let cursor = self.cursor;
        let (epoch, passed) = (self.epoch, self.disconnect_passed);
        let mut last_seen_count = 0;
        let mut quiet_since = Instant::now();
        let replies = self
            .wait_until(deadline, |snap| {
                let replies: Vec<Reply> = after(snap, cursor)
                    .filter(|r| r.message.is_reply())
                    .cloned()
                    .collect();
                if replies.len() != last_seen_count {
                    last_seen_count = replies.len();
                    quiet_since = Instant::now();
                }
                let ended = snap.closed.is_some()
                    || after(snap, cursor).any(|r| Self::ends_conversation(epoch, passed, r));
                if ended || Instant::now() >= later(quiet_since, silence) {
                    return Check::Done(replies);
                }
                Check::Pending(Some(later(quiet_since, silence)))
            })
            .await;
        let replies = match replies {
            Some(replies) => replies,
            None => after(&self.log().snapshot(), cursor)
                .filter(|r| r.message.is_reply())
                .cloned()
                .collect(),
        };
        if let Some(last) = replies.last() {
            self.cursor = Some(last.key());
            self.cursor_moved_at = Some(Instant::now());
        }
        replies
    }

    /// Waits for the bot to end the conversation (Presence Disconnect). Succeeds at once if it
    /// already has.
    pub async fn wait_for_disconnect(&mut self, timeout: Duration) -> Result<(), WaitError> {
        let deadline = later(Instant::now(), timeout);
        let faults_reported = self.faults_reported;
        let (epoch, passed) = (self.epoch, self.disconnect_passed);
        let outcome = self
            .wait_until(deadline, |snap| {
                if snap
                    .messages
                    .iter()
                    .any(|m| Self::ends_conversation(epoch, passed, m))
                {
                    return Check::Done(Ok(()));
                }
                if let Some(failure) = ended(snap, faults_reported) {
                    return Check::Done(Err(failure));
                }
                Check::Pending(None)
            })
            .await;
        match outcome {
            Some(Ok(())) => Ok(()),
            other => {
                let reason = match other {
                    Some(Err(reason)) => reason,
                    _ => WaitFailure::TimedOut,
                };
                Err(self.failure("the bot to disconnect".into(), timeout, reason))
            }
        }
    }

    /// Whether the bot has ended the conversation (and, with [`DisconnectMode::Send`], the
    /// guest has not written again since).
    pub fn is_disconnected(&self) -> bool {
        self.log()
            .snapshot()
            .messages
            .iter()
            .any(|m| Self::ends_conversation(self.epoch, self.disconnect_passed, m))
    }

    /// The conversation so far, guest and bot lines in conversation order.
    pub fn transcript(&self) -> Transcript {
        let messages = self.log().snapshot().messages;
        let messages = crate::attachments::with_attachment_names(messages, &self.attachment_names);
        Transcript::from_messages(&messages)
    }

    /// The id of the first message in the session (used to find the Genesys conversation).
    pub fn first_message_id(&self) -> Option<String> {
        self.log()
            .snapshot()
            .messages
            .iter()
            .min_by_key(|m| m.arrival)
            .map(|m| m.message.id.clone())
    }

    /// Closes the session cleanly.
    pub async fn close(self) {
        self.session.close().await;
    }

    fn failure(&mut self, expected: String, timeout: Duration, reason: WaitFailure) -> WaitError {
        let snap = self.log().snapshot();
        if matches!(reason, WaitFailure::Server(_)) {
            self.faults_reported += 1;
        }
        let received = after(&snap, self.cursor)
            .filter(|r| r.message.is_reply())
            .map(|r| readable_received(r))
            .collect();
        let late = match (self.cursor, self.cursor_moved_at) {
            (Some(cursor), Some(moved_at)) => snap
                .messages
                .iter()
                .filter(|r| r.key() < cursor && r.received_at > moved_at && r.message.is_reply())
                .map(|r| readable(&r.message))
                .collect(),
            _ => Vec::new(),
        };
        WaitError {
            expected,
            expectation: None,
            timeout,
            received,
            reason,
            late,
            rate_limited: Vec::new(),
        }
    }

    /// Re-evaluates `check` on every change to the log (and at the instants it asks for) until
    /// it is done, or `deadline` passes (then `None`).
    async fn wait_until<T>(
        &self,
        deadline: Instant,
        mut check: impl FnMut(&Snapshot) -> Check<T>,
    ) -> Option<T> {
        loop {
            let changed = self.log().changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wake = match check(&self.log().snapshot()) {
                Check::Done(value) => return Some(value),
                Check::Pending(at) => at.map_or(deadline, |at| at.min(deadline)),
            };
            if Instant::now() >= deadline {
                return None;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

/// A reply as failures list it, with a note when its `channel.time` was not believed.
fn readable_received(received: &Received) -> String {
    let text = readable(&received.message);
    match received.clamped_time {
        Some(given) => format!(
            "{text} [channel.time {given} was more than {} s from its receive time: ordered by \
             receive time]",
            crate::log::CHANNEL_TIME_TOLERANCE.as_secs()
        ),
        None => text,
    }
}

/// A new server error or malformed frame (after the first `faults_reported`), or the socket's
/// end: what makes any wait stop at once.
fn ended(snap: &Snapshot, faults_reported: usize) -> Option<WaitFailure> {
    if let Some(fault) = snap.faults.get(faults_reported) {
        return Some(WaitFailure::Server(fault.clone()));
    }
    snap.closed.clone().map(WaitFailure::Closed)
}

/// A duration for messages: `5 s`, `1.5 s` or `250 ms`.
pub(crate) fn short_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis >= 1000 && millis.is_multiple_of(100) {
        let text = format!("{:.1}", duration.as_secs_f64());
        format!("{} s", text.trim_end_matches(".0"))
    } else if millis >= 1000 {
        format!("{millis} ms")
    } else {
        format!("{} ms", millis.max(u128::from(!duration.is_zero())))
    }
}

/// The messages after the cursor, in conversation order.
pub(crate) fn after(
    snap: &Snapshot,
    cursor: Option<OrderKey>,
) -> impl Iterator<Item = &Arc<Received>> {
    let start = cursor.map_or(0, |c| snap.messages.partition_point(|m| m.key() <= c));
    snap.messages[start..].iter()
}
