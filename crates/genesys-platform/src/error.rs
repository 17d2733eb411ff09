//! What can go wrong with a Platform API call. No variant ever holds a token, a secret or a
//! response body's prose (a login server may quote the request): only statuses, short codes
//! that look like identifiers, paths and plain descriptions.

use std::time::Duration;

/// A Platform API call that did not give what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The server answered with an error status.
    #[error("{method} {path}: HTTP {status}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        /// The request's method.
        method: String,
        /// The request's path (no query, no host).
        path: String,
        /// The HTTP status.
        status: u16,
        /// Genesys' `code` (`missing.any.permissions`, `not.found`) or OAuth's `error`, when
        /// it looks like an identifier.
        code: Option<String>,
    },
    /// No answer in time (after every retry).
    #[error("{method} {path}: no answer within {} s", .after.as_secs_f64())]
    Timeout {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
        /// The time limit of the call.
        after: Duration,
    },
    /// The server could not be reached, or the exchange broke (after every retry).
    #[error("{method} {path}: {reason}")]
    Transport {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
        /// What happened, in plain words.
        reason: String,
    },
    /// A 2xx answer that is not the JSON the API returns.
    #[error("{method} {path}: the answer is not what the API returns ({reason})")]
    Garbage {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
        /// The decoding error (never the body).
        reason: String,
    },
    /// The client cannot be built (bad base URL, TLS set-up).
    #[error("{0}")]
    Config(String),
}

impl PlatformError {
    /// The HTTP status, for [`PlatformError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            PlatformError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Genesys' error code, for [`PlatformError::Status`].
    pub fn code(&self) -> Option<&str> {
        match self {
            PlatformError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// A 404 (`not.found`): unknown id, or analytics not indexed yet.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// A 403 `missing.any.permissions` (or any 403).
    pub fn is_missing_permission(&self) -> bool {
        self.status() == Some(403)
    }
}

/// An error body's code (`not.found`, `invalid_client`), when it looks like one: short, one
/// word of letters, digits and `._-`. Anything else (a sentence, an echo) is left out.
pub fn error_code(value: &str) -> Option<String> {
    let value = value.trim();
    let looks_like_a_code = !value.is_empty()
        && value.chars().count() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    looks_like_a_code.then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_identifiers_only() {
        assert_eq!(
            error_code("missing.any.permissions").as_deref(),
            Some("missing.any.permissions")
        );
        assert_eq!(error_code("bad secret s3cr3t"), None);
        assert_eq!(error_code(""), None);
        assert_eq!(error_code(&"x".repeat(65)), None);
    }

    #[test]
    fn display_names_the_call_and_code() {
        let e = PlatformError::Status {
            method: "GET".into(),
            path: "/api/v2/x".into(),
            status: 403,
            code: Some("missing.any.permissions".into()),
        };
        assert_eq!(
            e.to_string(),
            "GET /api/v2/x: HTTP 403 missing.any.permissions"
        );
        assert!(e.is_missing_permission());
    }
}
