//! What the guest sends: the requests (`action`) and the message an `onMessage` carries.

use super::envelope::redact;
use super::{Content, EventKind, MessageEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    // Lifecycle and attachment requests; what the server answers is in `lifecycle.rs`.
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

    /// The JSON text of this request for logs: like [`ClientRequest::to_json`], with the
    /// authentication code of `configureAuthenticatedSession` replaced by `[REDACTED]`.
    pub fn to_log_json(&self) -> String {
        match self {
            ClientRequest::ConfigureAuthenticatedSession { .. } => {
                let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
                redact(&mut value, "data", "code");
                value.to_string()
            }
            other => other.to_json(),
        }
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

    /// A Presence event (`Join`, `Clear`, ...), as Genesys' Messenger sends it.
    pub(crate) fn presence(kind: &str) -> Self {
        IncomingMessage {
            kind: "Event".into(),
            events: vec![MessageEvent {
                event_type: "Presence".into(),
                presence: Some(EventKind {
                    kind: kind.into(),
                    duration: None,
                }),
                typing: None,
            }],
            ..Default::default()
        }
    }
}

/// `channel` of a guest message: carries participant data (custom attributes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IncomingChannel {
    /// Holds `customAttributes`.
    pub metadata: ChannelMetadata,
}

impl IncomingChannel {
    /// The `channel` carrying these custom attributes; none when there are none.
    pub(crate) fn with_attributes(
        custom_attributes: &BTreeMap<String, String>,
    ) -> Option<IncomingChannel> {
        (!custom_attributes.is_empty()).then(|| IncomingChannel {
            metadata: ChannelMetadata {
                custom_attributes: custom_attributes.clone(),
            },
        })
    }
}

/// `channel.metadata` of a guest message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelMetadata {
    /// Participant data, visible to the Architect flow.
    pub custom_attributes: BTreeMap<String, String>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AuthenticationData;

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
}
