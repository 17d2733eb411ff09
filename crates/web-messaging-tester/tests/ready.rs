//! "Ready for real teams": exit code 3 beside 1, secrets kept out of every output, `WMT_*`
//! variables between the flags and the file, and `--verbose` frames tagged with their
//! scenario under `-p 3`. Real processes over loopback.

mod common;

use common::{Run, SimulatorProcess, example, run_in, write};
use std::path::Path;
use std::process::Stdio;

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn a_bot_failure_wins_over_a_deployment_that_cannot_be_tested() {
    let dir = tempfile::tempdir().unwrap();
    let simulator = SimulatorProcess::start(example("bot.yml"));
    let url = simulator.url();
    let unreachable = write(
        dir.path(),
        "unreachable.yml",
        &format!(
            "config:\n  deploymentId: d\n  endpoint: ws://127.0.0.1:{}/v1\nscenarios:\n  Hello:\n    - say: hi\n",
            closed_port()
        ),
    );
    let wrong = write(
        dir.path(),
        "wrong.yml",
        &format!(
            "config:\n  deploymentId: d\n  endpoint: {url}\nscenarios:\n  Wrong:\n    - say: hi\n    - waitForReplyContaining: never said\n      timeout: 300ms\n"
        ),
    );
    let flags = ["--no-deployment-config", "--say-delay", "0", "-t", "2"];
    let alone: Vec<&str> = ["scripted", unreachable.as_str()]
        .into_iter()
        .chain(flags)
        .collect();
    let run = run_in(None, &alone, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let both: Vec<&str> = ["scripted", unreachable.as_str(), wrong.as_str()]
        .into_iter()
        .chain(flags)
        .collect();
    let run = run_in(None, &both, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Could not open a session"),
        "{}",
        run.stdout
    );
}

const SECRET: &str = "tok-9f8e7d6c5b4a3921";

#[test]
fn a_secret_variable_is_never_printed_nor_written() {
    let dir = tempfile::tempdir().unwrap();
    let bot = write(
        dir.path(),
        "bot.yml",
        "states:\n  main:\n    - when: { contains: \"token\" }\n      reply:\n        - \"Your token is accepted\"\n",
    );
    let script = write(
        dir.path(),
        "secret.yml",
        "scenarios:\n  Token:\n    - say: my token is ${TOKEN}\n    - waitForReplyContaining: never said ${TOKEN}\n      timeout: 300ms\n",
    );
    let json = dir.path().join("r.json").display().to_string();
    let junit = dir.path().join("r.xml").display().to_string();
    let html = dir.path().join("html").display().to_string();
    let secret_flag = format!("TOKEN={SECRET}");
    let run = run_in(
        None,
        &[
            "scripted",
            &script,
            "--simulate",
            &bot,
            "--secret",
            &secret_flag,
            "-v",
            "--report-json",
            &json,
            "--report-junit",
            &junit,
            "--report-html",
            &html,
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    // It was filled in and sent (the frame log shows the masked value)...
    assert!(
        run.stdout.contains("You: my token is ***"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("my token is ***"), "{}", run.stderr);
    // ...and appears in no output, nor the recorded command line of any report.
    let html_text = std::fs::read_to_string(Path::new(&html).join("index.html")).unwrap();
    for (what, text) in [
        ("stdout", run.stdout.clone()),
        ("stderr", run.stderr.clone()),
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
        ("html", html_text),
    ] {
        assert!(!text.contains(SECRET), "{what} shows the secret");
        assert!(
            !text.contains("9f8e7d6c"),
            "{what} shows part of the secret"
        );
    }
}

#[test]
fn a_secret_named_alone_comes_from_the_environment() {
    let run = run_in(
        None,
        &[
            "validate",
            &example("pass.yml"),
            "--secret",
            "WMT_TEST_UNSET_SECRET",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the environment variable WMT_TEST_UNSET_SECRET is not set"),
        "{}",
        run.stderr
    );
}

fn wait_words(run: &Run) -> String {
    run.stdout
        .lines()
        .find(|l| l.starts_with("Expected a message within"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_flag_beats_wmt_variables_which_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "t.yml",
        "config:\n  timeout: 1\nscenarios:\n  Wrong:\n    - say: hi\n    - waitForReplyContaining: never said\n",
    );
    let bot = example("bot.yml");
    let base = ["scripted", script.as_str(), "--simulate", bot.as_str()];
    let file = run_in(None, &base, &[]);
    assert_eq!(
        wait_words(&file),
        "Expected a message within 1 second containing:"
    );
    let env = run_in(None, &base, &[("WMT_TIMEOUT", "0.5")]);
    assert_eq!(
        wait_words(&env),
        "Expected a message within 0.5 seconds containing:"
    );
    let with_flag: Vec<&str> = base.into_iter().chain(["-t", "0.25"]).collect();
    let flag = run_in(None, &with_flag, &[("WMT_TIMEOUT", "0.5")]);
    assert_eq!(
        wait_words(&flag),
        "Expected a message within 250 ms containing:"
    );
    // A bad value in a variable is refused like the flag's, naming the variable.
    let bad = run_in(None, &base, &[("WMT_PARALLEL", "0")]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--parallel"), "{}", bad.stderr);
    // Reports and filters too.
    let json = dir.path().join("env.json");
    let run = run_in(
        Some(Path::new(&example("pass.yml")).parent().unwrap()),
        &["scripted", "pass.yml", "--simulate", "bot.yml"],
        &[
            ("WMT_REPORT_JSON", json.to_str().unwrap()),
            ("WMT_FILTER", "Decline"),
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = std::fs::read_to_string(&json).expect("WMT_REPORT_JSON written");
    assert!(report.contains("Decline Survey"));
    assert!(!report.contains("Accept Survey"));
}

#[test]
fn verbose_frames_carry_their_scenario_under_parallel_runs() {
    let dir = Path::new(&example("pass.yml"))
        .parent()
        .unwrap()
        .to_path_buf();
    let run = run_in(
        Some(&dir),
        &[
            "scripted",
            "pass.yml",
            "--simulate",
            "bot.yml",
            "-p",
            "3",
            "-v",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let frames: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.contains("WebMessengerGuestSession")
                && (l.contains(" sent ") || l.contains(" received "))
        })
        .collect();
    assert!(frames.len() > 9, "{}", run.stderr);
    for frame in &frames {
        assert!(frame.contains("scenario{name="), "untagged: {frame}");
    }
    for name in [
        "Accept Survey",
        "Decline Survey",
        "Provide Incorrect Answer to Survey Question",
    ] {
        let tag = format!("scenario{{name={name}}}");
        assert!(
            frames
                .iter()
                .any(|f| f.contains(&tag) && f.contains("configureSession")),
            "no configureSession tagged {tag}"
        );
        // A frame received by the session task is tagged too.
        assert!(
            frames
                .iter()
                .any(|f| f.contains(&tag) && f.contains("received {")),
            "no received frame tagged {tag}"
        );
    }
}

#[test]
fn the_live_line_says_what_each_scenario_waits_for_and_how_long() {
    // The live display needs a terminal: util-linux `script` gives the run one.
    let Ok(script) = which_script() else {
        eprintln!("no `script` command: the live line is checked by unit tests only");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let line = format!(
        "{} scripted {} --simulate {} -t 1500ms --say-delay 300ms",
        env!("CARGO_BIN_EXE_web-messaging-tester"),
        example("fail.yml"),
        example("bot.yml"),
    );
    let status = std::process::Command::new(script)
        .args(["-q", "-e", "-c", &line])
        .arg(&typescript)
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("script runs");
    assert_eq!(status.code(), Some(1));
    let shown = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).to_string();
    assert!(
        shown.contains("waiting for \"This is deliberately wrong\" ") && shown.contains(" / 1.5 s"),
        "{shown}"
    );
    assert!(shown.contains("pausing before say "), "{shown}");
}

fn which_script() -> Result<&'static str, ()> {
    let found = std::process::Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found { Ok("script") } else { Err(()) }
}
