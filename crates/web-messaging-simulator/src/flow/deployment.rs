//! The deployment-level keys of a bot flow: `messenger` (what `config.json` publishes and the
//! server enforces), `auth`, and `limits.rateLimit`.

use super::FlowError;
use super::raw::{RawAuth, RawDisconnectType, RawMessenger, RawRateLimit, RawStatus, at};

/// The deployment's Messenger configuration.
#[allow(
    clippy::struct_excessive_bools,
    reason = "one field per switch of the deployment configuration Genesys publishes"
)]
#[derive(Debug, Clone)]
pub(crate) struct Messenger {
    /// `messenger.enabled`: `false` refuses every `configureSession`.
    pub(crate) enabled: bool,
    /// `status: Active` (`false`: `Inactive`, refused like a disabled messenger).
    pub(crate) active: bool,
    /// `conversationDisconnect.enabled`.
    pub(crate) disconnect_enabled: bool,
    /// `conversationDisconnect.type: ReadOnly` (else `Send`): after the bot's Presence
    /// Disconnect the conversation is read-only.
    pub(crate) disconnect_read_only: bool,
    /// `conversationClear.enabled`: Presence `Clear` is honoured (else 403).
    pub(crate) clear_enabled: bool,
    /// `fileUpload.modes`: which files a guest may upload. Empty: none.
    pub(crate) upload_modes: Vec<UploadMode>,
    /// `fileUpload.blockedExtensions`, lower-case, each with its leading dot.
    pub(crate) blocked_extensions: Vec<String>,
}

impl Default for Messenger {
    fn default() -> Self {
        Messenger {
            enabled: true,
            active: true,
            disconnect_enabled: true,
            disconnect_read_only: true,
            clear_enabled: false,
            upload_modes: Vec::new(),
            blocked_extensions: default_blocked_extensions(),
        }
    }
}

/// One `fileUpload.modes` item: MIME types (`image/png`, `image/*`, `*/*`) up to a size.
#[derive(Debug, Clone)]
pub(crate) struct UploadMode {
    pub(crate) file_types: Vec<String>,
    pub(crate) max_file_size_kb: u64,
}

impl Messenger {
    /// The largest size, in KB, any mode allows for `file_type`; `None` when no mode takes it.
    pub(crate) fn max_kb_for(&self, file_type: &str) -> Option<u64> {
        self.upload_modes
            .iter()
            .filter(|mode| {
                mode.file_types
                    .iter()
                    .any(|pattern| mime_matches(pattern, file_type))
            })
            .map(|mode| mode.max_file_size_kb)
            .max()
    }

    /// The largest size of any mode, in KB (what `SessionResponse.allowedMedia` advertises).
    pub(crate) fn max_kb(&self) -> u64 {
        self.upload_modes
            .iter()
            .map(|mode| mode.max_file_size_kb)
            .max()
            .unwrap_or(0)
    }

    /// Whether `file_name` ends with a blocked extension.
    pub(crate) fn is_blocked(&self, file_name: &str) -> bool {
        let name = file_name.to_ascii_lowercase();
        self.blocked_extensions
            .iter()
            .any(|extension| name.ends_with(extension.as_str()))
    }
}

/// Whether a MIME type matches a pattern: exact (ignoring case and parameters), `type/*`, or
/// `*/*`.
pub(crate) fn mime_matches(pattern: &str, mime: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let pattern = pattern.trim().to_ascii_lowercase();
    if pattern == "*/*" || pattern == "*" {
        return mime.contains('/');
    }
    match pattern.strip_suffix("/*") {
        Some(kind) => mime
            .split_once('/')
            .is_some_and(|(k, sub)| k == kind && !sub.is_empty()),
        None => pattern == mime,
    }
}

/// Extensions blocked unless the flow gives its own list. Genesys' own list is not published
/// (a capture shows `.ade`); these are the usual executable and script types.
fn default_blocked_extensions() -> Vec<String> {
    [
        ".ade", ".adp", ".bat", ".chm", ".cmd", ".com", ".cpl", ".dll", ".exe", ".hta", ".jar",
        ".js", ".jse", ".lnk", ".msi", ".msp", ".ps1", ".scr", ".sh", ".vbs", ".wsf",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Authenticated sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Auth {
    /// `auth.enabled`: `configureAuthenticatedSession` is served (and published).
    pub(crate) enabled: bool,
    /// The `data.code` values accepted; any other gets 401.
    pub(crate) valid_codes: Vec<String>,
}

/// The `onMessage` rate limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimit {
    /// `onMessage` requests per session in any rolling second; `0`: no limit.
    pub(crate) messages_per_second: u32,
    /// `retryAfter` of the 429, in seconds.
    pub(crate) retry_after_seconds: u64,
    /// Whether the 429 carries the request's `tracingId` (the captured frame has none).
    pub(crate) tracing_id: bool,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            messages_per_second: 2,
            retry_after_seconds: 3,
            tracing_id: false,
        }
    }
}

/// The largest `maxFileSizeKB` (100 MiB): bytes are kept in memory.
const MAX_FILE_SIZE_KB: u64 = 100 * 1024;
/// The largest `retryAfterSeconds`.
const MAX_RETRY_AFTER_SECONDS: u64 = 3600;

pub(super) fn compile_messenger(
    raw: Option<RawMessenger>,
    file: &str,
) -> Result<Messenger, FlowError> {
    let mut messenger = Messenger::default();
    let Some(raw) = raw else {
        return Ok(messenger);
    };
    messenger.enabled = raw.enabled.unwrap_or(true);
    messenger.active = raw.status.is_none_or(|s| s == RawStatus::Active);
    if let Some(disconnect) = raw.conversation_disconnect {
        messenger.disconnect_enabled = disconnect.enabled.unwrap_or(true);
        messenger.disconnect_read_only = messenger.disconnect_enabled
            && disconnect
                .kind
                .is_none_or(|k| k == RawDisconnectType::ReadOnly);
    }
    if let Some(clear) = raw.conversation_clear {
        messenger.clear_enabled = clear.enabled;
    }
    if let Some(upload) = raw.file_upload {
        for (i, mode) in upload.modes.into_iter().enumerate() {
            let key = format!("messenger.fileUpload.modes[{i}]");
            if mode.file_types.value.is_empty()
                || mode.file_types.value.iter().any(|t| t.trim().is_empty())
            {
                return Err(at(
                    file,
                    &mode.file_types.referenced,
                    format!("{key}.fileTypes"),
                    "needs MIME types such as `image/png`, `image/*` or `*/*`, none empty".into(),
                ));
            }
            let size = mode.max_file_size_kb;
            if size.value == 0 || size.value > MAX_FILE_SIZE_KB {
                return Err(at(
                    file,
                    &size.referenced,
                    format!("{key}.maxFileSizeKB"),
                    format!("must be from 1 to {MAX_FILE_SIZE_KB} (got {})", size.value),
                ));
            }
            messenger.upload_modes.push(UploadMode {
                file_types: mode.file_types.value,
                max_file_size_kb: size.value,
            });
        }
        if let Some(blocked) = upload.blocked_extensions {
            messenger.blocked_extensions = blocked
                .iter()
                .map(|e| {
                    let e = e.trim().to_ascii_lowercase();
                    if e.starts_with('.') {
                        e
                    } else {
                        format!(".{e}")
                    }
                })
                .filter(|e| e.len() > 1)
                .collect();
        }
    }
    Ok(messenger)
}

pub(super) fn compile_auth(raw: Option<RawAuth>) -> Auth {
    raw.map(|raw| Auth {
        enabled: raw.enabled,
        valid_codes: raw.valid_codes,
    })
    .unwrap_or_default()
}

pub(super) fn compile_rate_limit(
    raw: Option<RawRateLimit>,
    file: &str,
) -> Result<RateLimit, FlowError> {
    let mut limit = RateLimit::default();
    let Some(raw) = raw else {
        return Ok(limit);
    };
    if let Some(n) = raw.messages_per_second {
        limit.messages_per_second = n;
    }
    if let Some(retry) = raw.retry_after_seconds {
        if retry.value > MAX_RETRY_AFTER_SECONDS {
            return Err(at(
                file,
                &retry.referenced,
                "limits.rateLimit.retryAfterSeconds".into(),
                format!(
                    "is too large: at most {MAX_RETRY_AFTER_SECONDS} (got {})",
                    retry.value
                ),
            ));
        }
        limit.retry_after_seconds = retry.value;
    }
    if let Some(tracing_id) = raw.tracing_id {
        limit.tracing_id = tracing_id;
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::mime_matches;

    #[test]
    fn mime_patterns() {
        assert!(mime_matches("image/png", "IMAGE/PNG"));
        assert!(mime_matches("image/png", "image/png; charset=binary"));
        assert!(mime_matches("image/*", "image/jpeg"));
        assert!(!mime_matches("image/*", "video/mp4"));
        assert!(mime_matches("*/*", "application/pdf"));
        assert!(!mime_matches("*/*", "nonsense"));
        assert!(!mime_matches("image/png", "image/jpeg"));
    }
}
