//! `onMessage`: a guest message or event, checked as Genesys checks it (read-only, length,
//! custom attributes, the rate limit, attachments), echoed, then answered by the flow's rules
//! or the agent.

use super::machine::{Machine, Out};
use super::outgoing::{bad_request, string_error};
use crate::flow::{DatePick, GuestInput};
use crate::frames;
use crate::session::{Notice, SessionState};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// The rate-limit window: `limits.rateLimit.messagesPerSecond` `onMessage` requests per
/// session in any rolling second (Genesys: 2).
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// An `onMessage` request whose shape is valid.
struct Inbound<'r> {
    message: &'r Map<String, Value>,
    /// `Text`, `Structured` or `Event`.
    is_event: bool,
    text: Option<&'r str>,
    content: &'r [Value],
    /// A Presence `Clear` event.
    clears: bool,
    /// A Presence `Join` event.
    joins: bool,
    /// `channel.metadata.customAttributes`, of the request and of its message.
    attributes: BTreeMap<String, String>,
}

impl<'r> Inbound<'r> {
    /// The request's message, or `None` when a field has the wrong type (a 400).
    fn parse(request: &'r Map<String, Value>) -> Option<Inbound<'r>> {
        let Some(Value::Object(message)) = request.get("message") else {
            return None;
        };
        let kind = message.get("type").and_then(Value::as_str)?;
        let text = match message.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.as_str()),
            Some(_) => return None,
        };
        let list = |key: &str| match message.get(key) {
            None | Some(Value::Null) => Some(&[][..]),
            Some(Value::Array(items)) => Some(items.as_slice()),
            Some(_) => None,
        };
        let (content, events) = (list("content")?, list("events")?);
        let mut attributes = BTreeMap::new();
        for channel in [request.get("channel"), message.get("channel")]
            .into_iter()
            .flatten()
        {
            match channel
                .get("metadata")
                .and_then(|m| m.get("customAttributes"))
            {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (name, value) in map {
                        let Value::String(value) = value else {
                            return None;
                        };
                        attributes.insert(name.clone(), value.clone());
                    }
                }
                Some(_) => return None,
            }
        }
        let presence = |wanted: &str| {
            events.iter().any(|e| {
                e.get("eventType").and_then(Value::as_str) == Some("Presence")
                    && e.pointer("/presence/type").and_then(Value::as_str) == Some(wanted)
            })
        };
        let is_event = kind == "Event";
        Some(Inbound {
            message,
            is_event,
            text,
            content,
            clears: is_event && presence("Clear"),
            joins: is_event && presence("Join"),
            attributes,
        })
    }
}

/// What a guest message says to the bot's rules.
struct Said {
    /// The text, or the label of the button clicked.
    text: String,
    /// The payload of the button clicked.
    payload: Option<String>,
    date_pick: Option<DatePick>,
    has_attachment: bool,
}

impl Machine {
    /// `onMessage`: checks, the echo, then the bot's (or agent's) answer put on the schedule.
    pub(super) fn on_message(
        &mut self,
        state: &mut SessionState,
        request: &Map<String, Value>,
        tracing: Option<&str>,
        now: Instant,
    ) -> Vec<Out> {
        let Some(inbound) = Inbound::parse(request) else {
            return vec![bad_request(tracing)];
        };
        if let Some(refusal) = self.refusal(state, &inbound, tracing, now) {
            return vec![refusal];
        }
        state.last_activity = now;
        if inbound.clears {
            return self.clear(state, tracing);
        }
        let (content, has_attachment) = match self.attach_uploads(state, inbound.content, tracing) {
            Ok(attached) => attached,
            Err(refusal) => return vec![refusal],
        };
        state.attributes.extend(inbound.attributes.clone());

        let faults = &self.shared.flow.faults;
        if !inbound.is_event && self.dice.fault(faults.error_rate) {
            return vec![string_error(faults.error.code, &faults.error.body, tracing)];
        }

        let correlation_id = Uuid::new_v4().to_string();
        let rule_text = inbound.text.map(str::to_string).unwrap_or_else(|| {
            content
                .iter()
                .find_map(|c| c.pointer("/buttonResponse/text").and_then(Value::as_str))
                .unwrap_or_default()
                .to_string()
        });
        let payload = content
            .iter()
            .find_map(|c| c.pointer("/buttonResponse/payload").and_then(Value::as_str))
            .map(str::to_string);
        let date_pick = self.date_pick(&content, &state.record);
        let echo = self.echo(request, inbound.message, content, &correlation_id, tracing);
        if !inbound.is_event {
            state.remember(echo.1, self.shared.limits.max_history_messages);
        }
        let mut out = vec![echo.0];

        if inbound.is_event {
            // Presence and typing events do not speak to the bot. With auto-start, a Join
            // starts the conversation; without it, the conversation waits for a message.
            if inbound.joins && self.flow().session.autostart && !state.welcomed {
                state.welcomed = true;
                self.schedule_welcome(now, &state.captures);
            }
            return out;
        }
        let said = Said {
            text: rule_text,
            payload,
            date_pick,
            has_attachment,
        };
        if let Some(end) = self.answer(state, &said, &correlation_id, now) {
            out.push(end);
        }
        out
    }

    /// Why Genesys refuses this message before anything else happens, if it does: a
    /// read-only conversation, a text too long, custom attributes too large, or the rate
    /// limit. A message within the rate limit is counted here.
    fn refusal(
        &self,
        state: &mut SessionState,
        inbound: &Inbound<'_>,
        tracing: Option<&str>,
        now: Instant,
    ) -> Option<Out> {
        if state.read_only && !inbound.clears {
            return Some(string_error(400, "Conversation is read-only", tracing));
        }
        let limits = &self.shared.flow.limits;
        if inbound
            .text
            .is_some_and(|t| t.chars().count() > limits.max_message_length)
        {
            return Some(string_error(4011, "message too long", tracing));
        }
        let attributes = &inbound.attributes;
        if !attributes.is_empty() {
            // The message's attributes, and the session's once they are merged: a guest that
            // sends new names every time must not grow its session without end.
            let size = |map: &BTreeMap<String, String>| {
                serde_json::to_string(map).map_or(usize::MAX, |s| s.len())
            };
            let merged = || {
                let mut merged = state.attributes.clone();
                merged.extend(attributes.clone());
                size(&merged)
            };
            if size(attributes) > limits.max_custom_attributes_bytes
                || merged() > limits.max_custom_attributes_bytes
            {
                let body = format!(
                    "Custom Attributes in channel metadata is larger than {} bytes",
                    limits.max_custom_attributes_bytes
                );
                return Some(string_error(4013, &body, tracing));
            }
        }
        // Exactly `messagesPerSecond` per rolling second, no slack (Genesys: 2).
        let rate = self.shared.rate_limit;
        if rate.messages_per_second > 0 {
            while let Some(&oldest) = state.recent.front()
                && now.saturating_duration_since(oldest) >= RATE_WINDOW
            {
                state.recent.pop_front();
            }
            let allowed = usize::try_from(rate.messages_per_second).unwrap_or(usize::MAX);
            if state.recent.len() >= allowed {
                let tracing = if rate.tracing_id { tracing } else { None };
                return Some(Out::Frame(frames::too_many_requests(
                    rate.retry_after_seconds,
                    tracing,
                )));
            }
            state.recent.push_back(now);
        }
        None
    }

    /// A guest message (not an event) after its echo: the faults that drop or ignore it,
    /// then the agent's answer or the first of the current state's rules that matches. Returns
    /// an end of the connection to write after the echo, if a fault asks for one.
    fn answer(
        &mut self,
        state: &mut SessionState,
        said: &Said,
        correlation_id: &str,
        now: Instant,
    ) -> Option<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let faults = &flow.faults;
        self.guest_messages += 1;
        if faults
            .drop_after_messages
            .is_some_and(|n| self.guest_messages >= n)
        {
            return Some(Out::Drop);
        }
        if let (Some(window), Some(last)) = (faults.ignore_input_within, self.last_bot_message)
            && now.saturating_duration_since(last) < window
        {
            tracing::debug!(target: "web_messaging_simulator", "the bot ignores a message sent too soon after its own");
            return None;
        }
        if state.record.handover.is_some() {
            // The conversation is the agent's: the bot's rules no longer answer.
            self.agent_answer(state, now);
            return None;
        }
        let mut start = now;
        if !state.welcomed {
            state.welcomed = true;
            start = self.schedule_welcome(now, &state.captures);
        }
        let input = GuestInput {
            text: &said.text,
            payload: said.payload.as_deref(),
            attributes: &state.attributes,
            date_pick: said.date_pick,
            has_attachment: said.has_attachment,
        };
        let current = &flow.states[state.state];
        let matched = current
            .rules
            .iter()
            .find_map(|rule| rule.when.check(input).map(|captured| (rule, captured)));
        if let Some((rule, captured)) = matched {
            state.captures.extend(captured);
            if let Some(next) = rule.goto {
                tracing::trace!(
                    target: "web_messaging_simulator",
                    from = %current.name,
                    to = %flow.states[next].name,
                    "bot changes state"
                );
                state.state = next;
            }
            let at = self.schedule_rule(rule, start, correlation_id, &state.captures);
            crate::platform::on_rule(state, rule, at);
            if let Some(transfer) = &rule.transfer {
                self.start_transfer(state, transfer, at, now);
            }
        }
        None
    }

    /// Presence `Clear` on a deployment that allows it: every socket of the session gets
    /// `SessionClearedEvent` then `ConnectionClosedEvent` and leaves the session, whose token
    /// starts a new conversation if it is used again.
    pub(super) fn clear(&mut self, state: &mut SessionState, tracing: Option<&str>) -> Vec<Out> {
        if !self.flow().messenger.clear_enabled {
            // The mobile SDK's fixture of a deployment without conversation clearing.
            return vec![string_error(
                403,
                "Presence events Conversation Clear are not supported",
                tracing,
            )];
        }
        for (id, socket) in &state.sockets {
            if *id != self.id {
                let _ = socket.send(Notice::Cleared);
            }
        }
        state.sockets.retain(|(id, _)| *id != self.id);
        state.history.clear();
        state.read_only = true;
        if let Some(attached) = self.session.take() {
            self.shared.sessions.remove(&attached.token);
        }
        self.schedule.clear();
        vec![
            Out::Frame(frames::session_cleared()),
            Out::Frame(frames::connection_closed()),
        ]
    }

    /// The Inbound echo of a guest message: every field the guest sent, plus a fresh `id`,
    /// `direction`, `channel.time` and `channel.messageId`, `metadata.correlationId` and
    /// `originatingEntity: ""` (as captured). Returns the frame and the body's JSON.
    fn echo(
        &mut self,
        request: &Map<String, Value>,
        message: &Map<String, Value>,
        content: Vec<Value>,
        correlation_id: &str,
        tracing: Option<&str>,
    ) -> (Out, String) {
        let mut body = message.clone();
        let mut channel = match body
            .remove("channel")
            .or_else(|| request.get("channel").cloned())
        {
            Some(Value::Object(channel)) => channel,
            _ => Map::new(),
        };
        channel.insert("time".into(), self.clock.next().into());
        channel.insert("messageId".into(), Uuid::new_v4().to_string().into());
        let mut metadata = match body.remove("metadata") {
            Some(Value::Object(metadata)) => metadata,
            _ => Map::new(),
        };
        metadata.insert("correlationId".into(), correlation_id.into());
        body.insert("id".into(), Uuid::new_v4().to_string().into());
        body.insert("direction".into(), "Inbound".into());
        body.insert("channel".into(), Value::Object(channel));
        body.insert("metadata".into(), Value::Object(metadata));
        body.insert("originatingEntity".into(), "".into());
        if body.contains_key("content") || !content.is_empty() {
            body.insert("content".into(), Value::Array(content));
        }
        let body = Value::Object(body);
        let frame = frames::message("StructuredMessage", &body, tracing);
        (Out::Frame(frame), body.to_string())
    }
}
