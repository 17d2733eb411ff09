#![warn(missing_docs)]
//! The library behind `web-messaging-tester`: tests Genesys Cloud Web Messenger deployments by
//! acting as a guest.
//!
//! Data flows one way through the layers, each a folder that imports only from the layers
//! before it (see ARCHITECTURE.md at the repository root):
//!
//! `format` (files and value syntax) → `plan` (resolved target and session settings) → `run`
//! (the runner and its one result model; the `ai` and `load` engines beside it) → `results`
//! (the one wording of every result) → `reports` (terminal text, JSON, JUnit, HTML, load) →
//! `commands` (one per subcommand, taking plain settings and returning an [`Outcome`]).
//!
//! `secrets`, `interrupt`, `logging` and `retry_after` (re-exported from `genesys-platform`,
//! the project's one Platform API client) are the foundation every layer may use;
//! they import nothing else from this crate. The binary (`src/main.rs`, `src/cli/`) holds the
//! clap types and maps arguments to the settings of `commands` and outcomes to exit codes.

pub mod ai;
pub mod commands;
pub mod format;
pub mod interrupt;
pub mod load;
pub mod logging;
pub mod plan;
pub mod reports;
pub mod results;
pub mod retry_after;
pub mod run;
pub mod secrets;
pub mod text;

/// How a command ended.
#[derive(Debug)]
pub enum Outcome {
    /// Everything passed (exit 0).
    Passed,
    /// At least one scenario failed (exit 1).
    Failed,
    /// The input was invalid; nothing ran (exit 2).
    Invalid(String),
    /// The deployment could not be tested (DNS, connect, TLS, upgrade refused, deployment not
    /// found or inactive, session never started) and no scenario failed for a bot reason
    /// (exit 3). The message, when there is one, is printed as the error.
    Untestable(Option<String>),
    /// SIGINT or SIGTERM stopped the run; what finished was reported (exit 130).
    Interrupted,
    /// A command's own exit code, its messages already printed (`chat`: 3 when no session
    /// could be started).
    Code(u8),
}

impl Outcome {
    /// How a run that went to its end ended: interrupted (a signal stopped it) wins over
    /// failed, and failed over passed.
    pub fn of_run(interrupted: bool, passed: bool) -> Outcome {
        if interrupted {
            Outcome::Interrupted
        } else if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
    }
}
