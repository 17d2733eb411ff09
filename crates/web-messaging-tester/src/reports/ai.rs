//! What an `ai` run leaves behind besides the text report ([`super::terminal::render_ai`]):
//! with `--out-dir`, one JSON file per scenario in upstream's format plus our fields.

use crate::ai::conversation::{EndKind, Speaker};
use crate::ai::provider::Usage;
use crate::ai::result::AiResult;
use crate::secrets::{bound, redact};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
            let mut taken = self
                .taken
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        super::write::write_atomically(&path, to_json(result).as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::conversation::Line;
    use genesys_web_messaging::Transcript;
    use std::time::Duration;

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
            session_failure: None,
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
        let text = crate::reports::terminal::render_ai(&[result()], &[]);
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
