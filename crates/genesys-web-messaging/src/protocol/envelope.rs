//! The envelope of every server frame, its decoding and its dispatch on `class`.

use super::lenient;
use super::{ServerError, SessionResponse, StructuredMessage, TooManyRequests};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

    /// The body read as the type its class names.
    pub(super) fn read_body<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.body.clone())
    }

    /// The body read as `T` and wrapped, or [`ServerEvent::Unreadable`] saying why it is not a
    /// `T`.
    fn decode_body<T: DeserializeOwned>(self, wrap: fn(T) -> ServerEvent) -> ServerEvent {
        match self.read_body() {
            Ok(body) => wrap(body),
            Err(e) => ServerEvent::Unreadable {
                class: self.class,
                reason: e.to_string(),
                body: self.body,
            },
        }
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
            ("SessionResponse", _) => self.decode_body(ServerEvent::SessionStarted),
            ("StructuredMessage", FrameType::Response) => ServerEvent::EchoResponse,
            ("StructuredMessage", FrameType::Message) => self.decode_body(ServerEvent::Message),
            _ => ServerEvent::Unknown {
                class: self.class,
                body: self.body,
            },
        }
    }
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

/// A received frame's text for logs: the `jwt` of a `JwtResponse` (a bearer credential for the
/// guest REST API) is replaced by `[REDACTED]`; other frames are returned as they are.
pub fn frame_for_log(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("JwtResponse") {
        return std::borrow::Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            redact(&mut value, "body", "jwt");
            std::borrow::Cow::Owned(value.to_string())
        }
        Err(_) => std::borrow::Cow::Borrowed("[a JwtResponse frame that is not JSON]"),
    }
}

/// Replaces `value[object][key]`, when there is one, by `[REDACTED]`: the one way a credential
/// in a frame is hidden from logs.
pub(super) fn redact(value: &mut Value, object: &str, key: &str) {
    if let Some(fields) = value.get_mut(object).and_then(Value::as_object_mut)
        && let Some(secret) = fields.get_mut(key)
    {
        *secret = Value::String("[REDACTED]".into());
    }
}

/// The endpoint for a region's bare domain, e.g. `mypurecloud.ie` or `xxxx.pure.cloud`.
pub fn region_endpoint(region: &str, deployment_id: &str) -> String {
    format!("wss://webmessaging.{region}/v1?deploymentId={deployment_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
