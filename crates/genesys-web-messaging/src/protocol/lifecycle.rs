//! Lifecycle and attachment frames: upload URLs and verdicts, the guest JWT, clearing, and the
//! guest history REST page.
//!
//! The requests are [`ClientRequest`](super::ClientRequest) variants; these are what the server
//! sends back. The session task hands these classes to `crate::lifecycle` instead of the
//! session log.

use super::{ServerFrame, lenient};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
            frame.read_body().map_or_else(
                |_| LifecycleEvent::Malformed {
                    class: frame.class.clone(),
                    body: frame.body.clone(),
                },
                wrap,
            )
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

/// Body of `PresignedUrlResponse`: where to `PUT` an attachment's bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PresignedUrlResponse {
    /// The attachment's id (to send in the message's content).
    pub attachment_id: String,
    /// Headers to send with the `PUT`, besides `Content-Type`.
    pub headers: BTreeMap<String, String>,
    /// The presigned upload URL.
    pub url: String,
    /// The file's name, when echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The file's size, when echoed (present on download-URL refreshes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The file's type, when echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
}

/// Body of `UploadSuccessEvent`: the uploaded file was accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UploadSuccessEvent {
    /// The attachment's id.
    pub attachment_id: String,
    /// Where the file can be downloaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// When the upload was processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// Body of `UploadFailureEvent` and `GenerateUrlError`: the attachment was refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttachmentFailure {
    /// The attachment's id, when given.
    pub attachment_id: String,
    /// 4001–4005, 4008–4010 (see [`attachment_error_name`]).
    #[serde(deserialize_with = "lenient::whole_or_zero")]
    pub error_code: i64,
    /// Human-readable text.
    pub error_message: String,
}

/// Body of `JwtResponse`: a JWT for the guest REST API (`Authorization: Bearer`). Its `Debug`
/// never shows the token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtResponse {
    /// The token. Secret: never printed.
    pub jwt: String,
    /// Expiry, in epoch seconds.
    #[serde(deserialize_with = "lenient::whole_or_zero")]
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

/// One page of the guest history REST call (`GET /api/v2/webmessaging/messages`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryPage {
    /// The messages, as sent (newest first, as far as is known). Kept as JSON: each is decoded
    /// on its own, so one odd entity does not lose the page.
    #[serde(deserialize_with = "lenient::list")]
    pub entities: Vec<Value>,
    /// The page size.
    pub page_size: Option<u64>,
    /// The page number (from 1).
    pub page_number: Option<u64>,
    /// How many messages there are in all.
    pub total: Option<u64>,
    /// How many pages there are.
    pub page_count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode_server_frame, frame_for_log};

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
}
