//! Every example in README.md and docs/*.md is run or checked, so the docs cannot drift from
//! the tool:
//!
//! - ```` ```yaml ```` blocks are test-scripts (`scenarios:`; `ai` files with `config.ai`) or
//!   bot flows (`states:`), loaded through the project's own loaders: each must be valid.
//! - ```` ```sh ```` (and `bash`, `shell`, `console`) blocks: every `web-messaging-tester …`
//!   or `cargo run [--release] -- …` command is run with the built binary from a folder holding
//!   a copy of `examples/`, and must exit 0 (or the code its `# exits N` comment names).
//!   Other commands (`cargo install`, `docker`, …) set things up and are not run.
//! - A block that cannot run here (it needs a real Genesys org, a model server, a container
//!   engine, or it is a fragment) is marked by an HTML comment on the line before it:
//!   `<!-- not-run: why -->`. Other languages (`text`, `json`, `xml`, `rust`) are shown, not run.
//!
//! A `web-messaging-tester` command that would reach a real deployment (no `--simulate`, and
//! not `validate`, `schema`, `completions` or `man`) in an unmarked block fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use web_messaging_simulator::BotFlow;
use web_messaging_tester::format::ai_script::AiFile;
use web_messaging_tester::format::script::TestScript;

struct Block {
    file: String,
    line: usize,
    language: String,
    text: String,
    not_run: bool,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).expect("readable");
    let file = path
        .strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let language = info.split_whitespace().next().unwrap_or("").to_string();
            let not_run = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with("<!-- not-run:"));
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].trim_start().starts_with("```") {
                end += 1;
            }
            let body: Vec<String> = lines[start..end.min(lines.len())]
                .iter()
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_string())
                .collect();
            found.push(Block {
                file: file.clone(),
                line: i + 1,
                language,
                text: body.join("\n") + "\n",
                not_run,
            });
            i = end + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// Shell words: spaces separate, '…' and "…" quote, `\` escapes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The commands of a shell block: continuation lines joined, with each one's `# exits N`.
fn commands(text: &str) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let (command, comment) = match full.find(" #") {
            Some(at) => (
                full[..at].trim().to_string(),
                full[at + 2..].trim().to_string(),
            ),
            None if full.starts_with('#') => (String::new(), String::new()),
            None => (full.trim().to_string(), String::new()),
        };
        if command.is_empty() {
            continue;
        }
        let exit = comment
            .strip_prefix("exits ")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        out.push((command, exit));
    }
    out
}

/// The tool's arguments, when `command` runs the tool: `web-messaging-tester …` or
/// `cargo run [--release] -- …`.
fn tool_arguments(command: &str) -> Option<Vec<String>> {
    let mut words = shell_words(command);
    // Output redirections and pipes are the shell's: the tool's output is discarded here.
    if let Some(at) = words
        .iter()
        .position(|w| matches!(w.as_str(), ">" | ">>" | "|" | "&" | "&&" | "2>"))
    {
        words.truncate(at);
    }
    match words.first().map(String::as_str) {
        Some("web-messaging-tester") => Some(words[1..].to_vec()),
        Some("cargo") if words.get(1).is_some_and(|w| w == "run") => {
            let dashes = words.iter().position(|w| w == "--")?;
            Some(words[dashes + 1..].to_vec())
        }
        _ => None,
    }
}

/// Whether the tool's arguments run without a real deployment.
fn offline(arguments: &[String]) -> bool {
    let offline_command = matches!(
        arguments.first().map(String::as_str),
        Some("validate" | "schema" | "completions" | "man")
    );
    offline_command || arguments.iter().any(|a| a == "--simulate")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn check_yaml(block: &Block) -> Result<(), String> {
    let name = format!("{}:{}", block.file, block.line);
    let top_level = |key: &str| {
        block
            .text
            .lines()
            .any(|l| l.starts_with(&format!("{key}:")))
    };
    if top_level("states") {
        BotFlow::from_yaml_str(&block.text, &name)
            .map(|_| ())
            .map_err(|e| e.to_string())
    } else if top_level("scenarios") && block.text.contains("\n  ai:") {
        AiFile::parse(Path::new(&name), &block.text)
            .map(|_| ())
            .map_err(|e| e.to_string())
    } else if top_level("scenarios") {
        TestScript::parse(Path::new(&name), &block.text)
            .map(|_| ())
            .map_err(|e| e.to_string())
    } else {
        Err(format!(
            "{name}: a yaml block that is neither a test-script nor a bot flow needs <!-- not-run: why -->"
        ))
    }
}

fn run_shell(block: &Block, workdir: &Path) -> Result<usize, String> {
    let mut ran = 0;
    for (command, expected) in commands(&block.text) {
        let Some(arguments) = tool_arguments(&command) else {
            continue;
        };
        let at = format!("{}:{}", block.file, block.line);
        if !offline(&arguments) {
            return Err(format!(
                "{at}: `{command}` needs a real deployment: mark the block <!-- not-run: needs a real org -->"
            ));
        }
        let output = Command::new(env!("CARGO_BIN_EXE_web-messaging-tester"))
            .args(&arguments)
            .current_dir(workdir)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("DEBUG")
            .output()
            .map_err(|e| format!("{at}: cannot run `{command}`: {e}"))?;
        let code = output.status.code().unwrap_or(-1);
        if code != expected {
            return Err(format!(
                "{at}: `{command}` exited with {code}, not {expected}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        ran += 1;
    }
    Ok(ran)
}

#[test]
fn every_example_in_the_docs_runs_or_is_marked() {
    let workdir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples"), &workdir.path().join("examples"));
    let mut problems = Vec::new();
    let (mut checked, mut ran) = (0, 0);
    for document in documents() {
        for block in blocks(&document) {
            if block.not_run {
                continue;
            }
            match block.language.as_str() {
                "yaml" | "yml" => {
                    checked += 1;
                    if let Err(e) = check_yaml(&block) {
                        problems.push(e);
                    }
                }
                "sh" | "bash" | "shell" | "console" => match run_shell(&block, workdir.path()) {
                    Ok(n) => ran += n,
                    Err(e) => problems.push(e),
                },
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // The docs hold examples of both kinds: an extraction that finds none is broken.
    assert!(
        checked >= 5 && ran >= 3,
        "checked {checked} yaml blocks, ran {ran} commands"
    );
}

#[test]
fn reads_shell_commands_like_a_shell() {
    assert_eq!(
        commands(
            "# a comment\nweb-messaging-tester scripted a.yml \\\n  --filter 'A b'   # exits 1\n"
        ),
        [(
            "web-messaging-tester scripted a.yml  --filter 'A b'".to_string(),
            1
        )]
    );
    assert_eq!(
        tool_arguments("cargo run --release -- scripted 'x y.yml'"),
        Some(vec!["scripted".to_string(), "x y.yml".to_string()])
    );
    assert_eq!(tool_arguments("cargo install --locked --path ."), None);
}
