//! The listening socket, the accept loop, TLS, and the upgrade checks.

use crate::connection;
use crate::flow::{BotFlow, RateLimit};
use crate::limits::SimulatorLimits;
use crate::rest::{Jwts, Uploads};
use crate::session::Sessions;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};

/// Pending connections the kernel queues before `accept` (see rust-stack.md, trap T11).
const BACKLOG: u32 = 4096;
/// How long `shutdown` lets open connections finish their close handshake.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) flow: BotFlow,
    /// The seed of every socket's random generators.
    pub(crate) seed: u64,
    /// The guest sessions, by token.
    pub(crate) sessions: Sessions,
    received: Mutex<Vec<Value>>,
    /// Whether `received` keeps frames: a long-running `simulate` under load must not grow.
    recording: bool,
    connections: AtomicU64,
    /// Open TCP connections, upgraded or not.
    open: AtomicUsize,
    pub(crate) limits: SimulatorLimits,
    /// `http(s)://HOST:PORT/downloads`: where attachments without a URL of their own are
    /// offered. Set once the address is known.
    pub(crate) downloads: std::sync::OnceLock<String>,
    /// The `onMessage` rate limit in force: the flow's, unless the builder overrides it.
    pub(crate) rate_limit: RateLimit,
    /// Guest JWTs from `getJwt`.
    pub(crate) jwts: Jwts,
    /// Attachments from `onAttachment`.
    pub(crate) uploads: Uploads,
    /// The address listened on, for URLs when a request names no usable host.
    pub(crate) addr: SocketAddr,
    /// Whether the port speaks TLS (`wss://`, `https://`).
    pub(crate) tls: bool,
    /// The simulated Platform API's tokens and fault counter.
    pub(crate) platform: crate::platform::PlatformState,
}

impl Shared {
    pub(crate) fn new(
        flow: BotFlow,
        seed: u64,
        recording: bool,
        limits: SimulatorLimits,
    ) -> Shared {
        Shared {
            sessions: Sessions::new(flow.session.ttl, limits.max_sessions),
            rate_limit: flow.limits.rate_limit,
            jwts: Jwts::new(limits.max_sessions),
            uploads: Uploads::new(limits.max_uploads, limits.max_upload_bytes),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            platform: crate::platform::PlatformState::default(),
            flow,
            seed,
            received: Mutex::new(Vec::new()),
            recording,
            connections: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            limits,
            downloads: std::sync::OnceLock::new(),
        }
    }

    /// The base of the simulator's own download URLs (`http://127.0.0.1/downloads` until the
    /// address is known).
    pub(crate) fn downloads(&self) -> &str {
        self.downloads
            .get()
            .map_or("http://127.0.0.1/downloads", String::as_str)
    }

    /// Records one frame a guest sent, in arrival order.
    pub(crate) fn record(&self, frame: Value) {
        if !self.recording {
            return;
        }
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(frame);
    }

    /// `http://HOST:PORT` (or `https://`) for URLs handed to a client that reached the
    /// simulator as `host` (the request's `Host` header, used when it looks like a host).
    pub(crate) fn base_url(&self, host: Option<&str>) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = host
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .map_or_else(|| self.addr.to_string(), str::to_string);
        format!("{scheme}://{host}")
    }

    /// The number of the next connection: 0, 1, 2... in accept order.
    pub(crate) fn next_connection_id(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed)
    }
}

/// Counts one open connection until dropped.
pub(crate) struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    /// Counts a new connection, unless `max_connections` are open already.
    fn admit(shared: &Arc<Shared>) -> Option<OpenConnection> {
        let max = shared.limits.max_connections;
        shared
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| OpenConnection(Arc::clone(shared)))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The self-signed certificate of a `wss://` simulator.
struct Identity {
    pem: String,
    der: CertificateDer<'static>,
}

/// A running simulated Web Messenger deployment.
///
/// It serves the guest WebSocket protocol at [`Simulator::url`] and answers as its
/// [`BotFlow`] says. Every connection is served by its own task; guest sessions are shared by
/// every connection, so a guest that reconnects with the same token resumes its conversation.
/// Dropping the simulator stops it; [`Simulator::shutdown`] also waits for the connections to
/// close.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    identity: Option<Identity>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("tls", &self.identity.is_some())
            .field("seed", &self.shared.seed)
            .finish_non_exhaustive()
    }
}

/// Options for starting a [`Simulator`]: where to listen, `wss://`, the seed.
///
/// ```no_run
/// # use web_messaging_simulator::{BotFlow, Simulator};
/// # async fn example(flow: BotFlow) -> std::io::Result<()> {
/// let simulator = Simulator::builder(flow).tls(true).seed(7).start().await?;
/// assert!(simulator.url().starts_with("wss://127.0.0.1:"));
/// let pem = simulator.certificate_pem().expect("a wss simulator has a certificate");
/// # let _ = pem;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct SimulatorBuilder {
    flow: BotFlow,
    addr: SocketAddr,
    tls: bool,
    seed: Option<u64>,
    recording: bool,
    limits: SimulatorLimits,
    rate_limit: Option<u32>,
}

impl SimulatorBuilder {
    /// Replaces the flow's `onMessage` rate limit (`limits.rateLimit.messagesPerSecond`, by
    /// default Genesys' 2 per rolling second): `n` per session in any rolling second, `0` for
    /// none. Meant for tests that must not wait for the limit; a flow that keeps the default
    /// is what the real service does.
    pub fn rate_limit(mut self, messages_per_second: u32) -> Self {
        self.rate_limit = Some(messages_per_second);
        self
    }

    /// Resource limits: connections, sessions, token length, frame size and rate, and the
    /// handshake, configure and idle timeouts. See [`SimulatorLimits`] for the defaults.
    pub fn limits(mut self, limits: SimulatorLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether to keep every frame guests send for [`Simulator::received`] (on by default).
    /// Turn it off for long or heavy runs, where the record would only grow.
    pub fn record_received(mut self, enabled: bool) -> Self {
        self.recording = enabled;
        self
    }

    /// Listens on `addr` instead of `127.0.0.1` with a free port (port 0 picks a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serves `wss://` with a self-signed certificate generated at start-up, valid for
    /// `localhost`, `127.0.0.1`, `::1` and the address listened on. Clients trust
    /// [`Simulator::certificate_pem`] (or [`Simulator::certificate_der`]).
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Seeds the random choices (jitter, faults) instead of the flow's `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Starts serving. Fails when the address cannot be listened on, or the certificate
    /// cannot be made.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let socket = if self.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        let listener = socket.listen(BACKLOG)?;
        let addr = listener.local_addr()?;
        let (identity, acceptor) = if self.tls {
            let (identity, acceptor) = self_signed(addr.ip())?;
            (Some(identity), Some(acceptor))
        } else {
            (None, None)
        };
        let seed = self
            .seed
            .or(self.flow.seed)
            .unwrap_or_else(rand::random::<u64>);
        let mut shared = Shared::new(self.flow, seed, self.recording, self.limits);
        shared.addr = addr;
        shared.tls = self.tls;
        if let Some(n) = self.rate_limit {
            shared.rate_limit.messages_per_second = n;
        }
        let shared = Arc::new(shared);
        let _ = shared.downloads.set(downloads_base(addr, self.tls));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            stop_rx,
            acceptor,
        ));
        tracing::debug!(target: "web_messaging_simulator", %addr, seed, tls = self.tls, "simulator listening");
        Ok(Simulator {
            addr,
            shared,
            identity,
            stop,
            task: Some(task),
        })
    }
}

/// `http(s)://HOST:PORT/downloads` for the address listened on (loopback for an unspecified
/// address, which guests cannot connect to as such).
fn downloads_base(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}/downloads", SocketAddr::new(ip, addr.port()))
}

/// A certificate for the usual loopback names (and `ip`), and the TLS acceptor serving it.
fn self_signed(ip: IpAddr) -> std::io::Result<(Identity, TlsAcceptor)> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let der = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    // An explicit provider: no process-wide default is needed (rust-stack.md, trap T1).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .map_err(std::io::Error::other)?;
    let identity = Identity {
        pem: certified.cert.pem(),
        der,
    };
    Ok((identity, TlsAcceptor::from(Arc::new(config))))
}

impl Simulator {
    /// Starts serving `flow` on `127.0.0.1` with a free port chosen by the system.
    pub async fn start(flow: BotFlow) -> std::io::Result<Simulator> {
        Simulator::builder(flow).start().await
    }

    /// Starts serving `flow` on `addr` (port 0 picks a free port).
    pub async fn start_on(flow: BotFlow, addr: SocketAddr) -> std::io::Result<Simulator> {
        Simulator::builder(flow).bind(addr).start().await
    }

    /// Options beyond [`Simulator::start`]: `wss://`, the address, the seed.
    pub fn builder(flow: BotFlow) -> SimulatorBuilder {
        SimulatorBuilder {
            flow,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            seed: None,
            recording: true,
            limits: SimulatorLimits::default(),
            rate_limit: None,
        }
    }

    /// The WebSocket URL guests connect to, `ws://HOST:PORT/v1` (or `wss://` with TLS).
    /// Clients append `?deploymentId=...`.
    pub fn url(&self) -> String {
        let scheme = if self.identity.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}/v1", self.addr)
    }

    /// `http://HOST:PORT` (or `https://` with TLS): the same port serves plain HTTP too, the
    /// deployment's `config.json` at
    /// `/webdeployments/v1/deployments/{deploymentId}/config.json`, the presigned attachment
    /// URLs and the guest history at `/api/v2/webmessaging/messages`.
    pub fn http_url(&self) -> String {
        let scheme = if self.identity.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The self-signed certificate of a `wss://` simulator, as PEM; `None` for `ws://`.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.pem.as_str())
    }

    /// The self-signed certificate of a `wss://` simulator, as DER (what
    /// `genesys_web_messaging::SessionConfig::trust_certificate` takes); `None` for `ws://`.
    pub fn certificate_der(&self) -> Option<CertificateDer<'static>> {
        self.identity.as_ref().map(|i| i.der.clone())
    }

    /// The seed of the random choices: the builder's, else the flow's, else one drawn at
    /// start-up. Put it in the flow (`seed:`) to replay a run's jitter and faults.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Every frame guests sent so far, over all connections, in arrival order. Text frames
    /// that are JSON are parsed; anything else is kept as a [`Value::String`]. Empty when
    /// recording was turned off ([`SimulatorBuilder::record_received`]).
    pub fn received(&self) -> Vec<Value> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The limits in force.
    pub fn limits(&self) -> &SimulatorLimits {
        &self.shared.limits
    }

    /// The guest sessions stored now (live, and expired ones not yet removed).
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// What the simulator knows of the conversation of `token`: the bot's state, whether it
    /// is read-only, and the handover to a queue and agent once the bot's `transfer` ran.
    /// `None` for a token with no stored session.
    pub fn conversation_state(&self, token: &str) -> Option<crate::ConversationState> {
        let session = self.shared.sessions.get(token)?;
        let state = crate::session::lock(&session);
        Some(crate::ConversationState {
            bot_state: self
                .shared
                .flow
                .states
                .get(state.state)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            read_only: state.read_only,
            transfer: state.record.transfer_state(tokio::time::Instant::now()),
        })
    }

    /// The TCP connections open now (upgraded or not).
    pub fn connection_count(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Stops accepting, closes every open connection (close code 1001) and waits for them
    /// to finish, for up to five seconds.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // Aborting drops the JoinSet, which aborts every connection task.
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let mut connections = JoinSet::new();
    let for_connections = stop.clone();
    // Expired sessions also go when new ones come; this removes them when none do.
    let sweep_every = shared
        .flow
        .session
        .ttl
        .map(|ttl| ttl.clamp(Duration::from_millis(100), Duration::from_secs(60)));
    let mut sweep = tokio::time::interval(sweep_every.unwrap_or(Duration::from_secs(3600)));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Also ends when the Simulator is gone (the sender dropped).
            () = stopped(&mut stop) => break,
            _ = sweep.tick(), if sweep_every.is_some() => {
                shared.sessions.sweep(tokio::time::Instant::now());
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(open) = OpenConnection::admit(&shared) else {
                        // Over the cap: closed before anything is read; open ones go on.
                        tracing::debug!(target: "web_messaging_simulator", %peer, "connection refused: too many open connections");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection::serve(
                        stream,
                        peer,
                        Arc::clone(&shared),
                        for_connections.clone(),
                        tls.clone(),
                        open,
                    ));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(target: "web_messaging_simulator", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, drained).await;
    connections.abort_all();
}

/// Resolves once the simulator stops (or is dropped). The `Ref` that `wait_for` returns is
/// released here, never held across an `.await` of the caller.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The upgrade checks: path `/v1`, the deployment ID and the Origin header.
#[expect(
    clippy::result_large_err,
    reason = "the shape of tungstenite's handshake callback"
)]
pub(crate) fn check_upgrade(
    flow: &BotFlow,
    request: &Request,
    response: Response,
) -> Result<Response, ErrorResponse> {
    let path = request.uri().path();
    if path != "/v1" && path != "/v1/" {
        return Err(refusal(StatusCode::NOT_FOUND, "Not Found"));
    }
    if let Some(expected) = &flow.deployment_id {
        let given = request
            .uri()
            .query()
            .and_then(|q| query_value(q, "deploymentId"));
        if given.as_deref() != Some(expected.as_str()) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "Access denied: unknown deploymentId",
            ));
        }
    }
    if let Some(allowed) = &flow.allowed_origins {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|o| o.trim().trim_end_matches('/'));
        let ok = origin.is_some_and(|origin| {
            allowed
                .iter()
                .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
        });
        if !ok {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "Access denied: origin not allowed for this deployment",
            ));
        }
    }
    Ok(response)
}

fn refusal(status: StatusCode, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_string()));
    *response.status_mut() = status;
    response
}

/// The decoded value of `name` in a query string.
pub(crate) fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        assert_eq!(
            query_value("deploymentId=abc&application=x", "deploymentId").as_deref(),
            Some("abc")
        );
        assert_eq!(
            query_value("application=a%20b&deploymentId=a%2Db", "deploymentId").as_deref(),
            Some("a-b")
        );
        assert_eq!(query_value("x=1", "deploymentId"), None);
        assert_eq!(
            query_value("deploymentId", "deploymentId").as_deref(),
            Some("")
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("a+b"), "a b");
    }
}
