//! The judge (`followUp`): after the conversation, a model reads the whole transcript, told the
//! follow-up prompt, and answers; its answer is read with the follow-up's terminating phrases.
//! A judge states its verdict and then its reasons, which may well use the other word ("PASS:
//! nothing failed"), so the phrase that comes first decides (a fail phrase when both start at
//! the same place). An answer with neither is a failure: a verdict must be stated.

use super::conversation::{Line, Speaker};
use super::provider::{ChatMessage, Provider, Usage};
use crate::format::ai_script::TerminatingPhrases;

/// What the judge decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the judge says the scenario passed.
    pub passed: bool,
    /// The judge's answer, or why there is none.
    pub reason: String,
    /// The model that judged.
    pub model: String,
}

/// Asks the judge about `lines`; returns its verdict and the tokens it used.
pub async fn judge(
    prompt: &str,
    phrases: &TerminatingPhrases,
    provider: &Provider,
    lines: &[Line],
) -> (Verdict, Usage) {
    let question = ChatMessage::user(transcript_for_judge(lines));
    let verdict = |passed: bool, reason: String| Verdict {
        passed,
        reason,
        model: provider.model().to_string(),
    };
    match provider.complete(prompt, &[question]).await {
        Ok(completion) => {
            let answer = completion.text;
            let decided = if answer.is_empty() {
                verdict(false, "The judge didn't have a response".into())
            } else {
                match first_phrase(&answer, phrases) {
                    Some(passed) => verdict(passed, answer),
                    None => verdict(
                        false,
                        format!("The judge's answer has no terminating phrase: '{answer}'"),
                    ),
                }
            };
            (decided, completion.usage)
        }
        Err(e) => (
            verdict(false, format!("The judge could not answer: {e}")),
            Usage::default(),
        ),
    }
}

/// Whether the phrase found first (ignoring case) is a pass phrase; `None` without any.
fn first_phrase(answer: &str, phrases: &TerminatingPhrases) -> Option<bool> {
    let answer = answer.to_lowercase();
    let earliest = |list: &[String]| {
        list.iter()
            .filter_map(|p| answer.find(&p.to_lowercase()))
            .min()
    };
    match (earliest(&phrases.pass), earliest(&phrases.fail)) {
        (Some(pass), Some(fail)) => Some(pass < fail),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}

/// The transcript as the judge reads it.
fn transcript_for_judge(lines: &[Line]) -> String {
    let mut text = String::from(
        "Here is the transcript of a conversation between a customer and a chatbot:\n",
    );
    for line in lines {
        let who = match line.speaker {
            Speaker::Customer => "Customer",
            Speaker::Bot => "Chatbot",
        };
        text.push('\n');
        text.push_str(who);
        text.push_str(": ");
        text.push_str(&line.text);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_phrase_is_the_verdict() {
        let phrases = TerminatingPhrases {
            pass: vec!["PASS".into()],
            fail: vec!["FAIL".into(), "pass-through".into()],
        };
        assert_eq!(first_phrase("PASS: nothing failed", &phrases), Some(true));
        assert_eq!(
            first_phrase("Fail, though it should pass", &phrases),
            Some(false)
        );
        assert_eq!(first_phrase("pass-through", &phrases), Some(false));
        assert_eq!(first_phrase("no idea", &phrases), None);
    }

    #[test]
    fn the_judge_reads_the_whole_transcript() {
        let lines = [
            Line {
                speaker: Speaker::Customer,
                text: "hi".into(),
            },
            Line {
                speaker: Speaker::Bot,
                text: "hello [Yes] [No]".into(),
            },
        ];
        assert_eq!(
            transcript_for_judge(&lines),
            "Here is the transcript of a conversation between a customer and a chatbot:\n\nCustomer: hi\nChatbot: hello [Yes] [No]"
        );
    }
}
