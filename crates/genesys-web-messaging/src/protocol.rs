//! The wire format of the Web Messaging guest WebSocket API.
//!
//! One definition serves both sides: the guest session serialises [`ClientRequest`]s and decodes
//! [`ServerFrame`]s; the simulator does the opposite. Field names and shapes follow Genesys' own
//! schema (as Genesys documents it and its captures show it). Decoding is tolerant: unknown
//! keys are ignored and unknown classes become [`ServerEvent::Unknown`], because the real service
//! adds fields and classes over time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A request the guest sends. Serialised with `action` first, as Genesys' clients do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum ClientRequest {
    /// Starts (or resumes, with a known token) a guest session. Must be the first frame.
    #[serde(rename_all = "camelCase")]
    ConfigureSession {
        /// The Web Messenger deployment.
        deployment_id: String,
        /// The guest's session token, chosen by the client (a UUID).
        token: String,
        /// Asks for a new conversation on a read-only session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_new: Option<bool>,
        /// Echoed back on the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    /// Sends a message (text, button response or event) from the guest.
    #[serde(rename_all = "camelCase")]
    OnMessage {
        /// The guest's session token.
        token: String,
        /// What the guest says.
        message: IncomingMessage,
        /// Participant data, as upstream sends it (top level, next to `message`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<IncomingChannel>,
        /// Copied by the server onto the Inbound echo of this message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    /// Heartbeat; answered by a `response` StructuredMessage with text `ping`.
    #[serde(rename_all = "camelCase")]
    Echo {
        /// The guest's session token (some clients omit it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The ping message.
        message: IncomingMessage,
        /// Copied onto the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    /// Ends the session (and optionally every other socket sharing the token).
    #[serde(rename_all = "camelCase")]
    CloseSession {
        /// The guest's session token.
        token: String,
        /// Whether other sockets with the same token are closed too.
        #[serde(default)]
        close_all_connections: bool,
        /// Copied onto the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    // Lifecycle and attachment requests: see the section at the end of this file.
    /// Asks for a presigned URL to upload an attachment to.
    #[serde(rename_all = "camelCase")]
    OnAttachment {
        /// The guest's session token.
        token: String,
        /// A client-chosen UUID naming the attachment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment_id: Option<String>,
        /// The file's name.
        file_name: String,
        /// The file's MIME type.
        file_type: String,
        /// The file's size in bytes.
        file_size: u64,
        /// Asks for errors as `UploadFailureEvent`/`GenerateUrlError` JSON (Genesys' mobile SDK).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errors_as_json: Option<bool>,
        /// Copied onto the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    /// Asks for a JWT for the guest REST API.
    #[serde(rename_all = "camelCase")]
    GetJwt {
        /// The guest's session token.
        token: String,
        /// Copied onto the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
    /// Starts (or resumes) an authenticated session.
    #[serde(rename_all = "camelCase")]
    ConfigureAuthenticatedSession {
        /// The Web Messenger deployment.
        deployment_id: String,
        /// The guest's session token.
        token: String,
        /// Asks for a new conversation on a read-only session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_new: Option<bool>,
        /// The credential: `{"code": ...}`.
        data: AuthenticationData,
        /// Echoed back on the response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracing_id: Option<String>,
    },
}

impl ClientRequest {
    /// The JSON text of this request, as sent on the wire.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The `message` of an `onMessage` or `echo` request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncomingMessage {
    /// `Text`, `Structured` or `Event`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Button responses and attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<Content>,
    /// Presence and typing events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<MessageEvent>,
    /// Participant data placed inside the message (Genesys' mobile SDK does this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<IncomingChannel>,
}

impl IncomingMessage {
    /// A plain text message.
    pub fn text(text: impl Into<String>) -> Self {
        IncomingMessage {
            kind: "Text".into(),
            text: Some(text.into()),
            ..Default::default()
        }
    }
}

/// `channel` of a guest message: carries participant data (custom attributes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncomingChannel {
    /// Holds `customAttributes`.
    #[serde(default)]
    pub metadata: ChannelMetadata,
}

/// `channel.metadata` of a guest message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelMetadata {
    /// Participant data, visible to the Architect flow.
    #[serde(default)]
    pub custom_attributes: BTreeMap<String, String>,
}

/// Whether a frame answers a request (`response`) or arrives on its own (`message`). Decoded
/// ignoring case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FrameType {
    /// Answers a client request.
    Response,
    /// Unsolicited: a bot message, the echo of the guest's message, or an event.
    Message,
}

impl<'de> Deserialize<'de> for FrameType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "response" => Ok(FrameType::Response),
            "message" => Ok(FrameType::Message),
            _ => Err(serde::de::Error::custom(format!(
                "unknown frame type '{text}' (expected response or message)"
            ))),
        }
    }
}

/// The envelope of every frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerFrame {
    /// `response` or `message`.
    #[serde(rename = "type")]
    pub frame_type: FrameType,
    /// What the body is: `SessionResponse`, `StructuredMessage`, `string` (an error), ...
    pub class: String,
    /// 200 on success, otherwise an error code (a number, or a string holding one).
    #[serde(deserialize_with = "lenient::code")]
    pub code: i64,
    /// The payload: an object, or a string for `class: "string"`.
    #[serde(default)]
    pub body: Value,
    /// The `tracingId` of the request this answers, when it had one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub tracing_id: Option<String>,
}

impl ServerFrame {
    /// Builds a frame around a serialisable body.
    pub fn new(frame_type: FrameType, class: &str, code: i64, body: impl Serialize) -> Self {
        ServerFrame {
            frame_type,
            class: class.to_string(),
            code,
            body: serde_json::to_value(body).unwrap_or(Value::Null),
            tracing_id: None,
        }
    }

    /// The same frame answering the request with this tracing id.
    pub fn with_tracing_id(mut self, tracing_id: Option<String>) -> Self {
        self.tracing_id = tracing_id;
        self
    }

    /// The JSON text of this frame, as sent on the wire.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes the body into what it means. Never fails: a body that does not fit its class
    /// becomes [`ServerEvent::Unknown`].
    pub fn into_event(self) -> ServerEvent {
        match (self.class.as_str(), self.frame_type) {
            ("string", _) => ServerEvent::Error(ServerError::Coded {
                code: self.code,
                message: match self.body {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            }),
            ("TooManyRequestsErrorMessage", _) => {
                let body: TooManyRequests = serde_json::from_value(self.body).unwrap_or_default();
                ServerEvent::Error(ServerError::TooManyRequests {
                    retry_after_seconds: body.retry_after,
                    error_code: body.error_code,
                    message: body.error_message,
                    tracing_id: self.tracing_id,
                })
            }
            ("SessionExpiredEvent", _) => ServerEvent::Error(ServerError::SessionExpired),
            ("ConnectionClosedEvent", _) => {
                let reason = self
                    .body
                    .get("reason")
                    .or_else(|| self.body.get("reasonCode"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                ServerEvent::Error(ServerError::ConnectionClosed { reason })
            }
            (_, _) if self.code != 200 => ServerEvent::Error(ServerError::Coded {
                code: self.code,
                message: self.body.to_string(),
            }),
            ("SessionResponse", _) => match serde_json::from_value(self.body.clone()) {
                Ok(body) => ServerEvent::SessionStarted(body),
                Err(e) => ServerEvent::Unreadable {
                    class: self.class,
                    reason: e.to_string(),
                    body: self.body,
                },
            },
            ("StructuredMessage", FrameType::Response) => ServerEvent::EchoResponse,
            ("StructuredMessage", FrameType::Message) => {
                match serde_json::from_value(self.body.clone()) {
                    Ok(message) => ServerEvent::Message(message),
                    Err(e) => ServerEvent::Unreadable {
                        class: self.class,
                        reason: e.to_string(),
                        body: self.body,
                    },
                }
            }
            _ => ServerEvent::Unknown {
                class: self.class,
                body: self.body,
            },
        }
    }
}

/// Body of `TooManyRequestsErrorMessage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TooManyRequests {
    /// Seconds to wait before sending again (a number, possibly fractional and then rounded
    /// up, or a string holding one).
    #[serde(default, deserialize_with = "lenient::seconds")]
    pub retry_after: u64,
    /// 4029.
    #[serde(default, deserialize_with = "lenient::code_or_zero")]
    pub error_code: i64,
    /// Human-readable text.
    #[serde(default, deserialize_with = "lenient::string")]
    pub error_message: String,
}

/// What a decoded server frame means to the guest.
#[derive(Debug, Clone, PartialEq)]
// Short-lived (one per frame, consumed at once): boxing the message would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ServerEvent {
    /// `SessionResponse`: the session is configured.
    SessionStarted(SessionResponse),
    /// A StructuredMessage: a bot or agent message, the echo of the guest's own message, or an
    /// event such as Presence Disconnect.
    Message(StructuredMessage),
    /// The answer to an `echo` heartbeat.
    EchoResponse,
    /// An error response or event.
    Error(ServerError),
    /// A frame of a known class whose body could not be read, even leniently (e.g. a
    /// StructuredMessage whose `direction` is neither Inbound nor Outbound). The session
    /// records it as a warning (or, for a `SessionResponse`, as a start failure).
    Unreadable {
        /// The frame's class.
        class: String,
        /// Why the body could not be read.
        reason: String,
        /// The frame's body.
        body: Value,
    },
    /// A class this client does not use; the session records it as a warning.
    Unknown {
        /// The frame's class.
        class: String,
        /// The frame's body.
        body: Value,
    },
}

/// An error reported by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// A `class: "string"` error (400, 403, 4006 session expired, 4007 session not found,
    /// 4011 message too long, 4013 custom attributes too large, 5000, ...), or any frame whose
    /// code was not 200.
    #[error("Genesys responded with error {code}{}: {message}", describe_code(*code).map(|m| format!(" ({m})")).unwrap_or_default())]
    Coded {
        /// The error code.
        code: i64,
        /// The body text.
        message: String,
    },
    /// `TooManyRequestsErrorMessage` (429 / 4029): the 2 messages per second limit was hit.
    #[error(
        "Genesys rate-limited the session (error {error_code}: {message}); retry after {retry_after_seconds} s"
    )]
    TooManyRequests {
        /// Seconds to wait before sending again.
        retry_after_seconds: u64,
        /// 4029.
        error_code: i64,
        /// Human-readable text.
        message: String,
        /// The tracing id of the refused request.
        tracing_id: Option<String>,
    },
    /// `SessionExpiredEvent`.
    #[error("Genesys expired the guest session")]
    SessionExpired,
    /// `ConnectionClosedEvent`: the server closed this connection (another device, sign-in...).
    #[error("Genesys closed the connection{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    ConnectionClosed {
        /// The reason given, if any.
        reason: Option<String>,
    },
}

/// What Genesys' documented error codes mean.
pub fn describe_code(code: i64) -> Option<&'static str> {
    Some(match code {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        4000 => "feature unavailable",
        4006 => "the guest session has expired",
        4007 => "the guest session was not found",
        4011 => "message too long",
        4013 => "custom attributes too large",
        4029 => "message rate too high",
        5000 => "unexpected error",
        _ => return None,
    })
}

impl ServerError {
    /// The numeric code of the error, as Genesys documents it.
    pub fn code(&self) -> i64 {
        match self {
            ServerError::Coded { code, .. } => *code,
            ServerError::TooManyRequests { .. } => 429,
            ServerError::SessionExpired => 4006,
            ServerError::ConnectionClosed { .. } => 0,
        }
    }
}

/// Body of `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// Whether the session is connected (`true`/`false`, or the strings `"true"`/`"false"`).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub connected: bool,
    /// Whether this token started a new session (false when resuming).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_bool"
    )]
    pub new_session: Option<bool>,
    /// Whether the conversation is read-only (after a disconnect).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_bool"
    )]
    pub read_only: Option<bool>,
    /// The largest custom-attributes payload accepted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub max_custom_data_bytes: Option<u64>,
    /// Session lifetime in seconds, when configured.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration_seconds: Option<u64>,
    /// Expiry time in epoch seconds, when configured (a number, possibly fractional, or a
    /// string holding one: both are seen).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub expiration_date: Option<u64>,
}

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
#[serde(rename_all = "camelCase")]
pub struct StructuredMessage {
    /// Message id (32 hex digits for bot messages, a UUID for echoes).
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    /// `Text`, `Structured` or `Event`.
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: String,
    /// `Inbound` (from the guest) or `Outbound` (to the guest).
    #[serde(default)]
    pub direction: Direction,
    /// The text, if any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub text: Option<String>,
    /// Timing and routing data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<OutgoingChannel>,
    /// Quick replies, buttons, cards, carousels, date pickers, attachments.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub content: Vec<Content>,
    /// Presence and typing events.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub events: Vec<MessageEvent>,
    /// String key/values such as `correlationId` and `readOnly`.
    #[serde(
        default,
        skip_serializing_if = "Map::is_empty",
        deserialize_with = "lenient::map"
    )]
    pub metadata: Map<String, Value>,
    /// `Bot` or `Human` for outbound messages.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub originating_entity: Option<String>,
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
        self.direction == Direction::Outbound && (self.kind == "Text" || self.kind == "Structured")
    }

    /// The echo of the guest's own Text or Structured message.
    pub fn is_guest_echo(&self) -> bool {
        self.direction == Direction::Inbound && (self.kind == "Text" || self.kind == "Structured")
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
        self.content.iter().flat_map(|c| {
            let single = c.card.iter();
            let many = c.carousel.iter().flat_map(|carousel| carousel.cards.iter());
            single.chain(many).flat_map(|card| card.actions.iter())
        })
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

/// `channel` of a server message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingChannel {
    /// ISO-8601 time the message was created: the order of the conversation. A number is read
    /// as epoch milliseconds (or seconds, when too small to be milliseconds) and kept as
    /// ISO-8601.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_time"
    )]
    pub time: Option<String>,
    /// Present on Inbound echoes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub message_id: Option<String>,
    /// `Private` for bot messages.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub kind: Option<String>,
    /// Who sent the message: an agent's nickname and avatar (agent messages only, and only
    /// when the deployment exposes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Participant>,
    /// Who it was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Participant>,
}

/// `channel.from` / `channel.to`: a participant's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The display name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub nickname: Option<String>,
    /// The avatar's URL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image: Option<String>,
    /// First name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub last_name: Option<String>,
}

/// One item of a message's `content`. An item whose type this client does not know keeps its
/// `content_type` and nothing else.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// `QuickReply`, `ButtonResponse`, `Card`, `Carousel`, `DatePicker`, `Attachment`, ...
    #[serde(default, deserialize_with = "lenient::string")]
    pub content_type: String,
    /// A quick reply offered by the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<QuickReply>,
    /// The guest's answer to a quick reply, button or date picker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_response: Option<ButtonResponse>,
    /// A card with actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    /// Several cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carousel: Option<Carousel>,
    /// Time slots offered by the bot or agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_picker: Option<DatePicker>,
    /// A file: one the bot or agent sent (all fields), or one the guest uploaded (its `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A quick reply button offered by the bot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuickReply {
    /// The label.
    #[serde(default, deserialize_with = "lenient::string")]
    pub text: String,
    /// What is sent back when clicked.
    #[serde(default, deserialize_with = "lenient::string")]
    pub payload: String,
    /// `Message`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub action: Option<String>,
}

/// The guest's answer to a quick reply, button or date picker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ButtonResponse {
    /// The label clicked.
    #[serde(default, deserialize_with = "lenient::string")]
    pub text: String,
    /// The payload of the option (for a date picker, the slot's `dateTime`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub payload: String,
    /// `QuickReply`, `Button` or `DatePicker`.
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: String,
    /// The id of the message that offered the option (sent with date-picker answers).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub originating_message_id: Option<String>,
}

/// A card (title, description, image, actions).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// The title.
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    /// The description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub description: Option<String>,
    /// An image URL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image: Option<String>,
    /// Buttons on the card.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub actions: Vec<CardAction>,
}

/// A button on a card.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardAction {
    /// `Postback` or `Link`.
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: String,
    /// The label.
    #[serde(default, deserialize_with = "lenient::string")]
    pub text: String,
    /// Sent back for `Postback`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub payload: Option<String>,
    /// Opened for `Link`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub url: Option<String>,
}

/// Several cards side by side.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Carousel {
    /// The cards.
    #[serde(default, deserialize_with = "lenient::list")]
    pub cards: Vec<Card>,
}

/// `DatePicker` content: time slots the guest may choose from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatePicker {
    /// The title.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub title: Option<String>,
    /// The subtitle.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub subtitle: Option<String>,
    /// An image URL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image_url: Option<String>,
    /// The slots offered.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub available_times: Vec<TimeSlot>,
}

/// One slot of a date picker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSlot {
    /// When it starts (ISO-8601), exactly as the bot wrote it: sent back as the answer.
    #[serde(default, deserialize_with = "lenient::time_string")]
    pub date_time: String,
    /// How long it lasts, in seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration: Option<u64>,
}

impl TimeSlot {
    /// Whether this slot starts at `date_time`: the same instant when both are ISO-8601
    /// times (whatever their offsets or precision), else the same text.
    pub fn starts_at(&self, date_time: &str) -> bool {
        match (
            self.date_time.trim().parse::<jiff::Timestamp>(),
            date_time.trim().parse::<jiff::Timestamp>(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.date_time.trim() == date_time.trim(),
        }
    }
}

/// `Attachment` content: a file sent by the bot or an agent, or (with only its `id`) one the
/// guest uploaded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// The attachment's id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub id: Option<String>,
    /// The file name, e.g. `invoice.pdf`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub filename: Option<String>,
    /// `Audio`, `File`, `Image`, `Link` or `Video`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub media_type: Option<String>,
    /// The MIME type, e.g. `application/pdf`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub mime: Option<String>,
    /// The size in bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub file_size: Option<u64>,
    /// Where to download it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub url: Option<String>,
}

/// An event inside a message (`eventType` Presence or Typing). Events of other types are kept
/// with their `event_type` and nothing else.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvent {
    /// `Presence`, `Typing`, ...
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_type: String,
    /// Presence details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<EventKind>,
    /// Typing details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing: Option<EventKind>,
}

/// The `type` (and optional `duration`) of a presence or typing event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventKind {
    /// `Join`, `Disconnect`, `On`, ...
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: String,
    /// Typing duration in ms.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration: Option<u64>,
}

/// Lenient decoders for fields whose meaning is clear whatever the shape the server used:
/// `null` for an empty list, map or text, a number or a string for numbers and times, the
/// strings `"true"`/`"false"` for booleans. Anything else is still an error (and the frame a
/// warning).
mod lenient {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};
    use serde_json::{Map, Value};

    /// A list; `null` is empty.
    pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }

    /// A map; `null` is empty.
    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
        Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
    }

    /// A text; `null` is empty, a number or boolean is its JSON text.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_string(d)?.unwrap_or_default())
    }

    /// An optional text; a number or boolean is its JSON text.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            v @ (Value::Number(_) | Value::Bool(_)) => Ok(Some(v.to_string())),
            other => Err(D::Error::custom(format!(
                "expected a string, found {}",
                kind(&other)
            ))),
        }
    }

    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    /// A number from a JSON number or a string holding one.
    fn as_f64<E: Error>(v: &Value) -> Result<Option<f64>, E> {
        let n = match v {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(E::custom(format!("expected a number, found {}", kind(v)))),
        }
    }

    /// A non-negative whole number (a fraction is dropped, a negative number is 0).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
    )]
    pub fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(as_f64::<D::Error>(&v)?.map(|n| n.max(0.0).min(u64::MAX as f64) as u64))
    }

    /// Seconds to wait: a fraction is rounded up (waiting a little longer is always safe).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
    )]
    pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(as_f64::<D::Error>(&v)?
            .map(|n| n.max(0.0).ceil().min(u64::MAX as f64) as u64)
            .unwrap_or_default())
    }

    /// A code: a whole number, or a string holding one.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
    )]
    pub fn code<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Value::deserialize(d)?;
        match as_f64::<D::Error>(&v)? {
            Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(n as i64),
            _ => Err(D::Error::custom(format!(
                "expected a whole number as code, found {}",
                kind(&v)
            ))),
        }
    }

    /// A code that may be missing or `null` (then 0).
    pub fn code_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(0);
        }
        code(v).map_err(D::Error::custom)
    }

    /// A boolean, or the string `"true"`/`"false"` (any case).
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            other => Err(D::Error::custom(format!(
                "expected a boolean, found {}",
                kind(&other)
            ))),
        }
    }

    /// A boolean that may be missing or `null` (then false).
    pub fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(false))
    }

    /// A time: an ISO-8601 string as it is, or a number of epoch milliseconds (seconds when
    /// below 10^11, i.e. before 1973 in milliseconds) as ISO-8601.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
    )]
    pub fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            v @ Value::Number(_) => {
                let n = as_f64::<D::Error>(&v)?.unwrap_or_default();
                let millis = if n.abs() < 1e11 { n * 1000.0 } else { n };
                jiff::Timestamp::from_millisecond(millis as i64)
                    .map(|t| Some(t.to_string()))
                    .map_err(|e| D::Error::custom(format!("time {v} out of range: {e}")))
            }
            other => Err(D::Error::custom(format!(
                "expected a time, found {}",
                kind(&other)
            ))),
        }
    }

    /// A time that may be missing or `null` (then empty).
    pub fn time_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_time(d)?.unwrap_or_default())
    }
}

/// Why a frame could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame was binary where text was expected, or not UTF-8.
    #[error("received a non-text frame ({0} bytes)")]
    NotText(usize),
    /// The text was not JSON, or not an envelope with `type`, `class` and `code`.
    #[error("received a malformed frame ({reason}): {excerpt}")]
    Malformed {
        /// The parser's reason.
        reason: String,
        /// The start of the frame, for the report.
        excerpt: String,
    },
}

/// Decodes one text frame from the server.
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    serde_json::from_str(text).map_err(|e| FrameError::Malformed {
        reason: e.to_string(),
        excerpt: text.chars().take(120).collect(),
    })
}

/// The endpoint for a region's bare domain, e.g. `mypurecloud.ie` or `xxxx.pure.cloud`.
pub fn region_endpoint(region: &str, deployment_id: &str) -> String {
    format!("wss://webmessaging.{region}/v1?deploymentId={deployment_id}")
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and attachment upload.
//
// The requests are `ClientRequest` variants above; the frames below are what the server sends
// back. The session task hands these classes to `crate::lifecycle` instead of the session log.
// ---------------------------------------------------------------------------------------------

/// `data` of `configureAuthenticatedSession`: the code (a JWT from Genesys' OAuth code-grant or
/// ID-token exchange). Its `Debug` never shows the code.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticationData {
    /// The credential. Secret: never printed.
    pub code: String,
}

impl std::fmt::Debug for AuthenticationData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticationData { code: [REDACTED] }")
    }
}

impl ClientRequest {
    /// The JSON text of this request for logs: like [`ClientRequest::to_json`], with the
    /// authentication code of `configureAuthenticatedSession` replaced by `[REDACTED]`.
    pub fn to_log_json(&self) -> String {
        match self {
            ClientRequest::ConfigureAuthenticatedSession { .. } => {
                let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
                if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
                    data.insert("code".into(), Value::String("[REDACTED]".into()));
                }
                value.to_string()
            }
            other => other.to_json(),
        }
    }
}

/// A received frame's text for logs: the `jwt` of a `JwtResponse` (a bearer credential for the
/// guest REST API) is replaced by `[REDACTED]`; other frames are returned as they are.
pub fn frame_for_log(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("JwtResponse") {
        return std::borrow::Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            if let Some(body) = value.get_mut("body").and_then(Value::as_object_mut)
                && body.contains_key("jwt")
            {
                body.insert("jwt".into(), Value::String("[REDACTED]".into()));
            }
            std::borrow::Cow::Owned(value.to_string())
        }
        Err(_) => std::borrow::Cow::Borrowed("[a JwtResponse frame that is not JSON]"),
    }
}

/// Body of `PresignedUrlResponse`: where to `PUT` an attachment's bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUrlResponse {
    /// The attachment's id (to send in the message's content).
    #[serde(default)]
    pub attachment_id: String,
    /// Headers to send with the `PUT`, besides `Content-Type`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The presigned upload URL.
    #[serde(default)]
    pub url: String,
    /// The file's name, when echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The file's size, when echoed (present on download-URL refreshes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The file's type, when echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
}

/// Body of `UploadSuccessEvent`: the uploaded file was accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSuccessEvent {
    /// The attachment's id.
    #[serde(default)]
    pub attachment_id: String,
    /// Where the file can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// When the upload was processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// Body of `UploadFailureEvent` and `GenerateUrlError`: the attachment was refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentFailure {
    /// The attachment's id, when given.
    #[serde(default)]
    pub attachment_id: String,
    /// 4001–4005, 4008–4010 (see [`attachment_error_name`]).
    #[serde(default, deserialize_with = "lenient_i64")]
    pub error_code: i64,
    /// Human-readable text.
    #[serde(default)]
    pub error_message: String,
}

/// Body of `JwtResponse`: a JWT for the guest REST API (`Authorization: Bearer`). Its `Debug`
/// never shows the token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JwtResponse {
    /// The token. Secret: never printed.
    #[serde(default)]
    pub jwt: String,
    /// Expiry, in epoch seconds.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub exp: i64,
}

impl std::fmt::Debug for JwtResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtResponse")
            .field("jwt", &"[REDACTED]")
            .field("exp", &self.exp)
            .finish()
    }
}

/// An integer given as a JSON number (possibly with a fraction) or a numeric string.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
)]
fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or_default(),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map(|f| f as i64)
            .unwrap_or_default(),
        _ => 0,
    })
}

/// `allowedMedia` and `blockedExtensions` of a `SessionResponse`: what the guest may upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMediaLimits {
    /// `allowedMedia`.
    #[serde(default)]
    pub allowed_media: Option<AllowedMedia>,
    /// `blockedExtensions`, e.g. `[".ade"]`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub blocked_extensions: Vec<String>,
}

/// `allowedMedia` of a `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedMedia {
    /// What the guest may send.
    #[serde(default)]
    pub inbound: Option<InboundMedia>,
}

/// `allowedMedia.inbound` of a `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMedia {
    /// Accepted MIME types (`*/*`, `image/*` and exact types).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub file_types: Vec<MediaFileType>,
    /// Largest file accepted, in KB (1024 bytes).
    #[serde(
        rename = "maxFileSizeKB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_file_size_kb: Option<u64>,
}

/// One accepted MIME type of `allowedMedia.inbound.fileTypes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaFileType {
    /// The MIME type or pattern.
    #[serde(rename = "type", default)]
    pub kind: String,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl SessionMediaLimits {
    /// Reads the limits from a `SessionResponse` body; a body without them gives none.
    pub fn from_session_body(body: &Value) -> SessionMediaLimits {
        serde_json::from_value(body.clone()).unwrap_or_default()
    }
}

/// The name Genesys gives an attachment error code, e.g. `FileTypeInvalid`.
pub fn attachment_error_name(code: i64) -> Option<&'static str> {
    Some(match code {
        4001 => "FileTypeInvalid",
        4002 => "FileSizeInvalid",
        4003 => "FileContentInvalid",
        4004 => "FileNameInvalid",
        4005 => "FileNameTooLong",
        4008 => "AttachmentHasExpired",
        4009 => "AttachmentNotFound",
        4010 => "AttachmentNotSuccessfullyUploaded",
        _ => return None,
    })
}

/// A content item carrying an uploaded attachment, as the guest sends it:
/// only the id.
pub fn attachment_content(attachment_id: &str) -> Content {
    Content {
        content_type: "Attachment".into(),
        attachment: Some(Attachment {
            id: Some(attachment_id.to_string()),
            ..Attachment::default()
        }),
        ..Content::default()
    }
}

/// The classes of the lifecycle and attachment frames, which the session hands to
/// `crate::lifecycle` rather than to the session log.
pub const LIFECYCLE_CLASSES: &[&str] = &[
    "PresignedUrlResponse",
    "UploadSuccessEvent",
    "UploadFailureEvent",
    "GenerateUrlError",
    "JwtResponse",
    "SessionClearedEvent",
    "AttachmentDeletedResponse",
];

/// A lifecycle or attachment frame, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum LifecycleEvent {
    /// `PresignedUrlResponse`.
    PresignedUrl(PresignedUrlResponse),
    /// `UploadSuccessEvent`.
    UploadSucceeded(UploadSuccessEvent),
    /// `UploadFailureEvent`.
    UploadFailed(AttachmentFailure),
    /// `GenerateUrlError`.
    GenerateUrlFailed(AttachmentFailure),
    /// `JwtResponse`.
    Jwt(JwtResponse),
    /// `SessionClearedEvent`.
    SessionCleared,
    /// `AttachmentDeletedResponse`.
    AttachmentDeleted,
    /// A frame of one of these classes whose body could not be read.
    Malformed {
        /// The class.
        class: String,
        /// The body as sent.
        body: Value,
    },
}

impl LifecycleEvent {
    /// Decodes a frame of one of the [`LIFECYCLE_CLASSES`]; `None` for other classes.
    pub fn from_frame(frame: &ServerFrame) -> Option<LifecycleEvent> {
        fn body<T: serde::de::DeserializeOwned>(
            frame: &ServerFrame,
            wrap: fn(T) -> LifecycleEvent,
        ) -> LifecycleEvent {
            match serde_json::from_value(frame.body.clone()) {
                Ok(value) => wrap(value),
                Err(_) => LifecycleEvent::Malformed {
                    class: frame.class.clone(),
                    body: frame.body.clone(),
                },
            }
        }
        Some(match frame.class.as_str() {
            "PresignedUrlResponse" => body(frame, LifecycleEvent::PresignedUrl),
            "UploadSuccessEvent" => body(frame, LifecycleEvent::UploadSucceeded),
            "UploadFailureEvent" => body(frame, LifecycleEvent::UploadFailed),
            "GenerateUrlError" => body(frame, LifecycleEvent::GenerateUrlFailed),
            "JwtResponse" => body(frame, LifecycleEvent::Jwt),
            "SessionClearedEvent" => LifecycleEvent::SessionCleared,
            "AttachmentDeletedResponse" => LifecycleEvent::AttachmentDeleted,
            _ => return None,
        })
    }
}

/// One page of the guest history REST call (`GET /api/v2/webmessaging/messages`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The messages, as sent (newest first, as far as is known). Kept as JSON: each is decoded
    /// on its own, so one odd entity does not lose the page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub entities: Vec<Value>,
    /// The page size.
    #[serde(default)]
    pub page_size: Option<u64>,
    /// The page number (from 1).
    #[serde(default)]
    pub page_number: Option<u64>,
    /// How many messages there are in all.
    #[serde(default)]
    pub total: Option<u64>,
    /// How many pages there are.
    #[serde(default)]
    pub page_count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_session_has_upstreams_key_order() {
        let req = ClientRequest::ConfigureSession {
            deployment_id: "d".into(),
            token: "t".into(),
            start_new: None,
            tracing_id: None,
        };
        assert_eq!(
            req.to_json(),
            r#"{"action":"configureSession","deploymentId":"d","token":"t"}"#
        );
    }

    #[test]
    fn on_message_with_participant_data() {
        let mut attrs = BTreeMap::new();
        attrs.insert("test".to_string(), "test-value".to_string());
        let req = ClientRequest::OnMessage {
            token: "t".into(),
            message: IncomingMessage::text("hello world"),
            channel: Some(IncomingChannel {
                metadata: ChannelMetadata {
                    custom_attributes: attrs,
                },
            }),
            tracing_id: None,
        };
        assert_eq!(
            req.to_json(),
            r#"{"action":"onMessage","token":"t","message":{"type":"Text","text":"hello world"},"channel":{"metadata":{"customAttributes":{"test":"test-value"}}}}"#
        );
    }

    #[test]
    fn decodes_real_captures_and_tolerates_unknown_keys() {
        let bot = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"Hello","direction":"Outbound","id":"abc","channel":{"time":"2022-08-22T19:24:26.704Z","type":"Private"},"type":"Text","originatingEntity":"Bot","metadata":{"correlationId":"x"},"brandNew":1}}"#;
        match decode_server_frame(bot).unwrap().into_event() {
            ServerEvent::Message(m) => {
                assert!(m.is_reply());
                assert_eq!(m.text.as_deref(), Some("Hello"));
                assert_eq!(m.time(), Some("2022-08-22T19:24:26.704Z"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let disconnect = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"0","channel":{"time":"2022-08-22T19:24:26.704Z"},"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Disconnect"}}],"metadata":{"readOnly":"true"}}}"#;
        match decode_server_frame(disconnect).unwrap().into_event() {
            ServerEvent::Message(m) => assert!(m.is_disconnect() && m.is_read_only()),
            other => panic!("unexpected {other:?}"),
        }
        let unknown = r#"{"type":"message","class":"SomethingNew","code":200,"body":{}}"#;
        assert!(matches!(
            decode_server_frame(unknown).unwrap().into_event(),
            ServerEvent::Unknown { .. }
        ));
    }

    #[test]
    fn decodes_errors() {
        let e = r#"{"type":"response","class":"string","code":4007,"body":"session not found error message"}"#;
        assert_eq!(
            decode_server_frame(e).unwrap().into_event(),
            ServerEvent::Error(ServerError::Coded {
                code: 4007,
                message: "session not found error message".into()
            })
        );
        let rl = r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}"#;
        match decode_server_frame(rl).unwrap().into_event() {
            ServerEvent::Error(ServerError::TooManyRequests {
                retry_after_seconds,
                error_code,
                ..
            }) => assert_eq!((retry_after_seconds, error_code), (3, 4029)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(decode_server_frame("not json").is_err());
        assert!(decode_server_frame(r#"{"class":"x"}"#).is_err());
    }
}

#[cfg(test)]
mod lifecycle_tests {
    use super::*;

    #[test]
    fn attachment_and_lifecycle_requests_match_genesys_clients() {
        let upload = ClientRequest::OnAttachment {
            token: "t".into(),
            attachment_id: Some("00000000-0000-0000-0000-000000000001".into()),
            file_name: "foo.png".into(),
            file_type: "image/png".into(),
            file_size: 424242,
            errors_as_json: Some(true),
            tracing_id: Some("x".into()),
        };
        let value: Value = serde_json::from_str(&upload.to_json()).unwrap();
        let expected: Value = serde_json::from_str(r#"{"token":"t","attachmentId":"00000000-0000-0000-0000-000000000001","fileName":"foo.png","fileType":"image/png","fileSize":424242,"errorsAsJson":true,"tracingId":"x","action":"onAttachment"}"#).unwrap();
        assert_eq!(value, expected);
        let jwt = ClientRequest::GetJwt {
            token: "t".into(),
            tracing_id: Some("x".into()),
        };
        assert_eq!(
            jwt.to_json(),
            r#"{"action":"getJwt","token":"t","tracingId":"x"}"#
        );
        let auth = ClientRequest::ConfigureAuthenticatedSession {
            deployment_id: "d".into(),
            token: "t".into(),
            start_new: Some(false),
            data: AuthenticationData {
                code: "secret-code".into(),
            },
            tracing_id: None,
        };
        assert_eq!(
            auth.to_json(),
            r#"{"action":"configureAuthenticatedSession","deploymentId":"d","token":"t","startNew":false,"data":{"code":"secret-code"}}"#
        );
        assert!(!auth.to_log_json().contains("secret-code"));
        assert!(!format!("{auth:?}").contains("secret-code"));
    }

    #[test]
    fn decodes_the_captured_lifecycle_frames() {
        let decode = |text: &str| LifecycleEvent::from_frame(&decode_server_frame(text).unwrap());
        let presigned = decode(
            r#"{"type":"response","class":"PresignedUrlResponse","code":200,"body":{"attachmentId":"abcd-1234","headers":{"x-amz-tagging":"organizationId=1234&originPlatform=PureCloud&role=Darth&owner=Dev-CloudAppsDarth@genesys.com"},"url":"https://uploads.url/foo.png"}}"#,
        );
        match presigned {
            Some(LifecycleEvent::PresignedUrl(p)) => {
                assert_eq!(p.attachment_id, "abcd-1234");
                assert_eq!(p.headers.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode(
                r#"{"type":"message","class":"UploadFailureEvent","code":200,"body":{"attachmentId":"abcd-1234","errorCode":4001,"errorMessage":"error message","timestamp":"2021-04-21T14:03:09.581Z"}}"#
            ),
            Some(LifecycleEvent::UploadFailed(AttachmentFailure {
                error_code: 4001,
                ..
            }))
        ));
        assert!(matches!(
            decode(
                r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"expected-jwt-token","exp":1623675564}}"#
            ),
            Some(LifecycleEvent::Jwt(JwtResponse {
                exp: 1623675564,
                ..
            }))
        ));
        assert_eq!(
            decode(r#"{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}"#),
            Some(LifecycleEvent::SessionCleared)
        );
        assert_eq!(
            decode(r#"{"type":"message","class":"StructuredMessage","code":200,"body":{}}"#),
            None
        );
        let logged = frame_for_log(
            r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"expected-jwt-token","exp":1}}"#,
        );
        assert!(!logged.contains("expected-jwt-token"), "{logged}");
    }

    #[test]
    fn reads_media_limits_from_the_rich_session_response() {
        let body: Value = serde_json::from_str(r#"{"connected":true,"newSession":true,"readOnly":false,"maxCustomDataBytes":100,"allowedMedia":{"inbound":{"fileTypes":[{"type":"*/*"},{"type":"video/3gpp"}],"maxFileSizeKB":10240}},"blockedExtensions":[".ade"],"clearedExistingSession":false}"#).unwrap();
        let limits = SessionMediaLimits::from_session_body(&body);
        let inbound = limits.allowed_media.unwrap().inbound.unwrap();
        assert_eq!(inbound.max_file_size_kb, Some(10240));
        assert_eq!(inbound.file_types.len(), 2);
        assert_eq!(limits.blocked_extensions, [".ade"]);
        assert_eq!(
            SessionMediaLimits::from_session_body(&serde_json::json!({"connected":true})),
            SessionMediaLimits::default()
        );
        assert_eq!(attachment_error_name(4002), Some("FileSizeInvalid"));
        assert_eq!(attachment_error_name(4006), None);
    }
}
