//! What test-scripts and `ai` files read the same way: the YAML with `${NAME}` variables, the
//! `scenarios` that may not be empty, and the `config` keys that say where sessions go
//! ([`TargetSettings`]). One definition, so both formats accept and refuse these with one
//! wording.

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;
use web_messaging_input::{InputError, drop_spanned_steps, from_yaml_with_variables};

/// Where sessions go and how they open, as one source gives them: a file's `config` (the keys
/// test-scripts and `ai` files share; `auth.codeVariable` is test-scripts' only) or the
/// command line, whose values win one setting at a time (`plan::target`).
#[derive(Debug, Clone, Default)]
pub struct TargetSettings {
    /// `deploymentId`.
    pub deployment_id: Option<String>,
    /// `region`, the bare domain (e.g. `mypurecloud.ie`).
    pub region: Option<String>,
    /// Where the file's `region` is written, for errors (none for the command line's).
    pub region_at: Option<InputError>,
    /// `origin`, the `Origin` header.
    pub origin: Option<String>,
    /// `endpoint`: a `ws://` or `wss://` URL that replaces the region-derived one.
    pub endpoint: Option<String>,
    /// `autostart`: send the Presence `Join` when each new session starts (true) or never
    /// (false), whatever the deployment configuration says.
    pub autostart: Option<bool>,
    /// `auth.codeVariable`: the environment variable holding the code of an authenticated
    /// session (`configureAuthenticatedSession`).
    pub auth_code_variable: Option<String>,
}

/// The keys of [`TargetSettings`] as a file writes them, before they are checked.
pub(crate) struct RawTarget {
    pub deployment_id: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub origin: Option<Spanned<String>>,
    pub endpoint: Option<Spanned<String>>,
    pub autostart: Option<bool>,
    pub auth_code_variable: Option<Spanned<String>>,
}

impl TargetSettings {
    /// Checks the `config` keys of `file` that say where sessions go: none of the texts may
    /// be empty.
    pub(crate) fn read(file: &str, raw: RawTarget) -> Result<TargetSettings, InputError> {
        Ok(TargetSettings {
            deployment_id: optional_text(file, raw.deployment_id, "config.deploymentId")?,
            region_at: raw
                .region
                .as_ref()
                .map(|r| InputError::at(file, &r.referenced, "config.region", "")),
            region: optional_text(file, raw.region, "config.region")?,
            origin: optional_text(file, raw.origin, "config.origin")?,
            endpoint: optional_text(file, raw.endpoint, "config.endpoint")?,
            autostart: raw.autostart,
            auth_code_variable: optional_text(
                file,
                raw.auth_code_variable,
                "config.auth.codeVariable",
            )?,
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
