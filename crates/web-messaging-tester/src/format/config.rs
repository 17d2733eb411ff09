//! What test-scripts and `ai` files read the same way: the YAML with `${NAME}` variables, the
//! `scenarios` that may not be empty, and the `config` keys that say where sessions go
//! ([`FileTarget`]). One definition, so both formats accept and refuse these with one wording.

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;
use web_messaging_input::{InputError, drop_spanned_steps, from_yaml_with_variables};

/// Where a file's sessions go and how they open: the `config` keys both formats share.
#[derive(Debug, Clone, Default)]
pub struct FileTarget {
    /// `config.deploymentId`.
    pub deployment_id: Option<String>,
    /// `config.region`, the bare domain (e.g. `mypurecloud.ie`).
    pub region: Option<String>,
    /// Where `config.region` is written (its file, line, column and key).
    pub region_at: Option<InputError>,
    /// `config.origin`.
    pub origin: Option<String>,
    /// `config.endpoint`: a WebSocket URL that replaces the region-derived one.
    pub endpoint: Option<String>,
    /// `config.autostart`: send the Presence `Join` when each new session starts (true) or
    /// never (false), whatever the deployment configuration says.
    pub autostart: Option<bool>,
}

/// The shared `config` keys as written, before they are checked.
pub(crate) struct RawFileTarget {
    pub deployment_id: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub origin: Option<Spanned<String>>,
    pub endpoint: Option<Spanned<String>>,
    pub autostart: Option<bool>,
}

impl FileTarget {
    /// Checks the shared `config` keys of `file`: none of the texts may be empty.
    pub(crate) fn read(file: &str, raw: RawFileTarget) -> Result<FileTarget, InputError> {
        Ok(FileTarget {
            deployment_id: optional_text(file, raw.deployment_id, "config.deploymentId")?,
            region_at: raw
                .region
                .as_ref()
                .map(|r| InputError::at(file, &r.referenced, "config.region", "")),
            region: optional_text(file, raw.region, "config.region")?,
            origin: optional_text(file, raw.origin, "config.origin")?,
            endpoint: optional_text(file, raw.endpoint, "config.endpoint")?,
            autostart: raw.autostart,
        })
    }
}

/// An optional text key: absent is `None`, written but blank is refused under `key`.
pub(crate) fn optional_text(
    file: &str,
    field: Option<Spanned<String>>,
    key: &str,
) -> Result<Option<String>, InputError> {
    match field {
        Some(s) if s.value.trim().is_empty() => Err(InputError::at(
            file,
            &s.referenced,
            key,
            "is not allowed to be empty",
        )),
        Some(s) => Ok(Some(s.value)),
        None => Ok(None),
    }
}

/// Parses a file's text with the `${NAME}` variables installed for this run, so positions in
/// errors stay the file's.
pub(crate) fn parse_yaml<T: DeserializeOwned>(file: &str, source: &str) -> Result<T, InputError> {
    from_yaml_with_variables(
        file,
        source,
        drop_spanned_steps,
        crate::format::variables::installed().as_deref(),
    )
}

/// Refuses a file whose `scenarios` is empty.
pub(crate) fn require_scenarios<T>(
    file: &str,
    scenarios: &Spanned<IndexMap<String, T>>,
) -> Result<(), InputError> {
    if scenarios.value.is_empty() {
        return Err(InputError::at(
            file,
            &scenarios.referenced,
            "scenarios",
            "must have at least 1 scenario",
        ));
    }
    Ok(())
}
