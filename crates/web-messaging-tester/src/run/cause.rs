//! Why a run did not pass, for the exit code: the bot did not behave (1), or the deployment
//! could not be tested at all (3). The one place that sorts [`Failure`]s by cause, for
//! `scripted`, `ai` and `load` alike.

use super::runner::Failure;
use crate::Outcome;

impl Failure {
    /// Whether this failure says the deployment could not be tested rather than that the bot
    /// misbehaved: the session could not be opened (DNS, TCP, TLS, the upgrade refused, e.g.
    /// an unknown deployment or origin) or never started (no `SessionResponse`, or an error
    /// instead of one). Everything after the session started is the bot's.
    pub fn untestable(&self) -> bool {
        matches!(self, Failure::Connect(_) | Failure::Start(_))
    }
}

/// The outcome of a run from each scenario's failure (`None`: passed): interrupted (130) wins,
/// then any failure for a bot reason (1), then a deployment that could not be tested (3).
pub fn outcome<'a>(
    failures: impl IntoIterator<Item = Option<&'a Failure>>,
    interrupted: bool,
) -> Outcome {
    if interrupted {
        return Outcome::Interrupted;
    }
    let mut untestable = false;
    for failure in failures.into_iter().flatten() {
        if failure.is_interrupted() {
            return Outcome::Interrupted;
        }
        if !failure.untestable() {
            return Outcome::Failed;
        }
        untestable = true;
    }
    if untestable {
        Outcome::Untestable(None)
    } else {
        Outcome::Passed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect() -> Failure {
        Failure::Connect("could not connect".into())
    }

    #[test]
    fn a_bot_failure_wins_over_an_untestable_deployment() {
        let step = Failure::Step("no".into());
        assert!(matches!(
            outcome([Some(&connect()), Some(&step), None], false),
            Outcome::Failed
        ));
        assert!(matches!(
            outcome([Some(&connect()), None], false),
            Outcome::Untestable(None)
        ));
        assert!(matches!(outcome([None, None], false), Outcome::Passed));
        assert!(matches!(
            outcome([Some(&connect())], true),
            Outcome::Interrupted
        ));
    }
}
