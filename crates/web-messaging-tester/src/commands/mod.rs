//! One module per subcommand: each takes plain settings (never clap types), runs the layers
//! below in order and returns an [`crate::Outcome`].

pub mod ai;
pub mod chat;
pub mod load;
pub mod load_ending;
pub mod merge;
pub mod merge_load;
pub mod schema;
pub mod scripted;
pub mod simulate;
pub mod validate;

use crate::Outcome;
use crate::plan::target::StartError;
use crate::reports::Destinations;

/// Whether a file found in a folder argument is a test-script (not a bot flow or an `ai`
/// file kept beside them). An unreadable file is kept, so that loading it says why.
pub fn is_test_script(path: &std::path::Path) -> bool {
    match std::fs::read_to_string(path) {
        Ok(source) => validate::kind_of(&source) == validate::FileKind::TestScript,
        Err(_) => true,
    }
}

impl From<StartError> for Outcome {
    fn from(e: StartError) -> Outcome {
        match e {
            StartError::Invalid(message) => Outcome::Invalid(message),
            StartError::Untestable(message) => Outcome::Untestable(Some(message)),
        }
    }
}

/// What `scripted` and `ai` produce for CI: the report files and the conversation IDs.
#[derive(Debug, Clone, Default)]
pub struct CiSettings {
    /// Look up each scenario's conversation ID through the Platform API (`-a`).
    pub associate_id: bool,
    /// Where the JUnit, JSON and HTML reports go.
    pub reports: Destinations,
}

/// The one rule for the report files after a run, for every command that writes them
/// (`scripted`, `ai`, `load`, `report merge`): the results were printed first; a report that
/// cannot be written then ends the command with exit 2 and says which one and why, whatever
/// the run's outcome was (a CI job must not pass on a report it does not have).
pub fn after_writing_reports(outcome: Outcome, written: Result<(), String>) -> Outcome {
    match written {
        Ok(()) => outcome,
        Err(message) => Outcome::Invalid(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_not_written_after_a_run_exits_with_2_whatever_the_run_did() {
        for outcome in [Outcome::Passed, Outcome::Failed, Outcome::Interrupted] {
            let after = after_writing_reports(outcome, Err("--report-json r.json: no".into()));
            assert!(matches!(after, Outcome::Invalid(m) if m == "--report-json r.json: no"));
        }
        assert!(matches!(
            after_writing_reports(Outcome::Interrupted, Ok(())),
            Outcome::Interrupted
        ));
    }
}
