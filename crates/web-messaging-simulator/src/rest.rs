//! What the HTTP side shares with the sockets: guest JWTs (`getJwt` → history REST) and
//! attachments (`onAttachment` → presigned PUT → `UploadSuccessEvent` → `onMessage`).
//!
//! Both stores are bounded: the oldest entries go first. They refer to sessions weakly, so an
//! evicted session takes nothing with it and keeps nothing alive.

use crate::session::{Notice, SessionState};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use tokio::sync::mpsc::UnboundedSender;

/// A weak handle on a session.
pub(crate) type WeakSession = Weak<Mutex<SessionState>>;

/// How long a guest JWT lives, in seconds (Genesys' value is not documented).
pub(crate) const JWT_LIFETIME_SECONDS: i64 = 3600;

/// A random value, URL-safe base64.
pub(crate) fn random_token(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(data)
}

/// A JWT-shaped guest token: `header.payload.signature`, base64url. Clients treat it as
/// opaque; the simulator only looks it up.
pub(crate) fn make_jwt(exp: i64, iat: i64, deployment_id: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = serde_json::json!({
        "iss": "web-messaging-simulator",
        "deploymentId": deployment_id,
        "iat": iat,
        "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{payload}.{}", random_token(32))
}

struct JwtEntry {
    session: WeakSession,
    exp: i64,
}

/// Guest JWTs handed out by `getJwt`, oldest forgotten first.
pub(crate) struct Jwts {
    inner: Mutex<JwtInner>,
    max: usize,
}

#[derive(Default)]
struct JwtInner {
    by_jwt: HashMap<String, JwtEntry>,
    order: VecDeque<String>,
}

impl Jwts {
    pub(crate) fn new(max: usize) -> Jwts {
        Jwts {
            inner: Mutex::new(JwtInner::default()),
            max: max.max(1),
        }
    }

    fn inner(&self) -> MutexGuard<'_, JwtInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `jwt` for `session` until `exp` (epoch seconds).
    pub(crate) fn insert(&self, jwt: String, session: WeakSession, exp: i64) {
        let mut inner = self.inner();
        while inner.order.len() >= self.max {
            if let Some(old) = inner.order.pop_front() {
                inner.by_jwt.remove(&old);
            }
        }
        inner.order.push_back(jwt.clone());
        inner.by_jwt.insert(jwt, JwtEntry { session, exp });
    }

    /// The live session of a JWT that has not expired at `now` (epoch seconds).
    pub(crate) fn session(&self, jwt: &str, now: i64) -> Option<Arc<Mutex<SessionState>>> {
        let inner = self.inner();
        let entry = inner.by_jwt.get(jwt)?;
        if entry.exp <= now {
            return None;
        }
        entry.session.upgrade()
    }
}

/// Where an attachment is in its life.
#[derive(Debug, Clone)]
pub(crate) enum UploadState {
    /// The presigned URL went out; no bytes yet.
    Pending,
    /// The bytes arrived (and are kept for the download URL).
    Uploaded(Arc<[u8]>),
    /// The upload was refused (too large, ...).
    Failed,
    /// An `onMessage` sent it: it can no longer be deleted.
    Sent(Arc<[u8]>),
}

/// One attachment a guest asked to upload.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    /// The owning session's number.
    pub(crate) session_id: u64,
    /// The query value that must come with the PUT (and GET) URL.
    pub(crate) signature: String,
    /// Headers the PUT must carry, as the presigned URL response said.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) file_name: String,
    pub(crate) file_type: String,
    /// The largest body accepted, in bytes.
    pub(crate) max_bytes: u64,
    pub(crate) state: UploadState,
    /// The socket that asked for the URL: it gets the upload's success or failure event.
    pub(crate) notify: UnboundedSender<Notice>,
    /// The download URL, once uploaded.
    pub(crate) download_url: Option<String>,
}

impl Upload {
    /// The stored bytes, if uploaded (sent or not).
    pub(crate) fn bytes(&self) -> Option<&Arc<[u8]>> {
        match &self.state {
            UploadState::Uploaded(bytes) | UploadState::Sent(bytes) => Some(bytes),
            UploadState::Pending | UploadState::Failed => None,
        }
    }
}

/// Every attachment of the deployment, by id, at most `max` of them and `max_bytes` of
/// content in all; the oldest go first.
pub(crate) struct Uploads {
    inner: Mutex<UploadInner>,
    max: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct UploadInner {
    by_id: HashMap<String, Upload>,
    order: VecDeque<String>,
    bytes: usize,
}

impl UploadInner {
    fn forget_oldest(&mut self) -> bool {
        let Some(old) = self.order.pop_front() else {
            return false;
        };
        if let Some(upload) = self.by_id.remove(&old) {
            self.bytes = self
                .bytes
                .saturating_sub(upload.bytes().map_or(0, |b| b.len()));
        }
        true
    }
}

impl Uploads {
    pub(crate) fn new(max: usize, max_bytes: usize) -> Uploads {
        Uploads {
            inner: Mutex::new(UploadInner::default()),
            max: max.max(1),
            max_bytes,
        }
    }

    fn inner(&self) -> MutexGuard<'_, UploadInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new attachment; `false` when the id is taken by another session's.
    pub(crate) fn insert(&self, id: &str, upload: Upload) -> bool {
        let mut inner = self.inner();
        if let Some(existing) = inner.by_id.get(id) {
            if existing.session_id != upload.session_id {
                return false;
            }
            let old = existing.bytes().map_or(0, |b| b.len());
            inner.bytes = inner.bytes.saturating_sub(old);
            inner.order.retain(|o| o != id);
        }
        while inner.order.len() >= self.max && inner.forget_oldest() {}
        inner.order.push_back(id.to_string());
        inner.by_id.insert(id.to_string(), upload);
        true
    }

    /// A copy of an attachment's record.
    pub(crate) fn get(&self, id: &str) -> Option<Upload> {
        self.inner().by_id.get(id).cloned()
    }

    /// Stores the bytes of a pending upload, making room by forgetting the oldest attachments.
    /// `false` when the attachment is gone, not pending, or larger than the whole store.
    pub(crate) fn complete(&self, id: &str, bytes: Arc<[u8]>, download_url: String) -> bool {
        let mut inner = self.inner();
        if bytes.len() > self.max_bytes {
            return false;
        }
        if !matches!(
            inner.by_id.get(id).map(|u| &u.state),
            Some(UploadState::Pending)
        ) {
            return false;
        }
        while inner.bytes + bytes.len() > self.max_bytes {
            // The oldest other attachment goes (the one being completed holds no bytes yet).
            let Some(position) = inner.order.iter().position(|o| o != id) else {
                break;
            };
            if let Some(old) = inner.order.remove(position)
                && let Some(upload) = inner.by_id.remove(&old)
            {
                inner.bytes = inner
                    .bytes
                    .saturating_sub(upload.bytes().map_or(0, |b| b.len()));
            }
        }
        let len = bytes.len();
        let Some(upload) = inner.by_id.get_mut(id) else {
            return false;
        };
        upload.state = UploadState::Uploaded(bytes);
        upload.download_url = Some(download_url);
        inner.bytes += len;
        true
    }

    /// Marks a pending upload failed.
    pub(crate) fn fail(&self, id: &str) {
        if let Some(upload) = self.inner().by_id.get_mut(id)
            && matches!(upload.state, UploadState::Pending)
        {
            upload.state = UploadState::Failed;
        }
    }

    /// Marks an uploaded attachment of `session_id` as sent; `None` unless it was uploaded
    /// (or sent before) by that session.
    pub(crate) fn send(&self, id: &str, session_id: u64) -> Option<Upload> {
        let mut inner = self.inner();
        let upload = inner.by_id.get_mut(id)?;
        if upload.session_id != session_id {
            return None;
        }
        match &upload.state {
            UploadState::Uploaded(bytes) | UploadState::Sent(bytes) => {
                upload.state = UploadState::Sent(Arc::clone(bytes));
                Some(upload.clone())
            }
            UploadState::Pending | UploadState::Failed => None,
        }
    }

    /// Deletes an attachment of `session_id` that was not sent yet; `false` otherwise.
    pub(crate) fn delete(&self, id: &str, session_id: u64) -> bool {
        let mut inner = self.inner();
        let deletable = inner.by_id.get(id).is_some_and(|u| {
            u.session_id == session_id && !matches!(u.state, UploadState::Sent(_))
        });
        if !deletable {
            return false;
        }
        if let Some(upload) = inner.by_id.remove(id) {
            inner.bytes = inner
                .bytes
                .saturating_sub(upload.bytes().map_or(0, |b| b.len()));
        }
        inner.order.retain(|o| o != id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(session_id: u64) -> Upload {
        let (notify, _) = tokio::sync::mpsc::unbounded_channel();
        Upload {
            session_id,
            signature: "s".into(),
            headers: Vec::new(),
            file_name: "a.png".into(),
            file_type: "image/png".into(),
            max_bytes: 100,
            state: UploadState::Pending,
            notify,
            download_url: None,
        }
    }

    #[test]
    fn uploads_are_bounded_in_number_and_bytes() {
        let uploads = Uploads::new(2, 10);
        assert!(uploads.insert("a", upload(1)));
        assert!(!uploads.insert("a", upload(2)), "another session's id");
        assert!(uploads.complete("a", Arc::from(&b"123456"[..]), "u".into()));
        assert!(uploads.insert("b", upload(1)));
        // Six bytes stored; six more make room by forgetting `a`.
        assert!(uploads.complete("b", Arc::from(&b"abcdef"[..]), "u".into()));
        assert!(uploads.get("a").is_none());
        assert!(uploads.insert("c", upload(1)));
        assert!(uploads.insert("d", upload(1)));
        assert!(uploads.get("b").is_none(), "at most two records");
        assert!(!uploads.complete("c", Arc::from(&[0u8; 11][..]), "u".into()));
        assert!(uploads.send("c", 1).is_none(), "not uploaded");
        assert!(uploads.complete("c", Arc::from(&b"x"[..]), "u".into()));
        assert!(uploads.send("c", 2).is_none(), "another session");
        assert!(uploads.send("c", 1).is_some());
        assert!(!uploads.delete("c", 1), "sent attachments stay");
        assert!(uploads.delete("d", 1));
    }
}
