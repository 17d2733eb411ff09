//! Pacing: the one place that decides when a guest message may go. Before a `say` (and a click,
//! a date picked, an attachment's message) the bot must have been quiet for the say delay, and
//! every `onMessage` keeps to Genesys' rate limit (2 a second); a message Genesys refuses with
//! 429 is sent again after its `retryAfter`, paced the same way.

use super::{Conversation, SayError, WaitFailure, later, short_duration};
use crate::log::Fault;
use crate::protocol::{IncomingMessage, ServerError};
use std::time::Duration;
use tokio::time::Instant;

/// The default cap on a server's `retryAfter`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Most sent messages kept while waiting for their echo (for 429 resends).
const MAX_UNANSWERED: usize = 64;

/// A sent message as notes name it: `'hello'`, or the button or date picked.
fn describe_sent(message: &IncomingMessage) -> String {
    let text = message
        .text
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            message
                .content
                .iter()
                .find_map(|c| c.button_response.as_ref().map(|b| b.text.clone()))
        })
        .unwrap_or_default();
    let short: String = text.chars().take(60).collect();
    let ellipsis = if text.chars().count() > 60 { "…" } else { "" };
    format!("the message '{short}{ellipsis}'")
}

impl Conversation {
    /// The one way a guest message goes out: refused after a disconnect that forbids it,
    /// paced, sent, and kept until echoed so that a 429 can send it again.
    pub(crate) async fn send_paced(&mut self, message: IncomingMessage) -> Result<(), SayError> {
        self.check_can_send()?;
        self.pace().await;
        let passed = self.check_can_send()?;
        // Taken before the frame is written: a reply can only arrive after it, so a response
        // time measured from here is never cut to 0 by the wait for the write to finish.
        self.last_sent_at = Some(Instant::now());
        let tracing_id = self.session.send_message(message.clone()).await?;
        self.remember(tracing_id, message);
        if passed.is_some() {
            self.disconnect_passed = passed;
        }
        Ok(())
    }

    /// Keeps a sent message until Genesys echoes it (at most [`MAX_UNANSWERED`]: a server that
    /// never echoes cannot grow this without bound).
    fn remember(&mut self, tracing_id: String, message: IncomingMessage) {
        if self.sent.len() >= MAX_UNANSWERED {
            self.sent.pop_front();
        }
        crate::push_back_compact(&mut self.sent, (tracing_id, message));
    }

    /// Forgets the sent messages Genesys has echoed (an Inbound message with their tracing id).
    fn forget_answered(&mut self) {
        let snap = self.log().snapshot();
        let echoed: std::collections::HashSet<&str> = snap
            .messages
            .iter()
            .filter(|m| m.message.direction == crate::protocol::Direction::Inbound)
            .filter_map(|m| m.tracing_id.as_deref())
            .collect();
        self.sent.retain(|(id, _)| !echoed.contains(id.as_str()));
    }

    /// If `failure` is Genesys refusing one of our messages with 429 and this wait has resends
    /// left, waits `retryAfter` (capped at `max_retry_after`), sends the message again and
    /// says what it did: the wait then goes on. `None`: the failure stands.
    ///
    /// The refused message is the one whose `tracingId` the 429 carries; a 429 without one
    /// (as the captured real frame) refuses the oldest `onMessage` not yet echoed.
    pub(super) async fn resend_if_rate_limited(
        &mut self,
        failure: &WaitFailure,
        resends: &mut u32,
    ) -> Option<String> {
        let WaitFailure::Server(Fault::Server(ServerError::TooManyRequests {
            retry_after_seconds,
            tracing_id,
            ..
        })) = failure
        else {
            return None;
        };
        if *resends >= self.options.max_resends {
            return None;
        }
        self.forget_answered();
        let (index, matched) = match tracing_id {
            Some(id) => (
                self.sent.iter().position(|(sent, _)| sent == id)?,
                "its tracingId",
            ),
            None if !self.sent.is_empty() => (
                0,
                "the oldest message not yet echoed, as the 429 carried no tracingId",
            ),
            None => return None,
        };
        let (_, message) = self.sent.remove(index)?;
        *resends += 1;
        self.faults_reported += 1;
        let asked = Duration::from_secs(*retry_after_seconds);
        let pause = asked.min(self.options.max_retry_after);
        tracing::debug!(target: crate::WIRE_TARGET, "rate-limited: resending after {} ms", pause.as_millis());
        tokio::time::sleep(pause).await;
        // The retry keeps to the same pacing rules as the first attempt.
        self.pace().await;
        let what = describe_sent(&message);
        let note = format!(
            "Genesys rate-limited {what} (429, retry after {retry_after_seconds} s; matched by {matched}): it was sent again after {}",
            short_duration(pause)
        );
        match self.session.send_message(message.clone()).await {
            Ok(new_id) => {
                self.remember(new_id, message);
                Some(note)
            }
            Err(_) => None,
        }
    }

    /// Waits until the bot has been quiet for `say_delay` and the rate limit has room. A bot
    /// that never goes quiet is waited for at most `max_quiet_wait` (or `say_delay`, if
    /// longer): then the message goes anyway, as soon as the rate limit allows.
    async fn pace(&mut self) {
        let say_delay = self.options.say_delay;
        let give_up = later(Instant::now(), self.options.max_quiet_wait.max(say_delay));
        loop {
            let now = Instant::now();
            let quiet_since = self
                .log()
                .snapshot()
                .last_reply_at
                .map_or(self.started_at, |t| t.max(self.started_at));
            let quiet_ready = later(quiet_since, say_delay);
            let ready = self.rate_ready(now).max(quiet_ready.min(give_up));
            if ready <= now {
                if quiet_ready > now {
                    tracing::warn!(
                        "the bot did not go quiet for {} within {}: sending anyway",
                        short_duration(say_delay),
                        short_duration(self.options.max_quiet_wait.max(say_delay))
                    );
                }
                return;
            }
            // A reply arriving meanwhile restarts the quiet period, so wake up on changes too.
            let changed = self.log().changed();
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(ready) => {}
            }
        }
    }

    /// Waits until one more `onMessage` fits Genesys' rate limit (no quiet period: lifecycle
    /// events and attachments are not replies to the bot).
    pub(crate) async fn pace_rate(&self) {
        loop {
            let now = Instant::now();
            let ready = self.rate_ready(now);
            if ready <= now {
                return;
            }
            tokio::time::sleep_until(ready).await;
        }
    }

    /// The rate limit, the one rule for every `onMessage`: when the next one may be written
    /// (`now` if it may go at once). Every onMessage counts (a say, a resend, the auto-start
    /// `Join`, a Presence `Clear`...), from the moment the session task wrote it: the
    /// `limit`-th latest must be a full second old.
    fn rate_ready(&self, now: Instant) -> Instant {
        let limit = self.options.max_messages_per_second.max(1);
        let writes = self.log().on_message_writes();
        if writes.len() >= limit {
            later(writes[writes.len() - limit], Duration::from_secs(1))
        } else {
            now
        }
    }
}
