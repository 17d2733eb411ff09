//! How the conversation is shown: who speaks, the options with their numbers, rich content by
//! name, typing, failures. Every received text goes through the secrets layer, which also
//! keeps it from driving the terminal.

use crate::secrets;
use anstyle::{AnsiColor, Style};
use genesys_web_messaging::protocol::{Direction, Sender, StructuredMessage};
use genesys_web_messaging::{Closed, Snapshot, attachment_labels};
use std::collections::HashSet;

/// Colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    enabled: bool,
}

impl Styles {
    /// Colours when `enabled`.
    pub fn new(enabled: bool) -> Styles {
        Styles { enabled }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    /// A speaker's name.
    pub fn speaker(&self, text: &str) -> String {
        self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Cyan.into())),
            text,
        )
    }

    /// An option's number.
    pub fn number(&self, text: &str) -> String {
        self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
            text,
        )
    }

    /// Something that went wrong.
    pub fn failure(&self, text: &str) -> String {
        self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            text,
        )
    }

    /// Notes from the tool itself.
    pub fn note(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }
}

/// Something the guest can pick by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// A quick reply or postback button, clicked by its label.
    Label(String),
    /// A date picker's slot, picked by its `dateTime`.
    Slot(String),
}

impl Choice {
    /// How the option is named to the guest.
    pub fn shown(&self) -> &str {
        match self {
            Choice::Label(label) | Choice::Slot(label) => label,
        }
    }
}

/// The options of a message, in the order they are numbered: quick replies, postback buttons
/// (links cannot be clicked), date picker slots.
pub fn choices(message: &StructuredMessage) -> Vec<Choice> {
    let quick = message
        .quick_replies()
        .map(|q| Choice::Label(q.text.clone()));
    let buttons = message
        .buttons()
        .filter(|b| b.payload.is_some())
        .map(|b| Choice::Label(b.text.clone()));
    let slots = message
        .date_pickers()
        .flat_map(|p| p.available_times.iter())
        .map(|s| Choice::Slot(s.date_time.clone()));
    quick.chain(buttons).chain(slots).collect()
}

/// The options of the latest reply offering some (none: no reply offered any).
pub fn latest_choices(snapshot: &Snapshot) -> Vec<Choice> {
    snapshot
        .messages
        .iter()
        .rev()
        .filter(|r| r.message.is_reply())
        .map(|r| choices(&r.message))
        .find(|c| !c.is_empty())
        .unwrap_or_default()
}

/// Who sent a reply, as shown.
fn speaker(message: &StructuredMessage) -> String {
    match message.sender() {
        Sender::Bot => "Bot".to_string(),
        Sender::Agent(agent) => match agent.display_name() {
            Some(name) => format!("Agent {name}"),
            None => "Agent".to_string(),
        },
        Sender::Guest => "You".to_string(),
        Sender::System { entity: Some(e) } => e,
        Sender::System { entity: None } => "Them".to_string(),
    }
}

/// A received text made safe to show (redacted, controls escaped).
fn safe(text: &str) -> String {
    secrets::terminal(&secrets::bound(text))
}

/// A received text made safe to show on one line.
fn safe_line(text: &str) -> String {
    secrets::terminal_line(&secrets::bound(text))
}

/// The lines showing one reply: the speaker and text, then its quick replies, cards and
/// their buttons, date pickers, attachments and content this tool does not show, each by
/// name, with the options numbered as [`choices`] numbers them.
pub fn reply_lines(message: &StructuredMessage, styles: &Styles) -> Vec<String> {
    let mut lines = Vec::new();
    let who = styles.speaker(&format!("{}:", safe_line(&speaker(message))));
    let text = message.text.clone().unwrap_or_default();
    let mut text_lines = safe(&text)
        .split('\n')
        .map(str::to_string)
        .collect::<Vec<_>>();
    if text.is_empty() {
        text_lines = vec![String::new()];
    }
    for (i, line) in text_lines.iter().enumerate() {
        if i == 0 {
            lines.push(format!("{who} {line}").trim_end().to_string());
        } else {
            lines.push(format!("  {line}"));
        }
    }
    let mut number = 0;
    let mut next = |styles: &Styles| {
        number += 1;
        styles.number(&format!("[{number}]"))
    };
    let quick: Vec<String> = message
        .quick_replies()
        .map(|q| format!("{} {}", next(styles), safe_line(&q.text)))
        .collect();
    if !quick.is_empty() {
        lines.push(format!("  {}", quick.join("  ")));
    }
    for card in message.cards() {
        let mut head = format!("  card: {}", safe_line(&card.title));
        if let Some(description) = card.description.as_deref().filter(|d| !d.is_empty()) {
            head.push_str(&format!(" ({})", safe_line(description)));
        }
        lines.push(head);
        for action in &card.actions {
            match (&action.payload, &action.url) {
                (Some(_), _) => {
                    lines.push(format!("    {} {}", next(styles), safe_line(&action.text)))
                }
                (None, Some(url)) => lines.push(format!(
                    "    {} <{}> (a link)",
                    safe_line(&action.text),
                    safe_line(url)
                )),
                (None, None) => lines.push(format!("    {}", safe_line(&action.text))),
            }
        }
    }
    for picker in message.date_pickers() {
        let title = picker.title.clone().unwrap_or_default();
        lines.push(
            format!("  date picker: {}", safe_line(&title))
                .trim_end()
                .to_string(),
        );
        for slot in &picker.available_times {
            lines.push(format!(
                "    {} {}",
                next(styles),
                safe_line(&slot.date_time)
            ));
        }
    }
    for label in attachment_labels(message) {
        lines.push(format!("  {}", safe_line(&label)));
    }
    for unknown in message.unknown_content_types() {
        lines.push(format!("  [unsupported content: {}]", safe_line(unknown)));
    }
    lines
}

/// Whether a message is a Typing `On` event.
fn is_typing(message: &StructuredMessage) -> bool {
    message.kind == "Event"
        && message
            .events
            .iter()
            .any(|e| e.event_type == "Typing" && e.typing.as_ref().is_none_or(|t| t.kind != "Off"))
}

/// What the log holds that has not been shown yet, as lines: new replies, typing, the bot
/// leaving, server errors, the socket's end. Shown items are remembered, so calling it again
/// shows only what came since (bounded by the log's own capacity).
pub struct Display {
    styles: Styles,
    show_typing: bool,
    shown: HashSet<u64>,
    faults_shown: usize,
    closed_shown: bool,
}

impl Display {
    /// A display of a new session; `show_typing`: whether Typing events get a line.
    pub fn new(styles: Styles, show_typing: bool) -> Display {
        Display {
            styles,
            show_typing,
            shown: HashSet::new(),
            faults_shown: 0,
            closed_shown: false,
        }
    }

    /// Whether the socket's end was shown: nothing more will come.
    pub fn finished(&self) -> bool {
        self.closed_shown
    }

    /// The lines for everything new in `snapshot`.
    pub fn new_lines(&mut self, snapshot: &Snapshot) -> Vec<String> {
        let mut lines = Vec::new();
        for received in &snapshot.messages {
            if !self.shown.insert(received.arrival) {
                continue;
            }
            let message = &received.message;
            if message.is_reply() {
                lines.extend(reply_lines(message, &self.styles));
            } else if message.is_disconnect() {
                lines.push(self.styles.failure(&format!(
                    "*** {} ended the conversation (/restart opens a new session)",
                    safe_line(&speaker(message)).replace("Them", "The bot")
                )));
            } else if self.show_typing
                && message.direction == Direction::Outbound
                && is_typing(message)
            {
                lines.push(self.styles.note("(typing...)"));
            }
        }
        for fault in snapshot.faults.iter().skip(self.faults_shown) {
            lines.push(
                self.styles
                    .failure(&format!("*** {}", safe_line(&fault.to_string()))),
            );
        }
        self.faults_shown = snapshot.faults.len();
        if let Some(closed) = &snapshot.closed
            && !self.closed_shown
        {
            self.closed_shown = true;
            if *closed != Closed::ByClient {
                lines.push(self.styles.failure(&format!(
                    "*** The session ended: {} (/restart opens a new session)",
                    safe_line(&closed.to_string())
                )));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str) -> StructuredMessage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn numbers_quick_replies_and_postbacks_not_links() {
        let m = message(
            r#"{"type":"Structured","direction":"Outbound","originatingEntity":"Bot","text":"Pick\u001b[2J",
            "content":[{"contentType":"Card","card":{"title":"Margherita","actions":[
              {"type":"Button","text":"Order","payload":"M"},{"type":"Link","text":"Allergens","url":"https://x"}]}}]}"#,
        );
        let lines = reply_lines(&m, &Styles::new(false));
        assert_eq!(
            lines,
            [
                "Bot: Pick\\u{1b}[2J",
                "  card: Margherita",
                "    [1] Order",
                "    Allergens <https://x> (a link)"
            ]
        );
        assert_eq!(choices(&m), [Choice::Label("Order".into())]);
    }
}
