//! The frames the simulator sends for the session level of the protocol, built as plain JSON.
//!
//! These builders do not use the client library's serde types on purpose: what the simulator
//! sends is written down here, next to the capture it follows, so a mistake in
//! the client's types cannot hide in both sides at once.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The envelope of every server frame, in the field order of the captures.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    class: &'a str,
    code: i64,
    body: &'a Value,
    #[serde(rename = "tracingId", skip_serializing_if = "Option::is_none")]
    tracing_id: Option<&'a str>,
}

/// A `type: "response"` frame.
pub(crate) fn response(class: &str, code: i64, body: &Value, tracing_id: Option<&str>) -> String {
    envelope("response", class, code, body, tracing_id)
}

/// A `type: "message"` frame with code 200.
pub(crate) fn message(class: &str, body: &Value, tracing_id: Option<&str>) -> String {
    envelope("message", class, 200, body, tracing_id)
}

fn envelope(kind: &str, class: &str, code: i64, body: &Value, tracing_id: Option<&str>) -> String {
    let envelope = Envelope {
        kind,
        class,
        code,
        body,
        tracing_id,
    };
    // Serialising a `Value` body cannot fail.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// `{"type":"response","class":"string","code":…,"body":"…"}`.
pub(crate) fn string_error(code: i64, body: &str, tracing_id: Option<&str>) -> String {
    response("string", code, &Value::String(body.to_string()), tracing_id)
}

/// The captured 429: `{"type":"response","class":"TooManyRequestsErrorMessage","code":429,
/// "body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this
/// session"}}`, without a `tracingId` unless the flow asks for one.
pub(crate) fn too_many_requests(retry_after: u64, tracing_id: Option<&str>) -> String {
    let body = json!({
        "retryAfter": retry_after,
        "errorCode": 4029,
        "errorMessage": "Message rate too high for this session",
    });
    response("TooManyRequestsErrorMessage", 429, &body, tracing_id)
}

/// `{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}`.
pub(crate) fn connection_closed() -> String {
    message("ConnectionClosedEvent", &json!({}), None)
}

/// `{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}`.
pub(crate) fn session_cleared() -> String {
    message("SessionClearedEvent", &json!({}), None)
}

/// `{"type":"response","class":"SessionExpiredEvent","code":200,"body":{}}`.
pub(crate) fn session_expired_event() -> String {
    response("SessionExpiredEvent", 200, &json!({}), None)
}

/// `{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":…,"exp":…}}`.
pub(crate) fn jwt_response(jwt: &str, exp: i64, tracing_id: Option<&str>) -> String {
    response(
        "JwtResponse",
        200,
        &json!({"jwt": jwt, "exp": exp}),
        tracing_id,
    )
}

/// What a presigned URL response says about the file.
pub(crate) struct PresignedUrl<'a> {
    pub(crate) attachment_id: &'a str,
    pub(crate) url: &'a str,
    /// Headers the upload must carry (empty for a download URL).
    pub(crate) headers: Map<String, Value>,
    pub(crate) file_name: &'a str,
    pub(crate) file_type: &'a str,
    /// Given for a download URL (`getAttachment`), as Genesys' clients expect.
    pub(crate) file_size: Option<u64>,
}

/// `PresignedUrlResponse`: where to upload (or download) an attachment.
pub(crate) fn presigned_url(url: &PresignedUrl<'_>, tracing_id: Option<&str>) -> String {
    let mut body = json!({
        "attachmentId": url.attachment_id,
        "headers": url.headers,
        "url": url.url,
        "fileName": url.file_name,
        "fileType": url.file_type,
    });
    if let Some(size) = url.file_size {
        body["fileSize"] = json!(size);
    }
    response("PresignedUrlResponse", 200, &body, tracing_id)
}

/// `UploadSuccessEvent {attachmentId, downloadUrl, timestamp}`.
pub(crate) fn upload_success(attachment_id: &str, download_url: &str, timestamp: &str) -> String {
    message(
        "UploadSuccessEvent",
        &json!({"attachmentId": attachment_id, "downloadUrl": download_url, "timestamp": timestamp}),
        None,
    )
}

/// `UploadFailureEvent {attachmentId, errorCode, errorMessage, timestamp}`.
pub(crate) fn upload_failure(
    attachment_id: &str,
    error_code: i64,
    error_message: &str,
    timestamp: &str,
) -> String {
    message(
        "UploadFailureEvent",
        &json!({
            "attachmentId": attachment_id,
            "errorCode": error_code,
            "errorMessage": error_message,
            "timestamp": timestamp,
        }),
        None,
    )
}

/// `GenerateUrlError {attachmentId, errorCode, errorMessage}` (type `message`, as in the
/// mobile SDK's fixture).
pub(crate) fn generate_url_error(
    attachment_id: &str,
    error_code: i64,
    error_message: &str,
    tracing_id: Option<&str>,
) -> String {
    message(
        "GenerateUrlError",
        &json!({
            "attachmentId": attachment_id,
            "errorCode": error_code,
            "errorMessage": error_message,
        }),
        tracing_id,
    )
}

/// `AttachmentDeletedResponse {attachmentId}` (type `message`, as captured).
pub(crate) fn attachment_deleted(attachment_id: &str, tracing_id: Option<&str>) -> String {
    message(
        "AttachmentDeletedResponse",
        &json!({"attachmentId": attachment_id}),
        tracing_id,
    )
}

/// The current time as `channel.time` and event timestamps write it.
pub(crate) fn timestamp_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_429_is_the_captured_frame() {
        assert_eq!(
            too_many_requests(3, None),
            r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"errorCode":4029,"errorMessage":"Message rate too high for this session","retryAfter":3}}"#
        );
        let with = too_many_requests(3, Some("t-1"));
        assert!(with.ends_with(r#","tracingId":"t-1"}"#), "{with}");
    }

    #[test]
    fn string_errors_have_a_string_body() {
        assert_eq!(
            string_error(4007, "session not found error message", None),
            r#"{"type":"response","class":"string","code":4007,"body":"session not found error message"}"#
        );
    }
}
