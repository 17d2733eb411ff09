//! Test-scripts: upstream's YAML format (`config` + `scenarios`), loaded with positions so every
//! mistake is reported with its file, line, column and key before anything connects.

use genesys_web_messaging::JsRegex;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::Path;
use std::time::Duration;
use web_messaging_input::{InputError, drop_spanned_steps, from_yaml, read_file};

/// A loaded, validated test-script.
#[derive(Debug, Clone)]
pub struct TestScript {
    /// The `config` section.
    pub config: FileConfig,
    /// The scenarios, in file order.
    pub scenarios: Vec<Scenario>,
}

/// The `config` section: upstream's keys plus our optional extensions.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// `deploymentId`.
    pub deployment_id: Option<String>,
    /// `region`, the bare domain (e.g. `mypurecloud.ie`).
    pub region: Option<String>,
    /// `origin`.
    pub origin: Option<String>,
    /// `endpoint`: a WebSocket URL that replaces the region-derived one.
    pub endpoint: Option<String>,
    /// `timeout`: seconds each wait may take.
    pub timeout: Option<Duration>,
    /// `sayDelay`: quiet time before each `say` (e.g. `2s`, `500ms`).
    pub say_delay: Option<Duration>,
}

/// One scenario: its own guest session running its steps in order.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario's name (its key in `scenarios`).
    pub name: String,
    /// The steps.
    pub steps: Vec<Step>,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// `say: text`.
    Say(String),
    /// `waitForReplyContaining: text` (case-insensitive).
    WaitForReplyContaining(String),
    /// `waitForReplyMatching: pattern` (JavaScript syntax, flags `im`).
    WaitForReplyMatching(JsRegex),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Say(text) => write!(f, "say: {text}"),
            Step::WaitForReplyContaining(text) => write!(f, "waitForReplyContaining: {text}"),
            Step::WaitForReplyMatching(regex) => {
                write!(f, "waitForReplyMatching: {}", regex.source())
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    #[serde(default)]
    config: Option<Spanned<RawConfig>>,
    scenarios: Spanned<IndexMap<String, Spanned<Vec<Spanned<RawStep>>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    deployment_id: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    say_delay: Option<Spanned<String>>,
}

// Externally tagged: one key per step, typed `String` values so `Yes` and `0755` stay text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum RawStep {
    Say(Spanned<String>),
    WaitForReplyContaining(Spanned<String>),
    WaitForReplyMatching(Spanned<String>),
}

impl TestScript {
    /// Reads and validates a test-script.
    pub fn load(path: &Path) -> Result<TestScript, InputError> {
        let source = read_file(path, "test-script")?;
        Self::parse(path, &source)
    }

    /// Validates a test-script's text.
    pub fn parse(path: &Path, source: &str) -> Result<TestScript, InputError> {
        let file = path.display().to_string();
        let raw: RawScript = from_yaml(&file, source, drop_spanned_steps)?;
        let config = match raw.config {
            Some(c) => convert_config(&file, c.value)?,
            None => FileConfig::default(),
        };
        if raw.scenarios.value.is_empty() {
            return Err(InputError::at(
                &file,
                &raw.scenarios.referenced,
                "scenarios",
                "must have at least 1 scenario",
            ));
        }
        let mut scenarios = Vec::new();
        for (name, steps) in raw.scenarios.value {
            let mut converted = Vec::new();
            for (index, step) in steps.value.into_iter().enumerate() {
                converted.push(convert_step(&file, &name, index, step.value)?);
            }
            scenarios.push(Scenario {
                name,
                steps: converted,
            });
        }
        Ok(TestScript { config, scenarios })
    }
}

fn convert_config(file: &str, raw: RawConfig) -> Result<FileConfig, InputError> {
    let text = |field: Option<Spanned<String>>, key: &str| -> Result<Option<String>, InputError> {
        match field {
            Some(s) if s.value.trim().is_empty() => Err(InputError::at(
                file,
                &s.referenced,
                &format!("config.{key}"),
                "is not allowed to be empty",
            )),
            Some(s) => Ok(Some(s.value)),
            None => Ok(None),
        }
    };
    let timeout = match raw.timeout {
        Some(s) => Some(
            parse_timeout(&s.value)
                .map_err(|reason| InputError::at(file, &s.referenced, "config.timeout", &reason))?,
        ),
        None => None,
    };
    let say_delay =
        match raw.say_delay {
            Some(s) => Some(parse_delay(&s.value).map_err(|reason| {
                InputError::at(file, &s.referenced, "config.sayDelay", &reason)
            })?),
            None => None,
        };
    Ok(FileConfig {
        deployment_id: text(raw.deployment_id, "deploymentId")?,
        region: text(raw.region, "region")?,
        origin: text(raw.origin, "origin")?,
        endpoint: text(raw.endpoint, "endpoint")?,
        timeout,
        say_delay,
    })
}

fn convert_step(
    file: &str,
    scenario: &str,
    index: usize,
    raw: RawStep,
) -> Result<Step, InputError> {
    let (key, value) = match &raw {
        RawStep::Say(v) => ("say", v),
        RawStep::WaitForReplyContaining(v) => ("waitForReplyContaining", v),
        RawStep::WaitForReplyMatching(v) => ("waitForReplyMatching", v),
    };
    let key_path = format!("scenarios.{scenario}[{index}].{key}");
    if value.value.is_empty() {
        return Err(InputError::at(
            file,
            &value.referenced,
            &key_path,
            "is not allowed to be empty",
        ));
    }
    Ok(match raw {
        RawStep::Say(v) => Step::Say(v.value),
        RawStep::WaitForReplyContaining(v) => Step::WaitForReplyContaining(v.value),
        RawStep::WaitForReplyMatching(v) => {
            let regex = JsRegex::new(&v.value, "im").map_err(|e| {
                InputError::at(
                    file,
                    &v.referenced,
                    &key_path,
                    format!("is not a valid regular expression: {e}"),
                )
            })?;
            Step::WaitForReplyMatching(regex)
        }
    })
}

/// Parses a timeout in seconds, as upstream's `--timeout` (`10`, `2.5`); must be above zero.
pub fn parse_timeout(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds.is_finite() && seconds <= 86_400.0) {
        return Err(format!(
            "'{value}' must be a number of seconds greater than 0 (at most 86400)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a delay such as `2s`, `500ms` or `0`.
pub fn parse_delay(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("'{value}' is not a duration like 2s or 500ms ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<TestScript, InputError> {
        TestScript::parse(Path::new("t.yml"), src)
    }

    #[test]
    fn loads_upstream_format_keeping_yaml_11_scalars_as_text() {
        let script = parse(
            "config:\n  deploymentId: d\n  region: xxxx.pure.cloud\nscenarios:\n  \"B\":\n    - say: Yes\n    - say: 0755\n    - waitForReplyMatching: Thank you[\\.]+\n  \"A\": []\n",
        )
        .unwrap();
        assert_eq!(script.config.region.as_deref(), Some("xxxx.pure.cloud"));
        let names: Vec<_> = script.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["B", "A"]);
        assert!(matches!(&script.scenarios[0].steps[0], Step::Say(s) if s == "Yes"));
        assert!(matches!(&script.scenarios[0].steps[1], Step::Say(s) if s == "0755"));
    }

    #[test]
    fn reports_position_and_key() {
        let cases = [
            (
                "scenarios:\n  a:\n    - sayy: hi\n",
                3,
                7,
                "scenarios.a[0].sayy",
            ),
            (
                "scenarios:\n  a:\n    - say: ''\n",
                3,
                12,
                "scenarios.a[0].say",
            ),
            (
                "scenarios:\n  a:\n    - waitForReplyMatching: '('\n",
                3,
                29,
                "scenarios.a[0].waitForReplyMatching",
            ),
            (
                "config:\n  foo: 1\nscenarios:\n  a: []\n",
                2,
                3,
                "config.foo",
            ),
            ("scenarios: {}\n", 1, 12, "scenarios"),
            (
                "scenarios:\n  a:\n    - say:\n",
                3,
                10,
                "scenarios.a[0].say",
            ),
            (
                "config:\n  timeout: abc\nscenarios:\n  a: []\n",
                2,
                12,
                "config.timeout",
            ),
        ];
        for (src, line, column, key) in cases {
            let e = parse(src).unwrap_err();
            assert_eq!(
                (e.line, e.column, e.key.as_deref()),
                (Some(line), Some(column), Some(key)),
                "{src}: {e}"
            );
        }
    }

    #[test]
    fn missing_scenarios_and_non_mapping_documents_are_refused() {
        for src in ["config: {}\n", "", "- a\n", "scenarios: [\n"] {
            assert!(parse(src).is_err(), "{src:?}");
        }
    }
}
