//! Invalid input: what is wrong, and where (file, line, column, key). Exit code 2.

use serde::de::DeserializeOwned;
use serde_saphyr::Location;
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with the user's input, found before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file, when the problem is in one.
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: Option<u64>,
    /// 1-based column.
    pub column: Option<u64>,
    /// The key path, e.g. `scenarios.Accept Survey[0].say`.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// A problem with a whole file (unreadable, ...).
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        InputError {
            file: Some(file.to_path_buf()),
            line: None,
            column: None,
            key: None,
            message: message.into(),
        }
    }

    /// A problem with a value at a position.
    pub fn at(file: &Path, location: &Location, key: &str, message: &str) -> Self {
        InputError {
            file: Some(file.to_path_buf()),
            line: Some(location.line()),
            column: Some(location.column()),
            key: Some(key.to_string()),
            message: message.to_string(),
        }
    }

    /// A problem with the command line or merged settings, not a file position.
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
            write!(f, "{}", file.display())?;
            if let (Some(line), Some(column)) = (self.line, self.column) {
                write!(f, ":{line}:{column}")?;
            }
            write!(f, ": ")?;
        }
        match &self.key {
            Some(key) => write!(f, "\"{key}\" {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// Deserialises YAML, turning any error into an [`InputError`] with position and key path.
pub fn from_yaml<T: DeserializeOwned>(file: &Path, source: &str) -> Result<T, InputError> {
    let mut path = String::new();
    let options = serde_saphyr::options! { with_snippet: false };
    let result = serde_saphyr::with_deserializer_from_str_with_options(source, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let location = e.location();
        let mut message = e.to_string();
        // The position is shown in front; drop serde-saphyr's own " at line L, column C".
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        let mut key = clean_path(&path);
        if let Some(variant) = unknown_variant(&message) {
            key = if key.is_empty() {
                variant.to_string()
            } else {
                format!("{key}.{variant}")
            };
            message = message.replacen("unknown variant", "unknown step", 1);
        }
        let message = if message.starts_with("unknown ") || message.starts_with("duplicate") {
            format!("is not allowed: {message}")
        } else {
            message
        };
        InputError {
            file: Some(file.to_path_buf()),
            line: location.as_ref().map(Location::line),
            column: location.as_ref().map(Location::column),
            key: (!key.is_empty()).then_some(key),
            message: if source.trim().is_empty() {
                "must contain YAML (the file is empty)".to_string()
            } else {
                message
            },
        }
    })
}

/// serde_path_to_error sees our `Spanned` wrappers as `.value` fields: hide them.
fn clean_path(path: &str) -> String {
    let cleaned = path.replace(".value", "");
    match cleaned.as_str() {
        "." | "?" => String::new(),
        _ => cleaned.trim_end_matches(".?").to_string(),
    }
}

fn unknown_variant(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown variant `")?;
    rest.split('`').next()
}
