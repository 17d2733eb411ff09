//! One module per subcommand: each takes plain settings (never clap types), runs the layers
//! below in order and returns an [`crate::Outcome`].

pub mod ai;
pub mod chat;
pub mod load;
pub mod merge;
pub mod schema;
pub mod scripted;
pub mod simulate;
pub mod validate;

use crate::reports::Destinations;

/// What `scripted` and `ai` produce for CI: the report files and the conversation IDs.
#[derive(Debug, Clone, Default)]
pub struct CiSettings {
    /// Look up each scenario's conversation ID through the Platform API (`-a`).
    pub associate_id: bool,
    /// Where the JUnit, JSON and HTML reports go.
    pub reports: Destinations,
}
