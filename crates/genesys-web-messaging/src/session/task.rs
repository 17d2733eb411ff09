//! The session task: the only owner of the socket. It writes what the handle
//! ([`GuestSession`](super::GuestSession)) asks, the auto-start `Join` and the heartbeats, and
//! records every frame the server sends into the session log (lifecycle frames into the
//! replies), in batches published together. Nothing the server sends makes it panic.

use super::{SendError, Socket, WIRE_TARGET};
use crate::lifecycle::Replies;
use crate::log::{Closed, Fault, SessionLog, Warning};
use crate::protocol::{
    ClientRequest, FrameError, IncomingChannel, IncomingMessage, LIFECYCLE_CLASSES, ServerEvent,
    decode_server_frame, frame_for_log,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::debug;

/// What the handle asks of the session task.
pub(super) enum Command {
    /// Write this request; say whether it was written.
    Send(Box<ClientRequest>, oneshot::Sender<Result<(), SendError>>),
    /// Close the socket cleanly; say when done.
    Close(oneshot::Sender<()>),
}

/// The Presence `Join` Genesys' Messenger sends for an auto-start deployment, with the
/// guest's custom attributes inside the message.
pub(super) fn join_request(
    token: &str,
    custom_attributes: &BTreeMap<String, String>,
) -> ClientRequest {
    ClientRequest::OnMessage {
        token: token.to_string(),
        message: IncomingMessage {
            channel: IncomingChannel::with_attributes(custom_attributes),
            ..IncomingMessage::presence("Join")
        },
        channel: None,
        tracing_id: Some(uuid::Uuid::new_v4().to_string()),
    }
}

/// The auto-start `Join` still to send (taken once sent), and where to say when it was.
pub(super) struct Autostart {
    /// Boxed: it lives in the session task for the whole session, mostly as `None`.
    pub(super) join: Option<Box<ClientRequest>>,
    pub(super) sent: Arc<OnceLock<Instant>>,
}

/// The session task: the only owner of the socket, given already split: an async fn keeps
/// room for its arguments for its whole life, and a whole `Socket` is 1.4 KiB.
pub(super) async fn drive(
    socket: (SplitSink<Socket, Message>, SplitStream<Socket>),
    mut commands: mpsc::UnboundedReceiver<Command>,
    log: Arc<SessionLog>,
    replies: Arc<Replies>,
    heartbeat: Duration,
    token: String,
    mut autostart: Autostart,
) {
    let (mut sink, mut stream) = socket;
    let mut next_heartbeat = Instant::now() + heartbeat;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(request, done)) => {
                    let json = request.to_json();
                    debug!(target: WIRE_TARGET, "sent {}", request.to_log_json());
                    let result = sink.send(Message::text(json)).await.map_err(|e| {
                        let closed = Closed::Failed(e.to_string());
                        log.record_closed(closed.clone());
                        SendError::Closed(closed)
                    });
                    // The rate limit counts every onMessage (whoever sent it) from the moment
                    // it was written.
                    if result.is_ok() && matches!(*request, ClientRequest::OnMessage { .. }) {
                        log.record_on_message_written(Instant::now());
                    }
                    next_heartbeat = Instant::now() + heartbeat;
                    let failed = result.is_err();
                    let _ = done.send(result);
                    if failed {
                        break;
                    }
                }
                Some(Command::Close(done)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame {
                        code: 1000.into(),
                        reason: "Guest client disconnect".into(),
                    }))).await;
                    let _ = sink.close().await;
                    log.record_closed(Closed::ByClient);
                    let _ = done.send(());
                    break;
                }
                None => {
                    let _ = sink.close().await;
                    log.record_closed(Closed::ByClient);
                    break;
                }
            },
            frame = stream.next() => {
                // Frames that arrived together are published together: a step woken by the
                // first never sees the conversation without the rest.
                // A bounded batch: a flood of frames still lets commands and heartbeats through.
                let mut new_session = false;
                let mut open = receive(&log, &replies, frame, &mut new_session);
                let mut batch = 1;
                while open && batch < MAX_BATCH {
                    batch += 1;
                    match stream.next().now_or_never() {
                        Some(frame) => open = receive(&log, &replies, frame, &mut new_session),
                        None => break,
                    }
                }
                log.publish();
                if !open {
                    break;
                }
                // Auto-start: the Join goes right after the SessionResponse of a new session,
                // before anything else is sent.
                if new_session && let Some(join) = autostart.join.take() {
                    let json = join.to_json();
                    debug!(target: WIRE_TARGET, "sent autostart {json}");
                    if let Err(e) = sink.send(Message::text(json)).await {
                        log.record_closed(Closed::Failed(e.to_string()));
                        break;
                    }
                    // An onMessage like any other: it counts towards the rate limit.
                    let written = Instant::now();
                    log.record_on_message_written(written);
                    let _ = autostart.sent.set(written);
                    next_heartbeat = Instant::now() + heartbeat;
                }
            }
            _ = tokio::time::sleep_until(next_heartbeat) => {
                let echo = ClientRequest::Echo {
                    token: Some(token.clone()),
                    message: IncomingMessage::text("ping"),
                    tracing_id: Some(uuid::Uuid::new_v4().to_string()),
                };
                let json = echo.to_json();
                debug!(target: WIRE_TARGET, "sent heartbeat {json}");
                if let Err(e) = sink.send(Message::text(json)).await {
                    log.record_closed(Closed::Failed(e.to_string()));
                    break;
                }
                next_heartbeat = Instant::now() + heartbeat;
            }
        }
    }
    answer_pending(commands, &log);
}

/// Once the session task ends: answers whoever is still waiting to send, so no caller hangs.
fn answer_pending(mut commands: mpsc::UnboundedReceiver<Command>, log: &SessionLog) {
    commands.close();
    let reason = log
        .snapshot()
        .closed
        .unwrap_or_else(|| Closed::Failed("the session task ended".into()));
    while let Ok(command) = commands.try_recv() {
        match command {
            Command::Send(_, done) => {
                let _ = done.send(Err(SendError::Closed(reason.clone())));
            }
            Command::Close(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Frames read in one go before the session task looks at its other duties.
const MAX_BATCH: usize = 256;

/// Records one frame (or the end of the stream); returns whether the socket is still open.
/// Sets `new_session` when the frame was a `SessionResponse` with `newSession: true`.
fn receive(
    log: &SessionLog,
    replies: &Replies,
    frame: Option<Result<Message, tungstenite::Error>>,
    new_session: &mut bool,
) -> bool {
    match frame {
        Some(Ok(Message::Text(text))) => {
            debug!(target: WIRE_TARGET, "received {}", frame_for_log(text.as_str()));
            *new_session |= record_frame(log, replies, text.as_str());
        }
        Some(Ok(Message::Binary(bytes))) => {
            debug!(target: WIRE_TARGET, "received a binary frame of {} bytes", bytes.len());
            match std::str::from_utf8(&bytes) {
                Ok(text) => *new_session |= record_frame(log, replies, text),
                Err(_) => log.record_fault(Fault::Frame(FrameError::NotText(bytes.len()))),
            }
        }
        Some(Ok(Message::Close(frame))) => {
            debug!(target: WIRE_TARGET, "received close {frame:?}");
            log.record_closed(Closed::ByServer {
                code: frame.as_ref().map(|f| u16::from(f.code)),
                reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
            });
            return false;
        }
        Some(Ok(_)) => {} // pings are answered by tungstenite itself
        Some(Err(e)) => {
            debug!(target: WIRE_TARGET, "socket error: {e}");
            log.record_closed(match e {
                tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                ) => Closed::ByServer {
                    code: None,
                    reason: String::new(),
                },
                tungstenite::Error::Capacity(
                    tungstenite::error::CapacityError::MessageTooLong { size, max_size },
                ) => Closed::LimitExceeded(format!(
                    "the server sent a message of {size} bytes or more, over the limit of \
                     {max_size} bytes (max message size)"
                )),
                other => Closed::Failed(other.to_string()),
            });
            return false;
        }
        None => {
            log.record_closed(Closed::ByServer {
                code: None,
                reason: String::new(),
            });
            return false;
        }
    }
    // Past the log's capacity the session is closed (the log recorded why).
    !log.is_full()
}

/// Records one text frame; returns whether it started a new session (`newSession: true`).
/// Nothing is dropped silently: a frame this client cannot use becomes a [`Warning`] (with the
/// frame), and an unreadable `SessionResponse` a [`Fault::UnreadableSession`] that fails the
/// session start.
pub(crate) fn record_frame(log: &SessionLog, replies: &Replies, text: &str) -> bool {
    if !log.account_frame(text.len()) {
        return false;
    }
    let frame = match decode_server_frame(text) {
        Ok(frame) => frame,
        Err(e) => {
            log.record_fault(Fault::Frame(e));
            return false;
        }
    };
    // Lifecycle and attachment frames go to the replies only (see `crate::lifecycle`).
    if replies.observe(&frame) {
        debug_assert!(LIFECYCLE_CLASSES.contains(&frame.class.as_str()));
        return false;
    }
    let tracing_id = frame.tracing_id.clone();
    match frame.into_event() {
        ServerEvent::SessionStarted(response) => {
            let new_session = response.connected && response.new_session == Some(true);
            log.record_session(response);
            return new_session;
        }
        ServerEvent::Message(message) => log.record_traced_message(message, tracing_id),
        ServerEvent::EchoResponse => {}
        ServerEvent::Error(error) => log.record_fault(Fault::Server(error)),
        ServerEvent::Unreadable { class, reason, .. } if class == "SessionResponse" => {
            log.record_fault(Fault::UnreadableSession {
                reason,
                frame: crate::log::cut(text),
            });
        }
        ServerEvent::Unreadable { class, reason, .. } => log.record_warning(Warning::new(
            format!("Genesys sent a {class} that could not be read ({reason})"),
            text,
        )),
        ServerEvent::Unknown { class, .. } => log.record_warning(Warning::new(
            format!("Genesys sent a frame of class {class}, which this tool does not use"),
            text,
        )),
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::DEFAULT_MAX_MESSAGES;

    #[test]
    fn the_join_has_the_messengers_shape_with_attributes_inside_the_message() {
        let mut attributes = BTreeMap::new();
        attributes.insert("A".to_string(), "B".to_string());
        let json: serde_json::Value =
            serde_json::from_str(&join_request("token", &attributes).to_json()).unwrap();
        let tracing_id = json["tracingId"].as_str().unwrap().to_string();
        assert_eq!(
            json,
            serde_json::json!({
                "action": "onMessage",
                "token": "token",
                "tracingId": tracing_id,
                "message": {
                    "type": "Event",
                    "events": [{"eventType": "Presence", "presence": {"type": "Join"}}],
                    "channel": {"metadata": {"customAttributes": {"A": "B"}}}
                }
            })
        );
        let bare = join_request("t", &BTreeMap::new()).to_json();
        assert!(!bare.contains("channel"), "{bare}");
    }

    #[test]
    fn only_a_new_connected_session_triggers_the_join() {
        let log = SessionLog::with_capacity(DEFAULT_MAX_MESSAGES);
        let new = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;
        let resumed = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}"#;
        let bare =
            r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true}}"#;
        let replies = Replies::default();
        assert!(record_frame(&log, &replies, new));
        assert!(!record_frame(&log, &replies, resumed));
        assert!(!record_frame(&log, &replies, bare));
        assert!(!record_frame(&log, &replies, "not json"));
    }
}
