//! The connection's side of handovers, attachments and DatePickers: scheduling the agent's
//! typing and messages after a `transfer`, answering the guest as the agent, recording the
//! DatePickers offered, and matching the guest's answer to them.
//!
//! Frames are finished here as JSON (`serde_json`), on top of the bot message the connection
//! builds: the client library's types carry neither `datePicker` nor `channel.from`.

use super::machine::Machine;
use super::outgoing::{Outgoing, render};
use super::schedule::Action;
use crate::conversation::{FlowRecord, Handover};
use crate::flow::{
    AGENT_TYPING_MS, Captures, DatePick, RenderedAttachment, RenderedDatePicker, Reply, Transfer,
    parse_time,
};
use crate::session::{SessionState, lock};
use crate::shared::far_future;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::time::Instant;
use uuid::Uuid;

/// What a message carries beyond text, quick replies and cards.
#[derive(Debug, Default)]
pub(super) struct Extras {
    attachment: Option<RenderedAttachment>,
    date_picker: Option<RenderedDatePicker>,
    /// `Some`: an agent's message (`originatingEntity: "Human"`, `channel.from`).
    agent: Option<Arc<Transfer>>,
}

impl Extras {
    pub(super) fn render(reply: &Reply, captures: &Captures) -> Extras {
        Extras {
            attachment: reply.attachment.as_ref().map(|a| a.render(captures)),
            date_picker: reply.date_picker.as_ref().map(|d| d.render(captures)),
            agent: None,
        }
    }

    pub(super) fn is_structured(&self) -> bool {
        self.date_picker.is_some()
    }
}

/// `originatingMessageId` of the first button response of an `onMessage` frame.
pub(super) fn button_origin(frame: &Map<String, Value>) -> Option<String> {
    frame
        .get("message")?
        .get("content")?
        .as_array()?
        .iter()
        .find_map(|item| {
            item.get("buttonResponse")?
                .get("originatingMessageId")?
                .as_str()
                .map(str::to_string)
        })
}

impl Machine {
    /// Finishes a bot or agent message's body: rich content, the agent's identity, and the
    /// record of a DatePicker offered.
    pub(super) fn decorate(&mut self, body: &mut Value, id: &str, extras: Extras) {
        let Some(body) = body.as_object_mut() else {
            return;
        };
        let mut added = Vec::new();
        if let Some(attachment) = &extras.attachment {
            let attachment_id = Uuid::new_v4().to_string();
            added.push(attachment.to_content(&attachment_id, self.shared.downloads()));
        }
        if let Some(picker) = extras.date_picker {
            added.push(picker.content);
            if let Some(attached) = &self.session {
                lock(&attached.session)
                    .record
                    .offered(id.to_string(), picker.times);
            }
        }
        if !added.is_empty() {
            let content = body
                .entry("content")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(items) = content.as_array_mut() {
                items.extend(added);
            }
        }
        if let Some(transfer) = extras.agent {
            body.insert("originatingEntity".into(), "Human".into());
            if let Some(agent) = &transfer.agent
                && let Some(channel) = body.get_mut("channel").and_then(Value::as_object_mut)
            {
                let mut from = Map::new();
                let fields = [
                    ("nickname", &agent.nickname),
                    ("image", &agent.image),
                    ("firstName", &agent.first_name),
                    ("lastName", &agent.last_name),
                ];
                for (name, value) in fields {
                    if let Some(value) = value {
                        from.insert(name.into(), value.clone().into());
                    }
                }
                channel.insert("from".into(), Value::Object(from));
            }
        }
    }

    /// The guest's answer to a DatePicker, if this message is one: its time counts only when
    /// `originatingMessageId` names a DatePicker offered in this conversation that offered it.
    pub(super) fn date_pick(&self, content: &[Value], record: &FlowRecord) -> Option<DatePick> {
        let response = content.iter().find_map(|c| {
            c.get("buttonResponse")
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("DatePicker"))
        })?;
        let picked = parse_time(
            response
                .get("payload")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        Some(DatePick {
            offered: record.offered_time(self.inbound_origin.as_deref(), picked),
        })
    }

    /// Runs a rule's `transfer` once its replies are due at `at`: the conversation becomes
    /// the agent's, who joins `after` later and writes the `say` lines.
    pub(super) fn start_transfer(
        &mut self,
        state: &mut SessionState,
        transfer: &Arc<Transfer>,
        at: Instant,
        now: Instant,
    ) {
        let joins_at = at.checked_add(transfer.after).unwrap_or_else(far_future);
        let transferred_at = SystemTime::now()
            .checked_add(at.saturating_duration_since(now))
            .unwrap_or_else(SystemTime::now);
        state.record.handover = Some(Handover {
            transfer: Arc::clone(transfer),
            transferred_at,
            joins_at,
            answered: 0,
        });
        tracing::trace!(target: "web_messaging_simulator", queue = %transfer.queue, "bot transfers");
        let captures = state.captures.clone();
        let end = self.agent_lines(&transfer.say, joins_at, transfer, &captures);
        if transfer.disconnect && transfer.answers.is_empty() {
            self.schedule.push(
                end,
                Action::Disconnect {
                    correlation_id: Uuid::new_v4().to_string(),
                },
            );
        }
    }

    /// A guest message while the agent owns the conversation: the agent's next answer, once
    /// the agent has joined; nothing while the conversation waits in the queue or when the
    /// answers are used up.
    pub(super) fn agent_answer(&mut self, state: &mut SessionState, now: Instant) {
        let captures = state.captures.clone();
        let Some(handover) = &mut state.record.handover else {
            return;
        };
        if now < handover.joins_at {
            return;
        }
        let transfer = Arc::clone(&handover.transfer);
        let Some(line) = transfer.answers.get(handover.answered) else {
            return;
        };
        handover.answered += 1;
        let last = handover.answered == transfer.answers.len();
        let end = self.agent_lines(std::slice::from_ref(line), now, &transfer, &captures);
        if transfer.disconnect && last {
            self.schedule.push(
                end,
                Action::Disconnect {
                    correlation_id: Uuid::new_v4().to_string(),
                },
            );
        }
    }

    /// Queues agent lines from `start`, each preceded by a Typing On event (unless the line
    /// says `typing: false`); returns when the last is due.
    fn agent_lines(
        &mut self,
        lines: &[Reply],
        start: Instant,
        transfer: &Arc<Transfer>,
        captures: &Captures,
    ) -> Instant {
        let correlation_id = Uuid::new_v4().to_string();
        let mut at = start;
        for line in lines {
            let delay = self.dice.jittered(line.delay, line.jitter);
            if line.typing {
                self.schedule.push(
                    at,
                    Action::Typing {
                        duration_ms: Some(AGENT_TYPING_MS),
                        correlation_id: correlation_id.clone(),
                    },
                );
            }
            at = at.checked_add(delay).unwrap_or_else(far_future);
            let mut item: Outgoing = render(line, captures, &correlation_id);
            item.extras.agent = Some(Arc::clone(transfer));
            self.schedule.push(
                at,
                Action::Messages {
                    items: vec![item],
                    reversed: false,
                },
            );
        }
        at
    }
}
