//! `${NAME}` in test-scripts: values filled from the environment, `--variables-file` and
//! `--variable NAME=VALUE` (later ones win, in that order), and `--secret NAME=VALUE` (or
//! `--secret NAME`, from the environment), whose values go through the secrets layer and are
//! never printed.
//!
//! The YAML parser fills the values while it reads the file (serde-saphyr's properties), so
//! every position stays the file's own: an unknown `${NAME}` is an error at its line and
//! column, and later mistakes keep theirs. Only plain (unquoted) values are filled; quoted
//! and block values are taken as written, and `$${` writes `${` in a plain one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The variables a command was given.
#[derive(Debug, Clone, Default)]
pub struct VariableSettings {
    /// `--variable NAME=VALUE`, in order (a later one wins).
    pub variables: Vec<(String, String)>,
    /// `--variables-file FILE`: `NAME=VALUE` lines.
    pub files: Vec<PathBuf>,
    /// `--secret NAME=VALUE` (or `NAME`: the environment's value), never printed.
    pub secrets: Vec<(String, Option<String>)>,
}

/// The variables test-scripts are read with, once a command has installed them.
static INSTALLED: RwLock<Option<Arc<HashMap<String, String>>>> = RwLock::new(None);

/// The installed variables (`None` before [`VariableSettings::install`]: `${NAME}` is then
/// kept as written, as for a library user who never asked for variables).
pub fn installed() -> Option<Arc<HashMap<String, String>>> {
    INSTALLED.read().ok().and_then(|v| v.clone())
}

impl VariableSettings {
    /// Builds the variables (environment, then the files, then `--variable`, then `--secret`),
    /// registers the secrets' values with the redactor, and makes them the ones every
    /// test-script is read with. Errors name the file and line, or the flag.
    pub fn install(&self) -> Result<(), String> {
        let variables = self.resolve(|name| std::env::var(name).ok(), std::env::vars())?;
        if let Ok(mut installed) = INSTALLED.write() {
            *installed = Some(Arc::new(variables));
        }
        Ok(())
    }

    fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
        environment: impl Iterator<Item = (String, String)>,
    ) -> Result<HashMap<String, String>, String> {
        let mut variables: HashMap<String, String> = environment.collect();
        for file in &self.files {
            variables.extend(read_variables_file(file)?);
        }
        variables.extend(self.variables.iter().cloned());
        for (name, value) in &self.secrets {
            let value = match value {
                Some(value) => value.clone(),
                None => env(name).ok_or_else(|| {
                    format!(
                        "--secret {name}: the environment variable {name} is not set (give --secret {name}=VALUE, or set it)"
                    )
                })?,
            };
            // Shorter values cannot be masked without masking ordinary words.
            if value.trim().chars().count() < crate::secrets::MIN_SECRET_CHARS {
                return Err(format!(
                    "--secret {name}: a secret needs at least {} characters to be masked in every output",
                    crate::secrets::MIN_SECRET_CHARS
                ));
            }
            crate::secrets::register(&value);
            variables.insert(name.clone(), value);
        }
        Ok(variables)
    }
}

/// `NAME=VALUE` (for `--variable` and `--secret`): NAME is letters, digits and `_`, not
/// starting with a digit; VALUE is everything after the first `=`.
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("'{text}' is not NAME=VALUE"));
    };
    check_name(name)?;
    Ok((name.to_string(), value.to_string()))
}

/// `NAME=VALUE`, or `NAME` alone (its value from the environment), for `--secret`.
pub fn parse_secret(text: &str) -> Result<(String, Option<String>), String> {
    match text.split_once('=') {
        // The value itself is never echoed in an error.
        Some((name, value)) => check_name(name)
            .map(|()| (name.to_string(), Some(value.to_string())))
            .map_err(|_| format!("'{name}=…' is not NAME=VALUE with a valid NAME")),
        None => check_name(text).map(|()| (text.to_string(), None)),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a variable name (letters, digits and _, not starting with a digit)"
        ))
    }
}

/// Reads a variables file: `NAME=VALUE` lines, `#` comments and blank lines. Anything else is
/// an error naming the file and line (never the line's text: it may hold a secret).
pub fn read_variables_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let file = path.display().to_string();
    let text = web_messaging_input::read_file(path, "variables file").map_err(|e| e.to_string())?;
    let mut variables = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = format!("{file}:{}", index + 1);
        let (name, value) = trimmed.split_once('=').ok_or_else(|| {
            format!("{at}: a variables file holds NAME=VALUE lines, # comments and blank lines")
        })?;
        check_name(name.trim_end()).map_err(|e| format!("{at}: {e}"))?;
        variables.push((name.trim_end().to_string(), value.to_string()));
    }
    Ok(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_win_and_secrets_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vars.env");
        std::fs::write(&file, "# staging\n\nA=from file\nC=c=d\n").unwrap();
        let settings = VariableSettings {
            variables: vec![("A".into(), "from flag".into())],
            files: vec![file],
            secrets: vec![("TOKEN".into(), None)],
        };
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret-token-value".to_string());
        let vars = settings
            .resolve(env, [("A".to_string(), "from env".to_string())].into_iter())
            .unwrap();
        assert_eq!(vars["A"], "from flag");
        assert_eq!(vars["C"], "c=d");
        assert_eq!(vars["TOKEN"], "s3cret-token-value");
        assert!(!crate::secrets::redact("s3cret-token-value").contains("s3cret"));
    }

    #[test]
    fn refuses_lines_that_are_not_assignments_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vars.env");
        std::fs::write(&file, "A=1\nexport B\n").unwrap();
        let e = read_variables_file(&file).unwrap_err();
        assert!(
            e.ends_with(
                "vars.env:2: a variables file holds NAME=VALUE lines, # comments and blank lines"
            ),
            "{e}"
        );
        std::fs::write(&file, "1A=1\n").unwrap();
        assert!(
            read_variables_file(&file)
                .unwrap_err()
                .contains(":1: '1A' is not a variable name")
        );
        assert!(parse_assignment("A").is_err());
        assert_eq!(
            parse_secret("K=v=w").unwrap(),
            ("K".into(), Some("v=w".into()))
        );
        assert!(!parse_secret("1=hidden").unwrap_err().contains("hidden"));
    }
}
