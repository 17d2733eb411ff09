//! How one `ai` scenario ended: the conversation, the verdict and the judge's, beside the one
//! result model ([`ScenarioResult`]) that the CI reports and `--associate-id` read.

use super::conversation::{EndKind, Line};
use super::judge::Verdict;
use super::provider::Usage;
use crate::run::{Failure, ScenarioResult};
use crate::secrets::bound;
use genesys_web_messaging::Transcript;
use indexmap::IndexMap;
use std::time::Duration;

/// How one scenario ended, with everything the report and the file show.
#[derive(Debug, Clone)]
pub struct AiResult {
    /// The scenario's name.
    pub name: String,
    /// The placeholder values chosen, in file order.
    pub placeholder_values: IndexMap<String, String>,
    /// The prompt after placeholders were replaced.
    pub prompt: String,
    /// Every line of the conversation.
    pub lines: Vec<Line>,
    /// Why the conversation ended.
    pub end_kind: EndKind,
    /// Why, in words.
    pub end_description: String,
    /// The judge's verdict (with `followUp`), when it was asked.
    pub judge: Option<Verdict>,
    /// Why a judge that the scenario has was not asked.
    pub judge_skipped: Option<String>,
    /// The model that played the customer.
    pub model: String,
    /// Messages the model sent to the bot.
    pub turns: u32,
    /// Tokens used by every request of the scenario, the judge's included.
    pub usage: Usage,
    /// How long it took.
    pub duration: Duration,
    /// When it started (wall clock).
    pub started_at: jiff::Timestamp,
    /// What the session carried, as Genesys recorded it (the CI reports' transcript).
    pub transcript: Transcript,
    /// The id of the session's first message (for `--associate-id`).
    pub first_message_id: Option<String>,
    /// The session's failure that ended the conversation, if one did (it decides whether the
    /// deployment could not be tested: exit 3).
    pub session_failure: Option<Failure>,
}

impl AiResult {
    /// Passed: the conversation ended with a pass phrase and the judge, if any, agrees.
    pub fn passed(&self) -> bool {
        self.end_kind == EndKind::Pass
            && self.judge_skipped.is_none()
            && self.judge.as_ref().is_none_or(|j| j.passed)
    }

    /// The result as `scripted`'s, for the CI reports and `--associate-id`: the verdict's
    /// explanation (the end and the judge's lines of the text report) as its failure, no steps.
    pub fn to_scenario_result(&self) -> ScenarioResult {
        ScenarioResult {
            failure: (!self.passed()).then(|| match &self.session_failure {
                // Could not be tested: kept as such for the exit code and the reports' kind.
                Some(failure) if failure.untestable() => failure.clone(),
                _ => Failure::Verdict(self.verdict_lines().join("\n")),
            }),
            transcript: self.transcript.clone(),
            duration: self.duration,
            first_message_id: self.first_message_id.clone(),
            ..ScenarioResult::new(self.name.clone(), self.started_at)
        }
    }

    /// Why it ended, and the judge's say.
    pub fn verdict_lines(&self) -> Vec<String> {
        let mut lines = vec![bound(&self.end_description)];
        if let Some(judge) = &self.judge {
            let verdict = if judge.passed { "PASS" } else { "FAIL" };
            lines.push(format!("Judge ({verdict}): {}", bound(&judge.reason)));
        }
        if let Some(skipped) = &self.judge_skipped {
            lines.push(format!("Judge: not asked, {skipped}"));
        }
        lines
    }
}
