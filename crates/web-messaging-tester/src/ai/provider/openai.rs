//! OpenAI's Chat Completions API (`POST {base}/chat/completions`), for `chatgpt` and for any
//! OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp).

use super::{ChatMessage, Completion, Env, Role, Usage};
use crate::ai::http::{Http, ProviderError};
use crate::format::ai_script::{ProviderKind, ProviderSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// OpenAI's address, unless `OPENAI_BASE_URL` says otherwise.
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// `chatgpt`'s model when the file names none (upstream's gpt-3.5-turbo is retired).
const DEFAULT_CHATGPT_MODEL: &str = "gpt-4o-mini";

pub struct OpenAi {
    http: Arc<Http>,
    url: String,
    key: Option<String>,
    model: String,
    temperature: Option<f64>,
    seed: Option<i64>,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Response {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ResponseUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ResponseUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl OpenAi {
    pub fn build(spec: &ProviderSpec, env: &Env, http: Arc<Http>) -> Result<OpenAi, String> {
        let config = &spec.config;
        let (base, key, model) = match spec.kind {
            ProviderKind::OpenAiCompatible => {
                // The file's address is the more specific choice, so it wins.
                let from_file = config.base_url.clone();
                let base = from_file
                    .clone()
                    .or_else(|| env.get("OPENAI_BASE_URL").map(String::from))
                    .ok_or(
                        "provider openai-compatible needs the server's address: set config.ai.config.baseUrl (e.g. http://localhost:11434/v1 for Ollama) or OPENAI_BASE_URL",
                    )?;
                let model = config.model.clone().ok_or(
                    "provider openai-compatible needs config.ai.config.model: the name the server knows the model by (e.g. llama3.2)",
                )?;
                // A key goes only to the server it belongs to: OPENAI_API_KEY with
                // OPENAI_BASE_URL's server, else the variable the file names.
                let key = match (&config.api_key_variable, &from_file) {
                    (Some(variable), _) => Some(env.require(
                        variable,
                        "config.ai.config.apiKeyVariable names it as the server's API key",
                    )?),
                    (None, None) => env.get("OPENAI_API_KEY").map(String::from),
                    (None, Some(_)) => None,
                };
                (base, key, model)
            }
            _ => {
                let key = env.require(
                    "OPENAI_API_KEY",
                    "set it to your OpenAI API key to use provider chatgpt",
                )?;
                let base = env
                    .get("OPENAI_BASE_URL")
                    .unwrap_or(OPENAI_BASE_URL)
                    .to_string();
                let model = config
                    .model
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CHATGPT_MODEL.to_string());
                (base, Some(key), model)
            }
        };
        if let Some(key) = &key {
            crate::secrets::register(key);
        }
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "the OpenAI base URL must be an http:// or https:// URL, not '{base}'"
            ));
        }
        Ok(OpenAi {
            http,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            key,
            model,
            temperature: config.temperature,
            seed: config.seed,
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
        let mut wire = vec![Message {
            role: "system",
            content: system,
        }];
        wire.extend(messages.iter().map(|m| Message {
            role: match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &m.content,
        }));
        let request = Request {
            model: &self.model,
            messages: wire,
            temperature: self.temperature,
            seed: self.seed,
        };
        let secrets: Vec<&str> = self.key.as_deref().into_iter().collect();
        let response: Response = self
            .http
            .send_json(
                "chat completion",
                || {
                    let builder = self.http.client().post(&self.url).json(&request);
                    match &self.key {
                        Some(key) => builder.bearer_auth(key),
                        None => builder,
                    }
                },
                &secrets,
            )
            .await?;
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(ProviderError(
                "the answer had no choices: the server sent no message".into(),
            ));
        };
        let usage = response
            .usage
            .map(|u| Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
            })
            .unwrap_or_default();
        let text = choice
            .message
            .content
            .unwrap_or_default()
            .trim()
            .to_string();
        let unusual_stop = match (&choice.message.refusal, choice.finish_reason.as_deref()) {
            (Some(refusal), _) if text.is_empty() => Some(format!("refused: {refusal}")),
            (_, Some(reason)) if reason != "stop" => Some(reason.to_string()),
            _ => None,
        };
        Ok(Completion {
            text,
            usage,
            unusual_stop,
        })
    }
}
