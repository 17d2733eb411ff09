//! A message or event of the conversation (`StructuredMessage`), its sender and its `channel`.

use super::lenient;
use super::{Attachment, Card, CardAction, Content, DatePicker, QuickReply};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Direction of a message, from Genesys' point of view. Decoded ignoring case (`inbound`,
/// `OUTBOUND`); a missing or `null` direction is Outbound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Direction {
    /// Guest to Genesys (the echo of what the guest sent).
    Inbound,
    /// Genesys (bot or agent) to the guest.
    #[default]
    Outbound,
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(Direction::Outbound);
        };
        match text.to_ascii_lowercase().as_str() {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            _ => Err(serde::de::Error::custom(format!(
                "unknown direction '{text}' (expected Inbound or Outbound)"
            ))),
        }
    }
}

/// A message or event in the conversation (`class: "StructuredMessage"`).
///
/// Decoded leniently where the meaning is clear: `null` for a list, map or text is empty, and
/// content items and events of types this client does not know are kept (with their type).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StructuredMessage {
    /// Message id (32 hex digits for bot messages, a UUID for echoes).
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// `Text`, `Structured` or `Event`.
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// `Inbound` (from the guest) or `Outbound` (to the guest).
    pub direction: Direction,
    /// The text, if any.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub text: Option<String>,
    /// Timing and routing data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<OutgoingChannel>,
    /// Quick replies, buttons, cards, carousels, date pickers, attachments.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub content: Vec<Content>,
    /// Presence and typing events.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub events: Vec<MessageEvent>,
    /// String key/values such as `correlationId` and `readOnly`.
    #[serde(
        skip_serializing_if = "Map::is_empty",
        deserialize_with = "lenient::map"
    )]
    pub metadata: Map<String, Value>,
    /// `Bot` or `Human` for outbound messages.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub originating_entity: Option<String>,
}

impl StructuredMessage {
    /// The `channel.time` string, if present.
    pub fn time(&self) -> Option<&str> {
        self.channel.as_ref()?.time.as_deref()
    }

    /// Who sent this message: the guest (Inbound), a bot, an agent or the system.
    pub fn sender(&self) -> Sender {
        if self.direction == Direction::Inbound {
            return Sender::Guest;
        }
        let entity = self.originating_entity.as_deref().map(str::trim);
        match entity {
            Some(e) if e.eq_ignore_ascii_case("bot") => Sender::Bot,
            Some(e) if e.eq_ignore_ascii_case("human") => {
                let from = self.channel.as_ref().and_then(|c| c.from.clone());
                let from = from.unwrap_or_default();
                Sender::Agent(Agent {
                    nickname: from.nickname,
                    image: from.image,
                    first_name: from.first_name,
                    last_name: from.last_name,
                })
            }
            Some("") | None => Sender::System { entity: None },
            Some(other) => Sender::System {
                entity: Some(other.to_string()),
            },
        }
    }

    /// A bot or agent message the guest can read: Outbound Text or Structured.
    pub fn is_reply(&self) -> bool {
        self.direction == Direction::Outbound && self.is_text_or_structured()
    }

    /// The echo of the guest's own Text or Structured message.
    pub fn is_guest_echo(&self) -> bool {
        self.direction == Direction::Inbound && self.is_text_or_structured()
    }

    /// Something a person reads (`Text` or `Structured`), not an `Event`.
    fn is_text_or_structured(&self) -> bool {
        self.kind == "Text" || self.kind == "Structured"
    }

    /// An Outbound Presence `Disconnect` event: the bot or agent ended the conversation.
    pub fn is_disconnect(&self) -> bool {
        self.direction == Direction::Outbound
            && self.kind == "Event"
            && self.events.iter().any(|e| {
                e.event_type == "Presence"
                    && e.presence.as_ref().is_some_and(|p| p.kind == "Disconnect")
            })
    }

    /// Whether a disconnect left the conversation read-only (`metadata.readOnly: "true"`).
    pub fn is_read_only(&self) -> bool {
        matches!(self.metadata.get("readOnly"), Some(Value::String(s)) if s == "true")
            || matches!(self.metadata.get("readOnly"), Some(Value::Bool(true)))
    }

    /// The quick replies offered by this message.
    pub fn quick_replies(&self) -> impl Iterator<Item = &QuickReply> {
        self.content.iter().filter_map(|c| c.quick_reply.as_ref())
    }

    /// The buttons of this message's cards and carousels.
    pub fn buttons(&self) -> impl Iterator<Item = &CardAction> {
        self.cards().flat_map(|card| card.actions.iter())
    }

    /// The cards of this message, whether sent alone or in a carousel.
    pub fn cards(&self) -> impl Iterator<Item = &Card> {
        self.content.iter().flat_map(|c| {
            c.card
                .iter()
                .chain(c.carousel.iter().flat_map(|carousel| carousel.cards.iter()))
        })
    }

    /// The date pickers of this message.
    pub fn date_pickers(&self) -> impl Iterator<Item = &DatePicker> {
        self.content.iter().filter_map(|c| c.date_picker.as_ref())
    }

    /// The attachments of this message.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.content.iter().filter_map(|c| c.attachment.as_ref())
    }

    /// The `contentType` of every content item this client does not interpret (neither a
    /// quick reply, button response, card, carousel, date picker nor attachment).
    pub fn unknown_content_types(&self) -> impl Iterator<Item = &str> {
        self.content
            .iter()
            .filter(|c| {
                c.quick_reply.is_none()
                    && c.button_response.is_none()
                    && c.card.is_none()
                    && c.carousel.is_none()
                    && c.date_picker.is_none()
                    && c.attachment.is_none()
            })
            .map(|c| c.content_type.as_str())
    }
}

impl Sender {
    /// Whether this is an agent with this nickname (ignoring case; also compared with the
    /// first and last name when there is no nickname).
    pub fn is_agent_named(&self, name: &str) -> bool {
        match self {
            Sender::Agent(agent) => {
                let name = name.trim().to_lowercase();
                agent
                    .nickname
                    .iter()
                    .chain(agent.display_name().iter())
                    .any(|n| n.trim().to_lowercase() == name)
            }
            _ => false,
        }
    }
}

/// Who sent a message, as the guest can tell from the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// The guest (this client): an Inbound message.
    Guest,
    /// A bot or Architect flow: Outbound with `originatingEntity: "Bot"`.
    Bot,
    /// A human agent: Outbound with `originatingEntity: "Human"`; who, from `channel.from`
    /// (each part present only when the deployment exposes it).
    Agent(Agent),
    /// Anything else Outbound: no `originatingEntity` (events such as Presence Disconnect or
    /// Typing), or one this client does not know (kept here).
    System {
        /// The `originatingEntity` given, if any.
        entity: Option<String>,
    },
}

/// A human agent, as `channel.from` describes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agent {
    /// `channel.from.nickname`: the name Messenger shows.
    pub nickname: Option<String>,
    /// `channel.from.image`: the avatar's URL.
    pub image: Option<String>,
    /// `channel.from.firstName`.
    pub first_name: Option<String>,
    /// `channel.from.lastName`.
    pub last_name: Option<String>,
}

impl Agent {
    /// The name to show: the nickname, else first and last name, else `None`.
    pub fn display_name(&self) -> Option<String> {
        if let Some(nickname) = self.nickname.as_ref().filter(|n| !n.trim().is_empty()) {
            return Some(nickname.clone());
        }
        let parts: Vec<&str> = [&self.first_name, &self.last_name]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// `channel` of a server message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OutgoingChannel {
    /// ISO-8601 time the message was created: the order of the conversation. A number is read
    /// as epoch milliseconds (or seconds, when too small to be milliseconds) and kept as
    /// ISO-8601.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_time"
    )]
    pub time: Option<String>,
    /// Present on Inbound echoes.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub message_id: Option<String>,
    /// `Private` for bot messages.
    #[serde(
        rename = "type",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub kind: Option<String>,
    /// Who sent the message: an agent's nickname and avatar (agent messages only, and only
    /// when the deployment exposes them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Participant>,
    /// Who it was sent to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Participant>,
}

/// `channel.from` / `channel.to`: a participant's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Participant {
    /// The display name.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub nickname: Option<String>,
    /// The avatar's URL.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image: Option<String>,
    /// First name.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub last_name: Option<String>,
}

/// An event inside a message (`eventType` Presence or Typing). Events of other types are kept
/// with their `event_type` and nothing else.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageEvent {
    /// `Presence`, `Typing`, ...
    #[serde(deserialize_with = "lenient::string")]
    pub event_type: String,
    /// Presence details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<EventKind>,
    /// Typing details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing: Option<EventKind>,
}

/// The `type` (and optional `duration`) of a presence or typing event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventKind {
    /// `Join`, `Disconnect`, `On`, ...
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// Typing duration in ms.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration: Option<u64>,
}
