//! `chat` on a terminal: the real binary in a pseudo-terminal against the simulator over real
//! loopback WebSockets, typed at as a person would. What it records is then replayed by
//! `scripted` against the same bot, and must pass.

mod chat;
mod common;

use chat::{chat_bot, replay};
use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};
use std::process::Command;

/// Every expectation's deadline: generous, for a loaded machine.
const TIMEOUT_MS: u64 = 30_000;

fn chat(args: &[&str]) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"));
    command
        .arg("chat")
        .arg("--simulate")
        .arg(chat_bot())
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG");
    spawn_with_options(
        command,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("the binary starts in a pseudo-terminal")
}

fn exited(session: &mut PtySession) -> i32 {
    session.exp_eof().expect("the chat ends");
    match session.process().wait().expect("the chat's status") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the chat did not exit normally: {other:?}"),
    }
}

#[test]
fn a_conversation_on_a_terminal_is_recorded_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded.yml");
    let saved = dir.path().join("saved.yml");
    let mut chat = chat(&["--record", recorded.to_str().unwrap()]);
    chat.exp_string("Connected.").unwrap();

    // Typing a line and seeing the reply, its quick replies numbered.
    chat.send_line("hi").unwrap();
    chat.exp_string("Bot: Welcome! What now?").unwrap();
    chat.exp_string("[1] Fast  [2] Slow  [3] Bye").unwrap();

    // Clicking by number; the bot types before it answers.
    chat.send_line("1").unwrap();
    chat.exp_string("(clicked [Fast])").unwrap();
    chat.exp_string("(typing...)").unwrap();
    chat.exp_string("Bot: Fast answer").unwrap();

    // A reply arriving while the guest is typing is printed above the prompt, and the line
    // being typed is kept.
    chat.send_line("slow").unwrap();
    chat.exp_string("slow").unwrap();
    chat.exp_string("You: ").unwrap();
    chat.send("echo par").unwrap();
    chat.flush().unwrap();
    chat.exp_string("Bot: Slow answer").unwrap();
    chat.exp_string("You: echo par").unwrap();
    chat.send_line("tial").unwrap();
    chat.exp_string("Bot: You said partial").unwrap();

    // Bad input: the chat says so and goes on.
    chat.send_line("/frobnicate").unwrap();
    chat.exp_string("Unknown command /frobnicate. Commands: /help")
        .unwrap();
    chat.send_line("9").unwrap();
    chat.exp_string("There is no option 9: the latest options are 1 Fast, 2 Slow, 3 Bye")
        .unwrap();

    // /expect narrows the recorded wait; /save asks for a name and appends.
    chat.send_line("/expect SAID partial").unwrap();
    chat.exp_string("checks only that it contains 'SAID partial'")
        .unwrap();
    chat.send_line(&format!("/save {}", saved.display()))
        .unwrap();
    chat.exp_string("Scenario name [chat ").unwrap();
    chat.send_line("Saved mid-way").unwrap();
    chat.exp_string("Recorded scenario \"Saved mid-way\" (")
        .unwrap();

    // The bot ends the conversation: shown, and sending is refused as Genesys would.
    chat.send_line("bye").unwrap();
    chat.exp_string("Bot: Goodbye!").unwrap();
    chat.exp_string("*** The bot ended the conversation (/restart opens a new session)")
        .unwrap();

    // /restart records the first session (--record), named as asked, and opens a new one.
    chat.send_line("/restart").unwrap();
    chat.exp_string("Scenario name [chat ").unwrap();
    chat.send_line("On a terminal").unwrap();
    chat.exp_string("Recorded scenario \"On a terminal\" (")
        .unwrap();
    chat.exp_string("--- new session ---").unwrap();
    chat.send_line("hi").unwrap();
    chat.exp_string("Bot: Welcome! What now?").unwrap();

    // The server closes the socket: shown in the conversation, never a crash.
    chat.send_line("break").unwrap();
    chat.exp_string("*** The session ended: the server closed the socket")
        .unwrap();
    chat.send_line("hello?").unwrap();
    chat.exp_string("(/restart opens a new session)").unwrap();

    chat.send_line("/quit").unwrap();
    chat.exp_string("Scenario name [chat ").unwrap();
    chat.send_line("On a terminal").unwrap();
    chat.exp_string("Recorded scenario \"On a terminal (2)\" (")
        .unwrap();
    assert_eq!(exited(&mut chat), 0);

    let text = std::fs::read_to_string(&recorded).unwrap();
    assert!(
        text.contains("waitForReplyContaining: \"SAID partial\""),
        "{text}"
    );
    assert!(text.contains("click: \"Fast\""), "{text}");
    assert!(text.contains("waitForDisconnect: true"), "{text}");
    let replayed = replay(&recorded);
    assert!(replayed.contains("PASS - On a terminal\n"), "{replayed}");
    assert!(
        replayed.contains("PASS - On a terminal (2)\n"),
        "{replayed}"
    );
    let replayed = replay(&saved);
    assert!(replayed.contains("PASS - Saved mid-way\n"), "{replayed}");
}

/// Waits until the prompt is drawn: the terminal is then raw, and Ctrl-C is a key, not a
/// signal.
fn at_prompt(chat: &mut PtySession) {
    chat.exp_string("You: ").unwrap();
}

#[test]
fn ctrl_c_clears_the_line_and_a_second_one_leaves() {
    let mut chat = chat(&[]);
    chat.exp_string("Connected.").unwrap();
    at_prompt(&mut chat);
    chat.send("never sent").unwrap();
    chat.flush().unwrap();
    chat.send_control('c').unwrap();
    chat.exp_string("(Ctrl-C again, Ctrl-D or /quit to leave)")
        .unwrap();
    // The cleared line was not said: the bot answers only what comes next.
    chat.send_line("echo kept").unwrap();
    chat.exp_string("Bot: Welcome! What now?").unwrap();
    chat.exp_string("Bot: You said kept").unwrap();
    at_prompt(&mut chat);
    chat.send_control('c').unwrap();
    chat.exp_string("(Ctrl-C again").unwrap();
    at_prompt(&mut chat);
    chat.send_control('c').unwrap();
    assert_eq!(exited(&mut chat), 0);
}

#[test]
fn ctrl_d_ends_the_chat() {
    let mut chat = chat(&[]);
    chat.exp_string("Connected.").unwrap();
    at_prompt(&mut chat);
    chat.send_control('d').unwrap();
    assert_eq!(exited(&mut chat), 0);
}
