//! `chat` without a terminal: lines from stdin, the transcript plainly on stdout, against the
//! simulator over real loopback WebSockets. The recordings are replayed by `scripted`.

mod chat;
mod common;

use assert_cmd::Command;
use chat::{chat_bot, replay};

fn chat(args: &[&str], stdin: &str) -> (String, String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
        .arg("chat")
        .arg("--simulate")
        .arg(chat_bot())
        .args(["--silence", "300ms", "-t", "5"])
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("DEBUG")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "SuperSecretValue123")
        .write_stdin(stdin)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("chat runs");
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
        output.status.code().unwrap_or(-1),
    )
}

#[test]
fn stdin_lines_give_a_plain_transcript_and_a_recording_that_replays() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded.yml");
    std::fs::write(
        &recorded,
        "# Kept as it is.\nscenarios:\n  \"Earlier\":\n    - say: \"hi\"\n",
    )
    .unwrap();
    let (stdout, stderr, code) = chat(
        &[
            "--record",
            recorded.to_str().unwrap(),
            "--name",
            "From stdin",
        ],
        "hi\n1\n/frobnicate\n7\n/expect FAST\necho ok\n/restart\nbye\n",
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let recorded_line = |name: &str, steps: usize| {
        format!(
            "Recorded scenario \"{name}\" ({steps} steps) in {}\n",
            recorded.display()
        )
    };
    let expected = [
        "You: hi\n",
        "Bot: Welcome! What now?\n",
        "  [1] Fast  [2] Slow  [3] Bye\n",
        "You: [Fast]\n",
        "Bot: Fast answer\n",
        "Unknown command /frobnicate. Commands: /help, /click <label>, /say <text>, /expect <text>, /save <file.yml>, /restart, /quit\n",
        "There is no option 7: the latest options are 1 Fast, 2 Slow, 3 Bye\n",
        "The recorded wait for the last reply checks only that it contains 'FAST'\n",
        "You: echo ok\n",
        "Bot: You said ok\n",
        &recorded_line("From stdin", 6),
        "--- new session ---\n",
        "You: bye\n",
        "Bot: Welcome! What now?\n",
        "  [1] Fast  [2] Slow  [3] Bye\n",
        "Bot: Goodbye!\n",
        "*** The bot ended the conversation (/restart opens a new session)\n",
        &recorded_line("From stdin (2)", 4),
    ]
    .concat();
    assert_eq!(stdout, expected, "{stderr}");

    let text = std::fs::read_to_string(&recorded).unwrap();
    assert!(
        text.starts_with("# Kept as it is.\nscenarios:\n  \"Earlier\":\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  \"From stdin\":\n    - say: \"hi\"\n    - waitForQuickReplies: [\"Fast\", \"Slow\", \"Bye\"]\n    - click: \"Fast\"\n    - waitForReplyContaining: \"FAST\"\n    - say: \"echo ok\"\n"
        ),
        "{text}"
    );
    let replayed = replay(&recorded);
    assert!(replayed.contains("PASS - From stdin\n"), "{replayed}");
    assert!(replayed.contains("PASS - From stdin (2)\n"), "{replayed}");
}

#[test]
fn a_generated_name_and_no_secret_in_the_transcript_or_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("new.yml");
    let (stdout, stderr, code) = chat(
        &["--record", recorded.to_str().unwrap()],
        "echo SuperSecretValue123\n",
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("SuperSecretValue123"), "{stdout}");
    assert!(stdout.contains("Bot: You said ***\n"), "{stdout}");
    assert!(stdout.contains("Recorded scenario \"chat 20"), "{stdout}");
    assert!(stdout.contains("(new file)"), "{stdout}");
    assert!(
        stdout.contains("*** A secret in the conversation was masked"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&recorded).unwrap();
    assert!(!text.contains("SuperSecretValue123"), "{text}");
    assert!(
        text.contains("# Replay: web-messaging-tester scripted "),
        "{text}"
    );
    assert!(text.contains(" --simulate "), "{text}");
}

#[test]
fn a_server_error_is_shown_and_the_chat_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("failing.yml");
    let (stdout, stderr, code) = chat(
        &["--record", recorded.to_str().unwrap(), "--name", "Failing"],
        "fail\necho ok\n",
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let expected = [
        "You: fail\n",
        "Bot: Welcome! What now?\n",
        "  [1] Fast  [2] Slow  [3] Bye\n",
        "*** Genesys responded with error 5000 (unexpected error): Request failed.\n",
        "You: echo ok\n",
        "Bot: You said ok\n",
        "*** The session had server errors: replaying the recording will fail the same way\n",
        &format!(
            "Recorded scenario \"Failing\" (4 steps) in {} (new file)\n",
            recorded.display()
        ),
    ]
    .concat();
    assert_eq!(stdout, expected, "{stderr}");
}

#[test]
fn a_session_that_never_starts_exits_3_and_reads_nothing() {
    let (stdout, stderr, code) = chat(
        &[
            "--endpoint",
            "ws://127.0.0.1:1/v1",
            "--no-deployment-config",
        ],
        "hi\n",
    );
    // --simulate and --endpoint conflict: bad input, nothing opened.
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
        .args([
            "chat",
            "--endpoint",
            "ws://127.0.0.1:1/v1",
            "-id",
            "d",
            "--no-deployment-config",
            "-t",
            "2",
        ])
        .write_stdin("hi\n")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: Could not open a session"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_line_over_the_limit_is_skipped_and_the_chat_goes_on() {
    let long = "x".repeat(70_000);
    let (stdout, stderr, code) = chat(&[], &format!("{long}\necho ok\n"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("A line of 70001 bytes is over the limit of 65536 bytes: skipped\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Bot: You said ok\n"), "{stdout}");
}

#[test]
fn the_target_comes_from_config_and_goes_into_a_new_recording() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        "config:\n  deploymentId: my-deployment\n  origin: https://shop.example\nscenarios:\n  unused: []\n",
    )
    .unwrap();
    let recorded = dir.path().join("new.yml");
    let (stdout, stderr, code) = chat(
        &[
            "--config",
            config.to_str().unwrap(),
            "--record",
            recorded.to_str().unwrap(),
            "--name",
            "Configured",
        ],
        "echo configured\n",
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&recorded).unwrap();
    assert!(
        text.contains("config:\n  deploymentId: \"my-deployment\"\n  origin: \"https://shop.example\"\nscenarios:\n"),
        "{text}"
    );
    // The simulator's loopback URL changes every run: it is not written.
    assert!(!text.contains("127.0.0.1"), "{text}");

    // A bad --config is bad input: nothing opened.
    std::fs::write(
        &config,
        "config:\n  deploymentId: ''\nscenarios:\n  a: []\n",
    )
    .unwrap();
    let (stdout, stderr, code) = chat(&["--config", config.to_str().unwrap()], "hi\n");
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("config.deploymentId"), "{stderr}");
    assert_eq!(stdout, "");
}
