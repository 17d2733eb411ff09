//! The CLI's integration tests, as data: each folder under `tests/cases/` holds the files of one
//! case (test-script, bot flow), `cmd` (the arguments, run from that folder), and what must
//! come out: `expected.stdout`, `expected.stderr` and `expected.exit`. Each folder is a test of
//! its own (`cargo test --test cases -- <name>` runs the ones whose name contains `<name>`).
//!
//! Every case runs the built binary, against the simulator over real loopback WebSockets where
//! the case has a bot flow. Ports are random, so `127.0.0.1:<port>` is compared as
//! `127.0.0.1:PORT`; run times vary, so the closing `N passed, M failed in 1.2 s` is compared as
//! `… in T s`. `BLESS=1 cargo test --test cases` rewrites the expected files from the
//! actual output (review the diff before committing); `CASE=name` runs one case.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Outcome {
    stdout: String,
    stderr: String,
    exit: i32,
}

fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str(if digits > 0 { "PORT" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// `3 passed, 1 failed in 2.4 s` (the totals that end a report) as `3 passed, 1 failed in T s`.
fn normalise_totals(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let Some((counts, time)) = line.rsplit_once(" in ") else {
                return line.to_string();
            };
            let is_time = time.strip_suffix(" s").is_some_and(|n| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
            });
            let is_counts =
                counts.contains(" passed, ") && counts.starts_with(|c: char| c.is_ascii_digit());
            if is_time && is_counts {
                format!("{counts} in T s")
            } else {
                line.to_string()
            }
        })
        .collect();
    lines.join("\n")
}

/// What varies from run to run on stderr: each progress line's `in 0.3 s` becomes `in T s`; the
/// open-files limit of this machine (`may open 20000 (ulimit -n)`) becomes `may open N`; and
/// with `-p` above 1, scenarios start and finish in any order, so the lines are sorted.
fn normalise_stderr(text: &str, parallel: bool) -> String {
    let mut lines: Vec<String> = normalise(text)
        .split('\n')
        .map(|line| {
            let line = match line.rsplit_once(" in ") {
                Some((head, time))
                    if line.starts_with('[')
                        && time.strip_suffix(" s").is_some_and(|n| {
                            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                        }) =>
                {
                    format!("{head} in T s")
                }
                _ => line.to_string(),
            };
            match line.split_once("this process may open ") {
                Some((head, tail)) => match tail.split_once(" (ulimit -n)") {
                    Some((_, rest)) => format!("{head}this process may open N (ulimit -n){rest}"),
                    None => line,
                },
                None => line,
            }
        })
        .collect();
    if parallel {
        let end = lines.last().is_some_and(String::is_empty);
        lines.retain(|l| !l.is_empty());
        lines.sort();
        if end {
            lines.push(String::new());
        }
    }
    lines.join("\n")
}

/// Whether `args` run scenarios side by side (`-p N` or `--parallel N` with N above 1).
fn runs_in_parallel(args: &[&str]) -> bool {
    args.windows(2).any(|pair| {
        ["-p", "--parallel"].contains(&pair[0]) && pair[1].parse::<u64>().is_ok_and(|n| n > 1)
    })
}

fn run_case(dir: &Path) -> Outcome {
    let cmd = std::fs::read_to_string(dir.join("cmd")).expect("every case has a cmd file");
    let args: Vec<&str> = cmd.split_whitespace().collect();
    let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG")
        .output()
        .expect("the binary runs");
    Outcome {
        stdout: normalise_totals(&normalise(&String::from_utf8_lossy(&output.stdout))),
        stderr: normalise_stderr(
            &String::from_utf8_lossy(&output.stderr),
            runs_in_parallel(&args),
        ),
        exit: output.status.code().unwrap_or(-1),
    }
}

fn check_case(dir: &Path, bless: bool) -> Result<(), String> {
    let actual = run_case(dir);
    let name = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    if bless {
        std::fs::write(dir.join("expected.stdout"), &actual.stdout).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("expected.exit"), format!("{}\n", actual.exit))
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("expected.stderr"), &actual.stderr).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    let mut problems = Vec::new();
    let exit: i32 = read("expected.exit")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| format!("{name}: missing expected.exit"))?;
    if exit != actual.exit {
        problems.push(format!("exit code {} (expected {exit})", actual.exit));
    }
    if read("expected.stdout").as_deref() != Some(actual.stdout.as_str()) {
        problems.push(format!(
            "stdout differs.\n--- expected\n{}\n--- actual\n{}",
            read("expected.stdout").unwrap_or_default(),
            actual.stdout
        ));
    }
    match read("expected.stderr") {
        None => problems.push("missing expected.stderr (BLESS=1 writes it)".to_string()),
        Some(expected) if expected != actual.stderr => problems.push(format!(
            "stderr differs.\n--- expected\n{expected}\n--- actual\n{}",
            actual.stderr
        )),
        Some(_) => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "case {name}: {}\n--- stderr\n{}",
            problems.join("\n"),
            actual.stderr
        ))
    }
}

fn main() -> std::process::ExitCode {
    let arguments = libtest_mimic::Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let only = std::env::var("CASE").ok();
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/cases exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| only.as_deref().is_none_or(|o| p.ends_with(o)))
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases found");
    // Cases are independent processes on their own ports: libtest-mimic runs them side by side.
    let trials = dirs
        .into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            libtest_mimic::Trial::test(name, move || {
                check_case(&dir, bless).map_err(libtest_mimic::Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit_code()
}
