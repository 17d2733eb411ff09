//! One guest WebSocket: the upgrade, then the protocol, until either side closes.
//!
//! This file is the socket shell: one task running one loop. The loop waits for whichever
//! comes first: the simulator stopping, a notice from another socket of the same session, a
//! scheduled action (or the session's expiry) falling due, or a frame from the guest, and
//! hands it to the sans-IO state machine ([`machine`]), which answers synchronously with the
//! frames to write, so timestamps are taken in the order the frames go on the wire (except
//! where an out-of-order fault asks otherwise). Bot replies never block reading: they wait in
//! a timer queue ([`schedule`]) keyed by when they are due.
//!
//! The rest of the folder is the machine, one concern a file: [`configure`] (the checks before
//! a session is configured), [`message`] (`onMessage`), [`requests`] (the other small
//! requests), [`attachments`], [`replies`] (a matched rule's actions, and running what falls
//! due), [`outgoing`] (the frames the bot writes), [`draws`] (every random draw), [`agent`]
//! (handovers), [`upgrade`] (the checks of the upgrade request itself).
//!
//! The conversation itself (state, captured values, read-only flag, expiry) lives in the
//! session store shared by every socket; the timer queue, the random generators and the fault
//! counters belong to the socket.

mod agent;
mod attachments;
mod configure;
mod draws;
mod machine;
mod message;
mod outgoing;
mod replies;
mod requests;
mod schedule;
mod upgrade;

#[cfg(test)]
mod tests;

use machine::{Machine, Out};

use crate::query::query_value;
use crate::session::Notice;
use crate::shared::{Shared, stopped};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use upgrade::check_upgrade;

/// How long a close handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same when the simulator shuts down: a guest that does not answer at once is not
/// worth keeping `shutdown` waiting.
const SHUTDOWN_CLOSE_TIMEOUT: Duration = Duration::from_millis(250);

/// Accepts the WebSocket upgrade of a guest (whose request head has been read) and serves it
/// until either side closes or the simulator stops.
#[expect(
    clippy::result_large_err,
    reason = "the shape of tungstenite's handshake callback"
)]
pub(crate) async fn serve_websocket<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    // Largest frame or message accepted from a guest, unless `limits.maxMessageLength` needs
    // more. A larger frame gets 4011 and the socket is closed (1009): its bytes cannot be
    // skipped.
    let limit = shared.limits.max_frame_bytes.max(
        shared
            .flow
            .limits
            .max_message_length
            .saturating_mul(4)
            .saturating_add(64 * 1024),
    );
    // tungstenite's default 128 KiB read buffer per socket dominates memory with thousands of
    // guests; guest frames are small.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let flow = &shared.flow;
    // The upgrade URL's deploymentId and the Host header, for the connection.
    let mut seen: (Option<String>, Option<String>) = (None, None);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| {
            seen.0 = request
                .uri()
                .query()
                .and_then(|q| query_value(q, "deploymentId"));
            seen.1 = request
                .headers()
                .get(tokio_tungstenite::tungstenite::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            check_upgrade(flow, request, response)
        },
        Some(config),
    );
    let ws = tokio::select! {
        result = tokio::time::timeout_at(deadline, handshake) => match result {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(target: "web_messaging_simulator", %peer, "upgrade timed out");
                return;
            }
        },
        () = stopped(&mut stop) => return,
    };
    tracing::debug!(target: "web_messaging_simulator", %peer, "guest connected");
    let (mut machine, notices) = Machine::new(Arc::clone(&shared));
    (machine.deployment_id, machine.host) = seen;
    run(machine, notices, ws, stop).await;
    tracing::debug!(target: "web_messaging_simulator", %peer, "guest gone");
}

/// What woke the loop.
enum Event {
    Stop,
    Notice(Option<Notice>),
    Due,
    Incoming(Option<Result<Message, WsError>>),
}

/// The loop of one upgraded socket: wait for an event, let the machine answer, write.
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut machine: Machine,
    mut notices: mpsc::UnboundedReceiver<Notice>,
    mut ws: WebSocketStream<S>,
    mut stop: watch::Receiver<bool>,
) {
    let write_timeout = machine.shared.limits.write_timeout;
    loop {
        // A guest over its frame rate is not read until it has budget again.
        let read_at = machine.read_ready_at(Instant::now());
        let due = machine.next_deadline(read_at);
        let event = tokio::select! {
            biased;
            () = stopped(&mut stop) => Event::Stop,
            notice = notices.recv() => Event::Notice(notice),
            () = sleep_until(due) => Event::Due,
            incoming = ws.next(), if read_at.is_none() => Event::Incoming(incoming),
        };
        let now = Instant::now();
        if matches!(event, Event::Due)
            && let Some((code, reason)) = machine.idled(now)
        {
            tracing::debug!(target: "web_messaging_simulator", "closing an idle socket: {reason}");
            let _ =
                tokio::time::timeout(write_timeout, close(&mut ws, code, reason, CLOSE_TIMEOUT))
                    .await;
            return;
        }
        let mut out = match event {
            Event::Stop => {
                close(
                    &mut ws,
                    CloseCode::Away,
                    "The simulator is shutting down",
                    SHUTDOWN_CLOSE_TIMEOUT,
                )
                .await;
                return;
            }
            Event::Notice(Some(notice)) => machine.on_notice(notice),
            Event::Notice(None) | Event::Due => Vec::new(),
            Event::Incoming(None | Some(Err(_))) => {
                if let Event::Incoming(Some(Err(WsError::Capacity(e)))) = event {
                    tracing::debug!(target: "web_messaging_simulator", "oversized frame: {e}");
                    refuse_oversized(&mut ws, write_timeout).await;
                }
                return;
            }
            Event::Incoming(Some(Ok(message))) => machine.on_frame(message, now),
        };
        // Whatever is due now goes out at once, in the same batch: a timer set for "now"
        // may need another millisecond to fire, and a frame read meanwhile would overtake
        // a zero-delay reply (or welcome message).
        out.extend(machine.catch_up(now));
        // A guest that does not read would hold the task (and its socket) forever.
        match tokio::time::timeout(write_timeout, write(&mut ws, out)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => {
                tracing::debug!(target: "web_messaging_simulator", "a guest stopped reading: dropped");
                return;
            }
        }
    }
}

/// A frame over the size limit: 4011, then close 1009.
async fn refuse_oversized<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    write_timeout: Duration,
) {
    let answer = async {
        let _ = write(
            ws,
            vec![outgoing::string_error(4011, "message too long", None)],
        )
        .await;
        let frame = CloseFrame {
            code: CloseCode::Size,
            reason: "Message too long".into(),
        };
        let _ = ws.close(Some(frame)).await;
    };
    let _ = tokio::time::timeout(write_timeout, answer).await;
    // The rest of the frame is still unread: closing now would reset the connection, and
    // the guest could lose the answer. Read it away first.
    drain_raw(ws.get_mut(), CLOSE_TIMEOUT).await;
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes `out`; false when the connection is over (closed or dropped here, or the write
/// failed).
async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    out: Vec<Out>,
) -> bool {
    if out.is_empty() {
        return true;
    }
    for item in out {
        match item {
            Out::Frame(text) => {
                if ws.feed(Message::text(text)).await.is_err() {
                    return false;
                }
            }
            Out::Close(reason) => {
                if ws.flush().await.is_err() {
                    return false;
                }
                close(ws, CloseCode::Normal, reason, CLOSE_TIMEOUT).await;
                return false;
            }
            Out::Drop => {
                // What was written before still goes out; then the socket is dropped by the
                // caller, without a close frame.
                let _ = ws.flush().await;
                return false;
            }
        }
    }
    ws.flush().await.is_ok()
}

/// Reads and discards raw bytes until the guest closes the connection or `wait` passes.
async fn drain_raw<S: AsyncRead + Unpin>(stream: &mut S, wait: Duration) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0; 64 * 1024];
    let drain = async { while let Ok(1..) = stream.read(&mut buffer).await {} };
    let _ = tokio::time::timeout(wait, drain).await;
}

/// Sends a close frame and waits (briefly) for the guest's answer.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &str,
    wait: Duration,
) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(wait, drain).await;
}
