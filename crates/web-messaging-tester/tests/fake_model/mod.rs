//! A fake model provider: a scripted model behind a real local HTTP server (wiremock) that
//! speaks OpenAI's or Google's wire format.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What a model request said, in either wire format.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The system prompt.
    pub system: String,
    /// The other messages: (`user` or `assistant`, text).
    pub messages: Vec<(String, String)>,
}

impl Asked {
    /// The newest message of the other party (the bot, or the judge's question).
    pub fn last_user(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|(role, _)| role == "user")
            .map(|(_, text)| text.as_str())
            .unwrap_or("")
    }

    /// Whether this is upstream's preflight question.
    pub fn is_preflight(&self) -> bool {
        self.system == "You help people with math problems"
    }
}

/// How the model answers.
pub enum Answer {
    /// A message.
    Text(String),
    /// An HTTP error (status, body, extra headers).
    Status(u16, String, Vec<(&'static str, String)>),
    /// A 200 whose body is this text, as is.
    Raw(String),
    /// A message, after a delay.
    Slow(std::time::Duration, String),
}

/// A message answer.
pub fn text(s: &str) -> Answer {
    Answer::Text(s.to_string())
}

type Brain = dyn Fn(&Asked) -> Answer + Send + Sync;

/// The wire format the model speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `POST /chat/completions`.
    OpenAi,
    /// `POST .../models/{m}:generateContent`.
    Google,
}

/// A model whose answers a closure decides.
#[derive(Clone)]
pub struct Model {
    format: Format,
    brain: Arc<Brain>,
}

impl Model {
    /// A model answering in `format` as `brain` decides; the preflight is always answered.
    pub fn new(format: Format, brain: impl Fn(&Asked) -> Answer + Send + Sync + 'static) -> Self {
        Model {
            format,
            brain: Arc::new(brain),
        }
    }
}

/// Reads a model request in either format.
pub fn asked(format: Format, body: &Value) -> Asked {
    let text_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    match format {
        Format::OpenAi => {
            let mut system = String::new();
            let mut messages = Vec::new();
            for m in body["messages"].as_array().into_iter().flatten() {
                let role = text_of(&m["role"]);
                if role == "system" {
                    system = text_of(&m["content"]);
                } else {
                    messages.push((role, text_of(&m["content"])));
                }
            }
            Asked { system, messages }
        }
        Format::Google => {
            let system = text_of(&body["systemInstruction"]["parts"][0]["text"]);
            let messages = body["contents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let role = match c["role"].as_str() {
                        Some("model") => "assistant",
                        _ => "user",
                    };
                    (role.to_string(), text_of(&c["parts"][0]["text"]))
                })
                .collect();
            Asked { system, messages }
        }
    }
}

impl Respond for Model {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = request.body_json::<Value>() else {
            return ResponseTemplate::new(400).set_body_string("not json");
        };
        let asked = asked(self.format, &body);
        let answer = if asked.is_preflight() {
            text("2")
        } else {
            (self.brain)(&asked)
        };
        match answer {
            Answer::Text(t) => {
                let body = match self.format {
                    Format::OpenAi => json!({
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
                    }),
                    Format::Google => json!({
                        "candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "finishReason": "STOP"}],
                        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2}
                    }),
                };
                ResponseTemplate::new(200).set_body_json(body)
            }
            Answer::Status(status, body, headers) => {
                let mut template = ResponseTemplate::new(status).set_body_string(body);
                for (name, value) in headers {
                    template = template.insert_header(name, value.as_str());
                }
                template
            }
            Answer::Slow(delay, t) => ResponseTemplate::new(200)
                .set_body_json(json!({
                    "choices": [{"message": {"role": "assistant", "content": t}, "finish_reason": "stop"}]
                }))
                .set_delay(delay),
            Answer::Raw(body) => ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(body),
        }
    }
}

/// Every model request the server received (preflights included), read.
pub async fn model_requests(server: &wiremock::MockServer, format: Format) -> Vec<Asked> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.body_json::<Value>().ok())
        .map(|body| asked(format, &body))
        .collect()
}

/// A local server speaking OpenAI's `POST /v1/chat/completions`, answering as `brain` decides
/// (the preflight always answered).
pub async fn openai_server(brain: impl Fn(&Asked) -> Answer + Send + Sync + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Model::new(Format::OpenAi, brain))
        .mount(&server)
        .await;
    server
}

/// A local server answering every `POST` with `answer` (for failing providers).
pub async fn failing_server(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// The `OPENAI_BASE_URL` of a local model server.
pub fn openai_base(server: &MockServer) -> String {
    format!("{}/v1", server.uri())
}
