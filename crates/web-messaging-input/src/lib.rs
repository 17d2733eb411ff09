//! Loading the YAML files users write (test-scripts, bot flows).
//!
//! One rule for every file format: a mistake is refused before anything runs, with the file,
//! the line and column, the key path (`scenarios.Accept Survey[1].say`) and what is wrong, in
//! one shape: `file.yml:4:7: "scenarios.Typo[1].sayy" is not allowed: unknown key ...`.
//!
//! Formats deserialise into typed structs, wrapping values they check afterwards in
//! [`serde_saphyr::Spanned`] to keep their position.
//!
//! What users touch: [`read_file`] and [`from_yaml`] (with [`drop_spanned_steps`], or a key
//! renderer of the format's own) to read a file, and [`InputError`] (its fields and `Display`)
//! for what went wrong.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Greeting {
//!     say: String,
//! }
//!
//! let loaded = web_messaging_input::from_yaml::<Greeting>(
//!     "hello.yml",
//!     "sayy: hi\n",
//!     web_messaging_input::drop_spanned_steps,
//! );
//! let error = match loaded {
//!     Ok(_) => unreachable!("`sayy` is not a key of Greeting"),
//!     Err(error) => error,
//! };
//! assert_eq!(error.file.as_deref(), Some("hello.yml"));
//! assert_eq!(error.line, Some(1));
//! assert!(error.to_string().starts_with("hello.yml:1:1:"), "{error}");
//! ```

#![warn(missing_docs)]

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, MessageFormatter};
use std::fmt;

pub use serde_path_to_error::{Path as KeyPath, Segment};

/// A mistake in the user's input, found before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file, when the mistake is in one.
    pub file: Option<String>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// The key path, e.g. `states.ask[0].goto`, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// A mistake about a whole file (unreadable, empty...).
    pub fn in_file(file: &str, message: impl Into<String>) -> Self {
        InputError {
            file: Some(file.to_string()),
            line: None,
            column: None,
            key: None,
            message: message.into(),
        }
    }

    /// A mistake in the value at `location`, under `key`.
    pub fn at(file: &str, location: &Location, key: &str, message: impl Into<String>) -> Self {
        let known = location.line() > 0;
        InputError {
            file: Some(file.to_string()),
            line: known.then_some(to_usize(location.line())),
            column: known.then_some(to_usize(location.column())),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    /// A mistake in a setting that comes from no file position (a flag, a merged value).
    pub fn setting(key: &str, message: impl Into<String>) -> Self {
        InputError {
            file: None,
            line: None,
            column: None,
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
            write!(f, ": ")?;
        }
        match &self.key {
            // Reads as a sentence: `"config.region" is not allowed to be empty`.
            Some(key) if starts_a_sentence(&self.message) => {
                write!(f, "\"{key}\" {}", self.message)
            }
            Some(key) => write!(f, "\"{key}\": {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for InputError {}

fn starts_a_sentence(message: &str) -> bool {
    ["is ", "must ", "has ", "does "]
        .iter()
        .any(|start| message.starts_with(start))
}

/// Reads a file's text, or says why it cannot be read.
pub fn read_file(path: &std::path::Path, what: &str) -> Result<String, InputError> {
    let file = path.display().to_string();
    // A directory and other failures are described below.
    if let Ok(bytes) = std::fs::read(path) {
        return String::from_utf8(bytes).map_err(|e| not_utf8(&file, e.as_bytes(), e.utf8_error()));
    }
    std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => e.to_string(),
        };
        InputError::in_file(
            &path.display().to_string(),
            format!("cannot read the {what}: {reason}"),
        )
    })
}

/// Text that is not UTF-8, with the position of its first bad byte.
fn not_utf8(file: &str, bytes: &[u8], error: std::str::Utf8Error) -> InputError {
    let good = &bytes[..error.valid_up_to()];
    let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
    let byte = bytes.get(error.valid_up_to()).copied().unwrap_or_default();
    InputError {
        file: Some(file.to_string()),
        line: Some(line),
        column: Some(column),
        key: None,
        message: format!("the file is not UTF-8 text (byte 0x{byte:02X})"),
    }
}

/// Deserialises YAML into `T`. Any error names its position and key path; `key_path` renders
/// serde's path in the file's own terms (see [`drop_spanned_steps`]).
pub fn from_yaml<T: DeserializeOwned>(
    file: &str,
    source: &str,
    key_path: impl FnOnce(&KeyPath) -> String,
) -> Result<T, InputError> {
    from_yaml_with_variables(file, source, key_path, None)
}

/// As [`from_yaml`], filling `${NAME}` in plain (unquoted) scalar values from `variables`
/// when given: an unknown name is an error at its position, `$${` writes `${` literally, and
/// quoted or block values are taken as written.
pub fn from_yaml_with_variables<T: DeserializeOwned>(
    file: &str,
    source: &str,
    key_path: impl FnOnce(&KeyPath) -> String,
    variables: Option<&std::collections::HashMap<String, String>>,
) -> Result<T, InputError> {
    if source.trim().is_empty() {
        // Line 1: every mistake in a file names a line.
        return Err(InputError {
            line: Some(1),
            column: Some(1),
            ..InputError::in_file(file, "must contain YAML: the file is empty")
        });
    }
    let mut options = serde_saphyr::options! { with_snippet: false };
    if let Some(variables) = variables {
        options = options.with_properties(variables.clone());
    }
    let mut path = None;
    let result = serde_saphyr::with_deserializer_from_str_with_options(source, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(key_path(e.path()));
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let e = e.without_snippet();
        let location = e.location().filter(|l| l.line() > 0);
        let text: String = serde_saphyr::UserMessageFormatter
            .format_message(e)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let (key, message) = reword(path.unwrap_or_default(), &text);
        InputError {
            file: Some(file.to_string()),
            line: location.map(|l| to_usize(l.line())),
            column: location.map(|l| to_usize(l.column())),
            key: (!key.is_empty()).then_some(key),
            message,
        }
    })
}

/// serde's words, in the words of someone writing a YAML file.
fn reword(key: String, text: &str) -> (String, String) {
    let join = |key: &str, child: &str| {
        if key.is_empty() {
            child.to_string()
        } else {
            format!("{key}.{child}")
        }
    };
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("missing property `") {
        let message = format!(
            "uses ${{{name}}}, which is not set: give --variable {name}=VALUE, a \
             --variables-file line or the environment variable {name} (write $${{ for a literal ${{)"
        );
        return (key, message);
    }
    if let Some(field) = quoted("missing field `") {
        return (join(&key, &field), "is required".into());
    }
    for prefix in ["unknown variant `", "unknown field `"] {
        if let Some(name) = quoted(prefix) {
            let detail = text.replacen(&prefix[..prefix.len() - 1], "unknown key ", 1);
            let key = if key.ends_with(&name) {
                key
            } else {
                join(&key, &name)
            };
            return (key, format!("is not allowed: {detail}"));
        }
    }
    let message = match text {
        "invalid u64" | "invalid i64" => "must be a whole number".to_string(),
        "invalid boolean" => "must be true or false".to_string(),
        "expected string scalar" => "must be a text".to_string(),
        other => other.to_string(),
    };
    (key, message)
}

/// The default key renderer: serde's path without the `value` steps that
/// [`serde_saphyr::Spanned`] wrappers add. (A map key literally named `value` directly under
/// a spanned value is dropped too; formats with such keys pass their own renderer.)
pub fn drop_spanned_steps(path: &KeyPath) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } if key != "value" => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            _ => {}
        }
    }
    out
}

/// A line or column number as `usize` (saturating: no file has that many lines).
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: serde_saphyr::Spanned<String>,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    enum Item {
        Say(String),
    }

    fn err(src: &str) -> InputError {
        from_yaml::<Doc>("f.yml", src, drop_spanned_steps).unwrap_err()
    }

    #[test]
    fn names_position_and_key() {
        let e = err("name: x\nitems:\n  - sayy: hi\n");
        assert_eq!((e.line, e.column), (Some(3), Some(5)));
        assert_eq!(e.key.as_deref(), Some("items[0].sayy"));
        assert_eq!(
            e.to_string(),
            "f.yml:3:5: \"items[0].sayy\" is not allowed: unknown key `sayy`, expected one of say"
        );
        let e = err("items: []\n");
        assert_eq!(e.to_string(), "f.yml:1:1: \"name\" is required");
        let e = err("name: [1]\nitems: []\n");
        assert_eq!(e.key.as_deref(), Some("name"));
        assert_eq!(e.message, "must be a text");
        let e = err("name: x\nextra: 1\nitems: []\n");
        assert_eq!(e.key.as_deref(), Some("extra"));
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
        let path = std::env::temp_dir().join(format!("not-utf8-{}.yml", std::process::id()));
        std::fs::write(&path, b"a: 1\nbb: \xc3(\n").unwrap();
        let e = read_file(&path, "test-script").unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert_eq!((e.line, e.column), (Some(2), Some(5)), "{e}");
        assert!(e.message.contains("not UTF-8"), "{e}");
    }

    #[test]
    fn empty_and_unparseable_files() {
        assert_eq!(
            err("  \n").to_string(),
            "f.yml:1:1: must contain YAML: the file is empty"
        );
        let e = err("name: [\n");
        assert!(e.line.is_some(), "{e}");
    }
}
