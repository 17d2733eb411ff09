//! A hand-written Web Messaging server for tests, over a real loopback socket: it sends the
//! raw JSON frames a test writes (Genesys' captured or documented shapes, never this project's
//! serde types) and reads what the client sends. Shared by this crate's `lifecycle` tests and
//! the CLI crate's `life_steps` (included there by path).

#![allow(
    dead_code,
    reason = "each test binary uses its own part of the helpers"
)]

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// The deadline of every wait that should succeed: generous, for a loaded machine.
pub const GENEROUS: Duration = Duration::from_secs(30);

/// The server's side of one guest connection.
pub type Ws = WebSocketStream<TcpStream>;

/// A WebSocket listener on loopback; returns it and the endpoint URL.
pub async fn ws_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1", listener.local_addr().unwrap());
    (listener, url)
}

/// The next guest connection, upgraded.
pub async fn accept(listener: &TcpListener) -> Ws {
    let (stream, _) = tokio::time::timeout(GENEROUS, listener.accept())
        .await
        .expect("the client connects in time")
        .unwrap();
    tokio_tungstenite::accept_async(stream).await.unwrap()
}

/// The next request the client sent (heartbeats skipped).
pub async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(GENEROUS, ws.next())
            .await
            .expect("the client sends in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["action"] != "echo" {
                return value;
            }
        }
    }
}

/// Sends `frame` as it is.
pub async fn send(ws: &mut Ws, frame: &str) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// Genesys' answer to a guest's Clear presence event: the session cleared, then the
/// connection closed.
pub async fn answer_clear(ws: &mut Ws) {
    send(
        ws,
        r#"{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}"#,
    )
    .await;
    send(
        ws,
        r#"{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}"#,
    )
    .await;
}
