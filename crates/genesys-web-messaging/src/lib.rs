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
//! ```no_run
//! use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
//! use std::time::Duration;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = SessionConfig::for_endpoint("my-deployment", "ws://127.0.0.1:9000/v1");
//!     let mut conversation = Conversation::connect(config, ConversationOptions::default()).await?;
//!     conversation.wait_for_start(Duration::from_secs(10)).await?;
//!     conversation.say("hi").await?;
//!     conversation.wait_for_reply_containing("questions", Duration::from_secs(10)).await?;
//!     print!("{}", conversation.transcript());
//!     conversation.close().await;
//!     Ok(())
//! }
//! ```

mod attachments;
mod conversation;
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
pub use expect::{Expectation, JsRegex, SenderKind, TooExpensive};
pub use lifecycle::{History, Jwt, LifecycleError, MAX_HISTORY_PAGES, rest_base_url};
pub use log::{
    CHANNEL_TIME_TOLERANCE, Closed, DEFAULT_MAX_SESSION_BYTES, Fault, MAX_WARNING_FRAME,
    MAX_WARNINGS, OrderKey, Received, SessionLog, Snapshot, Warning,
};
pub use session::{
    ConnectError, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGES, DisconnectMode, GuestSession,
    SendError, SessionConfig, WIRE_TARGET, load_pem_certificates, tls_client_config,
};
pub use transcript::{
    Speaker, Transcript, TranscriptLine, readable, text_and_options, with_options,
};
