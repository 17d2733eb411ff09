//! Differential property test: where a pattern is matched in linear time, it agrees with
//! regress (the JavaScript semantics) on whether a text matches, and on named groups.
//!
//! Cases: `PROPTEST_CASES` (default 512, a few seconds).

use genesys_web_messaging::JsRegex;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::time::Duration;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

const TOKENS: &[&str] = &[
    "a", "b", "A", "k", "K", "s", "\u{17f}", "\u{212a}", "i", "\u{131}", "\u{e9}", "\u{3c3}",
    "\u{3c2}", "\u{df}", " ", "-", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b", "^", "$",
    "(", ")", "(?:", "(?<g>", "|", "*", "+", "?", "*?", "{1,2}", "{2}", "[a-c]", "[^ab]", "[\\W]",
    "[^\\w]", "[^]", "[]", "[k-s]", "\\n", "\\r", "\\u2028", "\\x41", "\\.", "x",
];

const CHARS: &[char] = &[
    'a',
    'b',
    'A',
    'B',
    'k',
    'K',
    's',
    'S',
    '\u{17f}',
    '\u{212a}',
    'i',
    'I',
    '\u{131}',
    '\u{130}',
    '\u{e9}',
    '\u{c9}',
    '\u{3c3}',
    '\u{3c2}',
    '\u{3a3}',
    '\u{df}',
    '\u{1e9e}',
    ' ',
    '\n',
    '\r',
    '\u{2028}',
    '\u{a0}',
    '\u{feff}',
    '\u{85}',
    '0',
    '9',
    '\u{663}',
    '_',
    '-',
    '.',
    'x',
    '\u{1f600}',
];

#[test]
fn the_linear_matcher_agrees_with_regress() {
    let pattern = proptest::collection::vec(proptest::sample::select(TOKENS), 1..7)
        .prop_map(|tokens| tokens.concat());
    let text = proptest::collection::vec(proptest::sample::select(CHARS), 0..10)
        .prop_map(|chars| chars.into_iter().collect::<String>());
    let flags = proptest::sample::select(&["", "i", "m", "im", "s", "ims"][..]);
    let mut runner = TestRunner::new(config());
    let linear = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&(pattern, text, flags), |(pattern, text, flags)| {
            let Ok(js) = regress::Regex::with_flags(&pattern, flags) else {
                return Ok(());
            };
            let regex = JsRegex::new(&pattern, flags).unwrap();
            if !regex.is_linear() {
                return Ok(());
            }
            linear.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let expected = js.find(&text).is_some();
            prop_assert_eq!(
                regex.is_match(&text),
                expected,
                "/{}/{} on {:?}",
                pattern,
                flags,
                text
            );
            let groups = regex
                .find_groups_within(&text, Duration::from_secs(5))
                .unwrap();
            let expected_groups = js.find(&text).map(|found| {
                found
                    .named_groups()
                    .filter_map(|(name, range)| Some((name.to_string(), text[range?].to_string())))
                    .collect::<Vec<_>>()
            });
            prop_assert_eq!(
                groups,
                expected_groups,
                "/{}/{} on {:?}",
                pattern,
                flags,
                text
            );
            Ok(())
        })
        .unwrap();
    assert!(linear.into_inner() > 0, "no linear pattern was generated");
}
