//! Attachments from the guest to the bot, uploaded as Genesys' Messenger does:
//! `onAttachment` → `PresignedUrlResponse` → HTTP `PUT` of the bytes to the presigned URL
//! → `UploadSuccessEvent` → `onMessage` with the attachment's id.
//!
//! Type and size are checked first against every limit known: the session's
//! (`SessionResponse.allowedMedia.inbound`, `blockedExtensions`) and the caller's
//! ([`crate::SessionConfig::attachment_limits`], e.g. the deployment's `fileUpload.modes`).
//! Genesys' refusals (4001–4005, 4008–4010) are reported by their documented names.

use crate::conversation::{Conversation, SayError, later, short_duration};
use crate::lifecycle::{Answer, Replies, bounded_body, excerpt, http_client, wait_for};
use crate::log::{Closed, Received};
use crate::protocol::{
    AttachmentFailure, ClientRequest, IncomingMessage, LifecycleEvent, PresignedUrlResponse,
    SessionMediaLimits, StructuredMessage, attachment_content, attachment_error_name,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The largest attachment this library reads and uploads (100 MiB): a bound on memory, not a
/// Genesys limit (Genesys' limits come from the deployment and the session).
pub const MAX_ATTACHMENT_BYTES: u64 = 100 << 20;

/// Upload limits: a file is accepted when one mode accepts its type and size, and its
/// extension is not blocked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttachmentLimits {
    /// The accepted types with their size limits (the deployment's `fileUpload.modes`, or the
    /// session's `allowedMedia.inbound`). Empty: any type, any size (up to
    /// [`MAX_ATTACHMENT_BYTES`]).
    pub modes: Vec<UploadMode>,
    /// Refused extensions, e.g. `.exe` (with or without the dot, any case).
    pub blocked_extensions: Vec<String>,
}

/// One accepted set of types with its size limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadMode {
    /// MIME types: exact (`image/png`), a family (`image/*`) or anything (`*/*`).
    pub file_types: Vec<String>,
    /// Largest file, in KB of 1024 bytes; `None`: no limit.
    pub max_file_size_kb: Option<u64>,
}

impl AttachmentLimits {
    /// The limits a `SessionResponse` announced (`None` when it announced none).
    pub fn from_session(limits: &SessionMediaLimits) -> Option<AttachmentLimits> {
        let inbound = limits
            .allowed_media
            .as_ref()
            .and_then(|m| m.inbound.as_ref());
        if inbound.is_none() && limits.blocked_extensions.is_empty() {
            return None;
        }
        Some(AttachmentLimits {
            modes: inbound
                .map(|inbound| {
                    vec![UploadMode {
                        file_types: inbound.file_types.iter().map(|t| t.kind.clone()).collect(),
                        max_file_size_kb: inbound.max_file_size_kb,
                    }]
                })
                .unwrap_or_default(),
            blocked_extensions: limits.blocked_extensions.clone(),
        })
    }

    /// Whether a file of this name, type and size may be sent.
    pub fn check(
        &self,
        file_name: &str,
        media_type: &str,
        size: u64,
    ) -> Result<(), AttachmentError> {
        if let Some(extension) = extension_of(file_name)
            && self.blocked_extensions.iter().any(|blocked| {
                blocked
                    .trim_start_matches('.')
                    .eq_ignore_ascii_case(&extension)
            })
        {
            return Err(AttachmentError::BlockedExtension {
                file_name: file_name.to_string(),
                extension: format!(".{extension}"),
            });
        }
        if self.modes.is_empty() {
            return Ok(());
        }
        let mut size_limit = None;
        for mode in &self.modes {
            let type_ok = mode.file_types.is_empty()
                || mode.file_types.iter().any(|t| type_matches(t, media_type));
            if !type_ok {
                continue;
            }
            match mode.max_file_size_kb {
                Some(kb) if size > kb.saturating_mul(1024) => {
                    size_limit = Some(size_limit.map_or(kb, |k: u64| k.max(kb)));
                }
                _ => return Ok(()),
            }
        }
        match size_limit {
            Some(kb) => Err(AttachmentError::TooLarge {
                file_name: file_name.to_string(),
                size,
                max: kb.saturating_mul(1024),
            }),
            None => Err(AttachmentError::TypeNotAllowed {
                file_name: file_name.to_string(),
                media_type: media_type.to_string(),
                allowed: self
                    .modes
                    .iter()
                    .flat_map(|m| m.file_types.iter().cloned())
                    .collect(),
            }),
        }
    }
}

fn extension_of(file_name: &str) -> Option<String> {
    let (stem, extension) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !extension.is_empty()).then(|| extension.to_ascii_lowercase())
}

fn type_matches(pattern: &str, media_type: &str) -> bool {
    // Ignoring case and parameters: `image/png; charset=binary` is `image/png`.
    let clean = |s: &str| {
        s.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let (pattern, media_type) = (clean(pattern), clean(media_type));
    if pattern == "*/*" || pattern == "*" || pattern == media_type {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(family) => media_type.split_once('/').is_some_and(|(f, _)| f == family),
        None => false,
    }
}

/// The MIME type of a file name's extension (common document, image, audio and video types);
/// `application/octet-stream` otherwise.
pub fn guess_media_type(file_name: &str) -> &'static str {
    match extension_of(file_name).as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("bmp") => "image/bmp",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("zip") => "application/zip",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xls") => "application/vnd.ms-excel",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("ppt") => "application/vnd.ms-powerpoint",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("mp4") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("3gp") => "video/3gpp",
        _ => "application/octet-stream",
    }
}

/// A file to send.
#[derive(Clone, PartialEq)]
pub struct Attachment {
    /// The name Genesys is told (`fileName`).
    pub file_name: String,
    /// The MIME type (`fileType`, and the upload's `Content-Type`).
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Attachment {
    /// A file from memory.
    pub fn new(
        file_name: impl Into<String>,
        media_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Attachment {
        Attachment {
            file_name: file_name.into(),
            media_type: media_type.into(),
            bytes,
        }
    }

    /// Reads a file (at most [`MAX_ATTACHMENT_BYTES`]); the type is `media_type`, else guessed
    /// from the extension.
    pub fn from_path(path: &Path, media_type: Option<&str>) -> Result<Attachment, AttachmentError> {
        let size = check_file(path)?;
        let read_error = |reason: String| AttachmentError::Read {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| read_error(e.to_string()))?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(e.to_string()))?;
        let file_name = file_name_of(path);
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge {
                file_name,
                size: bytes.len() as u64,
                max: MAX_ATTACHMENT_BYTES,
            });
        }
        let media_type = media_type
            .map(str::to_string)
            .unwrap_or_else(|| guess_media_type(&file_name).to_string());
        Ok(Attachment {
            file_name,
            media_type,
            bytes,
        })
    }
}

/// The name of a path's last component.
pub fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

/// Checks, without reading it all, that a file exists, is a regular readable file, and is at
/// most [`MAX_ATTACHMENT_BYTES`]. Returns its size.
pub fn check_file(path: &Path) -> Result<u64, AttachmentError> {
    let read_error = |reason: String| AttachmentError::Read {
        path: path.display().to_string(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?;
    if !metadata.is_file() {
        return Err(read_error("not a regular file".into()));
    }
    std::fs::File::open(path).map_err(|e| read_error(e.to_string()))?;
    if metadata.len() > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge {
            file_name: file_name_of(path),
            size: metadata.len(),
            max: MAX_ATTACHMENT_BYTES,
        });
    }
    Ok(metadata.len())
}

/// Why an attachment could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// The file could not be read.
    #[error("cannot read the attachment {path}: {reason}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is larger than a limit.
    #[error(
        "the attachment '{file_name}' is {} bytes, over the limit of {} bytes",
        size,
        max
    )]
    TooLarge {
        /// The file's name.
        file_name: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// The file's type is not accepted.
    #[error("the attachment '{file_name}' has type {media_type}, which is not accepted (accepted: {})", allowed.join(", "))]
    TypeNotAllowed {
        /// The file's name.
        file_name: String,
        /// Its type.
        media_type: String,
        /// The accepted types.
        allowed: Vec<String>,
    },
    /// The file's extension is blocked.
    #[error("the attachment '{file_name}' has the blocked extension {extension}")]
    BlockedExtension {
        /// The file's name.
        file_name: String,
        /// The extension, with its dot.
        extension: String,
    },
    /// Genesys refused the attachment (`GenerateUrlError`, `UploadFailureEvent`, or an error
    /// response).
    #[error("Genesys refused the attachment '{file_name}' {stage} with {}: {message}", match name { Some(name) => format!("{name} ({code})"), None => format!("error {code}") })]
    Rejected {
        /// The file's name.
        file_name: String,
        /// When: `when asked for an upload URL` or `after the upload`.
        stage: &'static str,
        /// The error code.
        code: i64,
        /// Genesys' name for it (`FileTypeInvalid`, `FileSizeInvalid`, ...), when documented.
        name: Option<&'static str>,
        /// The server's text.
        message: String,
    },
    /// The `PUT` to the presigned URL failed.
    #[error("uploading the attachment '{file_name}' failed: {reason}")]
    Upload {
        /// The file's name.
        file_name: String,
        /// Why.
        reason: String,
    },
    /// Genesys did not answer in time.
    #[error("Genesys did not send {waiting_for} for the attachment '{file_name}' within {}", short_duration(*timeout))]
    TimedOut {
        /// The file's name.
        file_name: String,
        /// What was awaited.
        waiting_for: &'static str,
        /// The time limit.
        timeout: Duration,
    },
    /// The socket closed during the upload.
    #[error("{closed} while sending the attachment '{file_name}'")]
    Closed {
        /// The file's name.
        file_name: String,
        /// Why the socket is gone.
        closed: Closed,
    },
    /// The message carrying the attachment could not be sent.
    #[error(transparent)]
    Send(#[from] SayError),
    /// The server answered with something Genesys does not document here.
    #[error("sending the attachment '{file_name}': expected {expected}, but Genesys sent {got}")]
    Unexpected {
        /// The file's name.
        file_name: String,
        /// What was expected.
        expected: &'static str,
        /// What came.
        got: String,
    },
}

impl AttachmentError {
    /// Genesys' name of the refusal (`FileTypeInvalid`, ...), when Genesys refused it.
    pub fn genesys_name(&self) -> Option<&'static str> {
        match self {
            AttachmentError::Rejected { name, .. } => *name,
            _ => None,
        }
    }
}

/// Largest body read from the upload's answer.
const MAX_UPLOAD_ANSWER: usize = 64 << 10;

enum UrlAnswer {
    Url(PresignedUrlResponse),
    Failed(AttachmentFailure),
    Refused(i64, String),
    Malformed(String, Value),
}

enum UploadAnswer {
    Done,
    Failed(AttachmentFailure),
    Malformed(String, Value),
}

impl Conversation {
    /// Every upload limit known: the caller's and the session's.
    pub fn attachment_limits(&self) -> Vec<AttachmentLimits> {
        let mut limits = Vec::new();
        if let Some(own) = &self.session().config().attachment_limits {
            limits.push(own.clone());
        }
        if let Some(body) = self.session().replies().session_body()
            && let Some(session) =
                AttachmentLimits::from_session(&SessionMediaLimits::from_session_body(&body))
        {
            limits.push(session);
        }
        limits
    }

    /// Sends a file as the guest, with optional text: checks it against every known limit,
    /// asks for an upload URL (`onAttachment`), uploads the bytes (`PUT` with Genesys' headers
    /// and `Content-Type`), waits for `UploadSuccessEvent`, then sends the `onMessage` carrying
    /// the attachment (paced like `say`). `timeout` bounds each wait and the upload. Returns
    /// the attachment's id.
    pub async fn send_attachment(
        &mut self,
        attachment: &Attachment,
        text: Option<&str>,
        timeout: Duration,
    ) -> Result<String, AttachmentError> {
        let file_name = attachment.file_name.clone();
        let size = attachment.bytes.len() as u64;
        if size > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge {
                file_name,
                size,
                max: MAX_ATTACHMENT_BYTES,
            });
        }
        for limits in self.attachment_limits() {
            limits.check(&file_name, &attachment.media_type, size)?;
        }
        if let Some(closed) = self.log().snapshot().closed {
            return Err(AttachmentError::Closed { file_name, closed });
        }

        // 1. The upload URL.
        let attachment_id = uuid::Uuid::new_v4().to_string();
        let replies = Arc::clone(self.session().replies());
        let mark = replies.mark();
        self.session()
            .send(ClientRequest::OnAttachment {
                token: self.session().token().to_string(),
                attachment_id: Some(attachment_id.clone()),
                file_name: file_name.clone(),
                file_type: attachment.media_type.clone(),
                file_size: size,
                errors_as_json: Some(true),
                tracing_id: Some(uuid::Uuid::new_v4().to_string()),
            })
            .await
            .map_err(|e| AttachmentError::Send(SayError::Send(e)))?;
        let presigned = self
            .await_upload_url(&replies, mark, &file_name, timeout)
            .await?;
        // Genesys' id, when it gives one, names the attachment from here on.
        let attachment_id = if presigned.attachment_id.is_empty() {
            attachment_id
        } else {
            presigned.attachment_id.clone()
        };

        // 2. The upload. (Its verdict is looked for from the first mark on, matched by id: a
        // verdict that raced ahead of the upload is not missed.)
        self.upload(&presigned, attachment, timeout).await?;

        // 3. Genesys' verdict on the uploaded file.
        self.await_upload_verdict(&replies, mark, &file_name, &attachment_id, timeout)
            .await?;

        // 4. The message carrying it.
        let message = IncomingMessage {
            kind: "Text".into(),
            text: text.filter(|t| !t.is_empty()).map(str::to_string),
            content: vec![attachment_content(&attachment_id)],
            ..IncomingMessage::default()
        };
        self.attachment_names
            .insert(attachment_id.clone(), file_name.clone());
        self.send_paced(message).await?;
        Ok(attachment_id)
    }

    /// Step 1 of [`Conversation::send_attachment`]: Genesys' answer to `onAttachment`.
    async fn await_upload_url(
        &mut self,
        replies: &Replies,
        mark: u64,
        file_name: &str,
        timeout: Duration,
    ) -> Result<PresignedUrlResponse, AttachmentError> {
        let deadline = later(Instant::now(), timeout);
        let answer = wait_for(self.session().log(), deadline, || {
            replies.find(mark, |answer| match answer {
                Answer::Event(LifecycleEvent::PresignedUrl(url), _) => {
                    Some(UrlAnswer::Url(url.clone()))
                }
                Answer::Event(LifecycleEvent::GenerateUrlFailed(failure), _)
                | Answer::Event(LifecycleEvent::UploadFailed(failure), _) => {
                    Some(UrlAnswer::Failed(failure.clone()))
                }
                Answer::Event(LifecycleEvent::Malformed { class, body }, _) => {
                    Some(UrlAnswer::Malformed(class.clone(), body.clone()))
                }
                Answer::Error { code, message, .. } => {
                    Some(UrlAnswer::Refused(*code, message.clone()))
                }
                _ => None,
            })
        })
        .await;
        match answer {
            Ok(UrlAnswer::Url(url)) => Ok(url),
            Ok(UrlAnswer::Failed(failure)) => {
                Err(rejected(file_name, "when asked for an upload URL", failure))
            }
            Ok(UrlAnswer::Refused(code, message)) => {
                self.consume_fault(code, &message);
                Err(rejected(
                    file_name,
                    "when asked for an upload URL",
                    AttachmentFailure {
                        attachment_id: String::new(),
                        error_code: code,
                        error_message: message,
                    },
                ))
            }
            Ok(UrlAnswer::Malformed(class, body)) => Err(unexpected(
                file_name,
                "a PresignedUrlResponse",
                &class,
                &body,
            )),
            Err(closed) => Err(unanswered(
                file_name,
                "a PresignedUrlResponse",
                timeout,
                closed,
            )),
        }
    }

    /// Step 3 of [`Conversation::send_attachment`]: Genesys' verdict on the uploaded file.
    async fn await_upload_verdict(
        &self,
        replies: &Replies,
        mark: u64,
        file_name: &str,
        attachment_id: &str,
        timeout: Duration,
    ) -> Result<(), AttachmentError> {
        let answer = wait_for(self.session().log(), later(Instant::now(), timeout), || {
            replies.find(mark, |answer| match answer {
                Answer::Event(LifecycleEvent::UploadSucceeded(success), _)
                    if success.attachment_id.is_empty()
                        || success.attachment_id == attachment_id =>
                {
                    Some(UploadAnswer::Done)
                }
                Answer::Event(LifecycleEvent::UploadFailed(failure), _)
                | Answer::Event(LifecycleEvent::GenerateUrlFailed(failure), _)
                    if failure.attachment_id.is_empty()
                        || failure.attachment_id == attachment_id =>
                {
                    Some(UploadAnswer::Failed(failure.clone()))
                }
                Answer::Event(LifecycleEvent::Malformed { class, body }, _) => {
                    Some(UploadAnswer::Malformed(class.clone(), body.clone()))
                }
                _ => None,
            })
        })
        .await;
        match answer {
            Ok(UploadAnswer::Done) => Ok(()),
            Ok(UploadAnswer::Failed(failure)) => {
                Err(rejected(file_name, "after the upload", failure))
            }
            Ok(UploadAnswer::Malformed(class, body)) => Err(unexpected(
                file_name,
                "an UploadSuccessEvent",
                &class,
                &body,
            )),
            Err(closed) => Err(unanswered(
                file_name,
                "an UploadSuccessEvent",
                timeout,
                closed,
            )),
        }
    }

    /// The `PUT` of the bytes to the presigned URL, with every header Genesys gave plus
    /// `Content-Type`.
    async fn upload(
        &self,
        presigned: &PresignedUrlResponse,
        attachment: &Attachment,
        timeout: Duration,
    ) -> Result<(), AttachmentError> {
        let failed = |reason: String| AttachmentError::Upload {
            file_name: attachment.file_name.clone(),
            reason,
        };
        let url = reqwest::Url::parse(&presigned.url)
            .map_err(|e| failed(format!("the presigned URL is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(failed(format!(
                "the presigned URL has scheme {}, not http(s)",
                url.scheme()
            )));
        }
        let client = http_client(self.session(), timeout).map_err(failed)?;
        let mut request = client.put(url);
        for (name, value) in &presigned.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| failed(format!("Genesys gave an invalid header name '{name}'")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| failed(format!("Genesys gave an invalid value for header {name}")))?;
            request = request.header(name, value);
        }
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                attachment.media_type.as_str(),
            )
            .body(attachment.bytes.clone())
            .send()
            .await
            .map_err(|e| {
                // The presigned URL's query is a credential: never shown.
                failed(e.without_url().to_string())
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = bounded_body(response, MAX_UPLOAD_ANSWER)
            .await
            .unwrap_or_default();
        Err(failed(format!(
            "the upload URL answered HTTP {status}{}",
            if body.is_empty() {
                String::new()
            } else {
                format!(": {}", excerpt(&body))
            }
        )))
    }
}

/// A wait for Genesys' answer about `file_name` that ended without it: the socket closed, or
/// `timeout` passed.
fn unanswered(
    file_name: &str,
    waiting_for: &'static str,
    timeout: Duration,
    closed: Option<Closed>,
) -> AttachmentError {
    let file_name = file_name.to_string();
    match closed {
        Some(closed) => AttachmentError::Closed { file_name, closed },
        None => AttachmentError::TimedOut {
            file_name,
            waiting_for,
            timeout,
        },
    }
}

/// A frame of the class that should have answered, whose body could not be read.
fn unexpected(
    file_name: &str,
    expected: &'static str,
    class: &str,
    body: &Value,
) -> AttachmentError {
    AttachmentError::Unexpected {
        file_name: file_name.to_string(),
        expected,
        got: format!("{class} {}", excerpt(body.to_string().as_bytes())),
    }
}

fn rejected(file_name: &str, stage: &'static str, failure: AttachmentFailure) -> AttachmentError {
    AttachmentError::Rejected {
        file_name: file_name.to_string(),
        stage,
        code: failure.error_code,
        name: attachment_error_name(failure.error_code),
        message: failure.error_message,
    }
}

/// The labels of a message's attachments, e.g. `[attachment: photo.png]` (the file name, else
/// the id).
pub fn attachment_labels(message: &StructuredMessage) -> Vec<String> {
    message
        .content
        .iter()
        .filter(|c| c.content_type == "Attachment")
        .filter_map(|c| c.attachment.as_ref())
        .map(|a| {
            let name = [a.filename.as_deref(), a.id.as_deref()]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
                .unwrap_or("unnamed");
            match a.mime.as_deref().or(a.media_type.as_deref()) {
                Some(kind) => format!("[attachment: {name} ({kind})]"),
                None => format!("[attachment: {name}]"),
            }
        })
        .collect()
}

/// The messages, with the names of attachments this guest sent filled in where Genesys' echo
/// carries only the id.
pub(crate) fn with_attachment_names(
    messages: Vec<Arc<Received>>,
    names: &HashMap<String, String>,
) -> Vec<Arc<Received>> {
    if names.is_empty() {
        return messages;
    }
    messages
        .into_iter()
        .map(|received| {
            let needs_name = received.message.content.iter().any(|c| {
                c.attachment.as_ref().is_some_and(|a| {
                    a.filename.is_none() && a.id.as_deref().is_some_and(|id| names.contains_key(id))
                })
            });
            if !needs_name {
                return received;
            }
            let mut copy = (*received).clone();
            for content in &mut copy.message.content {
                if let Some(a) = &mut content.attachment
                    && a.filename.is_none()
                    && let Some(name) = a.id.as_deref().and_then(|id| names.get(id)).cloned()
                {
                    a.filename = Some(name);
                }
            }
            Arc::new(copy)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(types: &[&str], kb: Option<u64>) -> AttachmentLimits {
        AttachmentLimits {
            modes: vec![UploadMode {
                file_types: types.iter().map(ToString::to_string).collect(),
                max_file_size_kb: kb,
            }],
            blocked_extensions: vec![".ade".into(), "EXE".into()],
        }
    }

    #[test]
    fn checks_type_size_and_extension() {
        let l = limits(&["image/png", "video/*"], Some(1));
        assert!(l.check("a.png", "image/png", 1024).is_ok());
        assert!(l.check("a.mp4", "video/mp4", 10).is_ok());
        assert!(matches!(
            l.check("a.png", "image/png", 1025),
            Err(AttachmentError::TooLarge { max: 1024, .. })
        ));
        assert!(matches!(
            l.check("a.pdf", "application/pdf", 1),
            Err(AttachmentError::TypeNotAllowed { .. })
        ));
        assert!(matches!(
            l.check("setup.exe", "image/png", 1),
            Err(AttachmentError::BlockedExtension { .. })
        ));
        assert!(
            limits(&["*/*"], None)
                .check("a.bin", "x/y", u64::MAX)
                .is_ok()
        );
        assert_eq!(guess_media_type("Photo.JPG"), "image/jpeg");
        assert_eq!(guess_media_type("noext"), "application/octet-stream");
    }

    #[test]
    fn names_attachments_in_echoes() {
        let message: StructuredMessage = serde_json::from_str(
            r#"{"id":"1","type":"Text","direction":"Inbound","content":[{"contentType":"Attachment","attachment":{"id":"abc"}}]}"#,
        )
        .unwrap();
        assert_eq!(attachment_labels(&message), ["[attachment: abc]"]);
        let received = Arc::new(Received {
            message,
            time: jiff::Timestamp::now(),
            received_at: Instant::now(),
            arrival: 0,
            arrived_out_of_order: false,
            clamped_time: None,
            tracing_id: None,
        });
        let names = HashMap::from([("abc".to_string(), "photo.png".to_string())]);
        let named = with_attachment_names(vec![received], &names);
        assert_eq!(
            attachment_labels(&named[0].message),
            ["[attachment: photo.png]"]
        );
    }

    #[test]
    fn mime_patterns() {
        assert!(type_matches("*/*", "video/3gpp"));
        assert!(type_matches("image/*", "IMAGE/PNG"));
        assert!(type_matches("image/png", "image/png; charset=binary"));
        assert!(!type_matches("image/*", "video/mp4"));
        assert!(!type_matches("image/png", "image/jpeg"));
    }
}
