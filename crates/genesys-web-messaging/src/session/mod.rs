//! The guest session: one WebSocket to a Web Messenger deployment, owned by one task.
//!
//! The task reads every frame, decodes it and records it in the [`SessionLog`]; it writes the
//! requests handed to it, and sends an `echo` heartbeat whenever nothing was sent for a while.
//! Nothing here panics on what the server sends: garbage, error codes and closed sockets are
//! recorded as [`Fault`](crate::Fault)s and [`Closed`] reasons for the conversation to report.
//!
//! This file holds what callers hold: the settings ([`SessionConfig`]), the handle
//! ([`GuestSession`]), opening the socket (with its size limits and TLS) and the errors.
//! `task.rs` is the task that owns the socket once it is open.

use crate::attachments::AttachmentLimits;
use crate::lifecycle::Replies;
use crate::log::{Closed, SessionLog};
use crate::protocol::{
    AuthenticationData, ClientRequest, IncomingChannel, IncomingMessage, region_endpoint,
};
use futures_util::StreamExt;
use rustls::pki_types::CertificateDer;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tracing::{Instrument, debug, warn};

mod task;

use task::{Autostart, Command, drive, join_request};

/// The tracing target for every frame sent and received, named after upstream's `DEBUG`
/// namespace so `RUST_LOG=WebMessengerGuestSession=debug` shows the wire.
pub const WIRE_TARGET: &str = "WebMessengerGuestSession";

/// The largest message (and frame) a session accepts from the server by default: 1 MiB. Web
/// Messaging events are a few kilobytes; a bigger one ends the session with a clear reason.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// The WebSocket read buffer each session starts with (see `open_socket`).
const READ_BUFFER_BYTES: usize = 1024;

/// How many events (messages and errors) a session keeps by default. One more ends the session:
/// a bot (or server) that floods the guest fails the scenario instead of exhausting memory.
pub const DEFAULT_MAX_MESSAGES: usize = 10_000;

/// Where and how to connect a guest.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The Web Messenger deployment's ID.
    pub deployment_id: String,
    /// The WebSocket URL. Built from a region, or given explicitly (e.g. a simulator's).
    pub url: String,
    /// The `Origin` header, for deployments restricted to some domains.
    pub origin: Option<String>,
    /// Participant data sent with every message (`channel.metadata.customAttributes`).
    pub custom_attributes: BTreeMap<String, String>,
    /// How long connecting (TCP, TLS and the WebSocket upgrade) may take.
    pub connect_timeout: Duration,
    /// After this long without sending anything, an `echo` heartbeat keeps the socket alive.
    pub heartbeat_interval: Duration,
    /// Extra certificates to trust for `wss://`, besides the public roots (e.g. a simulator's
    /// self-signed certificate).
    pub extra_root_certificates: Vec<CertificateDer<'static>>,
    /// The largest WebSocket message (and frame) accepted from the server, in bytes. A bigger
    /// one closes the session with a reason naming the limit.
    pub max_message_size: usize,
    /// Most events (messages and errors) the session keeps. One more closes the session with a
    /// reason naming the limit.
    pub max_messages: usize,
    // Lifecycle and attachments (see `crate::lifecycle`, `crate::attachments`).
    /// Start an authenticated session (`configureAuthenticatedSession` with this code) instead
    /// of a guest one. The code is never printed.
    pub authentication: Option<AuthenticationData>,
    /// The REST base URL for the guest history (`https://api.{domain}`); `None`: derived from
    /// `url` (see [`crate::rest_base_url`]).
    pub rest_base_url: Option<String>,
    /// Upload limits known to the caller (e.g. the deployment configuration's
    /// `fileUpload.modes`), checked before an attachment is sent, besides the session's own.
    pub attachment_limits: Option<AttachmentLimits>,
    /// Send the Presence `Join` event right after a `SessionResponse` with `newSession: true`,
    /// as Genesys' Messenger does for a deployment with auto-start
    /// (`messenger.apps.conversations.autoStart.enabled`): the deployment's inbound flow then
    /// runs (and typically greets) before the guest says anything. The `Join` carries
    /// [`custom_attributes`](Self::custom_attributes) in `message.channel.metadata`. Off by
    /// default.
    pub autostart: bool,
    /// What the guest may do after the bot or agent ends the conversation (Presence
    /// `Disconnect`): the deployment's `conversationDisconnect.type`. `None` (the default):
    /// not known, and sending after a disconnect is refused, as upstream does.
    pub conversation_disconnect: Option<DisconnectMode>,
}

/// The deployment's `messenger.apps.conversations.conversationDisconnect.type`: what the guest
/// may do once the bot or agent has ended the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectMode {
    /// The conversation becomes read-only: Genesys' clients refuse to send (the disconnect
    /// event carries `metadata.readOnly: "true"`); a new conversation needs `startNew`.
    ReadOnly,
    /// The guest may keep sending (a new message continues or starts a conversation), unless
    /// the disconnect event itself says the conversation is read-only.
    Send,
}

impl SessionConfig {
    /// A session for a deployment in a region, given as its bare domain (`mypurecloud.ie`,
    /// `euw2.pure.cloud`), connecting to `wss://webmessaging.{region}/v1?deploymentId={id}`.
    pub fn for_region(deployment_id: impl Into<String>, region: &str) -> Self {
        let deployment_id = deployment_id.into();
        let url = region_endpoint(region, &deployment_id);
        Self::with_url(deployment_id, url)
    }

    /// A session connecting to an explicit endpoint (`ws://` or `wss://`). `deploymentId` is
    /// added to the query unless the URL already has it.
    pub fn for_endpoint(deployment_id: impl Into<String>, endpoint: &str) -> Self {
        let deployment_id = deployment_id.into();
        let url = if endpoint.contains("deploymentId=") {
            endpoint.to_string()
        } else {
            let separator = if endpoint.contains('?') { '&' } else { '?' };
            format!("{endpoint}{separator}deploymentId={deployment_id}")
        };
        Self::with_url(deployment_id, url)
    }

    fn with_url(deployment_id: String, url: String) -> Self {
        SessionConfig {
            deployment_id,
            url,
            origin: None,
            custom_attributes: BTreeMap::new(),
            connect_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(30),
            extra_root_certificates: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_messages: DEFAULT_MAX_MESSAGES,
            autostart: false,
            conversation_disconnect: None,
            authentication: None,
            rest_base_url: None,
            attachment_limits: None,
        }
    }

    /// Starts an authenticated session with this code (`configureAuthenticatedSession`):
    /// the JWT from Genesys' OAuth code or ID-token exchange.
    pub fn authenticated(mut self, code: impl Into<String>) -> Self {
        self.authentication = Some(AuthenticationData { code: code.into() });
        self
    }

    /// Sets the upload limits checked before an attachment is sent (see
    /// [`SessionConfig::attachment_limits`]).
    pub fn with_attachment_limits(mut self, limits: AttachmentLimits) -> Self {
        self.attachment_limits = Some(limits);
        self
    }

    /// Sends the Presence `Join` (auto-start) right after a new session starts, or not (see
    /// [`SessionConfig::autostart`]).
    pub fn autostart(mut self, enabled: bool) -> Self {
        self.autostart = enabled;
        self
    }

    /// Sets what the guest may do after a disconnect (see
    /// [`SessionConfig::conversation_disconnect`]).
    pub fn conversation_disconnect(mut self, mode: DisconnectMode) -> Self {
        self.conversation_disconnect = Some(mode);
        self
    }

    /// Sets the largest message accepted from the server, in bytes (at least 1 KiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes.max(1024);
        self
    }

    /// Sets how many events (messages and errors) the session keeps (at least 1).
    pub fn max_messages(mut self, messages: usize) -> Self {
        self.max_messages = messages.max(1);
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds one participant-data attribute.
    pub fn custom_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_attributes.insert(key.into(), value.into());
        self
    }

    /// Trusts one more certificate for `wss://`.
    pub fn trust_certificate(mut self, der: CertificateDer<'static>) -> Self {
        self.extra_root_certificates.push(der);
        self
    }

    /// Trusts every certificate in a PEM file for `wss://` (see [`load_pem_certificates`]).
    pub fn trust_pem_file(mut self, path: &std::path::Path) -> Result<Self, CertificateError> {
        self.extra_root_certificates
            .extend(load_pem_certificates(path)?);
        Ok(self)
    }
}

/// Reads the certificates of a PEM file: a simulator's exported certificate, or a corporate
/// proxy's CA, to trust for `wss://`.
pub fn load_pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, CertificateError> {
    use rustls::pki_types::pem::PemObject;
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| CertificateError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(CertificateError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(certificates)
}

/// Why certificates to trust could not be read from a PEM file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The file could not be read, or is not PEM.
    #[error("cannot read certificates from {}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file holds no certificate.
    #[error("{} holds no PEM certificate", path.display())]
    Empty {
        /// The file.
        path: std::path::PathBuf,
    },
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL or Origin is not usable.
    #[error("invalid endpoint '{url}': {reason}")]
    InvalidUrl {
        /// The URL tried.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The server refused the WebSocket upgrade (unknown deployment, origin not allowed...).
    #[error("the server refused the connection to {url} with HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Refused {
        /// The URL tried.
        url: String,
        /// The HTTP status of the refusal.
        status: u16,
        /// The response body, if any.
        body: String,
    },
    /// DNS, TCP, TLS or protocol failure.
    #[error("could not connect to {url}: {reason}")]
    Failed {
        /// The URL tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Connecting took longer than the configured timeout.
    #[error("could not connect to {url} within {}", crate::conversation::short_duration(*timeout))]
    TimedOut {
        /// The URL tried.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// Why a request could not be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The socket is gone.
    #[error("cannot send: {0}")]
    Closed(Closed),
}

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One guest connected to a deployment.
///
/// Dropping it closes the socket.
#[derive(Debug)]
pub struct GuestSession {
    token: String,
    deployment_id: String,
    custom_attributes: BTreeMap<String, String>,
    commands: mpsc::UnboundedSender<Command>,
    log: Arc<SessionLog>,
    autostart_sent: Arc<OnceLock<Instant>>,
    conversation_disconnect: Option<DisconnectMode>,
    replies: Arc<Replies>,
    config: SessionConfig,
}

impl GuestSession {
    /// Connects, then sends `configureSession` with a fresh random token.
    ///
    /// Returns once the socket is open; the session response arrives in the [`SessionLog`]
    /// (see [`crate::Conversation::wait_for_start`]).
    pub async fn connect(config: SessionConfig) -> Result<GuestSession, ConnectError> {
        let url = config.url.clone();
        let socket = tokio::time::timeout(config.connect_timeout, open_socket(&config))
            .await
            .map_err(|_| ConnectError::TimedOut {
                url: url.clone(),
                timeout: config.connect_timeout,
            })??;
        let token = uuid::Uuid::new_v4().to_string();
        let log = Arc::new(SessionLog::with_capacity(config.max_messages));
        let replies = Arc::new(Replies::default());
        let (commands, receiver) = mpsc::unbounded_channel();
        let autostart_sent = Arc::new(OnceLock::new());
        let join = config
            .autostart
            .then(|| Box::new(join_request(&token, &config.custom_attributes)));
        // The task logs in its caller's span, so a caller's tag (e.g. a scenario's name) is on
        // every frame it logs.
        tokio::spawn(
            drive(
                socket.split(),
                receiver,
                Arc::clone(&log),
                Arc::clone(&replies),
                config.heartbeat_interval,
                token.clone(),
                Autostart {
                    join,
                    sent: Arc::clone(&autostart_sent),
                },
            )
            .in_current_span(),
        );
        let session = GuestSession {
            token,
            deployment_id: config.deployment_id.clone(),
            custom_attributes: config.custom_attributes.clone(),
            commands,
            log,
            autostart_sent,
            conversation_disconnect: config.conversation_disconnect,
            replies,
            config,
        };
        // A failure here is recorded in the log as the socket's close reason.
        let _ = session.send(session.configure_request(false)).await;
        Ok(session)
    }

    /// The request that configures this session: `configureSession`, or
    /// `configureAuthenticatedSession` when [`SessionConfig::authentication`] is set.
    pub(crate) fn configure_request(&self, start_new: bool) -> ClientRequest {
        let start_new = start_new.then_some(true);
        match &self.config.authentication {
            Some(data) => ClientRequest::ConfigureAuthenticatedSession {
                deployment_id: self.deployment_id.clone(),
                token: self.token.clone(),
                start_new,
                data: data.clone(),
                tracing_id: Some(uuid::Uuid::new_v4().to_string()),
            },
            None => ClientRequest::ConfigureSession {
                deployment_id: self.deployment_id.clone(),
                token: self.token.clone(),
                start_new,
                tracing_id: Some(uuid::Uuid::new_v4().to_string()),
            },
        }
    }

    /// Closes the socket and opens a new one to the same endpoint, sending the configure
    /// request again with the same token. The log is kept: what was
    /// received stays, and what the new socket receives is added to it. Returns once the new
    /// socket is open (the `SessionResponse` arrives in the log).
    pub async fn reconnect(&mut self, timeout: Duration) -> Result<(), ConnectError> {
        self.close().await;
        let url = self.config.url.clone();
        let socket = tokio::time::timeout(timeout, open_socket(&self.config))
            .await
            .map_err(|_| ConnectError::TimedOut { url, timeout })??;
        if !self.log.reopen() {
            return Err(ConnectError::Failed {
                url: self.config.url.clone(),
                reason: "the session's log is full".into(),
            });
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(
            drive(
                socket.split(),
                receiver,
                Arc::clone(&self.log),
                Arc::clone(&self.replies),
                self.config.heartbeat_interval,
                self.token.clone(),
                // A resumed session is not new: Genesys' Messenger sends no `Join` for it.
                Autostart {
                    join: None,
                    sent: Arc::clone(&self.autostart_sent),
                },
            )
            .in_current_span(),
        );
        self.commands = commands;
        let _ = self.send(self.configure_request(false)).await;
        Ok(())
    }

    /// The configuration this session was opened with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The REST base URL of the guest API: [`SessionConfig::rest_base_url`], else derived
    /// from the endpoint.
    pub fn rest_base_url(&self) -> String {
        self.config
            .rest_base_url
            .clone()
            .or_else(|| crate::lifecycle::rest_base_url(&self.config.url))
            .unwrap_or_default()
    }

    pub(crate) fn replies(&self) -> &Arc<Replies> {
        &self.replies
    }

    /// The guest's session token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The ordered record of everything the server sent.
    pub fn log(&self) -> &Arc<SessionLog> {
        &self.log
    }

    /// When the auto-start Presence `Join` was written to the socket, if it was (see
    /// [`SessionConfig::autostart`]). It is an `onMessage`, so it counts towards Genesys'
    /// limit of 2 per second.
    pub fn autostart_sent_at(&self) -> Option<Instant> {
        self.autostart_sent.get().copied()
    }

    /// What the guest may do after a disconnect (see
    /// [`SessionConfig::conversation_disconnect`]).
    pub fn conversation_disconnect(&self) -> Option<DisconnectMode> {
        self.conversation_disconnect
    }

    /// Sends any request as it is.
    pub async fn send(&self, request: ClientRequest) -> Result<(), SendError> {
        let (done, result) = oneshot::channel();
        if self
            .commands
            .send(Command::Send(Box::new(request), done))
            .is_err()
        {
            return Err(self.closed_error());
        }
        result.await.unwrap_or_else(|_| Err(self.closed_error()))
    }

    /// Sends a text message with the session's participant data. Returns the tracing id the
    /// server will copy onto the echo.
    pub async fn send_text(&self, text: &str) -> Result<String, SendError> {
        self.send_message(IncomingMessage::text(text)).await
    }

    /// Sends any guest message (text, button response, event) with the session's participant
    /// data. Returns the tracing id the server will copy onto the echo.
    pub async fn send_message(&self, message: IncomingMessage) -> Result<String, SendError> {
        let tracing_id = uuid::Uuid::new_v4().to_string();
        let channel = IncomingChannel::with_attributes(&self.custom_attributes);
        self.send(ClientRequest::OnMessage {
            token: self.token.clone(),
            message,
            channel,
            tracing_id: Some(tracing_id.clone()),
        })
        .await?;
        Ok(tracing_id)
    }

    /// Closes the socket cleanly (close code 1000) and waits for the task to finish.
    pub async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Close(done)).is_ok() {
            let _ = finished.await;
        }
    }

    fn closed_error(&self) -> SendError {
        SendError::Closed(
            self.log
                .snapshot()
                .closed
                .unwrap_or_else(|| Closed::Failed("the session task ended".into())),
        )
    }
}

/// The trust store for `wss://`: the public web roots, built once per process.
fn public_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}

/// The TLS client configuration sessions use for `wss://`: the public web roots plus `extra`
/// (e.g. `--ca-cert`'s). For other HTTPS requests of a run (the deployment configuration) to
/// trust exactly what the WebSocket trusts.
pub fn tls_client_config(extra: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    tls_config(extra)
}

/// One client TLS configuration per set of trusted roots, built once per process: thousands
/// of guests share it rather than each building its own.
fn tls_config(extra: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    type Cache = Mutex<Vec<(Vec<CertificateDer<'static>>, Arc<rustls::ClientConfig>)>>;
    static CONFIGS: OnceLock<Cache> = OnceLock::new();
    let mut configs = CONFIGS
        .get_or_init(Cache::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, config)) = configs.iter().find(|(roots, _)| roots.as_slice() == extra) {
        return Arc::clone(config);
    }
    let mut roots = public_roots().clone();
    for cert in extra {
        if let Err(e) = roots.add(cert.clone()) {
            warn!("ignoring an extra root certificate: {e}");
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::crypto::provider())
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        // The default protocol versions are always supported by the default provider.
        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"));
    let config = Arc::new(config);
    configs.push((extra.to_vec(), Arc::clone(&config)));
    config
}

async fn open_socket(config: &SessionConfig) -> Result<Socket, ConnectError> {
    let url = &config.url;
    let invalid = |reason: String| ConnectError::InvalidUrl {
        url: url.clone(),
        reason,
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(origin) = &config.origin {
        let value = HeaderValue::from_str(origin)
            .map_err(|_| invalid(format!("origin '{origin}' is not a valid header value")))?;
        request.headers_mut().insert("Origin", value);
    }
    let connector = url
        .starts_with("wss:")
        .then(|| Connector::Rustls(tls_config(&config.extra_root_certificates)));
    debug!(target: WIRE_TARGET, "connecting to {url}");
    // Every held guest keeps its read buffer for its whole life, and tungstenite zero-fills up
    // to this much of it before each read: its default 128 KiB dominated memory under load.
    // Web Messaging frames are a few hundred bytes, so 1 KiB reads most in one go; a larger
    // frame grows the buffer as far as it needs, up to the message size limit. (The buffer
    // starts as the 4 KiB one tungstenite read the HTTP upgrade through, which it keeps.)
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let result =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(ws_config), true, connector)
            .await;
    match result {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(ConnectError::Refused {
            url: url.clone(),
            status: response.status().as_u16(),
            body: response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default(),
        }),
        Err(tungstenite::Error::Url(e)) => Err(invalid(e.to_string())),
        Err(e) => Err(ConnectError::Failed {
            url: url.clone(),
            reason: e.to_string(),
        }),
    }
}
