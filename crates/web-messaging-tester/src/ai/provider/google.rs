//! Google's `generateContent`, the same request on two services: the Gemini API
//! (`google-gemini`, an API key) and Gemini on Vertex AI (`google-vertex-ai`, Application
//! Default Credentials).
//!
//! Upstream's `google-vertex-ai` asked PaLM's `chat-bison`, which Google has retired; files
//! written for it keep working, served by Gemini: `temperature`, `topK`, `topP` and `seed`
//! become the generation settings, each `examples` pair becomes a chatbot turn and the
//! customer's answer before the conversation (PaLM's few-shot examples, as Gemini takes
//! them), and `modelVersion` names a Gemini model when it is one (`gemini-2.0-flash-001`);
//! a PaLM version (`002`) is ignored with a note, `model` choosing the Gemini model.

use super::google_auth::GoogleAuth;
use super::{ChatMessage, Completion, Env, Role, Usage};
use crate::ai::http::{Http, ProviderError};
use crate::format::ai_script::{Example, ProviderKind, ProviderSpec};
use reqwest::RequestBuilder;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The Gemini API's address (with its version), unless `GEMINI_BASE_URL` says otherwise.
const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
/// The model when the file names none.
const DEFAULT_MODEL: &str = "gemini-2.5-flash";

pub struct Google {
    http: Arc<Http>,
    url: String,
    credentials: Credentials,
    model: String,
    generation: GenerationConfig,
    examples: Vec<Example>,
}

enum Credentials {
    ApiKey(String),
    Adc(Box<GoogleAuth>),
}

/// What one request is signed with: the Gemini API's key, or a token of the Application
/// Default Credentials.
enum Signature<'a> {
    ApiKey(&'a str),
    Bearer(String),
}

impl Signature<'_> {
    /// The request with its credential header.
    fn sign(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Signature::ApiKey(key) => request.header("x-goog-api-key", *key),
            Signature::Bearer(token) => request.bearer_auth(token),
        }
    }

    /// The credential, kept out of every error.
    fn secret(&self) -> &str {
        match self {
            Signature::ApiKey(key) => key,
            Signature::Bearer(token) => token,
        }
    }
}

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    system_instruction: Content<'a>,
    contents: Vec<Content<'a>>,
    generation_config: &'a GenerationConfig,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<AnswerContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerContent {
    #[serde(default)]
    parts: Vec<AnswerPart>,
}

#[derive(Deserialize)]
struct AnswerPart {
    #[serde(default)]
    text: Option<String>,
    /// Thinking models' reasoning, which is not the answer.
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

impl Google {
    pub fn build(
        spec: &ProviderSpec,
        env: &Env,
        http: Arc<Http>,
        notes: &mut Vec<String>,
    ) -> Result<Google, String> {
        let config = &spec.config;
        let generation = GenerationConfig {
            temperature: config.temperature,
            top_k: config.top_k,
            top_p: config.top_p,
            seed: config.seed,
        };
        let mut model = config
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let (url, credentials) = match spec.kind {
            ProviderKind::GoogleVertexAi => {
                if let Some(version) = &config.model_version {
                    if version.starts_with("gemini") {
                        model = version.clone();
                    } else {
                        notes.push(format!(
                            "config.ai.config.modelVersion '{version}' is a version of PaLM's chat-bison, which Google has retired: Gemini model {model} is used instead (choose it with config.ai.config.model)"
                        ));
                    }
                }
                let project = env
                    .get("VERTEX_AI_PROJECT")
                    .map(String::from)
                    .or_else(|| config.project.clone());
                let location = env
                    .get("VERTEX_AI_LOCATION")
                    .map(String::from)
                    .or_else(|| config.location.clone());
                let (Some(project), Some(location)) = (project, location) else {
                    return Err("Failed to validate Google Vertex AI Location and Project config. Provide these in the config file or via environment variables.".into());
                };
                let base = match env.get("VERTEX_AI_BASE_URL") {
                    Some(base) => base.trim_end_matches('/').to_string(),
                    None if location == "global" => "https://aiplatform.googleapis.com/v1".into(),
                    None => format!("https://{location}-aiplatform.googleapis.com/v1"),
                };
                let url = format!(
                    "{base}/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent"
                );
                (
                    url,
                    Credentials::Adc(Box::new(GoogleAuth::from_env(env, Arc::clone(&http))?)),
                )
            }
            _ => {
                // The Google GenAI SDKs' rule: GOOGLE_API_KEY wins when both are set.
                let key = env
                    .get("GOOGLE_API_KEY")
                    .or_else(|| env.get("GEMINI_API_KEY"))
                    .ok_or(
                        "\"GEMINI_API_KEY\" is required: set it (or GOOGLE_API_KEY) to your Gemini API key to use provider google-gemini",
                    )?
                    .to_string();
                let base = env
                    .get("GEMINI_BASE_URL")
                    .unwrap_or(GEMINI_BASE_URL)
                    .trim_end_matches('/');
                let url = format!("{base}/models/{model}:generateContent");
                crate::secrets::register(&key);
                (url, Credentials::ApiKey(key))
            }
        };
        Ok(Google {
            http,
            url,
            credentials,
            model,
            generation,
            examples: config.examples.clone(),
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub async fn complete(
        &self,
        system: &str,
        messages: &[ChatMessage],
    ) -> Result<Completion, ProviderError> {
        let mut contents = Vec::new();
        for example in &self.examples {
            contents.push(content(Role::User, &example.input));
            contents.push(content(Role::Assistant, &example.output));
        }
        contents.extend(messages.iter().map(|m| content(m.role, &m.content)));
        let request = Request {
            system_instruction: Content {
                role: None,
                parts: [Part { text: system }],
            },
            contents,
            generation_config: &self.generation,
        };
        let signature = match &self.credentials {
            Credentials::ApiKey(key) => Signature::ApiKey(key),
            Credentials::Adc(auth) => Signature::Bearer(auth.token().await?),
        };
        let response: Response = self
            .http
            .send_json(
                "generateContent",
                || {
                    let post = self.http.client().post(&self.url);
                    signature.sign(post).json(&request)
                },
                &[signature.secret()],
            )
            .await?;
        read_answer(response)
    }
}

fn content(role: Role, text: &str) -> Content<'_> {
    Content {
        role: Some(match role {
            Role::User => "user",
            Role::Assistant => "model",
        }),
        parts: [Part { text }],
    }
}

fn read_answer(response: Response) -> Result<Completion, ProviderError> {
    let usage = response
        .usage_metadata
        .map(|u| Usage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: u.candidates_token_count,
        })
        .unwrap_or_default();
    let Some(candidate) = response.candidates.into_iter().next() else {
        let reason = response
            .prompt_feedback
            .and_then(|f| f.block_reason)
            .map(|r| format!("the request was blocked ({r})"))
            .unwrap_or_else(|| "the answer had no candidates".into());
        return Err(ProviderError(reason));
    };
    let text: String = candidate
        .content
        .map(|c| {
            c.parts
                .into_iter()
                .filter(|p| !p.thought)
                .filter_map(|p| p.text)
                .collect()
        })
        .unwrap_or_default();
    let unusual_stop = candidate
        .finish_reason
        .filter(|r| r != "STOP" && r != "FINISH_REASON_UNSPECIFIED");
    Ok(Completion {
        text: text.trim().to_string(),
        usage,
        unusual_stop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_usage_and_stops() {
        let response: Response = serde_json::from_str(
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"thinking","thought":true},{"text":" Hello "},{"text":"there"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":3}}"#,
        )
        .unwrap();
        let completion = read_answer(response).unwrap();
        assert_eq!(completion.text, "Hello there");
        assert_eq!(completion.usage.prompt_tokens, 7);
        assert_eq!(completion.unusual_stop, None);
        let blocked: Response =
            serde_json::from_str(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#).unwrap();
        assert_eq!(
            read_answer(blocked).unwrap_err().0,
            "the request was blocked (SAFETY)"
        );
        let stopped: Response =
            serde_json::from_str(r#"{"candidates":[{"finishReason":"SAFETY"}]}"#).unwrap();
        let completion = read_answer(stopped).unwrap();
        assert_eq!(
            (completion.text.as_str(), completion.unusual_stop.as_deref()),
            ("", Some("SAFETY"))
        );
    }

    #[test]
    fn vertex_maps_upstreams_settings() {
        let spec = ProviderSpec {
            kind: ProviderKind::GoogleVertexAi,
            config: crate::format::ai_script::ProviderConfig {
                location: Some("file-location".into()),
                project: Some("file-project".into()),
                model_version: Some("002".into()),
                ..Default::default()
            },
        };
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("user.json");
        std::fs::write(
            &credentials,
            r#"{"type":"authorized_user","client_id":"i","client_secret":"s","refresh_token":"r"}"#,
        )
        .unwrap();
        let env = Env::from_pairs(&[
            ("VERTEX_AI_PROJECT", "env-project"),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                credentials.to_str().unwrap(),
            ),
        ]);
        let http = Arc::new(Http::new().unwrap());
        let mut notes = Vec::new();
        let google = Google::build(&spec, &env, Arc::clone(&http), &mut notes).unwrap();
        assert_eq!(
            google.url,
            "https://file-location-aiplatform.googleapis.com/v1/projects/env-project/locations/file-location/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        let missing = ProviderSpec {
            kind: ProviderKind::GoogleVertexAi,
            config: Default::default(),
        };
        let e = Google::build(&missing, &env, http, &mut notes)
            .err()
            .unwrap();
        assert!(e.starts_with("Failed to validate Google Vertex AI Location and Project config"));
    }
}
