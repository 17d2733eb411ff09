//! The `load` engine: the profile (who starts when), the guests, the statistics and the
//! threshold verdicts. The command that drives it is [`crate::commands::load`]; its report and
//! live display are in [`crate::reports`].

pub mod distributed;
pub mod engine;
pub mod limits;
pub mod profile;
pub mod safety;
pub mod stats;
pub mod tally;
pub mod verdict;

pub use limits::{check_parallel, raise_open_files_limit};
