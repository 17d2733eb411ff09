//! A small typed client of the Genesys Cloud Platform API, for checking what a bot flow did
//! in a test conversation: client-credentials login, message details (message → conversation),
//! the live conversation (participants, participant data, queue, disconnect type), analytics
//! conversation details (flows, exit reasons, transfers, outcomes), flow milestones (flows
//! aggregates), name lookups (queues, flow outcomes, flow milestones, flows) with close
//! matches, and the disconnect of a conversation.
//!
//! Every clone of a [`PlatformClient`] shares one login and one request budget (a token
//! bucket, [`ClientOptions::rate_per_minute`]): Genesys limits requests per OAuth client, not
//! per connection. 429 and 5xx answers, time-outs and connection errors are retried with
//! backoff, honouring `Retry-After` (capped at [`retry_after::MAX_WAIT`]); a 401 renews the
//! token once; every call has a deadline. Errors ([`PlatformError`]) carry statuses and
//! Genesys codes such as `missing.any.permissions`, never a token, a secret or a body's text.
//!
//! # Example
//!
//! Against the simulator of this workspace, which serves the same API on its HTTP port and
//! accepts any credentials:
//!
//! ```
//! use genesys_platform::{Credentials, Endpoints, EntityKind, Lookup, PlatformClient};
//! use web_messaging_simulator::{BotFlow, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flow = BotFlow::from_yaml_str(
//!     "states:\n  main:\n    - when: { contains: bill }\n      transfer: { queue: Billing }\n",
//!     "bot.yml",
//! )?;
//! let simulator = Simulator::start(flow).await?;
//!
//! let client = PlatformClient::new(
//!     Endpoints::single(&simulator.http_url()),
//!     Credentials::new("any-client", "any-secret"),
//! )?;
//! match client.lookup(EntityKind::Queue, "billing").await? {
//!     Lookup::Found(queue) => assert_eq!(queue.name, "Billing"),
//!     Lookup::Unknown { suggestions } => panic!("not found; close: {suggestions:?}"),
//! }
//! // An unknown conversation is a 404 `not.found`.
//! let missing = client.conversation("no-such-conversation").await.unwrap_err();
//! assert_eq!(missing.code(), Some("not.found"));
//! simulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod bucket;
mod client;
mod crypto;
mod error;
pub mod models;
pub mod retry;
pub mod retry_after;
mod suggest;

pub use client::{
    CallObserver, CallRecord, ClientOptions, Credentials, Endpoints, EntityKind, Lookup,
    PlatformClient, Probe, TokenObserver,
};
pub use crypto::http_client_builder;
pub use error::{PlatformError, error_code};
pub use retry::RetryRule;
pub use suggest::{close_matches, edit_distance};
