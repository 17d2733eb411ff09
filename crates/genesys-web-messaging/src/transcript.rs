//! The transcript: what the guest and the bot said, in conversation order, with times.

use crate::log::Received;
use crate::protocol::{Sender, StructuredMessage};
use jiff::Timestamp;
use std::fmt;
use std::sync::Arc;

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The guest (this client), as echoed back by Genesys.
    Guest,
    /// The bot (or an Outbound message whose sender is not said).
    Bot,
    /// A human agent (`originatingEntity: "Human"`).
    Agent,
}

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TranscriptLine {
    /// Who said it.
    pub speaker: Speaker,
    /// For an agent, the name Messenger shows (`channel.from.nickname`, else first and last
    /// name), when the deployment exposes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
                let (speaker, name) = if m.is_reply() {
                    match m.sender() {
                        Sender::Agent(agent) => (Speaker::Agent, agent.display_name()),
                        _ => (Speaker::Bot, None),
                    }
                } else if m.is_guest_echo() {
                    (Speaker::Guest, None)
                } else {
                    return None;
                };
                let (text, options) = text_and_options(m);
                Some(TranscriptLine {
                    speaker,
                    name,
                    text,
                    options,
                    time: r.time,
                })
            })
            .collect();
        Transcript { lines }
    }

    /// The lines rendered with the given names, e.g. `You`/`Them` as `scripted` prints them.
    /// Agents' lines read `Agent (Nickname): …` (`Agent: …` when no name is exposed).
    pub fn render(&self, guest: &str, bot: &str) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| {
                let who = match (l.speaker, &l.name) {
                    (Speaker::Guest, _) => guest.to_string(),
                    (Speaker::Bot, _) => bot.to_string(),
                    (Speaker::Agent, Some(name)) => format!("Agent ({name})"),
                    (Speaker::Agent, None) => "Agent".to_string(),
                };
                format!("{who}: {}", with_options(&l.text, &l.options))
            })
            .collect()
    }
}

/// Most slots of a date picker a transcript line lists.
const SLOTS_SHOWN: usize = 5;

/// What a message says, for people: its text (a clicked button's label, or the titles of its
/// cards, when it has none), followed by its attachments (`[attachment: invoice.pdf
/// (application/pdf)]`), date pickers (`[date picker: 2 slots: …]`) and content this client
/// does not interpret (`[unsupported content: Form]`); and the quick replies and buttons it
/// offers.
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
    let mut markers = crate::attachments::attachment_labels(m);
    for picker in m.date_pickers() {
        let slots = &picker.available_times;
        let count = slots.len();
        let mut listed: Vec<&str> = slots
            .iter()
            .take(SLOTS_SHOWN)
            .map(|s| s.date_time.as_str())
            .collect();
        let more = count.saturating_sub(SLOTS_SHOWN);
        let more = (more > 0).then(|| format!("and {more} more"));
        listed.extend(more.as_deref());
        let plural = if count == 1 { "" } else { "s" };
        if listed.is_empty() {
            markers.push(format!("[date picker: {count} slot{plural}]"));
        } else {
            markers.push(format!(
                "[date picker: {count} slot{plural}: {}]",
                listed.join(", ")
            ));
        }
    }
    for unknown in m.unknown_content_types() {
        markers.push(format!("[unsupported content: {unknown}]"));
    }
    if !markers.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&markers.join(" "));
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
