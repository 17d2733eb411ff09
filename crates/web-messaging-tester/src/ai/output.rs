//! What an `ai` run leaves behind: the text report on stdout (a block per scenario and the
//! summary, in `scripted`'s shapes) and, with `--out-dir`, one JSON file per scenario in
//! upstream's format plus our fields.

use super::conversation::{EndKind, Line, Speaker};
use super::judge::Verdict;
use super::provider::Usage;
use crate::report::{Extra, block_head, summary};
use crate::runner::{Failure, ScenarioResult};
use crate::secrets::{bound, redact, terminal};
use genesys_web_messaging::Transcript;
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
            name: self.name.clone(),
            failure: (!self.passed()).then(|| Failure::Verdict(self.verdict_lines().join("\n"))),
            transcript: self.transcript.clone(),
            duration: self.duration,
            started_at: self.started_at,
            steps: Vec::new(),
            first_message_id: self.first_message_id.clone(),
            warnings: Vec::new(),
        }
    }

    /// Why it ended, and the judge's say.
    fn verdict_lines(&self) -> Vec<String> {
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

/// The text report: passed blocks, failed blocks, then the summary. `extras` go with
/// `results` by position (their labels and notes; missing ones add nothing).
pub fn render(results: &[AiResult], extras: &[Extra]) -> String {
    let none = Extra::default();
    let (passed, failed): (Vec<_>, Vec<_>) = results
        .iter()
        .enumerate()
        .map(|(i, r)| (r, extras.get(i).unwrap_or(&none)))
        .partition(|(r, _)| r.passed());
    let mut out = String::new();
    for (result, extra) in passed.iter().chain(&failed) {
        out.push_str(&block(result, extra));
    }
    out.push_str(&summary(
        passed
            .iter()
            .map(|(r, _)| (r.name.as_str(), true))
            .chain(failed.iter().map(|(r, _)| (r.name.as_str(), false))),
    ));
    out
}

fn block(result: &AiResult, extra: &Extra) -> String {
    let mut lines = block_head(&result.name, result.passed(), extra.label.as_deref());
    if !result.placeholder_values.is_empty() {
        lines.extend(
            result
                .placeholder_values
                .iter()
                .map(|(key, value)| terminal(&format!("{key}: {value}"))),
        );
        lines.push(String::new());
    }
    lines.extend(
        result
            .lines
            .iter()
            .map(|line| terminal(&bound(&transcript_line(line)))),
    );
    lines.push(String::new());
    lines.extend(result.verdict_lines().iter().map(|line| terminal(line)));
    lines.extend(extra.notes.iter().map(|note| terminal(note)));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A line as upstream prints it: `AI: ...` or `Chatbot: ...`.
pub fn transcript_line(line: &Line) -> String {
    let who = match line.speaker {
        Speaker::Customer => "AI",
        Speaker::Bot => "Chatbot",
    };
    format!("{who}: {}", line.text)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputFile<'a> {
    placeholder_values: &'a IndexMap<String, String>,
    prompt: &'a str,
    reason_for_end: ReasonForEnd<'a>,
    transcript: Vec<Utterance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    judge: Option<JudgeOutput<'a>>,
    model: &'a str,
    turns: u32,
    usage: Usage,
}

#[derive(Serialize)]
struct ReasonForEnd<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'a str,
}

#[derive(Serialize)]
struct Utterance {
    role: &'static str,
    content: String,
}

#[derive(Serialize)]
struct JudgeOutput<'a> {
    verdict: &'static str,
    reason: &'a str,
    model: &'a str,
}

/// The file's JSON: upstream's keys (`placeholderValues`, `prompt`, `reasonForEnd`,
/// `transcript`) then ours (`judge`, `model`, `turns`, `usage`); two-space indents and no
/// final newline, as upstream writes it. The bot's consecutive lines are one utterance, joined
/// by newlines, as upstream records a bot turn.
pub fn to_json(result: &AiResult) -> String {
    let mut transcript: Vec<Utterance> = Vec::new();
    for line in &result.lines {
        match (line.speaker, transcript.last_mut()) {
            (Speaker::Bot, Some(last)) if last.role == "bot" => {
                last.content.push('\n');
                last.content.push_str(&bound(&line.text));
            }
            (speaker, _) => transcript.push(Utterance {
                role: match speaker {
                    Speaker::Customer => "customer",
                    Speaker::Bot => "bot",
                },
                content: bound(&line.text),
            }),
        }
    }
    let end_description = bound(&result.end_description);
    let judge_reason = result.judge.as_ref().map(|j| bound(&j.reason));
    let file = OutputFile {
        placeholder_values: &result.placeholder_values,
        prompt: &result.prompt,
        reason_for_end: ReasonForEnd {
            kind: if result.end_kind == EndKind::Pass {
                "pass"
            } else {
                "fail"
            },
            description: &end_description,
        },
        transcript,
        judge: result.judge.as_ref().map(|j| JudgeOutput {
            verdict: if j.passed { "pass" } else { "fail" },
            reason: judge_reason.as_deref().unwrap_or_default(),
            model: &j.model,
        }),
        model: &result.model,
        turns: result.turns,
        usage: result.usage,
    };
    let json =
        serde_json::to_string_pretty(&file).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    // No secret, in any form, in the saved file.
    redact(&json)
}

/// Upstream's file name: lower case, whitespace as `-`, only `a-z 0-9 - _` kept.
pub fn sanitise(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
        .collect()
}

/// Makes sure `dir` can take the output files (creating it if need be), before anything runs.
pub fn check_out_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("--out-dir '{shown}' is not writable: {e}"))?;
    let probe = dir.join(format!(
        ".web-messaging-tester-check-{}",
        std::process::id()
    ));
    std::fs::write(&probe, b"").map_err(|e| format!("--out-dir '{shown}' is not writable: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes the output files of one run, each atomically (a temporary file renamed into place),
/// never two with one name.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    taken: Mutex<HashSet<PathBuf>>,
}

impl OutputDir {
    /// Files go to `dir`.
    pub fn new(dir: PathBuf) -> OutputDir {
        OutputDir {
            dir,
            taken: Mutex::new(HashSet::new()),
        }
    }

    /// Saves `result` as `<sanitised name-millis>.json`; returns the file's path.
    pub fn save(&self, result: &AiResult) -> Result<PathBuf, String> {
        let millis = jiff::Timestamp::now().as_millisecond();
        let stem = sanitise(&format!("{}-{millis}", result.name));
        let path = {
            let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
            let mut n = 1;
            loop {
                let name = if n == 1 {
                    format!("{stem}.json")
                } else {
                    format!("{stem}-{n}.json")
                };
                let candidate = self.dir.join(name);
                if !taken.contains(&candidate) && !candidate.exists() {
                    taken.insert(candidate.clone());
                    break candidate;
                }
                n += 1;
            }
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let temporary = self.dir.join(format!(".{file_name}.tmp"));
        let written = std::fs::write(&temporary, to_json(result))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(format!("{}: {e}", path.display()));
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> AiResult {
        AiResult {
            name: "Test".into(),
            placeholder_values: IndexMap::new(),
            prompt: "Test prompt".into(),
            lines: vec![Line {
                speaker: Speaker::Customer,
                text: "PASS".into(),
            }],
            end_kind: EndKind::Pass,
            end_description: "Terminating phrase found in response: 'PASS'".into(),
            judge: None,
            judge_skipped: None,
            model: "m".into(),
            turns: 0,
            usage: Usage::default(),
            duration: Duration::ZERO,
            started_at: jiff::Timestamp::now(),
            transcript: Transcript::default(),
            first_message_id: None,
        }
    }

    #[test]
    fn sanitises_like_upstream() {
        assert_eq!(sanitise("My Test\tName!-1_é"), "my-test-name-1_");
    }

    #[test]
    fn json_has_upstreams_fields_first() {
        let json = to_json(&result());
        assert!(json.starts_with("{\n  \"placeholderValues\": {},\n  \"prompt\": \"Test prompt\",\n  \"reasonForEnd\": {\n    \"type\": \"pass\",\n    \"description\": \"Terminating phrase found in response: 'PASS'\"\n  },\n  \"transcript\": [\n    {\n      \"role\": \"customer\",\n      \"content\": \"PASS\"\n    }\n  ],\n  \"model\": \"m\""), "{json}");
        assert!(!json.ends_with('\n'));
    }

    #[test]
    fn report_block_and_summary() {
        let text = render(&[result()], &[]);
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(
            plain,
            "\nTest (PASS)\n---------------------\nAI: PASS\n\nTerminating phrase found in response: 'PASS'\n\nScenario Test Results\n---------------------\nPASS - Test\n"
        );
    }

    #[test]
    fn saves_atomically_without_clobbering() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::new(dir.path().to_path_buf());
        let first = out.save(&result()).unwrap();
        let second = out.save(&result()).unwrap();
        assert_ne!(first, second);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("test-") && n.ends_with(".json"))
        );
    }
}
