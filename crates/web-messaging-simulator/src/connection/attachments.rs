//! Attachments: `onAttachment` (the deployment's file checks, then a presigned upload URL on
//! the simulator's own port), `getAttachment`, `deleteAttachment`, and the attachments of a
//! guest message.

use super::machine::{Machine, Out};
use super::outgoing::{attachment_not_found, bad_request, string_error};
use crate::frames;
use crate::rest;
use crate::session::SessionState;
use serde_json::{Map, Value};
use uuid::Uuid;

/// documented).
const MAX_FILE_NAME_CHARS: usize = 255;

impl Machine {
    /// The deployment's checks of a file to upload: its name, extension, type and size.
    /// The most bytes it may have, or the refusal's code and message.
    fn check_file(
        &self,
        file_name: &str,
        file_type: &str,
        file_size: u64,
    ) -> Result<u64, (i64, String)> {
        let messenger = &self.shared.flow.messenger;
        if file_name.trim().is_empty()
            || file_name.contains(['/', '\\'])
            || file_name.chars().any(char::is_control)
        {
            return Err((4004, "FileNameInvalid: the file name is not valid".into()));
        }
        if file_name.chars().count() > MAX_FILE_NAME_CHARS {
            return Err((
                4005,
                format!(
                    "FileNameTooLong: the file name is longer than {MAX_FILE_NAME_CHARS} characters"
                ),
            ));
        }
        if messenger.is_blocked(file_name) {
            return Err((
                4001,
                "FileTypeInvalid: files with this extension are blocked".into(),
            ));
        }
        let Some(max_kb) = messenger.max_kb_for(file_type) else {
            return Err((
                4001,
                format!("FileTypeInvalid: {file_type} is not an allowed file type"),
            ));
        };
        let max_bytes = max_kb.saturating_mul(1024);
        if file_size > max_bytes {
            return Err((
                4002,
                format!("FileSizeInvalid: the file is larger than {max_kb} KB"),
            ));
        }
        Ok(max_bytes)
    }

    /// A guest message's content with its attachments resolved: each must have been uploaded
    /// by this session (4010 otherwise), and its echo describes the file. Also whether the
    /// message has an attachment at all.
    pub(super) fn attach_uploads(
        &self,
        state: &SessionState,
        content: &[Value],
        tracing: Option<&str>,
    ) -> Result<(Vec<Value>, bool), Out> {
        let shared = &self.shared;
        let mut content = content.to_vec();
        let mut has_attachment = false;
        let attachment_ids: Vec<String> = content
            .iter()
            .filter(|c| c.get("contentType").and_then(Value::as_str) == Some("Attachment"))
            .map(|c| {
                c.pointer("/attachment/id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        for id in &attachment_ids {
            let uploaded = shared
                .uploads
                .get(id)
                .is_some_and(|u| u.session_id == state.id && u.bytes().is_some());
            if !uploaded {
                return Err(string_error(
                    4010,
                    "AttachmentNotSuccessfullyUploaded: the attachment was not uploaded",
                    tracing,
                ));
            }
        }
        for item in &mut content {
            if item.get("contentType").and_then(Value::as_str) != Some("Attachment") {
                continue;
            }
            has_attachment = true;
            let id = item
                .pointer("/attachment/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let (Some(upload), Some(Value::Object(attachment))) = (
                shared.uploads.send(&id, state.id),
                item.get_mut("attachment"),
            ) else {
                continue;
            };
            // What the echo says of the file is inferred: what was declared and uploaded.
            let size = upload.bytes().map_or(0, |b| b.len());
            attachment
                .entry("filename")
                .or_insert_with(|| upload.file_name.clone().into());
            attachment
                .entry("mime")
                .or_insert_with(|| upload.file_type.clone().into());
            attachment
                .entry("mediaType")
                .or_insert_with(|| media_type(&upload.file_type).into());
            attachment.entry("fileSize").or_insert_with(|| size.into());
            if let Some(url) = upload.download_url {
                attachment.entry("url").or_insert_with(|| url.into());
            }
        }
        Ok((content, has_attachment))
    }

    /// `getAttachment`: a download URL for a file this session uploaded.
    pub(super) fn get_attachment(
        &self,
        session_id: u64,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        let id = attachment_id(request);
        let found = self.shared.uploads.get(id).filter(|u| {
            u.session_id == session_id && u.bytes().is_some() && u.download_url.is_some()
        });
        let Some(upload) = found else {
            return vec![attachment_not_found(tracing)];
        };
        let url = frames::PresignedUrl {
            attachment_id: id,
            url: upload.download_url.as_deref().unwrap_or_default(),
            headers: Map::new(),
            file_name: &upload.file_name,
            file_type: &upload.file_type,
            file_size: upload.bytes().map(|b| b.len() as u64),
        };
        vec![Out::Frame(frames::presigned_url(&url, tracing))]
    }

    /// `deleteAttachment`: forgets a file this session uploaded.
    pub(super) fn delete_attachment(
        &self,
        session_id: u64,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        let id = attachment_id(request);
        if self.shared.uploads.delete(id, session_id) {
            vec![Out::Frame(frames::attachment_deleted(id, tracing))]
        } else {
            vec![attachment_not_found(tracing)]
        }
    }

    /// `onAttachment`: checks the file against the deployment's limits and hands out a
    /// presigned upload URL on the simulator's own port.
    pub(super) fn on_attachment(
        &mut self,
        session_id: u64,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        let attachment_id = match request.get("attachmentId") {
            None | Some(Value::Null) => Uuid::new_v4().to_string(),
            Some(Value::String(id))
                if !id.is_empty()
                    && id.len() <= 128
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                id.clone()
            }
            Some(_) => return vec![bad_request(tracing)],
        };
        let as_json = request
            .get("errorsAsJson")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (Some(file_type), Some(file_size)) = (
            request.get("fileType").and_then(Value::as_str),
            request.get("fileSize").and_then(Value::as_u64),
        ) else {
            return vec![bad_request(tracing)];
        };
        let file_name = request
            .get("fileName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let refuse = |code: i64, message: String| {
            let frame = if as_json {
                frames::generate_url_error(&attachment_id, code, &message, tracing)
            } else {
                frames::string_error(code, &message, tracing)
            };
            vec![Out::Frame(frame)]
        };
        let max_bytes = match self.check_file(file_name, file_type, file_size) {
            Ok(max_bytes) => max_bytes,
            Err((code, message)) => return refuse(code, message),
        };
        let signature = rest::random_token(24);
        let tagging = "organizationId=simulator&originPlatform=PureCloud".to_string();
        let base = self.shared.base_url(self.host.as_deref());
        let url = format!("{base}/uploads/{attachment_id}?signature={signature}");
        let upload = rest::Upload {
            session_id,
            signature,
            headers: vec![("x-amz-tagging".into(), tagging.clone())],
            file_name: file_name.to_string(),
            file_type: file_type.to_string(),
            max_bytes,
            state: rest::UploadState::Pending,
            notify: self.notices_tx.clone(),
            download_url: None,
        };
        if !self.shared.uploads.insert(&attachment_id, upload) {
            return vec![bad_request(tracing)];
        }
        let mut headers = Map::new();
        headers.insert("x-amz-tagging".into(), tagging.into());
        let presigned = frames::PresignedUrl {
            attachment_id: &attachment_id,
            url: &url,
            headers,
            file_name,
            file_type,
            file_size: None,
        };
        vec![Out::Frame(frames::presigned_url(&presigned, tracing))]
    }
}

/// The `mediaType` of an attachment of this MIME type.
pub(super) fn media_type(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or_default() {
        "image" => "Image",
        "video" => "Video",
        "audio" => "Audio",
        _ => "File",
    }
}

/// The `attachmentId` a `getAttachment` or `deleteAttachment` names; missing or not a string,
/// it matches no upload.
fn attachment_id(request: &Map<String, Value>) -> &str {
    request
        .get("attachmentId")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
