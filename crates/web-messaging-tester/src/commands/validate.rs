//! `validate <files...>`: checks test-scripts and bot flows without connecting anywhere.
//!
//! A file with a top-level `states:` key is a bot flow; one with `config.ai` is an `ai` test
//! file (checked as `ai` loads it); any other is a test-script. Each valid file prints
//! `ok: <file>` on stdout; each invalid one prints its error (file:line:column and key) on
//! stderr, and the command exits with 2. An `ai` file's `apiKeyVariable` gets a warning: `ai`
//! only reads it with `--api-key-variable` naming the same variable.

use crate::Outcome;
use crate::format::ai_script::AiFile;
use crate::format::script::TestScript;
use crate::plan::region;
use crate::secrets::{terminal, terminal_line};
use std::path::Path;
use web_messaging_input::{InputError, read_file};
use web_messaging_simulator::BotFlow;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `scripted` test-script.
    TestScript,
    /// A simulator bot flow.
    BotFlow,
    /// An `ai` command test file (`config.ai`).
    AiTest,
}

/// A bot flow has a top-level `states` key; anything else is taken as a test-script (whose
/// own checks then say what is wrong).
pub fn kind_of(source: &str) -> FileKind {
    let top_level_states = source.lines().any(|line| {
        let key = line
            .strip_prefix("states")
            .or_else(|| line.strip_prefix("\"states\""))
            .or_else(|| line.strip_prefix("'states'"));
        key.is_some_and(|rest| rest.trim_start().starts_with(':'))
    });
    if top_level_states {
        return FileKind::BotFlow;
    }
    // Only for telling the formats apart: the file's own loader reads it properly.
    let is_ai = serde_saphyr::from_str::<serde_json::Value>(source)
        .ok()
        .is_some_and(|doc| doc.get("config").and_then(|c| c.get("ai")).is_some());
    if is_ai {
        FileKind::AiTest
    } else {
        FileKind::TestScript
    }
}

/// Checks one file; also returns what is valid but worth a warning.
pub fn check(path: &Path) -> Result<(FileKind, Vec<String>), InputError> {
    let source = read_file(path, "file")?;
    let kind = kind_of(&source);
    match kind {
        FileKind::BotFlow => {
            BotFlow::from_yaml_str(&source, &path.display().to_string()).map(|_| (kind, Vec::new()))
        }
        FileKind::TestScript => {
            let script = TestScript::parse(path, &source)?;
            let target = &script.config.target;
            region::check_setting(None, target.region.as_deref(), target.region_at.as_ref())?;
            Ok((kind, Vec::new()))
        }
        FileKind::AiTest => {
            let file = AiFile::parse(path, &source)?;
            let target = &file.target;
            region::check_setting(None, target.region.as_deref(), target.region_at.as_ref())?;
            Ok((kind, ai_warnings(&file)))
        }
    }
}

fn ai_warnings(file: &AiFile) -> Vec<String> {
    let specs = std::iter::once(&file.ai).chain(
        file.scenarios
            .iter()
            .filter_map(|s| s.follow_up.as_ref())
            .filter_map(|f| f.provider.as_ref()),
    );
    specs
        .filter_map(|spec| {
            let variable = spec.config.api_key_variable.as_ref()?;
            let site = spec.config.api_key_variable_at.as_ref()?;
            Some(
                site.error(format!(
                    "is only read when `ai` is run with --api-key-variable {variable}"
                ))
                .to_string(),
            )
        })
        .collect()
}

/// Runs `validate`, with `variables` for the test-scripts' `${NAME}`s.
pub fn run(
    files: &[std::path::PathBuf],
    variables: &crate::format::variables::VariableSettings,
) -> Outcome {
    if let Err(message) = variables.install() {
        return Outcome::Invalid(message);
    }
    let files = match crate::plan::files::expand(files) {
        Ok(files) => files,
        Err(message) => return Outcome::Invalid(message),
    };
    let mut invalid = 0;
    for file in &files {
        match check(file) {
            Ok((_, warnings)) => {
                for warning in warnings {
                    eprintln!("warning: {}", terminal(&warning));
                }
                println!("ok: {}", terminal_line(&file.display().to_string()));
            }
            Err(e) => {
                invalid += 1;
                eprintln!("error: {}", terminal(&e.to_string()));
            }
        }
    }
    if invalid == 0 {
        Outcome::Passed
    } else {
        Outcome::Invalid(format!(
            "{invalid} of {} files {} invalid",
            files.len(),
            if invalid == 1 { "is" } else { "are" }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_bot_flows_by_their_top_level_states() {
        assert_eq!(kind_of("states:\n  main: []\n"), FileKind::BotFlow);
        assert_eq!(kind_of("# c\n\"states\" :\n"), FileKind::BotFlow);
        assert_eq!(kind_of("scenarios:\n  states:\n"), FileKind::TestScript);
        assert_eq!(kind_of("statesX: 1\n"), FileKind::TestScript);
        assert_eq!(
            kind_of("config:\n  ai:\n    provider: x\n"),
            FileKind::AiTest
        );
    }
}
