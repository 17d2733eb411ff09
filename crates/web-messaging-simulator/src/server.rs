//! The public face ([`Simulator`], [`SimulatorBuilder`]), the listening socket, the accept
//! loop, and each accepted connection up to its request head: TLS first if asked, then a
//! WebSocket guest ([`crate::connection`]) or a plain-HTTP request ([`crate::http`]).

use crate::connection;
use crate::flow::BotFlow;
use crate::http::{self, Head, Rewind};
use crate::limits::SimulatorLimits;
use crate::shared::{OpenConnection, Shared, far_future, stopped};
use crate::tls::{Identity, self_signed};
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// Pending connections the kernel queues before `accept`: a small backlog refuses connections
/// when thousands of guests connect at once.
const BACKLOG: u32 = 4096;
/// How long `shutdown` lets open connections finish their close handshake.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
                    connections.spawn(serve(
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

/// Serves one accepted TCP connection (with TLS first when `tls` is given) until it closes or
/// the simulator stops.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
    _open: OpenConnection,
) {
    // One deadline for the TLS handshake and the upgrade together: a client that dribbles
    // its bytes (a slowloris) is dropped when it passes.
    let deadline = Instant::now()
        .checked_add(shared.limits.handshake_timeout)
        .unwrap_or_else(far_future);
    match tls {
        None => serve_stream(stream, peer, shared, stop, deadline).await,
        Some(acceptor) => {
            let accepted = tokio::select! {
                result = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => result,
                () = stopped(&mut stop) => return,
            };
            match accepted {
                Ok(Ok(stream)) => serve_stream(stream, peer, shared, stop, deadline).await,
                Ok(Err(e)) => {
                    tracing::debug!(target: "web_messaging_simulator", %peer, "TLS handshake failed: {e}");
                }
                Err(_) => {
                    tracing::debug!(target: "web_messaging_simulator", %peer, "TLS handshake timed out");
                }
            }
        }
    }
}

/// Reads the request head, then serves a WebSocket guest, or a plain-HTTP request.
async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    let head = tokio::select! {
        head = tokio::time::timeout_at(deadline, http::read_head(&mut stream)) => match head {
            Ok(Some(head)) => head,
            Ok(None) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "closed before a request");
                return;
            }
            Err(_) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade timed out");
                return;
            }
        },
        () = stopped(&mut stop) => return,
    };
    let Head { bytes, websocket } = head;
    let stream = Rewind::new(bytes, stream);
    if websocket {
        connection::serve_websocket(stream, peer, shared, stop, deadline).await;
    } else {
        http::serve(stream, peer, shared, stop).await;
    }
}
