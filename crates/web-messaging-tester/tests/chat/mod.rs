//! `chat` runs: the bot of `tests/chat/`, and the replay of what a chat recorded.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a replay may take on a loaded machine.
const REPLAY_DEADLINE: Duration = Duration::from_secs(120);

/// The bot the `chat` tests talk to.
pub fn chat_bot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chat/bot.yml")
}

/// `scripted` replays a recorded file against the same bot: every scenario must pass.
/// Returns its stdout.
pub fn replay(file: &Path) -> String {
    let mut command = crate::common::command();
    command
        .arg("scripted")
        .arg(file)
        .arg("--simulate")
        .arg(chat_bot());
    let output = assert_cmd::Command::from_std(command)
        .timeout(REPLAY_DEADLINE)
        .output()
        .expect("scripted runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(
        output.status.code(),
        Some(0),
        "the recording did not pass when replayed:\n{stdout}\n{}\n--- file\n{}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    stdout
}
