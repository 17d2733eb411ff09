//! `--verbose`, `RUST_LOG` and upstream's `DEBUG=WebMessengerGuestSession` log every frame.

use std::process::{Command, Output};

fn run(extra_args: &[&str], env: &[(&str, &str)]) -> Output {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/survey");
    let mut command = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"));
    command
        .args(["scripted", "pass.yml", "--simulate", "bot.yml"])
        .args(extra_args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn assert_frames_logged(output: &Output) {
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "WebMessengerGuestSession",
        r#"sent {"action":"configureSession""#,
        r#""action":"onMessage""#,
        r#"received {"type":"response","class":"SessionResponse""#,
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected} in:\n{stderr}"
        );
    }
    // Each line starts with an RFC 3339 timestamp.
    let first = stderr
        .lines()
        .find(|l| l.contains("configureSession"))
        .unwrap_or_default();
    assert!(first.starts_with("20") && first.contains('T'), "{first}");
}

#[test]
fn verbose_logs_every_frame_with_timestamps() {
    assert_frames_logged(&run(&["--verbose"], &[]));
}

#[test]
fn upstreams_debug_variable_still_works() {
    assert_frames_logged(&run(&[], &[("DEBUG", "WebMessengerGuestSession")]));
    assert_frames_logged(&run(&[], &[("RUST_LOG", "WebMessengerGuestSession=debug")]));
}

#[test]
fn without_logging_stderr_has_only_progress_lines() {
    let output = run(&[], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("[STARTED]") || l.starts_with("[SUCCESS]")),
        "{stderr}"
    );
}
