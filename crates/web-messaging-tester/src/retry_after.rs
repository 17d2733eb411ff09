//! `Retry-After`, read safely and capped: the project's one rule lives in the Platform client
//! crate (`genesys_platform::retry_after`); this foundation module re-exports it.

pub use genesys_platform::retry_after::{MAX_WAIT, from_headers, parse};
