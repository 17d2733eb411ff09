//! SIGINT and SIGTERM stop a run gracefully: the real binary, against its own simulator, with
//! one scenario finished, one in flight (the bot takes ten minutes to answer) and one not yet
//! started. The signal is sent with `kill` once the frame log shows the slow scenario's message echoed.

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BOT: &str = "states:\n  main:\n    - when: { contains: \"fast\" }\n      reply: \"quick answer\"\n    - when: { contains: \"slow\" }\n      reply: { text: \"slow answer\", delayMs: 600000 }\n";

const SCRIPT: &str = "scenarios:\n  fast:\n    - say: fast please\n    - waitForReplyContaining: quick answer\n  slow:\n    - say: slow please\n    - waitForReplyContaining: slow answer\n      timeout: 3600\n  later:\n    - say: fast again\n    - waitForReplyContaining: quick answer\n";

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: Vec<String>,
}

/// Starts `scripted`, waits (reading its stderr) until `slow`'s message was echoed, sends `signal` with
/// `kill`, and waits at most a minute for the binary to end.
fn run_and_signal(dir: &std::path::Path, signal: &str) -> Finished {
    let mut child: Child = common::command()
        .current_dir(dir)
        .args([
            "scripted",
            "script.yml",
            "--simulate",
            "bot.yml",
            "--report-json",
            "report.json",
            "--report-junit",
            "junit.xml",
            // The frame log tells when the slow scenario's message was echoed, so the signal
            // always lands during its wait (not while its session is still starting).
            "--verbose",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (lines_tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the slow scenario starts within a minute");
        let slow_waiting =
            line.contains("received") && line.contains("slow please") && line.contains("Inbound");
        seen.push(line);
        if slow_waiting {
            break;
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let (done_tx, done) = mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        let code = child.wait().ok().and_then(|s| s.code());
        let _ = done_tx.send((code, text));
    });
    let (code, stdout) = done
        .recv_timeout(Duration::from_secs(60))
        .expect("the binary ends within a minute of the signal");
    seen.extend(lines.try_iter());
    Finished {
        code,
        stdout,
        stderr: seen,
    }
}

fn prepare() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot.yml"), BOT).unwrap();
    std::fs::write(dir.path().join("script.yml"), SCRIPT).unwrap();
    dir
}

fn check(signal_flag: &str, signal_name: &str) {
    let dir = prepare();
    let run = run_and_signal(dir.path(), signal_flag);
    let stderr = run.stderr.join("\n");
    assert_eq!(
        run.code,
        Some(130),
        "stdout:\n{}\nstderr:\n{stderr}",
        run.stdout
    );
    let out = &run.stdout;
    assert!(out.contains("\nfast (PASS)\n"), "{out}");
    assert!(out.contains("\nslow (INTERRUPTED)\n"), "{out}");
    assert!(
        out.contains("You: slow please"),
        "the transcript so far is kept: {out}"
    );
    assert!(
        out.contains(&format!(
            "Interrupted by {signal_name} during step 2 (waitForReplyContaining: slow answer)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Interrupted by {signal_name} before the scenario started"
        )),
        "{out}"
    );
    assert!(
        out.contains("PASS - fast\nINTERRUPTED - slow\nINTERRUPTED - later\n\n1 passed, 0 failed, 2 interrupted in "),
        "{out}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let scenarios = json["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 3);
    assert_eq!(scenarios[0]["passed"], true);
    assert_eq!(scenarios[1]["failure"]["kind"], "interrupted");
    assert_eq!(scenarios[1]["transcript"][0]["text"], "slow please");
    assert_eq!(scenarios[2]["failure"]["kind"], "interrupted");
    assert_eq!(json["summary"]["passed"], 1);

    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("errors"), Some("2"), "{junit}");
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an interrupted case is a JUnit error");
    assert_eq!(error.attribute("type"), Some("interrupted"));
}

#[test]
fn sigint_reports_what_finished_marks_the_rest_interrupted_and_exits_130() {
    check("-INT", "SIGINT");
}

#[test]
fn sigterm_does_the_same() {
    check("-TERM", "SIGTERM");
}
