//! A simulated Genesys Cloud Web Messenger deployment, for offline tests, demos and load tests.
//!
//! The simulator speaks the guest WebSocket protocol (`configureSession`,
//! `configureAuthenticatedSession`, `onMessage` with Presence `Join`/`Clear` events, `echo`,
//! `closeSession`, `getJwt`, `onAttachment`/`getAttachment`/`deleteAttachment`,
//! `getConfiguration`) as Genesys' captures show it, over `ws://` or `wss://` (a self-signed
//! certificate made at start-up, see [`SimulatorBuilder::tls`]). The same port answers plain
//! HTTP: the deployment's `config.json`, presigned attachment uploads and the guest history
//! (see [`Simulator::http_url`]). It never flatters a test: no bot message before the guest
//! speaks, exactly 2 `onMessage` per second, Genesys' refusals. It
//! answers as a [`BotFlow`] file says: a small state machine of `when` → `reply` rules whose
//! replies may be texts, quick replies, cards, carousels, DatePickers or attachments, and whose
//! conditions may test the guest's text, button payloads, picked dates and custom attributes.
//! A rule may hand the conversation over to a queue, where an agent joins, types and writes
//! as a human ([`Simulator::conversation_state`] shows the queue and agent). Guest sessions are shared by every
//! socket (reconnects resume, `closeSession` kicks other sockets, sessions expire), limits
//! are enforced (4011, 4013, 429), resources are bounded ([`SimulatorLimits`]: sessions,
//! connections, token length, frame size and rate, handshake, configure and idle timeouts),
//! and faults come on demand, reproducibly from a seed:
//! errors, garbage frames, out-of-order delivery, latency, ignored input, dropped sockets,
//! slow or silent `configureSession`. The bot-flow format is described in this crate's README.
//!
//! # Example
//!
//! Start a simulator, talk to it with a plain WebSocket client, and look at what it received:
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_tungstenite::tungstenite::Message;
//! use web_messaging_simulator::{BotFlow, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flow = BotFlow::from_yaml_str(
//!     "states:\n  main:\n    - when: { contains: hello }\n      reply: Hi there!\n",
//!     "bot.yml",
//! )?;
//! let simulator = Simulator::start(flow).await?;
//!
//! let url = format!("{}?deploymentId=my-deployment", simulator.url());
//! let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
//! ws.send(Message::text(
//!     r#"{"action":"configureSession","deploymentId":"my-deployment","token":"t1"}"#,
//! ))
//! .await?;
//! ws.send(Message::text(
//!     r#"{"action":"onMessage","token":"t1","message":{"type":"Text","text":"Hello bot"}}"#,
//! ))
//! .await?;
//!
//! // SessionResponse, the echo of the guest's message, then the bot's reply.
//! let mut texts = Vec::new();
//! while texts.len() < 3 {
//!     if let Some(Message::Text(text)) = ws.next().await.transpose()? {
//!         texts.push(serde_json::from_str::<serde_json::Value>(text.as_str())?);
//!     }
//! }
//! assert_eq!(texts[0]["class"], "SessionResponse");
//! assert_eq!(texts[1]["body"]["direction"], "Inbound");
//! assert_eq!(texts[2]["body"]["text"], "Hi there!");
//!
//! let received = simulator.received();
//! assert_eq!(received[0]["action"], "configureSession");
//! assert_eq!(received[1]["message"]["text"], "Hello bot");
//! simulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod connection;
mod conversation;
mod flow;
mod frames;
mod http;
mod limits;
mod platform;
mod query;
mod rest;
mod server;
mod session;
mod shared;
mod template;
mod tls;

pub use conversation::{ConversationState, TransferState};
pub use flow::{AgentProfile, BotFlow, FlowError};
pub use limits::SimulatorLimits;
pub use server::{Simulator, SimulatorBuilder};
