//! Running `ai` end to end: its test files, the bots of `tests/ai/`, and the binary with only
//! the model variables a test gives it.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use crate::common::{command, write};
use crate::fake_model::openai_base;
use std::path::{Path, PathBuf};
use wiremock::MockServer;

/// A file of `tests/ai/` (the bots the `ai` tests talk to).
pub fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ai")
        .join(file)
}

/// The refund bot of `tests/ai/bot.yml`, as an argument.
pub fn refund_bot() -> String {
    data("bot.yml").display().to_string()
}

/// What an `ai` run printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Stdout without its last line, the run's totals (see `totals`).
    pub stdout: String,
    pub stderr: String,
    pub exit: i32,
    /// The totals line that ends a run's report, `N passed, M failed in T s`, when there is one.
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

/// Every variable a model provider reads, and the proxies: removed before a run, so the
/// developer's own keys never leak into a test.
const PROVIDER_VARIABLES: [&str; 16] = [
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
];

/// Runs `web-messaging-tester` with `args` in `dir`, with only the given provider variables.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = command();
    command
        .args(args)
        .current_dir(dir)
        .env("NO_PROXY", "127.0.0.1,localhost");
    for name in PROVIDER_VARIABLES {
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

/// `ai FILE --simulate BOT ARGS…` with a model's variables: the usual run of these tests.
pub struct AiRun {
    file: String,
    bot: String,
    env: Vec<(String, String)>,
}

impl AiRun {
    /// `ai file` against the refund bot, with no model variables yet.
    pub fn new(file: &str) -> AiRun {
        AiRun {
            file: file.to_string(),
            bot: refund_bot(),
            env: Vec::new(),
        }
    }

    /// Against another simulated bot.
    pub fn bot(mut self, bot: &Path) -> AiRun {
        self.bot = bot.display().to_string();
        self
    }

    /// With `OPENAI_API_KEY=key` and `OPENAI_BASE_URL` at `server`.
    pub fn openai(self, server: &MockServer, key: &str) -> AiRun {
        self.env("OPENAI_API_KEY", key)
            .env("OPENAI_BASE_URL", &openai_base(server))
    }

    /// With one more variable.
    pub fn env(mut self, name: &str, value: &str) -> AiRun {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Runs it from `dir`, with `args` after the bot.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let mut all = vec!["ai", self.file.as_str(), "--simulate", self.bot.as_str()];
        all.extend_from_slice(args);
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        run(dir, &all, &env)
    }
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

/// Writes `dir/t.yml`: one `chatgpt` scenario, `name`, told `prompt`; returns its path.
pub fn chatgpt_file(dir: &Path, name: &str, prompt: &str) -> String {
    write(
        dir,
        "t.yml",
        &ai_file("chatgpt", "", &scenario(name, prompt)),
    )
}
