//! The transcript: what the guest and the bot said, in conversation order, with times.

use crate::log::Received;
use crate::protocol::StructuredMessage;
use jiff::Timestamp;
use std::fmt;
use std::sync::Arc;

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The guest (this client), as echoed back by Genesys.
    Guest,
    /// The bot or agent.
    Bot,
}

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TranscriptLine {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said (for a card-only message, the cards' titles).
    pub text: String,
    /// Quick replies and buttons the bot offered with it.
    pub options: Vec<String>,
    /// When Genesys created it (`channel.time`).
    pub time: Timestamp,
}

/// A conversation's lines, guest and bot, in `channel.time` order.
///
/// Guest lines come from Genesys' Inbound echo of each message, as upstream's transcriber does,
/// so the transcript shows what the deployment actually received.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Transcript {
    /// The lines.
    pub lines: Vec<TranscriptLine>,
}

impl Transcript {
    /// Builds the transcript from logged messages (already in conversation order).
    pub fn from_messages(messages: &[Arc<Received>]) -> Transcript {
        let lines = messages
            .iter()
            .filter_map(|r| {
                let m = &r.message;
                let speaker = if m.is_reply() {
                    Speaker::Bot
                } else if m.is_guest_echo() {
                    Speaker::Guest
                } else {
                    return None;
                };
                let (text, options) = text_and_options(m);
                Some(TranscriptLine {
                    speaker,
                    text,
                    options,
                    time: r.time,
                })
            })
            .collect();
        Transcript { lines }
    }

    /// The lines rendered with the given names, e.g. `You`/`Them` as `scripted` prints them.
    pub fn render(&self, guest: &str, bot: &str) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| {
                let who = match l.speaker {
                    Speaker::Guest => guest,
                    Speaker::Bot => bot,
                };
                format!("{who}: {}", with_options(&l.text, &l.options))
            })
            .collect()
    }
}

/// What a message says, for people: its text (a clicked button's label, or the titles of its
/// cards, when it has none) and the quick replies and buttons it offers.
pub fn text_and_options(m: &StructuredMessage) -> (String, Vec<String>) {
    let mut text = m.text.clone().unwrap_or_default();
    if text.is_empty() {
        if let Some(b) = m.content.iter().find_map(|c| c.button_response.as_ref()) {
            text = b.text.clone();
        } else {
            let titles: Vec<&str> = m.cards().map(|c| c.title.as_str()).collect();
            text = titles.join(" | ");
        }
    }
    let attachments = crate::attachments::attachment_labels(m);
    if !attachments.is_empty() {
        let labels = attachments.join(" ");
        text = if text.is_empty() {
            labels
        } else {
            format!("{text} {labels}")
        };
    }
    let options = m
        .quick_replies()
        .map(|q| q.text.clone())
        .chain(m.buttons().map(|b| b.text.clone()))
        .collect();
    (text, options)
}

/// A message's text followed by its options: `Pick one [Yes] [No]`.
pub fn with_options(text: &str, options: &[String]) -> String {
    let options: String = options.iter().map(|o| format!(" [{o}]")).collect();
    format!("{text}{options}")
}

/// [`text_and_options`] as one line.
pub fn readable(m: &StructuredMessage) -> String {
    let (text, options) = text_and_options(m);
    with_options(&text, &options)
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.render("You", "Them") {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
