//! The test-script loader never panics, whatever the file holds: documents made by mutating
//! the examples and the CLI cases' scripts (bytes, lines, values) go through `validate`, which
//! must either accept them (exit 0) or refuse them (exit 2) with every error naming the file
//! and a line. `PROPTEST_CASES` sets the number of documents (default 24: a few seconds).

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};

/// Every seed document: the examples' test-scripts and the CLI cases' `script.yml`.
fn seeds() -> Vec<String> {
    let mut files = Vec::new();
    collect(&common::repo().join("examples"), &mut files);
    collect(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"),
        &mut files,
    );
    let mut seeds: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter(|text| text.contains("scenarios:"))
        .collect();
    seeds.sort();
    seeds.dedup();
    assert!(seeds.len() > 10, "the seeds are found");
    seeds
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// Values that have broken loaders before, or could: absurd durations, YAML oddities.
const NASTY: &[&str] = &[
    "100y",
    "1ns",
    "-1",
    "0",
    "1e400",
    "NaN",
    "inf",
    "99999999999999999999s",
    "''",
    "~",
    "[",
    "{",
    "]",
    "&a x",
    "*a",
    "!!binary aGk=",
    "!!float 1",
    "|",
    ">-",
    "[1, [2, [3]]]",
    "{a: {b: c}}",
    "\"\\uD800\"",
    "2s",
    "3601",
    "0.0001",
    "true",
    "- x",
    "? x",
    "%YAML 1.2",
    "---",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteBytes(usize, usize),
    InsertBytes(usize, Vec<u8>),
    DuplicateLine(usize),
    DeleteLine(usize),
    SwapLines(usize, usize),
    ReplaceValue(usize, usize),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = proptest::collection::vec(
        prop_oneof![
            Just(b':'),
            Just(b'-'),
            Just(b' '),
            Just(b'\n'),
            Just(b'\t'),
            Just(b'"'),
            Just(b'\''),
            Just(b'['),
            Just(b'{'),
            Just(b'&'),
            Just(b'*'),
            Just(b'!'),
            Just(b'#'),
            Just(b'|'),
            any::<u8>(),
        ],
        1..6,
    );
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(at, n)| Mutation::DeleteBytes(at, n)),
        (any::<usize>(), bytes).prop_map(|(at, b)| Mutation::InsertBytes(at, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::DeleteLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(l, v)| Mutation::ReplaceValue(l, v)),
        (any::<usize>(), 0..6usize).prop_map(|(l, n)| Mutation::Indent(l, n)),
    ]
}

fn apply(text: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut bytes = text.to_vec();
    let len = bytes.len().max(1);
    let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let count = lines.len();
    let join = |lines: Vec<Vec<u8>>| lines.join(&b'\n');
    match mutation {
        Mutation::DeleteBytes(at, n) => {
            let at = at % len;
            let end = (at + n).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
            bytes
        }
        Mutation::InsertBytes(at, new) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, new.iter().copied());
            bytes
        }
        Mutation::DuplicateLine(l) => {
            let line = lines[l % count].clone();
            lines.insert(l % count, line);
            join(lines)
        }
        Mutation::DeleteLine(l) => {
            lines.remove(l % count);
            join(lines)
        }
        Mutation::SwapLines(a, b) => {
            lines.swap(a % count, b % count);
            join(lines)
        }
        Mutation::ReplaceValue(l, v) => {
            let line = &mut lines[l % count];
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                line.truncate(colon + 1);
                line.push(b' ');
                line.extend_from_slice(NASTY[v % NASTY.len()].as_bytes());
            }
            join(lines)
        }
        Mutation::Indent(l, n) => {
            let line = &mut lines[l % count];
            line.splice(0..0, std::iter::repeat_n(b' ', *n));
            join(lines)
        }
    }
}

/// Runs `validate` on `document`; returns why it is wrong, if it is.
fn check(document: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.yml");
    std::fs::write(&file, document).unwrap();
    let output = common::command()
        .current_dir(dir.path())
        .args(["validate", "script.yml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = || {
        format!(
            "document:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(document)
        )
    };
    match output.status.code() {
        Some(0) => Ok(()),
        Some(2) => {
            for line in stderr.lines().filter(|l| l.starts_with("error: ")) {
                if line.contains(" files is invalid") || line.contains(" file is invalid") {
                    continue;
                }
                let Some(rest) = line.strip_prefix("error: script.yml:") else {
                    return Err(format!("an error without the file: {line}\n{}", shown()));
                };
                let line_number = rest.split(':').next().unwrap_or_default();
                if line_number.parse::<usize>().is_err() {
                    return Err(format!("an error without a line: {line}\n{}", shown()));
                }
            }
            Ok(())
        }
        other => Err(format!("exit code {other:?} (a panic?)\n{}", shown())),
    }
}

#[test]
fn mutated_test_scripts_never_panic_and_every_error_has_a_file_and_line() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let seeds = seeds();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..seeds.len(), proptest::collection::vec(mutation(), 1..5));
    runner
        .run(&strategy, |(seed, mutations)| {
            let mut document = seeds[seed].as_bytes().to_vec();
            for m in &mutations {
                document = apply(&document, m);
            }
            check(&document).map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn the_seeds_themselves_and_the_nastiest_values_are_handled() {
    for seed in seeds() {
        check(seed.as_bytes()).unwrap();
    }
    for odd in [
        &b""[..],
        b"\n",
        b"~\n",
        b"- a\n",
        b"\xff\xfe",
        b"scenarios:\n  a:\n    - say: \xc3\n",
        b"---\n---\n",
    ] {
        check(odd).unwrap();
    }
    let base = "config:\n  timeout: X\n  sayDelay: 1s\nscenarios:\n  a:\n    - say: hi\n    - waitForReplyContaining: x\n      timeout: X\n";
    for value in NASTY {
        check(base.replace('X', value).as_bytes()).unwrap();
        check(
            base.replace("sayDelay: 1s", &format!("sayDelay: {value}"))
                .replace('X', "1")
                .as_bytes(),
        )
        .unwrap();
    }
}
