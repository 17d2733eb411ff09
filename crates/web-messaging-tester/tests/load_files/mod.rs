//! `load` runs: a folder holding a bot and a test-script, the command for them, and the
//! report's numbers.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A bot that answers `ping` with `pong` after 1 ms (the lines after it may add jitter).
pub const PING_BOT: &str = "\
replyDelayMs: 1
states:
  main:
    - when: { contains: ping }
      reply: pong
";

/// Two scenarios: ping twice, and ping once.
pub const PING_SCRIPT: &str = "\
scenarios:
  Ping twice:
    - say: ping
    - waitForReplyContaining: pong
    - say: ping
    - waitForReplyContaining: pong
  Ping once:
    - say: ping
    - waitForReplyContaining: pong
";

/// A temporary folder with `bot.yml` and `script.yml`, removed when dropped.
pub struct LoadFiles {
    dir: tempfile::TempDir,
}

impl LoadFiles {
    /// Writes `bot` and `script` to a new folder.
    pub fn new(bot: &str, script: &str) -> LoadFiles {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("bot.yml"), bot).expect("bot written");
        std::fs::write(dir.path().join("script.yml"), script).expect("script written");
        LoadFiles { dir }
    }

    /// A file in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `load script.yml --color never ARGS…`, as in CI (no live progress line).
    pub fn load(&self, args: &[&str]) -> Command {
        let mut cmd = crate::common::command();
        cmd.arg("load")
            .arg(self.path("script.yml"))
            .args(["--color", "never"])
            .args(args)
            .env("CI", "true");
        cmd
    }

    /// `load` against the bot, simulated in-process, with `args`.
    pub fn simulated(&self, args: &[&str]) -> Command {
        let mut cmd = self.load(&["--simulate"]);
        cmd.arg(self.path("bot.yml")).args(args);
        cmd
    }

    /// A JSON report in the folder.
    pub fn json(&self, name: &str) -> Value {
        crate::common::read_json(&self.path(name))
    }
}

/// A finished process's exit code (none would mean a signal: a failure here).
pub fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("an exit code")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A count in a report.
pub fn count(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

/// A number in a report.
pub fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}
