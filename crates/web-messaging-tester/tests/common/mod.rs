//! Helpers shared by the integration tests: run the binary (`command`, `run`, `run_in`), make
//! files, read reports, a simulator in its own process. Beside it, each declared only by the
//! tests that use it (so that the others do not compile it): a fake model provider
//! (`fake_model/`), `ai` runs (`ai/`), a fake Genesys login and Platform API (`fake_genesys/`),
//! `load` folders (`load_files/`) and the `chat` replay (`chat/`).

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What a run of the binary printed and returned.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The survey example's files.
pub fn example(name: &str) -> String {
    repo()
        .join("examples/survey")
        .join(name)
        .display()
        .to_string()
}

/// A command for the binary, without colour and without any Genesys credentials from the
/// developer's environment.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"));
    command
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG")
        .env_remove("GENESYS_REGION")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    command
}

/// Runs the binary with `args` (from `dir`, when given), with the variables of `env` set.
pub fn run_in(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = command();
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the binary runs");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// Runs the binary with `args`.
pub fn run(args: &[&str]) -> Run {
    run_in(None, args, &[])
}

/// Writes `text` to `dir/name` and returns the path as text.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folder");
    }
    std::fs::write(&path, text).expect("file written");
    path.display().to_string()
}

/// Reads a file, naming it when it cannot.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).expect("valid JSON")
}

/// `scripted` on the survey example's passing and failing files, in parallel against its
/// simulated bot, with `reports` (the report flags) added.
pub fn run_survey(reports: &[&str]) -> Run {
    let (pass, fail, bot) = (example("pass.yml"), example("fail.yml"), example("bot.yml"));
    let mut args = vec![
        "scripted",
        &pass,
        &fail,
        "--simulate",
        &bot,
        "-t",
        "1",
        "-p",
        "5",
    ];
    args.extend_from_slice(reports);
    run(&args)
}

/// Every CI report, into the run's folder: `r.json`, `j.xml` and `html/`.
pub const EVERY_REPORT: [&str; 6] = [
    "--report-json",
    "r.json",
    "--report-junit",
    "j.xml",
    "--report-html",
    "html",
];

/// A bot that answers `echo: <text>` to anything, at once.
pub const ECHO_BOT: &str = "states:\n  main:\n    - reply: \"echo: ok\"\n";

/// A test-script of `count` scenarios named `<prefix> <n>`, each saying hi and waiting for
/// the echo bot.
pub fn echo_script(prefix: &str, count: usize) -> String {
    let mut text = String::from("scenarios:\n");
    for n in 1..=count {
        text.push_str(&format!(
            "  \"{prefix} {n}\":\n    - say: hi\n    - waitForReplyContaining: echo\n"
        ));
    }
    text
}

/// A loopback TCP listener that counts nothing but can tell whether anyone connected: for
/// checking that a refused run opened no session.
pub struct Sentinel {
    listener: std::net::TcpListener,
}

impl Sentinel {
    /// Listens on a free loopback port.
    pub fn new() -> Sentinel {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        Sentinel { listener }
    }

    /// `ws://127.0.0.1:<port>/v1`.
    pub fn url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/v1",
            self.listener.local_addr().expect("address").port()
        )
    }

    /// Whether a connection is waiting.
    pub fn was_contacted(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// How long a simulator process may take to print its URL.
const SIMULATOR_START: Duration = Duration::from_secs(60);

/// `web-messaging-tester simulate BOT` in its own process, killed when dropped.
pub struct SimulatorProcess {
    child: Child,
    url: String,
}

impl SimulatorProcess {
    /// Starts the simulator on `bot` and waits (with a deadline) for the URL it prints.
    pub fn start(bot: impl AsRef<std::ffi::OsStr>) -> SimulatorProcess {
        let mut child = command()
            .arg("simulate")
            .arg(bot)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        // The first line in a thread, so that the wait has a deadline; the rest of stdout is
        // left to the process's pipe.
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let mut server = SimulatorProcess {
            child,
            url: String::new(),
        };
        let line = receiver
            .recv_timeout(SIMULATOR_START)
            .expect("the simulator prints its URL in time");
        server.url = line.trim().to_string();
        assert!(!server.url.is_empty(), "the simulator printed no URL");
        server
    }

    /// The URL it printed (`ws://127.0.0.1:<port>/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
