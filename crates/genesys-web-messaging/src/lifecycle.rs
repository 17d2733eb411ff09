//! The session's lifecycle beyond saying things: clearing the conversation, reconnecting with
//! the same token, starting a new conversation, closing the session, the guest JWT and the
//! message history.
//!
//! The session task hands every lifecycle frame (and a copy of every `SessionResponse`, string
//! error and `ConnectionClosedEvent`) to a small bounded [`Replies`] record, numbered in arrival
//! order: a request remembers the number before it is sent and waits for an answer after it,
//! so an old answer is never taken for a new one. Waits end at their deadline, when the answer
//! comes, when the server refuses, or when the socket closes.

use crate::conversation::{Conversation, later};
use crate::log::{Closed, Fault, SessionLog};
use crate::protocol::{
    ClientRequest, HistoryPage, IncomingMessage, JwtResponse, LIFECYCLE_CLASSES, LifecycleEvent,
    ServerError, ServerFrame, SessionResponse, StructuredMessage,
};
use crate::session::{ConnectError, GuestSession, SendError};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Most answers kept: far more than one request waits through.
const MAX_REPLIES: usize = 256;

/// An answer recorded for lifecycle requests.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// A lifecycle or attachment frame.
    Event(LifecycleEvent, Option<String>),
    /// A `SessionResponse` (its raw body: fields the session log's type does not keep), shared
    /// with [`Replies::session_body`]: one copy per session, not one per place it is kept.
    Session(Arc<Value>, Option<String>),
    /// A `class: "string"` error (or another non-200 frame).
    Error {
        code: i64,
        message: String,
        tracing_id: Option<String>,
    },
    /// `ConnectionClosedEvent`.
    ConnectionClosed(Option<String>),
}

#[derive(Debug, Default)]
struct State {
    answers: VecDeque<(u64, Answer)>,
    next: u64,
    session_body: Option<Arc<Value>>,
}

/// Answers to lifecycle requests, in arrival order (bounded).
#[derive(Debug, Default)]
pub(crate) struct Replies {
    state: Mutex<State>,
}

impl Replies {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records what lifecycle requests need from `frame`. Returns `true` when the frame is a
    /// lifecycle class, which the session log does not keep.
    pub(crate) fn observe(&self, frame: &ServerFrame) -> bool {
        let tracing_id = frame.tracing_id.clone();
        let (answer, claimed) = if LIFECYCLE_CLASSES.contains(&frame.class.as_str()) {
            let event = if frame.code != 200 && frame.class != "GenerateUrlError" {
                // A lifecycle class with an error code: say so rather than guess.
                LifecycleEvent::Malformed {
                    class: frame.class.clone(),
                    body: frame.body.clone(),
                }
            } else {
                match LifecycleEvent::from_frame(frame) {
                    Some(event) => event,
                    None => return false,
                }
            };
            (Answer::Event(event, tracing_id), true)
        } else {
            let answer = match frame.class.as_str() {
                "SessionResponse" if frame.code == 200 => {
                    let body = Arc::new(frame.body.clone());
                    self.lock().session_body = Some(Arc::clone(&body));
                    Answer::Session(body, tracing_id)
                }
                "ConnectionClosedEvent" => Answer::ConnectionClosed(
                    frame
                        .body
                        .get("reason")
                        .or_else(|| frame.body.get("reasonCode"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ),
                "TooManyRequestsErrorMessage" | "StructuredMessage" if frame.code == 200 => {
                    return false;
                }
                "string" | "SessionResponse" => Answer::Error {
                    code: frame.code,
                    message: match &frame.body {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                    tracing_id,
                },
                _ => return false,
            };
            (answer, false)
        };
        let mut s = self.lock();
        let seq = s.next;
        s.next += 1;
        crate::push_back_compact(&mut s.answers, (seq, answer));
        while s.answers.len() > MAX_REPLIES {
            s.answers.pop_front();
        }
        claimed
    }

    /// The number the next answer will get.
    pub(crate) fn mark(&self) -> u64 {
        self.lock().next
    }

    /// The first answer numbered `from` or later that `pick` takes.
    pub(crate) fn find<T>(
        &self,
        from: u64,
        mut pick: impl FnMut(&Answer) -> Option<T>,
    ) -> Option<T> {
        self.lock()
            .answers
            .iter()
            .filter(|(seq, _)| *seq >= from)
            .find_map(|(_, answer)| pick(answer))
    }

    /// The body of the latest `SessionResponse`.
    pub(crate) fn session_body(&self) -> Option<Arc<Value>> {
        self.lock().session_body.clone()
    }
}

/// Waits until `check` gives an answer, the socket closes, or `deadline` passes (`None`).
/// Wakes on every published change to the session log (the session task fills the replies in
/// the same batch it publishes).
pub(crate) async fn wait_for<T>(
    log: &SessionLog,
    deadline: Instant,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, Option<Closed>> {
    loop {
        let changed = log.changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if let Some(value) = check() {
            return Ok(value);
        }
        if let Some(closed) = log.snapshot().closed {
            // One last look: the answer may have come with the close.
            return check().ok_or(Some(closed));
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        tokio::select! {
            _ = changed => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// Why a lifecycle request failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The request could not be sent (the socket is gone).
    #[error(transparent)]
    Send(#[from] SendError),
    /// Reconnecting failed.
    #[error("could not reconnect: {0}")]
    Connect(#[from] ConnectError),
    /// No answer within the time limit.
    #[error("Genesys did not answer {request} within {} (expected {expected})", crate::conversation::short_duration(*timeout))]
    TimedOut {
        /// What was sent.
        request: &'static str,
        /// What was expected back.
        expected: &'static str,
        /// The time limit.
        timeout: Duration,
    },
    /// The socket closed before the answer came.
    #[error("{closed} while waiting for the answer to {request}")]
    Closed {
        /// What was sent.
        request: &'static str,
        /// Why the socket is gone.
        closed: Closed,
    },
    /// Clearing conversations is off for this deployment (`conversationClear.enabled: false`):
    /// Genesys answers 403 "Presence events Conversation Clear are not supported".
    #[error(
        "Genesys refused to clear the conversation (403: {message}): clearing is not enabled for this deployment (messenger.apps.conversations.conversationClear)"
    )]
    ClearNotEnabled {
        /// The server's text.
        message: String,
    },
    /// The server refused the request with an error code.
    #[error("Genesys refused {request} with error {code}{}: {message}", crate::protocol::describe_code(*code).map(|m| format!(" ({m})")).unwrap_or_default())]
    Refused {
        /// What was sent.
        request: &'static str,
        /// The error code.
        code: i64,
        /// The server's text.
        message: String,
    },
    /// The server answered, but not as Genesys documents it.
    #[error("{request}: expected {expected}, but Genesys answered {got}")]
    Unexpected {
        /// What was sent.
        request: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// After reconnecting, the server sent again messages the guest had already received.
    #[error(
        "after reconnecting, Genesys replayed {count} message(s) already received (it documents no replay on reconnect)"
    )]
    Replayed {
        /// How many.
        count: usize,
    },
    /// The guest history REST call failed.
    #[error("the history request to {url} failed: {reason}")]
    History {
        /// The URL called (without credentials).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// A JWT for the guest REST API, from `getJwt`. Its `Debug` never shows the token.
#[derive(Clone, PartialEq)]
pub struct Jwt {
    /// The token. Secret: a bearer credential.
    pub token: String,
    /// Expiry, in epoch seconds.
    pub expires: i64,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("token", &"[REDACTED]")
            .field("expires", &self.expires)
            .finish()
    }
}

/// The guest's message history, from the REST API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The messages, in the order Genesys sent them (pages in order; newest first within a
    /// page, as far as is known).
    pub messages: Vec<StructuredMessage>,
    /// Entities that could not be read as messages, as sent.
    pub undecodable: Vec<Value>,
    /// The `total` Genesys reported on the first page.
    pub total: Option<u64>,
}

/// Most history pages fetched by [`Conversation::history`] (25 messages each by default).
pub const MAX_HISTORY_PAGES: u64 = 40;
/// Largest history page body read, in bytes.
const MAX_HISTORY_BODY: usize = 4 << 20;

/// The REST base URL for an endpoint: `https://api.{domain}` for
/// `wss://webmessaging.{domain}/…`, otherwise the endpoint's own host and port (`http` for
/// `ws`, `https` for `wss`).
pub fn rest_base_url(websocket_url: &str) -> Option<String> {
    let (scheme, rest) = if let Some(rest) = websocket_url.strip_prefix("wss://") {
        ("https", rest)
    } else if let Some(rest) = websocket_url.strip_prefix("ws://") {
        ("http", rest)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return None;
    }
    match authority.strip_prefix("webmessaging.") {
        Some(domain) => Some(format!("{scheme}://api.{domain}")),
        None => Some(format!("{scheme}://{authority}")),
    }
}

/// The HTTP client of uploads and REST calls: bounded time limits, the public roots plus the
/// session's extra ones (a simulator's certificate).
pub(crate) fn http_client(
    session: &GuestSession,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = crate::crypto::http_client_builder()
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("genesys-web-messaging/", env!("CARGO_PKG_VERSION")));
    for der in &session.config().extra_root_certificates {
        let certificate = reqwest::Certificate::from_der(der.as_ref())
            .map_err(|e| format!("cannot use an extra root certificate: {e}"))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|e| format!("cannot create the HTTP client: {e}"))
}

/// Reads at most `max` bytes of a response body.
pub(crate) async fn bounded_body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("the response is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// What one wait for a `SessionResponse` to `request` gives.
enum SessionAnswer {
    Session(SessionResponse),
    Refused(i64, String),
}

impl Conversation {
    /// Sends `request` and waits for the next `SessionResponse` (or a string error) after it.
    async fn exchange_session(
        &mut self,
        request: ClientRequest,
        name: &'static str,
        timeout: Duration,
    ) -> Result<SessionResponse, LifecycleError> {
        let deadline = later(Instant::now(), timeout);
        let replies = Arc::clone(self.session().replies());
        let mark = replies.mark();
        self.session().send(request).await?;
        self.await_session_answer(&replies, mark, name, deadline, timeout)
            .await
    }

    /// Waits for the first `SessionResponse` (or string error) numbered `mark` or later, as the
    /// answer to `name`: a refusal is [`LifecycleError::Refused`], no answer [`not_answered`].
    async fn await_session_answer(
        &mut self,
        replies: &Replies,
        mark: u64,
        name: &'static str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<SessionResponse, LifecycleError> {
        let answer = wait_for(self.session().log(), deadline, || {
            replies.find(mark, |answer| match answer {
                Answer::Session(body, _) => Some(SessionAnswer::Session(
                    serde_json::from_value(Value::clone(body)).unwrap_or_default(),
                )),
                Answer::Error { code, message, .. } => {
                    Some(SessionAnswer::Refused(*code, message.clone()))
                }
                _ => None,
            })
        })
        .await;
        match answer {
            Ok(SessionAnswer::Session(session)) => Ok(session),
            Ok(SessionAnswer::Refused(code, message)) => Err(self.refused(name, code, message)),
            Err(closed) => Err(not_answered(name, "a SessionResponse", timeout, closed)),
        }
    }

    /// The server's refusal of `request`, its fault marked as reported.
    fn refused(&mut self, request: &'static str, code: i64, message: String) -> LifecycleError {
        self.consume_fault(code, &message);
        LifecycleError::Refused {
            request,
            code,
            message,
        }
    }

    /// Marks the server error just answered to a request (lifecycle or attachment) as
    /// reported, so the waits that follow do not fail on it again.
    pub(crate) fn consume_fault(&mut self, code: i64, message: &str) {
        let snap = self.log().snapshot();
        let expected_code = |fault: &Fault| match fault {
            Fault::Server(ServerError::Coded {
                code: c,
                message: m,
            }) => *c == code && m == message,
            Fault::Server(ServerError::ConnectionClosed { .. }) => code == 0,
            _ => false,
        };
        if snap
            .faults
            .get(self.faults_reported)
            .is_some_and(expected_code)
        {
            self.faults_reported += 1;
        }
    }

    /// Clears the conversation, as Genesys' Messenger does: sends the Presence `Clear` event
    /// and waits for `SessionClearedEvent` and then `ConnectionClosedEvent`.
    /// Genesys then closes the connection: a new session is needed to talk again.
    ///
    /// Fails with [`LifecycleError::ClearNotEnabled`] when the deployment does not allow
    /// clearing (Genesys' documented 403).
    pub async fn clear_conversation(&mut self, timeout: Duration) -> Result<(), LifecycleError> {
        const NAME: &str = "the Presence Clear event";
        let deadline = later(Instant::now(), timeout);
        // Clear is an `onMessage`: it counts against the rate limit like any other.
        self.pace_rate().await;
        let replies = Arc::clone(self.session().replies());
        let mark = replies.mark();
        let tracing_id = uuid::Uuid::new_v4().to_string();
        self.session()
            .send(ClientRequest::OnMessage {
                token: self.session().token().to_string(),
                message: IncomingMessage::presence("Clear"),
                channel: None,
                tracing_id: Some(tracing_id),
            })
            .await?;
        enum Cleared {
            Done,
            Refused(i64, String),
        }
        let mut cleared = false;
        let outcome = wait_for(self.session().log(), deadline, || {
            let mut seen_cleared = false;
            let found = replies.find(mark, |answer| match answer {
                Answer::Event(LifecycleEvent::SessionCleared, _) => {
                    seen_cleared = true;
                    None
                }
                Answer::ConnectionClosed(_) if seen_cleared => Some(Cleared::Done),
                Answer::Error { code, message, .. } if !seen_cleared => {
                    Some(Cleared::Refused(*code, message.clone()))
                }
                _ => None,
            });
            cleared |= seen_cleared;
            found
        })
        .await;
        match outcome {
            Ok(Cleared::Done) => {
                // The ConnectionClosedEvent is the expected end, not a failure of what follows.
                self.consume_fault(0, "");
                Ok(())
            }
            Ok(Cleared::Refused(403, message)) => {
                self.consume_fault(403, &message);
                Err(LifecycleError::ClearNotEnabled { message })
            }
            Ok(Cleared::Refused(code, message)) => Err(self.refused(NAME, code, message)),
            // Cleared, then the socket closed without a ConnectionClosedEvent: cleared all the
            // same.
            Err(Some(_)) if cleared => Ok(()),
            Err(None) if cleared => Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "a ConnectionClosedEvent after the SessionClearedEvent",
                got: format!(
                    "nothing more within {}",
                    crate::conversation::short_duration(timeout)
                ),
            }),
            Err(closed) => Err(not_answered(NAME, "a SessionClearedEvent", timeout, closed)),
        }
    }

    /// Closes the socket and opens a new one with the same token, as a guest reloading the
    /// page does: Genesys must answer `SessionResponse` with
    /// `newSession: false` and replay nothing. The log is kept, so waits go on where they were.
    ///
    /// A replay is noticed when it arrives before or with the `SessionResponse`.
    pub async fn reconnect(
        &mut self,
        timeout: Duration,
    ) -> Result<SessionResponse, LifecycleError> {
        const NAME: &str = "configureSession with the same token (reconnect)";
        let deadline = later(Instant::now(), timeout);
        let before: std::collections::HashSet<String> = self
            .log()
            .snapshot()
            .messages
            .iter()
            .map(|m| m.message.id.clone())
            .filter(|id| !id.is_empty())
            .collect();
        let arrivals_before = self.log().snapshot().messages.len();
        let replies = Arc::clone(self.session().replies());
        let mark = replies.mark();
        let remaining = deadline.saturating_duration_since(Instant::now());
        self.session_mut().reconnect(remaining).await?;
        let session = self
            .await_session_answer(&replies, mark, NAME, deadline, timeout)
            .await?;
        if session.new_session != Some(false) || !session.connected {
            return Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "connected: true, newSession: false (the same session resumed)",
                got: session_state(&session),
            });
        }
        let snap = self.log().snapshot();
        let replayed = snap
            .messages
            .iter()
            .filter(|m| {
                usize::try_from(m.arrival).unwrap_or(usize::MAX) >= arrivals_before
                    && before.contains(&m.message.id)
            })
            .count();
        if replayed > 0 {
            return Err(LifecycleError::Replayed { count: replayed });
        }
        Ok(session)
    }

    /// Starts a new conversation on this session (`configureSession` with `startNew: true`),
    /// e.g. after the bot disconnected or after
    /// [`Conversation::close_session`]. Genesys answers `connected: true, newSession: true`.
    /// Waits, disconnect checks and sends then only look at what comes after.
    pub async fn start_new(
        &mut self,
        timeout: Duration,
    ) -> Result<SessionResponse, LifecycleError> {
        const NAME: &str = "configureSession with startNew: true";
        let request = self.session().configure_request(true);
        let session = self.exchange_session(request, NAME, timeout).await?;
        if !session.connected || session.new_session != Some(true) {
            return Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "connected: true, newSession: true (a new conversation)",
                got: session_state(&session),
            });
        }
        self.start_epoch();
        Ok(session)
    }

    /// Closes the session on every connection sharing its token (`closeSession` with
    /// `closeAllConnections: true`). Genesys answers `SessionResponse` with
    /// `connected: false` (and `readOnly: true`); [`Conversation::start_new`] starts again.
    pub async fn close_session(
        &mut self,
        timeout: Duration,
    ) -> Result<SessionResponse, LifecycleError> {
        const NAME: &str = "closeSession";
        let request = ClientRequest::CloseSession {
            token: self.session().token().to_string(),
            close_all_connections: true,
            tracing_id: Some(uuid::Uuid::new_v4().to_string()),
        };
        let session = self.exchange_session(request, NAME, timeout).await?;
        if session.connected {
            return Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "a SessionResponse with connected: false",
                got: "connected: true".into(),
            });
        }
        Ok(session)
    }

    /// Asks for a JWT for the guest REST API (`getJwt` → `JwtResponse`).
    pub async fn get_jwt(&mut self, timeout: Duration) -> Result<Jwt, LifecycleError> {
        const NAME: &str = "getJwt";
        let deadline = later(Instant::now(), timeout);
        let replies = Arc::clone(self.session().replies());
        let mark = replies.mark();
        let tracing_id = uuid::Uuid::new_v4().to_string();
        self.session()
            .send(ClientRequest::GetJwt {
                token: self.session().token().to_string(),
                tracing_id: Some(tracing_id),
            })
            .await?;
        enum Got {
            Jwt(JwtResponse),
            Malformed(Value),
            Refused(i64, String),
        }
        let answer = wait_for(self.session().log(), deadline, || {
            replies.find(mark, |answer| match answer {
                Answer::Event(LifecycleEvent::Jwt(jwt), _) => Some(Got::Jwt(jwt.clone())),
                Answer::Event(LifecycleEvent::Malformed { class, body }, _)
                    if class == "JwtResponse" =>
                {
                    Some(Got::Malformed(body.clone()))
                }
                Answer::Error { code, message, .. } => Some(Got::Refused(*code, message.clone())),
                _ => None,
            })
        })
        .await;
        match answer {
            Ok(Got::Jwt(jwt)) if !jwt.jwt.is_empty() => Ok(Jwt {
                token: jwt.jwt,
                expires: jwt.exp,
            }),
            Ok(Got::Jwt(_)) => Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "a JwtResponse with a jwt",
                got: "an empty jwt".into(),
            }),
            Ok(Got::Malformed(body)) => Err(LifecycleError::Unexpected {
                request: NAME,
                expected: "a JwtResponse {jwt, exp}",
                got: excerpt(body.to_string().as_bytes()),
            }),
            Ok(Got::Refused(code, message)) => Err(self.refused(NAME, code, message)),
            Err(closed) => Err(not_answered(NAME, "a JwtResponse", timeout, closed)),
        }
    }

    /// One page of the guest's history: `GET {rest}/api/v2/webmessaging/messages` with
    /// `Authorization: Bearer {jwt}`. `rest` is
    /// [`crate::SessionConfig::rest_base_url`], else derived from the endpoint
    /// ([`rest_base_url`]).
    pub async fn history_page(
        &self,
        jwt: &Jwt,
        page_number: u64,
        page_size: u64,
        timeout: Duration,
    ) -> Result<HistoryPage, LifecycleError> {
        let base = self.session().rest_base_url();
        let url = format!(
            "{}/api/v2/webmessaging/messages?pageSize={page_size}&pageNumber={page_number}",
            base.trim_end_matches('/')
        );
        let failed = |reason: String| LifecycleError::History {
            url: url.clone(),
            reason,
        };
        let client = http_client(self.session(), timeout).map_err(failed)?;
        let mut request = client.get(&url).bearer_auth(&jwt.token);
        if let Some(origin) = &self.session().config().origin {
            request = request.header("Origin", origin);
        }
        let response = request
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        let body = bounded_body(response, MAX_HISTORY_BODY)
            .await
            .map_err(failed)?;
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}: {}", excerpt(&body))));
        }
        serde_json::from_slice(&body).map_err(|e| {
            failed(format!(
                "the answer is not a message list ({e}): {}",
                excerpt(&body)
            ))
        })
    }

    /// The guest's whole history, page by page (25 a page) until an empty or last page, at
    /// most [`MAX_HISTORY_PAGES`] pages; `timeout` applies to each page.
    pub async fn history(&self, jwt: &Jwt, timeout: Duration) -> Result<History, LifecycleError> {
        let mut history = History::default();
        for page_number in 1..=MAX_HISTORY_PAGES {
            let page = self.history_page(jwt, page_number, 25, timeout).await?;
            if page_number == 1 {
                history.total = page.total;
            }
            let empty = page.entities.is_empty();
            for entity in page.entities {
                match serde_json::from_value::<StructuredMessage>(entity.clone()) {
                    Ok(message) => history.messages.push(message),
                    Err(_) => history.undecodable.push(entity),
                }
            }
            if empty || page.page_count.is_some_and(|count| page_number >= count) {
                break;
            }
        }
        Ok(history)
    }
}

/// `connected` and `newSession` of a `SessionResponse`, as failures quote them.
fn session_state(session: &SessionResponse) -> String {
    format!(
        "connected: {}, newSession: {}",
        session.connected,
        session
            .new_session
            .map_or("absent".to_string(), |b| b.to_string())
    )
}

fn not_answered(
    request: &'static str,
    expected: &'static str,
    timeout: Duration,
    closed: Option<Closed>,
) -> LifecycleError {
    match closed {
        Some(closed) => LifecycleError::Closed { request, closed },
        None => LifecycleError::TimedOut {
            request,
            expected,
            timeout,
        },
    }
}

impl Conversation {
    /// A new conversation starts after everything logged so far.
    fn start_epoch(&mut self) {
        let last = self.log().snapshot().messages.last().map(|m| m.key());
        if let Some(last) = last {
            self.epoch = Some(last);
            if self.cursor.is_none_or(|cursor| cursor < last) {
                self.cursor = Some(last);
                self.cursor_moved_at = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_urls() {
        assert_eq!(
            rest_base_url("wss://webmessaging.mypurecloud.ie/v1?deploymentId=x").as_deref(),
            Some("https://api.mypurecloud.ie")
        );
        assert_eq!(
            rest_base_url("ws://127.0.0.1:9000/v1?deploymentId=x").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            rest_base_url("wss://localhost:8443").as_deref(),
            Some("https://localhost:8443")
        );
        assert_eq!(rest_base_url("http://x"), None);
    }

    #[test]
    fn jwt_debug_hides_the_token() {
        let jwt = Jwt {
            token: "secret".into(),
            expires: 1,
        };
        assert!(!format!("{jwt:?}").contains("secret"));
    }
}
