//! Plain HTTP on the WebSocket port: the deployment's `config.json`, the presigned attachment
//! URLs (PUT to upload, GET to download) and the guest history REST call.
//!
//! A connection's request head is read first (within the handshake deadline, at most
//! [`MAX_HEAD_BYTES`]); a WebSocket upgrade goes on to tungstenite as before, anything else to
//! hyper, one request per connection, within `SimulatorLimits::http_timeout`. Both see the
//! bytes already read again through [`Rewind`]. The connection cap applies to both, since it
//! is taken when the TCP connection is accepted.

use crate::frames;
use crate::query::query_value;
use crate::rest::UploadState;
use crate::session::{Notice, lock};
use crate::shared::{Shared, stopped};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::sync::watch;

/// The largest request head read before deciding (tungstenite's own cap for an upgrade).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default and largest `pageSize` of the history (Genesys' defaults: 25; its cap is assumed).
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 100;

/// The start of a connection: the bytes read so far, and whether they ask for a WebSocket.
pub(crate) struct Head {
    pub(crate) bytes: Vec<u8>,
    pub(crate) websocket: bool,
}

/// Reads until the end of the request head. `None` when the peer closes first. A head that
/// is too long, or that does not parse, is left to tungstenite to refuse, as before.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Head> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..n]);
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n");
        if end.is_some() || bytes.len() >= MAX_HEAD_BYTES {
            let websocket = end.is_none() || is_upgrade(&bytes);
            return Some(Head { bytes, websocket });
        }
    }
}

/// Whether a complete head asks for a WebSocket upgrade (or cannot be read, so that
/// tungstenite answers it).
fn is_upgrade(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => request.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade")
                && String::from_utf8_lossy(h.value)
                    .to_ascii_lowercase()
                    .contains("websocket")
        }),
        _ => true,
    }
}

/// A stream that first gives back bytes already read from it.
pub(crate) struct Rewind<S> {
    prefix: Vec<u8>,
    position: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Rewind<S> {
        Rewind {
            prefix,
            position: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.position < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.position);
            buf.put_slice(&this.prefix[this.position..this.position + n]);
            this.position += n;
            if this.position == this.prefix.len() {
                this.prefix = Vec::new();
                this.position = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves one plain-HTTP request on `stream`, within `http_timeout`, or until the simulator
/// stops.
pub(crate) async fn serve<S>(
    stream: Rewind<S>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeout = shared.limits.http_timeout;
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(route(request, &shared).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = tokio::time::timeout(timeout, connection) => match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(target: "web_messaging_simulator", %peer, "HTTP request failed: {e}"),
            Err(_) => tracing::debug!(target: "web_messaging_simulator", %peer, "HTTP request timed out"),
        },
        () = stopped(&mut stop) => {}
    }
}

type HttpResponse = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    respond(status, "application/json", body.to_string())
}

/// A Platform API error body (`{message, code, status}`).
fn platform_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        &json!({"message": message, "code": code, "status": status.as_u16(), "contextId": uuid::Uuid::new_v4().to_string(), "details": [], "errors": []}),
    )
}

async fn route(request: Request<Incoming>, shared: &Shared) -> HttpResponse {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    if crate::platform::handles(&segments) {
        return crate::platform::serve(request, shared).await;
    }
    let known = match segments.as_slice() {
        ["webdeployments", "v1", "deployments", id, "config.json"] => {
            if method == Method::GET {
                return config_json(shared, id, host(&request).as_deref());
            }
            true
        }
        ["uploads", id] => {
            if method == Method::PUT {
                let id = (*id).to_string();
                return upload(request, shared, &id).await;
            }
            true
        }
        ["downloads", id] => {
            if method == Method::GET {
                return download(&request, shared, id);
            }
            true
        }
        ["api", "v2", "webmessaging", "messages"] => {
            if method == Method::GET {
                return history(&request, shared);
            }
            true
        }
        _ => false,
    };
    if known {
        platform_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method.not.allowed",
            "The method is not allowed for this resource",
        )
    } else {
        platform_error(
            StatusCode::NOT_FOUND,
            "not.found",
            "The requested operation failed with status 404",
        )
    }
}

fn host(request: &Request<Incoming>) -> Option<String> {
    request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

/// `GET /webdeployments/v1/deployments/{id}/config.json`, built from the flow.
fn config_json(shared: &Shared, id: &str, host: Option<&str>) -> HttpResponse {
    let flow = &shared.flow;
    if flow.deployment_id.as_deref().is_some_and(|d| d != id) {
        return platform_error(
            StatusCode::NOT_FOUND,
            "not.found",
            "The requested operation failed with status 404",
        );
    }
    let base = shared.base_url(host);
    let messaging = if shared.tls {
        base.replacen("https://", "wss://", 1)
    } else {
        base.replacen("http://", "ws://", 1)
    };
    let messenger = &flow.messenger;
    let modes: Vec<Value> = messenger
        .upload_modes
        .iter()
        .map(|m| json!({"fileTypes": m.file_types, "maxFileSizeKB": m.max_file_size_kb}))
        .collect();
    let body = json!({
        "id": id,
        "version": "1",
        "languages": ["en-us"],
        "defaultLanguage": "en-us",
        "apiEndpoint": base,
        "messenger": {
            "enabled": messenger.enabled,
            "apps": {
                "conversations": {
                    "messagingEndpoint": messaging,
                    "conversationDisconnect": {
                        "enabled": messenger.disconnect_enabled,
                        "type": if messenger.disconnect_read_only { "ReadOnly" } else { "Send" },
                    },
                    "conversationClear": {"enabled": messenger.clear_enabled},
                    "autoStart": {"enabled": flow.session.autostart},
                },
            },
            "fileUpload": {"modes": modes},
        },
        "journeyEvents": {"enabled": false},
        "status": if messenger.active { "Active" } else { "Inactive" },
        "auth": {"enabled": flow.auth.enabled, "allowSessionUpgrade": flow.auth.enabled},
    });
    json_response(StatusCode::OK, &body)
}

/// `PUT /uploads/{id}?signature=…`: the presigned upload. The socket that asked for the URL
/// gets `UploadSuccessEvent`, or `UploadFailureEvent` when the bytes break the limits.
async fn upload(request: Request<Incoming>, shared: &Shared, id: &str) -> HttpResponse {
    let host = host(&request);
    let signature = request
        .uri()
        .query()
        .and_then(|q| query_value(q, "signature"));
    let Some(record) = shared.uploads.get(id) else {
        return respond(StatusCode::NOT_FOUND, "text/plain", "NoSuchUpload");
    };
    if signature.as_deref() != Some(record.signature.as_str()) {
        return respond(StatusCode::FORBIDDEN, "text/plain", "SignatureDoesNotMatch");
    }
    // Like a presigned S3 URL: every header of the PresignedUrlResponse must come as given.
    for (name, value) in &record.headers {
        let given = request
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if given != Some(value.as_str()) {
            return respond(
                StatusCode::FORBIDDEN,
                "text/plain",
                format!("SignatureDoesNotMatch: the {name} header is missing or different"),
            );
        }
    }
    if !matches!(record.state, UploadState::Pending) {
        return respond(
            StatusCode::CONFLICT,
            "text/plain",
            "This upload URL was used already",
        );
    }
    let fail = |code: i64, message: &str| {
        shared.uploads.fail(id);
        let frame = frames::upload_failure(id, code, message, &frames::timestamp_now());
        let _ = record.notify.send(Notice::Frame(frame));
    };
    let too_large = format!(
        "FileSizeInvalid: the file is larger than {} KB",
        record.max_bytes / 1024
    );
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > record.max_bytes) {
        fail(4002, &too_large);
        return respond(StatusCode::BAD_REQUEST, "text/plain", "EntityTooLarge");
    }
    let limit = usize::try_from(record.max_bytes).unwrap_or(usize::MAX);
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            fail(4002, &too_large);
            return respond(StatusCode::BAD_REQUEST, "text/plain", "EntityTooLarge");
        }
        Err(_) => return respond(StatusCode::BAD_REQUEST, "text/plain", "IncompleteBody"),
    };
    if body.is_empty() {
        fail(4003, "FileContentInvalid: the file is empty");
        return respond(StatusCode::BAD_REQUEST, "text/plain", "EmptyBody");
    }
    let base = shared.base_url(host.as_deref());
    let download_url = format!("{base}/downloads/{id}?signature={}", record.signature);
    if !shared
        .uploads
        .complete(id, Arc::from(&body[..]), download_url.clone())
    {
        fail(4002, &too_large);
        return respond(StatusCode::INSUFFICIENT_STORAGE, "text/plain", "NoRoom");
    }
    let frame = frames::upload_success(id, &download_url, &frames::timestamp_now());
    let _ = record.notify.send(Notice::Frame(frame));
    respond(StatusCode::OK, "text/plain", "")
}

/// `GET /downloads/{id}?signature=…`: an uploaded attachment's bytes.
fn download(request: &Request<Incoming>, shared: &Shared, id: &str) -> HttpResponse {
    let signature = request
        .uri()
        .query()
        .and_then(|q| query_value(q, "signature"));
    let record = shared.uploads.get(id);
    let Some(record) = record.filter(|r| signature.as_deref() == Some(r.signature.as_str())) else {
        return respond(StatusCode::FORBIDDEN, "text/plain", "AccessDenied");
    };
    match record.bytes() {
        Some(bytes) => respond(
            StatusCode::OK,
            &record.file_type,
            Bytes::copy_from_slice(bytes),
        ),
        None => respond(StatusCode::NOT_FOUND, "text/plain", "NoSuchKey"),
    }
}

/// `GET /api/v2/webmessaging/messages?pageSize=&pageNumber=` with `Authorization: Bearer
/// <jwt from getJwt>`: the conversation, newest first.
fn history(request: &Request<Incoming>, shared: &Shared) -> HttpResponse {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty());
    let Some(jwt) = bearer else {
        return platform_error(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        );
    };
    let now = jiff::Timestamp::now().as_second();
    let Some(session) = shared.jwts.session(&jwt, now) else {
        return platform_error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        );
    };
    let query = request.uri().query().unwrap_or_default();
    let number = |name: &str, default: usize| match query_value(query, name) {
        None => Some(default),
        Some(text) => text.parse::<usize>().ok().filter(|n| *n >= 1),
    };
    let (Some(page_size), Some(page_number)) = (
        number("pageSize", DEFAULT_PAGE_SIZE),
        number("pageNumber", 1),
    ) else {
        return platform_error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "pageSize and pageNumber must be whole numbers of at least 1",
        );
    };
    if page_size > MAX_PAGE_SIZE {
        return platform_error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            &format!("pageSize must be at most {MAX_PAGE_SIZE}"),
        );
    }
    let state = lock(&session);
    let total = state.history.len();
    let entities: Vec<Value> = state
        .history
        .iter()
        .rev()
        .skip(page_size.saturating_mul(page_number - 1))
        .take(page_size)
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    drop(state);
    json_response(
        StatusCode::OK,
        &json!({
            "entities": entities,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": total,
            "pageCount": total.div_ceil(page_size),
        }),
    )
}
