//! The errors the server reports on the socket, and what Genesys' codes mean.

use super::lenient;
use serde::{Deserialize, Serialize};

/// Body of `TooManyRequestsErrorMessage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TooManyRequests {
    /// Seconds to wait before sending again (a number, possibly fractional and then rounded
    /// up, or a string holding one).
    #[serde(deserialize_with = "lenient::seconds")]
    pub retry_after: u64,
    /// 4029.
    #[serde(deserialize_with = "lenient::code_or_zero")]
    pub error_code: i64,
    /// Human-readable text.
    #[serde(deserialize_with = "lenient::string")]
    pub error_message: String,
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
