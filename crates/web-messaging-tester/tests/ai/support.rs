//! Shared by the `ai*` tests: a scripted model behind a real local HTTP server (wiremock)
//! that speaks OpenAI's or Google's wire format, and a way to run the built binary against it
//! and the simulator.

#![allow(dead_code, reason = "each test file uses a part of it")]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use wiremock::{Request, Respond, ResponseTemplate};

/// The folder of the test data.
pub fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ai")
        .join(file)
}

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

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Stdout without its last line, the run's totals (see `totals`).
    pub stdout: String,
    pub stderr: String,
    pub exit: i32,
    /// The totals line that ends a run's report, `N passed, M failed in T s`, when there is one.
    #[allow(dead_code)]
    pub totals: Option<String>,
}

/// Splits off the report's closing `\nN passed, M failed[, K interrupted] in T s\n`.
fn split_totals(stdout: String) -> (String, Option<String>) {
    let body = stdout.strip_suffix('\n').unwrap_or(&stdout);
    let Some((head, last)) = body.rsplit_once('\n') else {
        return (stdout, None);
    };
    let is_totals = last.contains(" passed, ")
        && last.contains(" failed")
        && last.ends_with(" s")
        && last.starts_with(|c: char| c.is_ascii_digit());
    match head.strip_suffix('\n') {
        Some(head) if is_totals => (format!("{head}\n"), Some(last.to_string())),
        _ => (stdout, None),
    }
}

/// Runs `web-messaging-tester` with `args` in `dir`, with only the given provider variables
/// (every variable a provider reads is removed first, so the developer's own keys never leak
/// into a test).
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG");
    for name in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_BASE_URL",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "VERTEX_AI_PROJECT",
        "VERTEX_AI_LOCATION",
        "VERTEX_AI_BASE_URL",
        "CLOUDSDK_CONFIG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    // No gcloud file of the developer's either.
    command.env("HOME", dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    let (stdout, totals) = split_totals(String::from_utf8_lossy(&output.stdout).to_string());
    Run {
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        exit: output.status.code().unwrap_or(-1),
        totals,
    }
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("test file written");
    path.display().to_string()
}

/// An AI test file for `provider` with the given `config.ai.config` lines (YAML, indented by
/// six spaces) and scenarios (YAML under `scenarios:`, indented by two spaces).
pub fn ai_file(provider: &str, config: &str, scenarios: &str) -> String {
    let config = if config.is_empty() {
        String::new()
    } else {
        format!("    config:\n{config}")
    };
    format!("config:\n  ai:\n    provider: {provider}\n{config}scenarios:\n{scenarios}")
}

/// A scenario with the usual phrases.
pub fn scenario(name: &str, prompt: &str) -> String {
    format!(
        "  {name}:\n    setup:\n      prompt: {prompt}\n      terminatingPhrases:\n        pass: [PASS]\n        fail: [FAIL]\n"
    )
}
