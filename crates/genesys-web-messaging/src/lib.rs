//! The guest side of Genesys Cloud Web Messaging, for testing bots and Architect flows.
//!
//! - [`GuestSession`]: one WebSocket to a Web Messenger deployment (`configureSession`,
//!   `onMessage`, `echo` heartbeats), whose task records everything the server sends in an
//!   ordered [`SessionLog`]. Errors, malformed frames and closed sockets become values, never
//!   panics or hangs.
//! - [`Conversation`]: say things and wait for replies containing text, matching a JavaScript
//!   regular expression, until silence, or for the bot to disconnect. No reply is lost between
//!   steps and out-of-order delivery is repaired by `channel.time`.
//! - [`Transcript`]: who said what, when.
//!
//! # What users touch
//!
//! Tests talk through a [`Conversation`] (opened from a [`SessionConfig`]) and judge replies
//! with an [`Expectation`] ([`Expectation::is_met_by`] is the one test of a message against
//! it; the waits use the same). They may read the [`SessionLog`] (through
//! [`Conversation::session`] and [`GuestSession::log`]: snapshots, warnings, a change
//! notification) but never write it: only the session task
//! that owns the socket records what the server sent. [`protocol`] holds the wire types,
//! shared with the simulator. Errors are typed: [`ConnectError`], [`SayError`], [`WaitError`],
//! [`AttachmentError`], [`LifecycleError`], [`CertificateError`].
//!
//! # Example
//!
//! A conversation with a simulated deployment
//! ([`web-messaging-simulator`](https://docs.rs/web-messaging-simulator), this crate's
//! dev-dependency):
//!
//! ```
//! use genesys_web_messaging::{Conversation, ConversationOptions, Expectation, SessionConfig};
//! use std::time::Duration;
//! use web_messaging_simulator::{BotFlow, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flow = BotFlow::from_yaml_str(
//!     "states:\n  main:\n    - when: { contains: hello }\n      reply: Any questions?\n",
//!     "bot.yml",
//! )?;
//! let simulator = Simulator::start(flow).await?;
//!
//! let config = SessionConfig::for_endpoint("my-deployment", &simulator.url());
//! let mut conversation = Conversation::connect(config, ConversationOptions::default()).await?;
//! conversation.wait_for_start(Duration::from_secs(10)).await?;
//! conversation.say("hello").await?;
//! let reply = conversation
//!     .wait_for_reply(&Expectation::containing("questions"), Duration::from_secs(10))
//!     .await?;
//! assert!(Expectation::containing("any QUESTIONS").is_met_by(&reply.message));
//! print!("{}", conversation.transcript());
//! conversation.close().await;
//! simulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod attachments;
mod conversation;
mod crypto;
mod expect;
mod lifecycle;
mod linear;
mod log;
pub mod protocol;
mod session;
mod transcript;

pub use attachments::{
    Attachment, AttachmentError, AttachmentLimits, MAX_ATTACHMENT_BYTES, UploadMode,
    attachment_labels, check_file as check_attachment_file, file_name_of, guess_media_type,
};
pub use conversation::{
    Conversation, ConversationOptions, MAX_RETRY_AFTER, Reply, SayError, WaitError, WaitFailure,
};
pub use crypto::http_client_builder;
pub use expect::{Expectation, JsRegex, SenderKind, TooExpensive};
pub use lifecycle::{History, Jwt, LifecycleError, MAX_HISTORY_PAGES, rest_base_url};
pub use log::{
    CHANNEL_TIME_TOLERANCE, Closed, DEFAULT_MAX_SESSION_BYTES, Fault, MAX_WARNING_FRAME,
    MAX_WARNINGS, OrderKey, Received, SessionLog, Snapshot, Warning,
};
pub use session::{
    CertificateError, ConnectError, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGES, DisconnectMode,
    GuestSession, SendError, SessionConfig, WIRE_TARGET, load_pem_certificates, tls_client_config,
};
pub use transcript::{
    Speaker, Transcript, TranscriptLine, readable, text_and_options, with_options,
};

/// Appends to a queue that usually holds one item for the whole session (a sent message until
/// its echo, a lifecycle answer): its first slot is the only one allocated, where `push_back`
/// would reserve four. Thousands of held guests (`load`) keep these queues for their lifetime.
pub(crate) fn push_back_compact<T>(queue: &mut std::collections::VecDeque<T>, item: T) {
    if queue.capacity() == 0 {
        queue.reserve_exact(1);
    }
    queue.push_back(item);
}
