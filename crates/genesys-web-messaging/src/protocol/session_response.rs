//! `SessionResponse`: the answer to `configureSession`, with the upload limits it carries.

use super::lenient;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Body of `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionResponse {
    /// Whether the session is connected (`true`/`false`, or the strings `"true"`/`"false"`).
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub connected: bool,
    /// Whether this token started a new session (false when resuming).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_bool"
    )]
    pub new_session: Option<bool>,
    /// Whether the conversation is read-only (after a disconnect).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_bool"
    )]
    pub read_only: Option<bool>,
    /// The largest custom-attributes payload accepted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub max_custom_data_bytes: Option<u64>,
    /// Session lifetime in seconds, when configured.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration_seconds: Option<u64>,
    /// Expiry time in epoch seconds, when configured (a number, possibly fractional, or a
    /// string holding one: both are seen).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub expiration_date: Option<u64>,
}

/// `allowedMedia` and `blockedExtensions` of a `SessionResponse`: what the guest may upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionMediaLimits {
    /// `allowedMedia`.
    pub allowed_media: Option<AllowedMedia>,
    /// `blockedExtensions`, e.g. `[".ade"]`.
    #[serde(deserialize_with = "lenient::list")]
    pub blocked_extensions: Vec<String>,
}

/// `allowedMedia` of a `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllowedMedia {
    /// What the guest may send.
    pub inbound: Option<InboundMedia>,
}

/// `allowedMedia.inbound` of a `SessionResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InboundMedia {
    /// Accepted MIME types (`*/*`, `image/*` and exact types).
    #[serde(deserialize_with = "lenient::list")]
    pub file_types: Vec<MediaFileType>,
    /// Largest file accepted, in KB (1024 bytes).
    #[serde(rename = "maxFileSizeKB", skip_serializing_if = "Option::is_none")]
    pub max_file_size_kb: Option<u64>,
}

/// One accepted MIME type of `allowedMedia.inbound.fileTypes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaFileType {
    /// The MIME type or pattern.
    #[serde(rename = "type")]
    pub kind: String,
}

impl SessionMediaLimits {
    /// Reads the limits from a `SessionResponse` body; a body without them gives none.
    pub fn from_session_body(body: &Value) -> SessionMediaLimits {
        serde_json::from_value(body.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::attachment_error_name;

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
