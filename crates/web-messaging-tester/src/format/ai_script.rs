//! AI test files: upstream's format (`config.ai` + scenarios with `setup` and `followUp`),
//! loaded with positions so every mistake names its file, line, column and key.
//!
//! Provider settings are checked against the provider they belong to: a key that another
//! provider knows is refused with the keys this one accepts.

use crate::format::config::{
    RawTarget, TargetSettings, optional_text, parse_yaml, require_scenarios,
};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::path::Path;
use web_messaging_input::{InputError, read_file};

/// A loaded, validated AI test file.
#[derive(Debug, Clone)]
pub struct AiFile {
    /// `config.deploymentId`, `region`, `origin`, and (ours, as in test-scripts) `endpoint`
    /// and `autostart`.
    pub target: TargetSettings,
    /// `config.ai`: the model that plays the customer.
    pub ai: ProviderSpec,
    /// `config.ai.maxTurns` (ours).
    pub max_turns: Option<u32>,
    /// The scenarios, in file order.
    pub scenarios: Vec<AiScenario>,
}

/// Which provider, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    /// The provider.
    pub kind: ProviderKind,
    /// Its `config`.
    pub config: ProviderConfig,
}

/// The providers a file can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// `chatgpt`: OpenAI's Chat Completions API.
    ChatGpt,
    /// `openai-compatible`: any server speaking the Chat Completions API (Ollama, vLLM, ...).
    OpenAiCompatible,
    /// `google-gemini`: the Gemini API with an API key.
    GoogleGemini,
    /// `google-vertex-ai`: Gemini on Vertex AI with Application Default Credentials.
    GoogleVertexAi,
}

const PROVIDERS: &str = "chatgpt, google-gemini, google-vertex-ai, openai-compatible";

impl ProviderKind {
    fn parse(name: &str) -> Option<ProviderKind> {
        match name {
            "chatgpt" => Some(ProviderKind::ChatGpt),
            "openai-compatible" => Some(ProviderKind::OpenAiCompatible),
            "google-gemini" => Some(ProviderKind::GoogleGemini),
            "google-vertex-ai" => Some(ProviderKind::GoogleVertexAi),
            _ => None,
        }
    }

    /// The name used in the file.
    pub fn key(self) -> &'static str {
        match self {
            ProviderKind::ChatGpt => "chatgpt",
            ProviderKind::OpenAiCompatible => "openai-compatible",
            ProviderKind::GoogleGemini => "google-gemini",
            ProviderKind::GoogleVertexAi => "google-vertex-ai",
        }
    }

    /// The `config` keys this provider accepts (upstream's, plus `model` for Vertex AI and
    /// the keys of the new `openai-compatible`).
    fn keys(self) -> &'static [&'static str] {
        match self {
            ProviderKind::ChatGpt => &["model", "temperature"],
            ProviderKind::OpenAiCompatible => {
                &["baseUrl", "model", "temperature", "seed", "apiKeyVariable"]
            }
            ProviderKind::GoogleGemini => &["model", "temperature", "topK", "topP", "seed"],
            ProviderKind::GoogleVertexAi => &[
                "location",
                "project",
                "model",
                "temperature",
                "topK",
                "topP",
                "seed",
                "modelVersion",
                "examples",
            ],
        }
    }
}

/// A provider's `config`; each provider uses the keys it accepts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderConfig {
    /// `model`.
    pub model: Option<String>,
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `topK`.
    pub top_k: Option<u32>,
    /// `topP`.
    pub top_p: Option<f64>,
    /// `seed`.
    pub seed: Option<i64>,
    /// `location` (Vertex AI).
    pub location: Option<String>,
    /// `project` (Vertex AI).
    pub project: Option<String>,
    /// `modelVersion` (Vertex AI, upstream's PaLM version).
    pub model_version: Option<String>,
    /// `examples` (Vertex AI): input/output pairs shown to the model before the conversation.
    pub examples: Vec<Example>,
    /// `baseUrl` (openai-compatible).
    pub base_url: Option<String>,
    /// `apiKeyVariable` (openai-compatible): the environment variable holding the server's key.
    /// Read only when the command line allows it (`--api-key-variable`).
    pub api_key_variable: Option<String>,
    /// Where `apiKeyVariable` is written, for the error when it is not allowed.
    pub api_key_variable_at: Option<Site>,
}

/// Where a setting is written: file, line, column and key (as an [`InputError`] whose
/// message is filled in when it is used). Not part of a setting's equality.
#[derive(Debug, Clone)]
pub struct Site(pub InputError);

impl PartialEq for Site {
    fn eq(&self, _: &Site) -> bool {
        true
    }
}

impl Site {
    /// The error at this site with `message`.
    pub fn error(&self, message: impl Into<String>) -> InputError {
        InputError {
            message: message.into(),
            ..self.0.clone()
        }
    }
}

/// One `examples` entry: what the other side says, and how the model should answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// What the chatbot says.
    pub input: String,
    /// How the customer answers.
    pub output: String,
}

/// `pass` and `fail` phrases.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminatingPhrases {
    /// Phrases that end the conversation as passed.
    pub pass: Vec<String>,
    /// Phrases that end it as failed (checked first).
    pub fail: Vec<String>,
}

/// One scenario: its own guest session with the model playing the customer.
#[derive(Debug, Clone)]
pub struct AiScenario {
    /// Its name (its key in `scenarios`).
    pub name: String,
    /// `setup.prompt`, placeholders not yet replaced.
    pub prompt: String,
    /// `setup.placeholders`, in file order; keys with empty lists are kept (and never chosen).
    pub placeholders: IndexMap<String, Vec<String>>,
    /// `setup.terminatingPhrases`.
    pub phrases: TerminatingPhrases,
    /// `followUp`: the judge.
    pub follow_up: Option<FollowUp>,
}

/// `followUp`: after the conversation, a judge reads the transcript.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// What the judge is told.
    pub prompt: String,
    /// How its answer is read.
    pub phrases: TerminatingPhrases,
    /// `followUp.provider` with `followUp.config`; `None` uses `config.ai`.
    pub provider: Option<ProviderSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    config: Spanned<RawConfig>,
    scenarios: Spanned<IndexMap<String, Spanned<RawScenario>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    deployment_id: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    autostart: Option<bool>,
    ai: Spanned<RawAi>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAi {
    provider: Spanned<String>,
    config: Option<Spanned<RawProviderConfig>>,
    max_turns: Option<Spanned<u32>>,
}

/// Every key any provider accepts; which ones a provider allows is checked afterwards.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawProviderConfig {
    model: Option<Spanned<String>>,
    temperature: Option<Spanned<f64>>,
    top_k: Option<Spanned<u32>>,
    top_p: Option<Spanned<f64>>,
    seed: Option<Spanned<i64>>,
    location: Option<Spanned<String>>,
    project: Option<Spanned<String>>,
    model_version: Option<Spanned<String>>,
    examples: Option<Spanned<Vec<Example>>>,
    base_url: Option<Spanned<String>>,
    api_key_variable: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScenario {
    setup: Spanned<RawSetup>,
    follow_up: Option<Spanned<RawFollowUp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSetup {
    prompt: Spanned<String>,
    placeholders: Option<Spanned<IndexMap<String, Vec<String>>>>,
    terminating_phrases: RawPhrases,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhrases {
    pass: Spanned<Vec<String>>,
    fail: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowUp {
    prompt: Spanned<String>,
    #[serde(rename = "terminatingPhrases")]
    terminating_phrases: RawPhrases,
    provider: Option<Spanned<String>>,
    config: Option<Spanned<RawProviderConfig>>,
}

/// Only what is needed to word an unknown-key error: which provider a `config` belongs to.
#[derive(Deserialize)]
struct Probe {
    config: Option<ProbeConfig>,
    scenarios: Option<IndexMap<String, ProbeScenario>>,
}

#[derive(Deserialize)]
struct ProbeConfig {
    ai: Option<ProbeAi>,
}

#[derive(Deserialize)]
struct ProbeAi {
    provider: Option<String>,
}

#[derive(Deserialize)]
struct ProbeScenario {
    #[serde(rename = "followUp")]
    follow_up: Option<ProbeAi>,
}

impl AiFile {
    /// Reads and validates an AI test file.
    pub fn load(path: &Path) -> Result<AiFile, InputError> {
        let source = read_file(path, "test-script")?;
        Self::parse(path, &source)
    }

    /// Validates an AI test file's text.
    pub fn parse(path: &Path, source: &str) -> Result<AiFile, InputError> {
        let file = path.display().to_string();
        let raw: RawFile = parse_yaml(&file, source).map_err(|e| reword_provider_key(e, source))?;
        let config = raw.config.value;
        let target = TargetSettings::read(
            &file,
            RawTarget {
                deployment_id: config.deployment_id,
                region: config.region,
                origin: config.origin,
                endpoint: config.endpoint,
                autostart: config.autostart,
                auth_code_variable: None,
            },
        )?;
        let ai = config.ai.value;
        let spec = provider_spec(&file, &ai.provider, ai.config, "config.ai")?;
        let max_turns = match ai.max_turns {
            Some(m) if m.value == 0 => {
                return Err(InputError::at(
                    &file,
                    &m.referenced,
                    "config.ai.maxTurns",
                    "must be at least 1",
                ));
            }
            Some(m) => Some(m.value),
            None => None,
        };
        require_scenarios(&file, &raw.scenarios)?;
        let mut scenarios = Vec::new();
        for (name, scenario) in raw.scenarios.value {
            scenarios.push(convert_scenario(&file, name, scenario.value)?);
        }
        Ok(AiFile {
            target,
            ai: spec,
            max_turns,
            scenarios,
        })
    }
}

fn empty(file: &str, location: &Location, key: &str) -> InputError {
    InputError::at(file, location, key, "is not allowed to be empty")
}

fn convert_scenario(file: &str, name: String, raw: RawScenario) -> Result<AiScenario, InputError> {
    let at = format!("scenarios.{name}");
    let setup = raw.setup.value;
    if setup.prompt.value.trim().is_empty() {
        return Err(empty(
            file,
            &setup.prompt.referenced,
            &format!("{at}.setup.prompt"),
        ));
    }
    let placeholders = match setup.placeholders {
        Some(p) if p.value.is_empty() => {
            return Err(InputError::at(
                file,
                &p.referenced,
                &format!("{at}.setup.placeholders"),
                "must have at least 1 key",
            ));
        }
        Some(p) => p.value,
        None => IndexMap::new(),
    };
    let phrases = convert_phrases(
        file,
        setup.terminating_phrases,
        &format!("{at}.setup.terminatingPhrases"),
    )?;
    let follow_up = match raw.follow_up {
        Some(f) => {
            let f = f.value;
            if f.prompt.value.trim().is_empty() {
                return Err(empty(
                    file,
                    &f.prompt.referenced,
                    &format!("{at}.followUp.prompt"),
                ));
            }
            let phrases = convert_phrases(
                file,
                f.terminating_phrases,
                &format!("{at}.followUp.terminatingPhrases"),
            )?;
            let provider = match f.provider {
                Some(provider) => Some(provider_spec(
                    file,
                    &provider,
                    f.config,
                    &format!("{at}.followUp"),
                )?),
                None => {
                    if let Some(config) = f.config {
                        return Err(InputError::at(
                            file,
                            &config.referenced,
                            &format!("{at}.followUp.config"),
                            "is only allowed beside followUp.provider (without it the judge uses config.ai)",
                        ));
                    }
                    None
                }
            };
            Some(FollowUp {
                prompt: f.prompt.value,
                phrases,
                provider,
            })
        }
        None => None,
    };
    Ok(AiScenario {
        name,
        prompt: setup.prompt.value,
        placeholders,
        phrases,
        follow_up,
    })
}

fn convert_phrases(
    file: &str,
    raw: RawPhrases,
    key: &str,
) -> Result<TerminatingPhrases, InputError> {
    let list = |list: Spanned<Vec<String>>, which: &str| {
        if list.value.is_empty() {
            return Err(InputError::at(
                file,
                &list.referenced,
                &format!("{key}.{which}"),
                "must contain at least 1 items",
            ));
        }
        if list.value.iter().any(|p| p.trim().is_empty()) {
            return Err(InputError::at(
                file,
                &list.referenced,
                &format!("{key}.{which}"),
                "must not contain an empty phrase",
            ));
        }
        Ok(list.value)
    };
    Ok(TerminatingPhrases {
        pass: list(raw.pass, "pass")?,
        fail: list(raw.fail, "fail")?,
    })
}

/// Checks `provider` and that `config` only uses that provider's keys.
// One check per provider key, in the order the docs list them: split, the rules would scatter.
#[allow(clippy::too_many_lines)]
fn provider_spec(
    file: &str,
    provider: &Spanned<String>,
    config: Option<Spanned<RawProviderConfig>>,
    at: &str,
) -> Result<ProviderSpec, InputError> {
    let Some(kind) = ProviderKind::parse(&provider.value) else {
        return Err(InputError::at(
            file,
            &provider.referenced,
            &format!("{at}.provider"),
            format!("must be one of [{PROVIDERS}]"),
        ));
    };
    let raw = config.map(|c| c.value).unwrap_or_default();
    let allowed = kind.keys();
    let check = |present: Option<&Location>, key: &str| -> Result<(), InputError> {
        match present {
            Some(location) if !allowed.contains(&key) => Err(InputError::at(
                file,
                location,
                &format!("{at}.config.{key}"),
                format!(
                    "is not allowed for provider {}: expected one of {}",
                    kind.key(),
                    allowed.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    };
    check(raw.model.as_ref().map(|s| &s.referenced), "model")?;
    check(
        raw.temperature.as_ref().map(|s| &s.referenced),
        "temperature",
    )?;
    check(raw.top_k.as_ref().map(|s| &s.referenced), "topK")?;
    check(raw.top_p.as_ref().map(|s| &s.referenced), "topP")?;
    check(raw.seed.as_ref().map(|s| &s.referenced), "seed")?;
    check(raw.location.as_ref().map(|s| &s.referenced), "location")?;
    check(raw.project.as_ref().map(|s| &s.referenced), "project")?;
    check(
        raw.model_version.as_ref().map(|s| &s.referenced),
        "modelVersion",
    )?;
    check(raw.examples.as_ref().map(|s| &s.referenced), "examples")?;
    check(raw.base_url.as_ref().map(|s| &s.referenced), "baseUrl")?;
    check(
        raw.api_key_variable.as_ref().map(|s| &s.referenced),
        "apiKeyVariable",
    )?;

    let key = |name: &str| format!("{at}.config.{name}");
    let text = |field: Option<Spanned<String>>, name: &str| optional_text(file, field, &key(name));
    let range =
        |field: Option<Spanned<f64>>, name: &str, max: f64| -> Result<Option<f64>, InputError> {
            match field {
                Some(v) if !(0.0..=max).contains(&v.value) => Err(InputError::at(
                    file,
                    &v.referenced,
                    &key(name),
                    format!("must be between 0 and {max}"),
                )),
                Some(v) => Ok(Some(v.value)),
                None => Ok(None),
            }
        };
    let model_version = match raw.model_version {
        // Upstream's rule: a version such as `002`.
        Some(v) if !has_three_digits(&v.value) => {
            return Err(InputError::at(
                file,
                &v.referenced,
                &key("modelVersion"),
                "must contain 3 digits, e.g. 002 (or name a Gemini model such as gemini-2.0-flash-001)",
            ));
        }
        Some(v) => Some(v.value),
        None => None,
    };
    let base_url = match raw.base_url {
        Some(url) if !(url.value.starts_with("http://") || url.value.starts_with("https://")) => {
            return Err(InputError::at(
                file,
                &url.referenced,
                &key("baseUrl"),
                format!("must be an http:// or https:// URL, not '{}'", url.value),
            ));
        }
        Some(url) => Some(url.value),
        None => None,
    };
    let config = ProviderConfig {
        model: text(raw.model, "model")?,
        temperature: range(raw.temperature, "temperature", 2.0)?,
        top_k: raw.top_k.map(|v| v.value),
        top_p: range(raw.top_p, "topP", 1.0)?,
        seed: raw.seed.map(|v| v.value),
        location: text(raw.location, "location")?,
        project: text(raw.project, "project")?,
        model_version,
        examples: raw.examples.map(|e| e.value).unwrap_or_default(),
        base_url,
        api_key_variable_at: raw.api_key_variable.as_ref().map(|v| {
            Site(InputError::at(
                file,
                &v.referenced,
                &key("apiKeyVariable"),
                "",
            ))
        }),
        api_key_variable: text(raw.api_key_variable, "apiKeyVariable")?,
    };
    Ok(ProviderSpec { kind, config })
}

fn has_three_digits(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w.iter().all(u8::is_ascii_digit))
}

/// An unknown key under a provider's `config` is worded with that provider's keys, not with
/// every key any provider accepts; a number that is not one says so plainly.
fn reword_provider_key(mut e: InputError, source: &str) -> InputError {
    if e.message == "invalid floating point" {
        e.message = "must be a number".into();
    }
    let Some(key) = e.key.clone() else {
        return e;
    };
    if !e.message.starts_with("is not allowed: unknown key") {
        return e;
    }
    let probe: Option<Probe> = serde_saphyr::from_str(source).ok();
    let main = probe
        .as_ref()
        .and_then(|p| p.config.as_ref())
        .and_then(|c| c.ai.as_ref())
        .and_then(|a| a.provider.as_deref())
        .and_then(ProviderKind::parse);
    let provider = if key.starts_with("config.ai.config.") {
        main
    } else if key.starts_with("scenarios.") && key.contains(".followUp.config.") {
        let name = key
            .strip_prefix("scenarios.")
            .and_then(|rest| rest.rsplit_once(".followUp.config."))
            .map(|(name, _)| name.to_string());
        probe
            .as_ref()
            .and_then(|p| p.scenarios.as_ref())
            .zip(name)
            .and_then(|(scenarios, name)| scenarios.get(&name).and_then(|s| s.follow_up.as_ref()))
            .and_then(|f| f.provider.as_deref())
            .and_then(ProviderKind::parse)
    } else {
        None
    };
    if let Some(kind) = provider {
        let unknown = key.rsplit('.').next().unwrap_or_default();
        e.message = format!(
            "is not allowed for provider {}: unknown key `{unknown}`, expected one of {}",
            kind.key(),
            kind.keys().join(", ")
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<AiFile, InputError> {
        AiFile::parse(Path::new("t.yml"), src)
    }

    const SCENARIO: &str = "scenarios:\n  s:\n    setup:\n      prompt: Hi {NAME}\n      terminatingPhrases:\n        pass: [PASS]\n        fail: [FAIL]\n";

    #[test]
    fn loads_upstreams_chatgpt_example() {
        let src = format!(
            "config:\n  deploymentId: d\n  region: r\n  ai:\n    provider: chatgpt\n    config:\n      model: gpt-4o\n      temperature: 1\n{SCENARIO}"
        );
        let file = parse(&src).unwrap();
        assert_eq!(file.ai.kind, ProviderKind::ChatGpt);
        assert_eq!(file.ai.config.model.as_deref(), Some("gpt-4o"));
        assert_eq!(file.ai.config.temperature, Some(1.0));
        assert_eq!(file.scenarios[0].phrases.pass, ["PASS"]);
    }

    #[test]
    fn loads_vertex_with_examples_and_follow_up() {
        let src = "config:\n  ai:\n    provider: google-vertex-ai\n    maxTurns: 4\n    config:\n      location: europe-west2\n      project: p\n      modelVersion: '002'\n      topK: 40\n      examples:\n        - input: hi\n          output: hello\nscenarios:\n  s:\n    setup:\n      prompt: x\n      placeholders:\n        A: [a, b]\n      terminatingPhrases: {pass: [P], fail: [F]}\n    followUp:\n      provider: openai-compatible\n      config: {baseUrl: 'http://localhost:11434/v1', model: llama3.2}\n      prompt: judge\n      terminatingPhrases: {pass: [P], fail: [F]}\n";
        let file = parse(src).unwrap();
        assert_eq!(file.max_turns, Some(4));
        assert_eq!(file.ai.config.model_version.as_deref(), Some("002"));
        assert_eq!(file.ai.config.examples.len(), 1);
        let follow_up = file.scenarios[0].follow_up.as_ref().unwrap();
        let judge = follow_up.provider.as_ref().unwrap();
        assert_eq!(judge.kind, ProviderKind::OpenAiCompatible);
        assert_eq!(judge.config.model.as_deref(), Some("llama3.2"));
    }

    #[test]
    fn reports_position_and_key() {
        let cases = [
            (
                format!("config:\n  ai:\n    provider: palm\n{SCENARIO}"),
                3,
                15,
                "config.ai.provider",
                "must be one of [chatgpt, google-gemini, google-vertex-ai, openai-compatible]",
            ),
            (
                format!("config:\n  ai:\n    provider: chatgpt\n    config:\n      topK: 3\n{SCENARIO}"),
                5,
                13,
                "config.ai.config.topK",
                "is not allowed for provider chatgpt: expected one of model, temperature",
            ),
            (
                format!("config:\n  ai:\n    provider: google-gemini\n    config:\n      modell: x\n{SCENARIO}"),
                5,
                7,
                "config.ai.config.modell",
                "is not allowed for provider google-gemini: unknown key `modell`, expected one of model, temperature, topK, topP, seed",
            ),
            (
                "config:\n  ai:\n    provider: chatgpt\nscenarios:\n  test-name-of-test-1:\n    setup:\n      prompt: x\n      terminatingPhrases:\n        pass: [P]\n".to_string(),
                9,
                9,
                "scenarios.test-name-of-test-1.setup.terminatingPhrases.fail",
                "is required",
            ),
            (
                format!("config:\n  ai:\n    provider: chatgpt\n    config:\n      temperature: 5\n{SCENARIO}"),
                5,
                20,
                "config.ai.config.temperature",
                "must be between 0 and 2",
            ),
        ];
        for (src, line, column, key, message) in cases {
            let e = parse(&src).unwrap_err();
            assert_eq!(
                (e.line, e.column, e.key.as_deref(), e.message.as_str()),
                (Some(line), Some(column), Some(key), message),
                "{src}\n{e}"
            );
        }
    }

    #[test]
    fn config_and_ai_are_required() {
        let e = parse(SCENARIO).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("config"), "{e}");
        let e = parse(&format!("config:\n  region: r\n{SCENARIO}")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("config.ai"), "{e}");
    }
}
