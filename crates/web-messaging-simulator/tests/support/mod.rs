//! A raw guest over a real loopback WebSocket (`ws://` or `wss://`), for the integration tests.
//!
//! Real time throughout (a paused clock and real sockets do not mix), with generous timeouts
//! for waits that should succeed and short ones only where silence is the expected outcome.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of the helpers"
)]

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use web_messaging_simulator::{BotFlow, Simulator};

pub const GENEROUS: Duration = Duration::from_secs(10);
pub const QUIET: Duration = Duration::from_millis(300);

/// A simulator without the `onMessage` rate limit, so that tests never wait for it (the
/// rate-limit tests use [`rate_limited_simulator`]).
pub async fn simulator(yaml: &str) -> Simulator {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    Simulator::builder(flow)
        .rate_limit(0)
        .start()
        .await
        .expect("simulator starts")
}

/// A simulator with the flow's rate limit (Genesys' 2 per rolling second by default).
pub async fn rate_limited_simulator(yaml: &str) -> Simulator {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    Simulator::start(flow).await.expect("simulator starts")
}

/// Asserts that every field of `expected` is in `actual` with the same value.
pub fn assert_has(actual: &Value, expected: Value) {
    let Value::Object(expected) = expected else {
        panic!("expected fields must be an object");
    };
    for (key, value) in expected {
        assert_eq!(actual[&key], value, "field `{key}` of {actual}");
    }
}

pub async fn tls_simulator(yaml: &str) -> Simulator {
    let flow = BotFlow::from_yaml_str(yaml, "bot.yml").expect("valid flow");
    Simulator::builder(flow)
        .tls(true)
        .rate_limit(0)
        .start()
        .await
        .expect("simulator starts")
}

/// A client configuration that trusts exactly `certificate` (no public roots).
pub fn trusting(certificate: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).expect("a valid certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

pub struct Guest {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub token: String,
    /// The upgrade URL's deploymentId, which `configureSession` repeats.
    pub deployment: String,
}

/// Connects a guest with a fresh token; over `wss://` it trusts the simulator's certificate.
pub async fn connect(sim: &Simulator) -> Guest {
    let token = uuid::Uuid::new_v4().to_string();
    connect_with_token(sim, &token).await
}

/// Connects a guest and configures its session (the response is not looked at).
pub async fn configured(sim: &Simulator) -> Guest {
    let mut guest = connect(sim).await;
    guest.configure().await;
    guest
}

/// Connects a guest that will use `token`.
pub async fn connect_with_token(sim: &Simulator, token: &str) -> Guest {
    let mut guest = try_connect(sim, Some("test-deployment"), None)
        .await
        .expect("connects");
    guest.token = token.to_string();
    guest
}

/// Tries the upgrade with this `deploymentId` in the URL (none: no parameter) and `Origin`
/// header; over `wss://` it trusts the simulator's certificate. The guest gets a fresh token.
pub async fn try_connect(
    sim: &Simulator,
    deployment: Option<&str>,
    origin: Option<&str>,
) -> Result<Guest, WsError> {
    let url = match deployment {
        Some(id) => format!("{}?deploymentId={id}", sim.url()),
        None => sim.url(),
    };
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).expect("a valid header"),
        );
    }
    let connector = sim
        .certificate_der()
        .map(|der| Connector::Rustls(trusting(der)));
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let (ws, _) = tokio::time::timeout(GENEROUS, connect)
        .await
        .expect("the upgrade completes in time")?;
    Ok(Guest {
        ws,
        token: uuid::Uuid::new_v4().to_string(),
        deployment: deployment.unwrap_or("test-deployment").to_string(),
    })
}

impl Guest {
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("sends");
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    /// The next text frame, raw.
    pub async fn next_raw(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + GENEROUS;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a frame arrives in time");
            match next {
                Some(Ok(Message::Text(text))) => return text.as_str().to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame, as JSON.
    pub async fn next(&mut self) -> Value {
        let raw = self.next_raw().await;
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("not JSON ({e}): {raw}"))
    }

    /// Asserts that no text frame arrives for a while.
    pub async fn expect_silence(&mut self) {
        self.expect_silence_for(QUIET).await;
    }

    /// Asserts that no text frame arrives for `quiet`.
    pub async fn expect_silence_for(&mut self, quiet: Duration) {
        if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(quiet, self.ws.next()).await
        {
            panic!("expected silence, got {text}");
        }
    }

    /// Waits for the server's close frame and returns its code (`None`: no close frame).
    pub async fn expect_close(&mut self) -> Option<CloseCode> {
        let deadline = tokio::time::Instant::now() + GENEROUS;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the socket closes in time");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(Message::Text(text))) => panic!("expected a close, got {text}"),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }

    /// Waits for the connection to end without a close frame (a dropped TCP connection).
    pub async fn expect_dropped(&mut self) {
        let deadline = tokio::time::Instant::now() + GENEROUS;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the socket ends in time");
            match next {
                Some(Ok(Message::Close(frame))) => panic!("expected no close frame, got {frame:?}"),
                Some(Ok(Message::Text(text))) => panic!("expected the end, got {text}"),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return,
            }
        }
    }

    pub fn configure_frame(&self) -> Value {
        json!({"action":"configureSession","deploymentId":self.deployment,"token":self.token})
    }

    pub async fn configure(&mut self) -> Value {
        let frame = self.configure_frame();
        self.send(frame).await;
        self.next().await
    }

    pub async fn say(&mut self, text: &str) {
        let frame =
            json!({"action":"onMessage","token":self.token,"message":{"type":"Text","text":text}});
        self.send(frame).await;
    }

    /// Says `text` and returns the echo of it.
    pub async fn say_and_echo(&mut self, text: &str) -> Value {
        self.say(text).await;
        let echo = self.next().await;
        assert_eq!(echo["body"]["direction"], "Inbound", "{echo}");
        assert_eq!(echo["body"]["text"], text, "{echo}");
        echo
    }

    /// Sends an `onMessage` with this `message` and returns the next frame.
    pub async fn send_message(&mut self, message: Value) -> Value {
        self.send(json!({"action":"onMessage","token":self.token,"message":message}))
            .await;
        self.next().await
    }

    /// The next frame, which must be an Outbound bot message.
    pub async fn bot_message(&mut self) -> Value {
        let frame = self.next().await;
        assert_bot_frame(&frame);
        frame
    }

    /// The text of the next frame, which must be a bot message.
    pub async fn reply(&mut self) -> String {
        let frame = self.bot_message().await;
        frame["body"]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("no text in {frame}"))
            .to_string()
    }
}

/// Sends a text frame of `size` bytes, over the frame limit: Genesys answers 4011 and closes
/// the socket with 1009.
pub async fn assert_oversized_frame_closes(guest: &mut Guest, size: usize) {
    guest.send_text(&"x".repeat(size)).await;
    assert_eq!(
        guest.next().await,
        json!({"type":"response","class":"string","code":4011,"body":"message too long"})
    );
    assert_eq!(guest.expect_close().await, Some(CloseCode::Size));
}

pub fn assert_bot_frame(frame: &Value) {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = &frame["body"];
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["originatingEntity"], "Bot", "{frame}");
    assert_eq!(body["channel"]["type"], "Private", "{frame}");
}

pub fn time_of(frame: &Value) -> String {
    frame["body"]["channel"]["time"]
        .as_str()
        .unwrap_or_else(|| panic!("no channel.time in {frame}"))
        .to_string()
}

/// A quick-reply click, as Genesys' clients send it: a Text message with no `text`.
pub fn quick_reply_click(label: &str, payload: &str) -> Value {
    json!({"type":"Text","content":[{"contentType":"ButtonResponse",
        "buttonResponse":{"text":label,"payload":payload,"type":"QuickReply"}}]})
}

/// A card button (postback) click: a Structured message whose text is the label.
pub fn postback_click(label: &str, payload: &str) -> Value {
    json!({"type":"Structured","text":label,"content":[{"contentType":"ButtonResponse",
        "buttonResponse":{"text":label,"payload":payload,"type":"Button"}}]})
}

/// A guest Presence or Typing event.
pub fn event(event_type: &str, kind: &str) -> Value {
    let key = if event_type == "Typing" {
        "typing"
    } else {
        "presence"
    };
    json!({"type":"Event","events":[{"eventType":event_type, key:{"type":kind}}]})
}
