//! Property tests of the bot-flow loader and compiler: random and mutated YAML, starting from
//! the example flows and the test flows, never makes it panic, and every refusal names the
//! file and (when the text has a position to point at) the line and column.
//!
//! The number of cases per property comes from `PROPTEST_CASES` (default 64 here; see
//! `bench/fuzz.sh` for long runs).

use proptest::prelude::*;
use proptest::test_runner::Config;
use web_messaging_simulator::BotFlow;

/// Flows to start from: the examples, and flows using every key.
const SEEDS: &[&str] = &[
    include_str!("../../../examples/survey/bot.yml"),
    include_str!("../../../examples/quick-replies/bot.yml"),
    include_str!("../../../examples/faults/bot.yml"),
    include_str!("../../../examples/ai/bot.yml"),
    "states:\n  main:\n    - when: { contains: hello }\n      reply: Hi there!\n",
    "deploymentId: d\nallowedOrigins: [https://a.example]\nseed: 42\nreplyDelayMs: 300\n\
     replyJitterMs: 200\nlimits: { maxMessageLength: 500, maxCustomAttributesBytes: 1024 }\n\
     session:\n  respond: true\n  respondAfterMs: 3000\n  ttlSeconds: 600\n  autostart: true\n  \
     welcome:\n    - \"Welcome!\"\n    - { text: \"What?\", quickReplies: [Orders, Returns] }\n\
     faults:\n  outOfOrder: 0.3\n  latencyMs: { min: 50, max: 400 }\n  \
     ignoreInputWithinMs: 1000\n  dropAfterMessages: 5\n  errorRate: 0.1\n  \
     error: { code: 5000, body: \"Request failed.\" }\n\
     start: greeting\nstates:\n  greeting:\n    - when: { payload: \"YES\" }\n      \
     reply: \"Great!\"\n      goto: other\n    - when: { matches: \"my name is (?<name>\\\\w+)\" }\n      \
     reply: \"Hi {name}\"\n  other:\n    - when: { attribute: { name: Tier, equals: Gold } }\n      \
     reply:\n        - { text: a, delayMs: 10, jitterMs: 5, typing: true }\n        \
     - card: { title: T, actions: [{ text: Go, url: \"https://x\" }] }\n        \
     - carousel: [{ title: A, actions: [{ text: O, payload: A }] }]\n      \
     disconnect: true\n      error: { code: 400 }\n      raw: [\"x\"]\n      \
     closeSocket: true\n      dropSocket: true\n      outOfOrder: true\n      typing: true\n",
];

/// Bits of YAML (and of non-YAML) worth splicing in.
const FRAGMENTS: &[&str] = &[
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "\n",
    "  ",
    "\t",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "? ",
    "|",
    ">",
    "~",
    "null",
    "0",
    "-1",
    "1e999",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "0.5",
    "NaN",
    ".inf",
    "yes",
    "{}",
    "[]",
    "goto: nowhere",
    "when: any",
    "reply: ",
    "states:",
    "start: main",
    "matches: \"(\"",
    "{name}",
    "{{",
    "}}",
    "delayMs: ",
    "jitterMs: ",
    "ttlSeconds: ",
    "latencyMs: ",
    "{ min: 5, max: 1 }",
    "\u{feff}",
    "é",
    "\u{0}",
    "<<: *a",
    "---\n",
    "...\n",
];

/// Numeric keys and values at and around their limits.
const NUMBER_KEYS: &[&str] = &[
    "replyDelayMs",
    "replyJitterMs",
    "delayMs",
    "jitterMs",
    "respondAfterMs",
    "ttlSeconds",
    "ignoreInputWithinMs",
    "dropAfterMessages",
    "maxMessageLength",
    "maxCustomAttributesBytes",
    "seed",
    "min",
    "max",
    "code",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Delete `len` bytes at a relative position.
    Delete(f64, usize),
    /// Insert a fragment at a relative position.
    Insert(f64, usize),
    /// Insert random text at a relative position.
    InsertText(f64, String),
    /// Replace the number after the n-th occurrence of a numeric key.
    Number(usize, usize, u64),
    /// Duplicate the line at a relative position.
    DuplicateLine(f64),
    /// Swap two lines.
    SwapLines(f64, f64),
    /// Cut the text at a relative position.
    Truncate(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let position = 0.0..1.0f64;
    let number = prop_oneof![
        Just(0u64),
        Just(1u64),
        Just(86_400_000u64),
        Just(86_400_001u64),
        Just(31_536_000u64),
        Just(31_536_001u64),
        Just(1u64 << 20),
        Just((1u64 << 20) + 1),
        Just(u64::MAX),
        any::<u64>(),
    ];
    prop_oneof![
        (position.clone(), 1..16usize).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (position.clone(), 0..FRAGMENTS.len()).prop_map(|(p, i)| Mutation::Insert(p, i)),
        (position.clone(), "\\PC{0,12}").prop_map(|(p, s)| Mutation::InsertText(p, s)),
        (0..NUMBER_KEYS.len(), 0..4usize, number).prop_map(|(k, n, v)| Mutation::Number(k, n, v)),
        position.clone().prop_map(Mutation::DuplicateLine),
        (position.clone(), position.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        position.prop_map(Mutation::Truncate),
    ]
}

/// The index at the relative position `p` (in `0..=1`) of a length `len`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "a fraction in 0..=1 of a short test input's length: always in range"
)]
fn scaled(len: usize, p: f64) -> usize {
    ((len as f64) * p) as usize
}

/// The char boundary nearest below the relative position `p` of `text`.
fn at(text: &str, p: f64) -> usize {
    let mut i = scaled(text.len(), p);
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, mutation: &Mutation) {
    match mutation {
        Mutation::Delete(p, n) => {
            let start = at(text, *p);
            let mut end = (start + n).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, "");
        }
        Mutation::Insert(p, i) => {
            let i2 = at(text, *p);
            text.insert_str(i2, FRAGMENTS[*i]);
        }
        Mutation::InsertText(p, s) => {
            let i = at(text, *p);
            text.insert_str(i, s);
        }
        Mutation::Number(k, n, value) => {
            let key = format!("{}: ", NUMBER_KEYS[*k]);
            let found: Vec<usize> = text.match_indices(&key).map(|(i, _)| i).collect();
            if found.is_empty() {
                return;
            }
            let start = found[n % found.len()] + key.len();
            let end = text[start..]
                .find(|c: char| !c.is_ascii_digit() && c != '-' && c != '.')
                .map_or(text.len(), |e| start + e);
            text.replace_range(start..end, &value.to_string());
        }
        Mutation::DuplicateLine(p) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return;
            }
            let i = scaled(lines.len(), *p).min(lines.len() - 1);
            let mut out: Vec<&str> = lines.clone();
            out.insert(i, lines[i]);
            *text = out.concat();
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return;
            }
            let last = lines.len() - 1;
            let i = scaled(lines.len(), *a).min(last);
            let j = scaled(lines.len(), *b).min(last);
            lines.swap(i, j);
            *text = lines.concat();
        }
        Mutation::Truncate(p) => {
            let i = at(text, *p);
            text.truncate(i);
        }
    }
}

/// Loads `yaml`; a refusal must name the file and, unless the text has nothing to point at,
/// a line and column.
fn check(yaml: &str) -> Result<(), TestCaseError> {
    match BotFlow::from_yaml_str(yaml, "bot.yml") {
        Ok(_) => {}
        Err(error) => {
            let text = error.to_string();
            prop_assert_eq!(error.file.as_deref(), Some("bot.yml"), "{}", text);
            prop_assert!(text.starts_with("bot.yml"), "{}", text);
            prop_assert!(!error.message.is_empty(), "{}", text);
            if error.line.is_none() {
                // Only a text with no document in it has nowhere to point.
                let has_content = yaml.lines().any(|l| {
                    let l = l.trim_start_matches('\u{feff}').trim();
                    !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
                });
                prop_assert!(!has_content, "no position for {:?}: {}", yaml, text);
            } else {
                prop_assert!(error.column.is_some(), "{}", text);
            }
        }
    }
    Ok(())
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// A seed flow with a few random edits.
    #[test]
    fn mutated_flows_never_panic_and_errors_have_positions(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut yaml = SEEDS[seed].to_string();
        for m in &mutations {
            apply(&mut yaml, m);
        }
        check(&yaml)?;
    }

    /// Any text at all.
    #[test]
    fn arbitrary_text_never_panics(yaml in "\\PC{0,200}") {
        check(&yaml)?;
    }

    /// A flow built from random keys and values, nested as the format nests them.
    #[test]
    fn random_flows_never_panic(
        values in prop::collection::vec((0..NUMBER_KEYS.len(), any::<u64>()), 0..8),
        state in "[a-z]{1,8}",
        reply in "\\PC{0,20}",
    ) {
        let mut yaml = String::new();
        let mut session = String::new();
        let mut faults = String::new();
        let mut limits = String::new();
        let mut reply_extra = String::new();
        for (key, value) in &values {
            match NUMBER_KEYS[*key] {
                k @ ("replyDelayMs" | "replyJitterMs" | "seed") => {
                    yaml.push_str(&format!("{k}: {value}\n"));
                }
                k @ ("respondAfterMs" | "ttlSeconds") => {
                    session.push_str(&format!("  {k}: {value}\n"));
                }
                k @ ("ignoreInputWithinMs" | "dropAfterMessages") => {
                    faults.push_str(&format!("  {k}: {value}\n"));
                }
                "min" | "max" => {
                    faults.push_str(&format!("  latencyMs: {{ min: {}, max: {value} }}\n", value / 2));
                }
                "code" => faults.push_str(&format!("  error: {{ code: {value} }}\n")),
                k @ ("maxMessageLength" | "maxCustomAttributesBytes") => {
                    limits.push_str(&format!("  {k}: {value}\n"));
                }
                k => reply_extra.push_str(&format!(", {k}: {value}")),
            }
        }
        for (name, body) in [("session", session), ("faults", faults), ("limits", limits)] {
            if !body.is_empty() {
                yaml.push_str(&format!("{name}:\n{body}"));
            }
        }
        let text = serde_json::to_string(&reply).expect("a JSON string is a YAML string");
        yaml.push_str(&format!(
            "states:\n  {state}:\n    - reply: {{ text: {text}{reply_extra} }}\n"
        ));
        check(&yaml)?;
    }
}
