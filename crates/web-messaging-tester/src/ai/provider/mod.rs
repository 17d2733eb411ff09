//! The model providers, over their own small HTTP APIs: OpenAI's Chat Completions (`chatgpt`,
//! `openai-compatible`) and Google's `generateContent` (`google-gemini`, `google-vertex-ai`).
//!
//! Everything a provider needs from the environment is read when it is built, so a missing
//! key or a bad credentials file is refused before anything runs; [`Provider::preflight`]
//! then proves the provider answers.

mod google;
mod google_auth;
mod openai;

use super::http::{Http, ProviderError};
use crate::format::ai_script::{ProviderKind, ProviderSpec};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Who says a message, from the model's side: the other party (`User`) or the model itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The other party: the chatbot, or the one asking the judge.
    User,
    /// The model.
    Assistant,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl ChatMessage {
    /// A message of the other party.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// A message of the model.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Tokens a request used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens read.
    pub prompt_tokens: u64,
    /// Tokens written.
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Its text, trimmed (empty when the model said nothing).
    pub text: String,
    /// Tokens used.
    pub usage: Usage,
    /// Why the model stopped, when it was not the usual end (e.g. `SAFETY`, `length`).
    pub unusual_stop: Option<String>,
}

/// The environment variables the providers read, taken once (tests pass their own).
#[derive(Clone, Default)]
pub struct Env(HashMap<String, String>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the values include keys.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env {
    /// The process's environment.
    pub fn from_process() -> Env {
        Env(std::env::vars().collect())
    }

    /// An environment holding just these variables.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// A variable's value, when it is set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Whether the variable is set but empty.
    fn is_empty(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| v.trim().is_empty())
    }

    /// A required variable, or upstream's wording of why it is missing.
    fn require(&self, name: &str, hint: &str) -> Result<String, String> {
        match self.get(name) {
            Some(value) => Ok(value.to_string()),
            None if self.is_empty(name) => {
                Err(format!("\"{name}\" is not allowed to be empty: {hint}"))
            }
            None => Err(format!("\"{name}\" is required: {hint}")),
        }
    }
}

/// A model provider, ready to be asked.
pub struct Provider {
    kind: ProviderKind,
    backend: Backend,
    notes: Vec<String>,
}

enum Backend {
    OpenAi(openai::OpenAi),
    Google(Box<google::Google>),
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the backend: it holds keys.
        f.debug_struct("Provider")
            .field("kind", &self.kind)
            .field("model", &self.model())
            .finish_non_exhaustive()
    }
}

/// The system prompt and question of the preflight check, as upstream's.
const PREFLIGHT_SYSTEM: &str = "You help people with math problems";
const PREFLIGHT_QUESTION: &str = "What is 1+1?";

impl Provider {
    /// Builds the provider of `spec`, reading its keys and credentials from `env`.
    pub fn build(spec: &ProviderSpec, env: &Env, http: Arc<Http>) -> Result<Provider, String> {
        let mut notes = Vec::new();
        let backend = match spec.kind {
            ProviderKind::ChatGpt | ProviderKind::OpenAiCompatible => {
                Backend::OpenAi(openai::OpenAi::build(spec, env, http)?)
            }
            ProviderKind::GoogleGemini | ProviderKind::GoogleVertexAi => Backend::Google(Box::new(
                google::Google::build(spec, env, http, &mut notes)?,
            )),
        };
        Ok(Provider {
            kind: spec.kind,
            backend,
            notes,
        })
    }

    /// The provider's name as messages say it (upstream's `ChatGPT`, `Google Vertex AI`).
    pub fn name(&self) -> &'static str {
        match self.kind {
            ProviderKind::ChatGpt => "ChatGPT",
            ProviderKind::OpenAiCompatible => "the OpenAI-compatible server",
            ProviderKind::GoogleGemini => "Google Gemini",
            ProviderKind::GoogleVertexAi => "Google Vertex AI",
        }
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        match &self.backend {
            Backend::OpenAi(b) => b.model(),
            Backend::Google(b) => b.model(),
        }
    }

    /// Things the user should know about how the file's settings were read (e.g. a retired
    /// model version that was replaced).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Asks the model for its next message after `messages`, told `system`. Every secret
    /// is masked in what is sent and in the answer (a model echoing a key never gets it
    /// printed, saved or sent to the bot).
    pub async fn complete(
        &self,
        system: &str,
        messages: &[ChatMessage],
    ) -> Result<Completion, ProviderError> {
        use crate::secrets::redact;
        let system = redact(system);
        let mut messages = normalise(messages);
        for message in &mut messages {
            message.content = redact(&message.content);
        }
        let mut completion = match &self.backend {
            Backend::OpenAi(b) => b.complete(&system, &messages).await,
            Backend::Google(b) => b.complete(&system, &messages).await,
        }?;
        completion.text = redact(&completion.text);
        completion.unusual_stop = completion.unusual_stop.map(|s| redact(&s));
        Ok(completion)
    }

    /// One small request, before any session opens, to prove the key, the model and the
    /// address work.
    pub async fn preflight(&self) -> Result<(), ProviderError> {
        self.complete(PREFLIGHT_SYSTEM, &[ChatMessage::user(PREFLIGHT_QUESTION)])
            .await
            .map(|_| ())
    }
}

/// What every chat API accepts: turns alternate (consecutive messages of one side are joined
/// by a newline), the first and the last are the other party's. Where the other party said
/// nothing, it says `...` (as upstream), so the model can speak first or again.
fn normalise(messages: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    for message in messages {
        match out.last_mut() {
            Some(last) if last.role == message.role => {
                last.content.push('\n');
                last.content.push_str(&message.content);
            }
            _ => out.push(message.clone()),
        }
    }
    if out.first().is_none_or(|m| m.role == Role::Assistant) {
        out.insert(0, ChatMessage::user("..."));
    }
    if out.last().is_some_and(|m| m.role == Role::Assistant) {
        out.push(ChatMessage::user("..."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_turns_for_every_api() {
        assert_eq!(normalise(&[]), [ChatMessage::user("...")]);
        assert_eq!(
            normalise(&[
                ChatMessage::assistant("hi"),
                ChatMessage::user("a"),
                ChatMessage::user("b"),
                ChatMessage::assistant("ok"),
            ]),
            [
                ChatMessage::user("..."),
                ChatMessage::assistant("hi"),
                ChatMessage::user("a\nb"),
                ChatMessage::assistant("ok"),
                ChatMessage::user("..."),
            ]
        );
    }

    #[test]
    fn missing_and_empty_keys_are_worded_as_upstream() {
        let env = Env::from_pairs(&[("EMPTY", "")]);
        assert_eq!(
            env.require("OPENAI_API_KEY", "hint").unwrap_err(),
            "\"OPENAI_API_KEY\" is required: hint"
        );
        assert_eq!(
            env.require("EMPTY", "hint").unwrap_err(),
            "\"EMPTY\" is not allowed to be empty: hint"
        );
    }
}
