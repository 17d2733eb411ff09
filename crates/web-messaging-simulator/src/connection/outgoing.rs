//! The frames the machine writes: the bot's (and agent's) messages built from a flow's reply,
//! its event messages, the error answers, and the `channel.time` clock that stamps them.

use super::agent;
use super::machine::{Machine, Out};
use crate::flow::{Captures, CardTemplate, Reply};
use crate::frames;
use crate::session::lock;
use genesys_web_messaging::protocol::{
    Card, CardAction, Carousel, Content, Direction, FrameType, MessageEvent, OutgoingChannel,
    QuickReply, ServerFrame, StructuredMessage,
};
use serde::Serialize;
use serde_json::Map;
use uuid::Uuid;

/// A bot message ready to be stamped and sent.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub(super) kind: &'static str,
    pub(super) text: Option<String>,
    pub(super) content: Vec<Content>,
    pub(super) correlation_id: String,
    /// Attachments, DatePickers, and the agent who writes it (see [`agent`]).
    pub(super) extras: agent::Extras,
}

/// Hands out `channel.time` values: ISO-8601 UTC with milliseconds, strictly increasing.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last_ms: i64,
}

impl Clock {
    /// The next `channel.time`.
    pub(crate) fn next(&mut self) -> String {
        let now = jiff::Timestamp::now().as_millisecond();
        let ms = now.max(self.last_ms.saturating_add(1));
        self.last_ms = ms;
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default()
    }
}

impl Machine {
    pub(super) fn bot_message(&mut self, item: Outgoing) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), item.correlation_id.into());
        let id = Uuid::new_v4().simple().to_string();
        let message = StructuredMessage {
            id: id.clone(),
            kind: item.kind.into(),
            direction: Direction::Outbound,
            text: item.text,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: None,
                kind: Some("Private".into()),
                ..OutgoingChannel::default()
            }),
            content: item.content,
            metadata,
            originating_entity: Some("Bot".into()),
            ..StructuredMessage::default()
        };
        let mut body = serde_json::to_value(message).unwrap_or_default();
        self.decorate(&mut body, &id, item.extras);
        if let Some(attached) = &self.session {
            let max = self.shared.limits.max_history_messages;
            lock(&attached.session).remember(body.to_string(), max);
        }
        frame(FrameType::Message, "StructuredMessage", 200, body, None)
    }

    /// An Outbound event message (typing, disconnect).
    pub(super) fn event_message(
        &mut self,
        event: MessageEvent,
        correlation_id: &str,
        read_only: bool,
    ) -> Out {
        let mut metadata = Map::new();
        metadata.insert("correlationId".into(), correlation_id.into());
        if read_only {
            metadata.insert("readOnly".into(), "true".into());
        }
        let message = StructuredMessage {
            id: Uuid::new_v4().to_string(),
            kind: "Event".into(),
            direction: Direction::Outbound,
            channel: Some(OutgoingChannel {
                time: Some(self.clock.next()),
                message_id: Some(Uuid::new_v4().to_string()),
                kind: None,
                ..OutgoingChannel::default()
            }),
            events: vec![event],
            metadata,
            ..StructuredMessage::default()
        };
        frame(FrameType::Message, "StructuredMessage", 200, message, None)
    }
}

/// A reply's message, with the captured values filled in.
pub(super) fn render(reply: &Reply, captures: &Captures, correlation_id: &str) -> Outgoing {
    let fill = |t: &crate::template::Template| t.render(captures);
    let card = |card: &CardTemplate| Card {
        title: fill(&card.title),
        description: card.description.as_ref().map(fill),
        image: card.image.as_ref().map(fill),
        actions: card
            .actions
            .iter()
            .map(|action| CardAction {
                kind: if action.url.is_some() {
                    "Link"
                } else {
                    "Postback"
                }
                .into(),
                text: fill(&action.text),
                payload: action.payload.as_ref().map(fill),
                url: action.url.as_ref().map(fill),
            })
            .collect(),
    };
    let mut content = Vec::new();
    if let Some(one) = &reply.card {
        content.push(Content {
            content_type: "Card".into(),
            card: Some(card(one)),
            ..Content::default()
        });
    }
    if !reply.carousel.is_empty() {
        content.push(Content {
            content_type: "Carousel".into(),
            carousel: Some(Carousel {
                cards: reply.carousel.iter().map(card).collect(),
            }),
            ..Content::default()
        });
    }
    for quick in &reply.quick_replies {
        content.push(Content {
            content_type: "QuickReply".into(),
            quick_reply: Some(QuickReply {
                text: fill(&quick.text),
                payload: fill(&quick.payload),
                action: Some("Message".into()),
            }),
            ..Content::default()
        });
    }
    let extras = agent::Extras::render(reply, captures);
    Outgoing {
        // An attachment alone keeps `Text` (as captured); a DatePicker is structured.
        kind: if content.is_empty() && !extras.is_structured() {
            "Text"
        } else {
            "Structured"
        },
        text: reply.text.as_ref().map(fill),
        content,
        correlation_id: correlation_id.to_string(),
        extras,
    }
}

pub(super) fn frame(
    frame_type: FrameType,
    class: &str,
    code: i64,
    body: impl Serialize,
    tracing_id: Option<String>,
) -> Out {
    Out::Frame(
        ServerFrame::new(frame_type, class, code, body)
            .with_tracing_id(tracing_id)
            .to_json(),
    )
}

pub(super) fn string_error(code: i64, body: &str, tracing_id: Option<&str>) -> Out {
    Out::Frame(frames::string_error(code, body, tracing_id))
}

pub(super) fn bad_request(tracing_id: Option<&str>) -> Out {
    string_error(400, "Request failed.", tracing_id)
}

pub(super) fn session_expired(tracing_id: Option<&str>) -> Out {
    string_error(4006, "session expired error message", tracing_id)
}

/// 4007: no session on this socket, or a token other than the socket's.
pub(super) fn not_found(tracing_id: Option<&str>) -> Out {
    string_error(4007, "session not found error message", tracing_id)
}

pub(super) fn attachment_not_found(tracing_id: Option<&str>) -> Out {
    string_error(
        4009,
        "AttachmentNotFound: no such attachment in this session",
        tracing_id,
    )
}
