//! `web-messaging-tester simulate` serves a deployment another process can talk to.

use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_survey_bot_to_another_process() {
    let (server, url) = tokio::task::spawn_blocking(|| start_simulate(&[]))
        .await
        .expect("the simulator starts");
    let url = url.as_str();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );

    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let config = SessionConfig::for_endpoint("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", url);
    let mut conversation = Conversation::connect(config, options)
        .await
        .expect("connects");
    let timeout = Duration::from_secs(20);
    conversation.wait_for_start(timeout).await.expect("starts");
    conversation.say("hi").await.expect("says hi");
    conversation
        .wait_for_reply_containing("Can we ask you some questions", timeout)
        .await
        .expect("the survey question");
    conversation.say("No").await.expect("says no");
    conversation
        .wait_for_reply_containing("Maybe next time", timeout)
        .await
        .expect("goodbye");
    conversation
        .wait_for_disconnect(timeout)
        .await
        .expect("the bot disconnects");
    conversation.close().await;
    drop(server);
}

#[test]
fn an_invalid_bot_flow_is_refused_before_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bot = dir.path().join("bot.yml");
    std::fs::write(&bot, "states:\n  main:\n    - goto: nowhere\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
        .args(["simulate", bot.to_str().expect("utf-8 path")])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bot.yml:3:") && stderr.contains("nowhere"),
        "{stderr}"
    );
}

/// Starts `simulate` with the given extra arguments; returns the server and its URL.
fn start_simulate(extra: &[&str]) -> (Server, String) {
    let bot = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/survey/bot.yml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
        .arg("simulate")
        .arg(bot)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the URL is printed");
    (Server(child), line.trim().to_string())
}

#[test]
fn scripted_talks_wss_to_a_simulator_it_trusts_with_ca_cert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("cert.pem");
    let cert_arg = cert.to_str().expect("utf-8 path");
    let (server, url) = start_simulate(&["--tls", "--export-cert", cert_arg]);
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
    let pem = std::fs::read_to_string(&cert).expect("the certificate was exported");
    assert!(pem.contains("BEGIN CERTIFICATE"));

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/survey/pass.yml"
    );
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
            .args(["scripted", script, "--endpoint", &url, "--say-delay", "0"])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let trusted = run(&["--ca-cert", cert_arg]);
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert_eq!(trusted.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS - Decline Survey"), "{stdout}");

    // Without the certificate the deployment configuration cannot be fetched (TLS
    // verification refuses it): the run stops before any session, with the reason.
    let untrusted = run(&[]);
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    // TLS refused: the deployment could not be tested (3).
    assert_eq!(untrusted.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot read the deployment configuration at https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    // Without fetching it, the WebSocket itself is refused by TLS verification: every
    // scenario fails with the reason, none passes.
    let untrusted = run(&["--no-deployment-config"]);
    let stdout = String::from_utf8_lossy(&untrusted.stdout);
    assert_eq!(untrusted.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("Could not open a session"), "{stdout}");
    assert!(stdout.to_lowercase().contains("certificate"), "{stdout}");
    assert!(!stdout.contains("PASS - "), "{stdout}");
    drop(server);
}

#[test]
fn validate_and_simulate_refuse_absurd_numbers_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bot = dir.path().join("bot.yml");
    std::fs::write(
        &bot,
        "session:\n  ttlSeconds: 18446744073709551615\nstates:\n  main:\n    - reply: ok\n",
    )
    .expect("write");
    let bot = bot.to_str().expect("utf-8 path");
    let mut messages = Vec::new();
    for command in ["validate", "simulate"] {
        let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
            .args([command, bot])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(output.stdout.is_empty(), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            stderr.contains("bot.yml:2:15:")
                && stderr.contains("session.ttlSeconds")
                && stderr.contains("too large"),
            "{command}: {stderr}"
        );
        let line = stderr
            .lines()
            .find(|l| l.contains("too large"))
            .expect("the error line")
            .to_string();
        messages.push(line);
    }
    assert!(
        messages[1].contains(messages[0].trim_start_matches("error: ")),
        "{messages:?}"
    );
}

#[test]
fn simulate_closes_connections_beyond_max_connections() {
    use std::io::Read;
    use std::net::TcpStream;
    let (server, url) = start_simulate(&["--max-connections", "1"]);
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches("/v1")
        .to_string();
    let _first = TcpStream::connect(&addr).expect("connects");
    // Connections are accepted in order: the first is counted before the second comes.
    let mut second = TcpStream::connect(&addr).expect("the kernel accepts");
    second
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buffer = [0; 16];
    match second.read(&mut buffer) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the second connection was not closed: {other:?}"),
    }
    drop(server);
}
