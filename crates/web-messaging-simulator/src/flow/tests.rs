//! Unit tests of bot-flow parsing and validation.

use super::*;
use std::collections::BTreeMap;
use std::time::Duration;

fn flow(yaml: &str) -> BotFlow {
    BotFlow::from_yaml_str(yaml, "bot.yml").unwrap_or_else(|e| panic!("{e}"))
}

fn error(yaml: &str) -> FlowError {
    match BotFlow::from_yaml_str(yaml, "bot.yml") {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e,
    }
}

fn text(reply: &Reply) -> String {
    reply
        .text
        .as_ref()
        .map(|t| t.render(&Captures::new()))
        .unwrap_or_default()
}

fn texts(rule: &Rule) -> Vec<String> {
    rule.replies.iter().map(text).collect()
}

#[test]
fn reads_every_key() {
    let f = flow(
        "deploymentId: abc\n\
         allowedOrigins: [https://example.com]\n\
         replyDelayMs: 25\n\
         session:\n  respond: true\n  welcome: [\"Hello!\", { text: Later, delayMs: 5 }]\n\
         start: second\n\
         states:\n\
         \x20 first:\n\
         \x20   - when: { contains: HI }\n\
         \x20     reply: \"one\"\n\
         \x20     goto: second\n\
         \x20 second:\n\
         \x20   - when: { matches: \"^yes$\" }\n\
         \x20     reply: [\"a\", { text: \"b\", delayMs: 7 }]\n\
         \x20     disconnect: true\n\
         \x20     error: { code: 5000, body: \"Request failed.\" }\n\
         \x20     raw: [\"garbage\"]\n\
         \x20     closeSocket: true\n\
         \x20     outOfOrder: true\n\
         \x20   - when: any\n\
         \x20     goto: first\n\
         \x20   - reply: fallback\n",
    );
    assert_eq!(f.deployment_id(), Some("abc"));
    assert_eq!(
        f.allowed_origins.as_deref(),
        Some(&["https://example.com".to_string()][..])
    );
    assert_eq!(f.start, 1);
    assert_eq!(f.states[0].name, "first");
    assert!(f.session.respond);
    assert_eq!(text(&f.session.welcome[0]), "Hello!");
    assert_eq!(f.session.welcome[0].delay, Duration::ZERO);
    assert_eq!(f.session.welcome[1].delay, Duration::from_millis(5));
    let first = &f.states[0].rules[0];
    assert!(first.when.matches_text("oh hi there"));
    assert!(!first.when.matches_text("hello"));
    assert_eq!(first.goto, Some(1));
    assert_eq!(first.replies[0].delay, Duration::from_millis(25));
    let second = &f.states[1].rules[0];
    assert!(second.when.matches_text("YES"));
    assert!(!second.when.matches_text("yes please"));
    assert_eq!(texts(second), ["a", "b"]);
    assert_eq!(second.replies[0].delay, Duration::from_millis(25));
    assert_eq!(second.replies[1].delay, Duration::from_millis(7));
    assert!(second.disconnect && second.close_socket && second.out_of_order);
    let error = second.error.as_ref().unwrap();
    assert_eq!((error.code, error.body.as_str()), (5000, "Request failed."));
    assert_eq!(second.raw, ["garbage"]);
    assert!(f.states[1].rules[1].when.matches_text("anything"));
    assert!(f.states[1].rules[1].replies.is_empty());
    assert!(f.states[1].rules[2].when.matches_text("anything"));
}

#[test]
fn defaults() {
    let f = flow("states:\n  only:\n    - reply: x\n");
    assert_eq!(f.deployment_id(), None);
    assert!(f.allowed_origins.is_none());
    assert!(f.session.respond);
    assert!(f.session.welcome.is_empty());
    assert_eq!(f.start, 0);
    assert_eq!(f.states[0].rules[0].replies[0].delay, Duration::ZERO);
    let silent = flow("session:\n  respond: false\nstates:\n  only: []\n");
    assert!(!silent.session.respond);
}

#[test]
fn yaml_1_1_scalars_stay_text() {
    let f = flow(
        "states:\n  s:\n    - when: { contains: 0755 }\n      reply: Yes\n      raw: [No, 0x1F]\n\
         \x20   - when: { matches: 010 }\n      reply: [Yes, off, 0755, 1.50, 1e3, ~x, { text: On }]\n\
         \x20   - reply: 1_000\n",
    );
    let rules = &f.states[0].rules;
    assert_eq!(rules[0].when.contains.as_deref(), Some("0755"));
    assert_eq!(texts(&rules[0]), ["Yes"]);
    assert_eq!(rules[0].raw, ["No", "0x1F"]);
    assert!(rules[1].when.matches_text("010"));
    assert_eq!(
        texts(&rules[1]),
        ["Yes", "off", "0755", "1.50", "1e3", "~x", "On"]
    );
    assert_eq!(texts(&rules[2]), ["1_000"]);
}

#[test]
fn multi_line_and_quoted_replies_keep_their_meaning() {
    let f = flow(
        "states:\n  s:\n    - reply: \"a\\r\\nb\"\n    - reply: |\n        block\n        text\n    - reply: 'it''s'\n",
    );
    let rules = &f.states[0].rules;
    assert_eq!(texts(&rules[0]), ["a\r\nb"]);
    assert_eq!(texts(&rules[1]), ["block\ntext\n"]);
    assert_eq!(texts(&rules[2]), ["it's"]);
}

fn assert_error(e: &FlowError, line: usize, column: usize, key: &str, fragment: &str) {
    assert_eq!(e.file.as_deref(), Some("bot.yml"));
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    assert!(e.message.contains(fragment), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("bot.yml:{line}:{column}: \"{key}\"")),
        "{e}"
    );
}

#[test]
fn unknown_key() {
    let e = error("states:\n  a:\n    - replly: x\n");
    assert_error(&e, 3, 7, "states.a[0].replly", "unknown key `replly`");
    let e = error("stats: {}\nstates:\n  a: []\n");
    assert_error(&e, 1, 1, "stats", "unknown key `stats`");
    let e = error("states:\n  a:\n    - reply: { text: x, delay: 3 }\n");
    assert_error(&e, 3, 25, "states.a[0].reply.delay", "unknown key `delay`");
    let e = error("states:\n  a:\n    - when: { contain: x }\n");
    assert_error(
        &e,
        3,
        15,
        "states.a[0].when.contain",
        "unknown key `contain`",
    );
    // A state may be called `value` (the word Spanned adds to serde paths).
    let e = error("states:\n  value:\n    - rply: x\n");
    assert_error(&e, 3, 7, "states.value[0].rply", "unknown key `rply`");
    let e = error("session:\n  welcom: [hi]\nstates:\n  a: []\n");
    assert_error(&e, 2, 3, "session.welcom", "unknown key `welcom`");
}

#[test]
fn wrong_type() {
    let e = error("replyDelayMs: soon\nstates:\n  a: []\n");
    assert_error(&e, 1, 15, "replyDelayMs", "must be a whole number");
    let e = error("states:\n  a:\n    - goto: [b]\n");
    assert_error(&e, 3, 13, "states.a[0].goto", "must be a text");
    let e = error("states:\n  a:\n    - reply: [[x]]\n");
    assert_error(&e, 3, 15, "states.a[0].reply[0]", "reply text");
    let e = error("states:\n  a:\n    - error: { code: oops }\n");
    assert_error(
        &e,
        3,
        22,
        "states.a[0].error.code",
        "must be a whole number",
    );
}

#[test]
fn goto_to_a_missing_state() {
    let e = error(
        "states:\n  a:\n    - when: { contains: hi }\n      reply: Hello\n      goto: nowhere\n",
    );
    assert_error(
        &e,
        5,
        13,
        "states.a[0].goto",
        "there is no state named `nowhere` (states: a)",
    );
}

#[test]
fn start_naming_a_missing_state() {
    let e = error("start: b\nstates:\n  a: []\n");
    assert_error(&e, 1, 8, "start", "there is no state named `b` (states: a)");
}

#[test]
fn invalid_regex() {
    let e = error("states:\n  a:\n    - when: { matches: \"(unclosed\" }\n");
    assert_error(
        &e,
        3,
        24,
        "states.a[0].when.matches",
        "invalid regular expression `(unclosed`",
    );
}

#[test]
fn empty_states() {
    let e = error("states: {}\n");
    assert_error(&e, 1, 9, "states", "is empty");
    let e = error("replyDelayMs: 1\n");
    assert_eq!(e.key.as_deref(), Some("states"));
    assert_eq!(e.message, "is required");
    let e = error("\n");
    assert!(e.message.contains("the file is empty"), "{e}");
}

#[test]
fn empty_reply_text() {
    let e = error("states:\n  a:\n    - reply: \"\"\n");
    assert_error(&e, 3, 14, "states.a[0].reply", "reply text is empty");
    let e = error("states:\n  a:\n    - reply: [ok, '']\n");
    assert_error(&e, 3, 19, "states.a[0].reply[1]", "reply text is empty");
    let e =
        error("states:\n  a:\n    - reply:\n        - ok\n        - { text: '', delayMs: 1 }\n");
    assert_error(
        &e,
        5,
        19,
        "states.a[0].reply[1].text",
        "reply text is empty",
    );
    let e = error("session:\n  welcome: [~]\nstates:\n  a: []\n");
    assert_error(&e, 2, 13, "session.welcome[0]", "reply text is empty");
}

#[test]
fn syntax_errors_have_positions() {
    let e = error("states:\n  a: [\n");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.column.is_some(), "{e}");
}

#[test]
fn duplicate_states_are_refused() {
    let e = error("states:\n  a: []\n  a: []\n");
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn unreadable_file_has_no_position() {
    let e = BotFlow::from_file(Path::new("/definitely/not/here.yml")).unwrap_err();
    assert_eq!(e.file.as_deref(), Some("/definitely/not/here.yml"));
    assert_eq!((e.line, e.column, e.key.as_deref()), (None, None, None));
    assert!(
        e.to_string()
            .starts_with("/definitely/not/here.yml: cannot read the bot flow:")
    );
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one flow with every rich and fault key, checked key by key"
)]
fn reads_the_rich_and_fault_keys() {
    let f = flow(
        "seed: 42\n\
         replyJitterMs: 10\n\
         limits: { maxMessageLength: 100, maxCustomAttributesBytes: 64 }\n\
         session:\n  respondAfterMs: 3000\n  ttlSeconds: 60\n  autostart: true\n  welcome: Hi\n\
         faults:\n\
         \x20 outOfOrder: 0.3\n\
         \x20 latencyMs: { min: 5, max: 20 }\n\
         \x20 ignoreInputWithinMs: 1000\n\
         \x20 dropAfterMessages: 3\n\
         \x20 errorRate: 1\n\
         \x20 error: { code: 503, body: busy }\n\
         states:\n\
         \x20 main:\n\
         \x20   - when: { payload: yes, attribute: { name: Tier, equals: Gold } }\n\
         \x20     typing: true\n\
         \x20     dropSocket: true\n\
         \x20     reply:\n\
         \x20       - text: Pick one\n\
         \x20         quickReplies: [Yes, No, { text: Maybe later, payload: LATER }]\n\
         \x20         delayMs: 200\n\
         \x20         jitterMs: 100\n\
         \x20         typing: false\n\
         \x20       - card:\n\
         \x20           title: Room\n\
         \x20           description: Sea view\n\
         \x20           image: https://example.com/room.png\n\
         \x20           actions: [{ text: Book now, payload: BOOK }, { text: Details, url: https://example.com }]\n\
         \x20       - carousel: [{ title: A }, { title: B, actions: [{ text: Pick B, payload: B }] }]\n\
         \x20   - when: { matches: \"my name is (?<name>\\\\w+)\" }\n\
         \x20     reply: \"Hello {name}\"\n",
    );
    assert_eq!(f.seed(), Some(42));
    assert_eq!(f.limits.max_message_length, 100);
    assert_eq!(f.limits.max_custom_attributes_bytes, 64);
    assert_eq!(f.session.respond_after, Duration::from_secs(3));
    assert_eq!(f.session.ttl, Some(Duration::from_secs(60)));
    assert!(f.session.autostart);
    assert_eq!(f.session.welcome[0].jitter, Duration::from_millis(10));
    assert_eq!(f.faults.out_of_order, 0.3);
    assert_eq!(
        f.faults.latency,
        Some((Duration::from_millis(5), Duration::from_millis(20)))
    );
    assert_eq!(
        f.faults.ignore_input_within,
        Some(Duration::from_millis(1000))
    );
    assert_eq!(f.faults.drop_after_messages, Some(3));
    assert_eq!(f.faults.error_rate, 1.0);
    assert_eq!(
        (f.faults.error.code, f.faults.error.body.as_str()),
        (503, "busy")
    );

    let rule = &f.states[0].rules[0];
    assert!(rule.drop_socket);
    assert_eq!(rule.when.payload.as_deref(), Some("yes"));
    let first = &rule.replies[0];
    assert_eq!(text(first), "Pick one");
    assert!(!first.typing, "the reply's own `typing` wins");
    assert!(rule.replies[1].typing && rule.replies[2].typing);
    assert_eq!(first.delay, Duration::from_millis(200));
    assert_eq!(first.jitter, Duration::from_millis(100));
    assert_eq!(rule.replies[1].jitter, Duration::from_millis(10));
    let none = Captures::new();
    let labels: Vec<(String, String)> = first
        .quick_replies
        .iter()
        .map(|q| (q.text.render(&none), q.payload.render(&none)))
        .collect();
    assert_eq!(
        labels,
        [
            ("Yes".to_string(), "Yes".to_string()),
            ("No".to_string(), "No".to_string()),
            ("Maybe later".to_string(), "LATER".to_string())
        ]
    );
    let card = rule.replies[1].card.as_ref().unwrap();
    assert_eq!(card.title.render(&none), "Room");
    assert_eq!(card.actions.len(), 2);
    assert!(card.actions[0].payload.is_some() && card.actions[0].url.is_none());
    assert!(card.actions[1].url.is_some() && card.actions[1].payload.is_none());
    assert_eq!(rule.replies[2].carousel.len(), 2);
    assert!(rule.replies[2].text.is_none());

    let mut attributes = BTreeMap::new();
    fn input<'a>(
        text: &'a str,
        payload: Option<&'a str>,
        attributes: &'a BTreeMap<String, String>,
    ) -> GuestInput<'a> {
        GuestInput {
            text,
            payload,
            attributes,
            date_pick: None,
            has_attachment: false,
        }
    }
    assert!(
        rule.when
            .check(input("Yes", Some("yes"), &attributes))
            .is_none()
    );
    attributes.insert("Tier".to_string(), "Gold".to_string());
    assert!(
        rule.when
            .check(input("Yes", Some("yes"), &attributes))
            .is_some()
    );
    assert!(
        rule.when
            .check(input("Yes", Some("YES"), &attributes))
            .is_none()
    );
    let named = &f.states[0].rules[1];
    assert_eq!(
        named
            .when
            .check(input("Hi, my name is Ann.", None, &attributes)),
        Some(vec![("name".to_string(), "Ann".to_string())])
    );
    let mut captured = Captures::new();
    captured.insert("name".into(), "Ann".into());
    assert_eq!(
        named.replies[0].text.as_ref().unwrap().render(&captured),
        "Hello Ann"
    );
}

#[test]
fn attribute_conditions() {
    let f = flow(
        "states:\n  s:\n    - when: { attribute: { name: Tier } }\n    - when: { attribute: { name: Tier, matches: \"^(gold|silver)$\" } }\n",
    );
    let mut attributes = BTreeMap::new();
    let check = |rule: &Rule, attributes: &BTreeMap<String, String>| {
        rule.when
            .check(GuestInput {
                text: "x",
                payload: None,
                attributes,
                date_pick: None,
                has_attachment: false,
            })
            .is_some()
    };
    let (present, pattern) = (&f.states[0].rules[0], &f.states[0].rules[1]);
    assert!(!check(present, &attributes) && !check(pattern, &attributes));
    attributes.insert("Tier".into(), "SILVER".into());
    assert!(check(present, &attributes) && check(pattern, &attributes));
    attributes.insert("Tier".into(), "bronze".into());
    assert!(check(present, &attributes) && !check(pattern, &attributes));
}

#[test]
fn unreachable_states_are_refused() {
    let e = error(
        "states:\n  main:\n    - when: { contains: a }\n      goto: second\n  second: []\n  orphan:\n    - reply: never\n",
    );
    assert_error(&e, 7, 5, "states.orphan", "is unreachable");
    // Reachable only from an unreachable state is unreachable too.
    let e =
        error("states:\n  main: []\n  island:\n    - goto: other\n  other:\n    - goto: island\n");
    assert_error(&e, 4, 5, "states.island", "is unreachable");
    // `start` counts.
    flow("start: b\nstates:\n  a: []\n  b:\n    - goto: a\n");
}

#[test]
fn placeholders_need_a_named_group() {
    let e = error(
        "states:\n  s:\n    - when: { matches: \"(?<first>\\\\w+)\" }\n      reply: \"Hi {first} {last}\"\n",
    );
    assert_error(&e, 4, 14, "states.s[0].reply", "named `last`");
    assert!(e.message.contains("captured names: first"), "{e}");
    let e = error("session:\n  welcome: { text: \"Hi {name}\" }\nstates:\n  s: []\n");
    assert_error(
        &e,
        2,
        20,
        "session.welcome.text",
        "no `matches` pattern has a named group",
    );
    let e = error("states:\n  s:\n    - reply: { text: x, quickReplies: [\"{choice}\"] }\n");
    assert_error(
        &e,
        3,
        40,
        "states.s[0].reply.quickReplies[0]",
        "named `choice`",
    );
    // Escaped braces are literal.
    let f = flow("states:\n  s:\n    - reply: \"{{name}}\"\n");
    assert_eq!(texts(&f.states[0].rules[0]), ["{name}"]);
}

#[test]
fn rich_reply_mistakes() {
    let e = error("states:\n  s:\n    - reply: { quickReplies: [a] }\n");
    assert_error(
        &e,
        3,
        14,
        "states.s[0].reply",
        "needs a `text`, a `card`, a `carousel`, a `datePicker` or an `attachment`",
    );
    let e = error("states:\n  s:\n    - reply: { text: x, quickReplies: [a, ~] }\n");
    assert_error(
        &e,
        3,
        43,
        "states.s[0].reply.quickReplies[1]",
        "label is empty",
    );
    let e =
        error("states:\n  s:\n    - reply:\n        card: { title: T, actions: [{ text: Go }] }\n");
    assert_error(
        &e,
        4,
        37,
        "states.s[0].reply.card.actions[0]",
        "needs a `payload`",
    );
    let e = error(
        "states:\n  s:\n    - reply:\n        card: { title: T, actions: [{ text: Go, payload: p, url: u }] }\n",
    );
    assert_error(
        &e,
        4,
        37,
        "states.s[0].reply.card.actions[0]",
        "both `payload` and `url`",
    );
    let e = error("states:\n  s:\n    - reply: { carousel: [] }\n");
    assert_error(&e, 3, 14, "states.s[0].reply.carousel", "is empty");
    let e = error("states:\n  s:\n    - reply: { carousel: [{ title: '' }] }\n");
    assert_error(
        &e,
        3,
        27,
        "states.s[0].reply.carousel[0].title",
        "needs a title",
    );
    let e = error("states:\n  s:\n    - reply: { card: { title: T, colour: red } }\n");
    assert_error(
        &e,
        3,
        34,
        "states.s[0].reply.card.colour",
        "unknown key `colour`",
    );
    let e = error("states:\n  s:\n    - reply: { text: x, quickReplies: [{ txt: a }] }\n");
    assert_error(
        &e,
        3,
        42,
        "states.s[0].reply.quickReplies[0].txt",
        "unknown key `txt`",
    );
}

#[test]
fn condition_mistakes() {
    let e = error("states:\n  s:\n    - when: sometimes\n");
    assert_eq!(e.key.as_deref(), Some("states.s[0].when"), "{e}");
    assert_eq!(e.line, Some(3), "{e}");
    let e = error("states:\n  s:\n    - when: { attribute: { name: T, equals: a, matches: b } }\n");
    assert_error(
        &e,
        3,
        57,
        "states.s[0].when.attribute",
        "both `equals` and `matches`",
    );
    let e = error("states:\n  s:\n    - when: { attribute: { name: T, matches: \"[\" } }\n");
    assert_error(
        &e,
        3,
        46,
        "states.s[0].when.attribute.matches",
        "invalid regular expression",
    );
    let e = error("states:\n  s:\n    - when: { attribute: { equals: a } }\n");
    assert_error(&e, 3, 28, "states.s[0].when.attribute.name", "is required");
}

#[test]
fn fault_and_limit_mistakes() {
    let e = error("faults:\n  outOfOrder: 1.5\nstates:\n  s: []\n");
    assert_error(&e, 2, 15, "faults.outOfOrder", "probability from 0 to 1");
    let e = error("faults:\n  errorRate: -0.1\nstates:\n  s: []\n");
    assert_error(&e, 2, 14, "faults.errorRate", "probability from 0 to 1");
    let e = error("faults:\n  latencyMs: { min: 9, max: 1 }\nstates:\n  s: []\n");
    assert_error(&e, 2, 14, "faults.latencyMs", "`min` ≤ `max`");
    let e = error("faults:\n  dropAfterMessages: 0\nstates:\n  s: []\n");
    assert_error(&e, 2, 22, "faults.dropAfterMessages", "at least 1");
    let e = error("faults:\n  latency: 5\nstates:\n  s: []\n");
    assert_error(&e, 2, 3, "faults.latency", "unknown key `latency`");
    let e = error("faults:\n  errorRate: often\nstates:\n  s: []\n");
    assert_eq!(e.key.as_deref(), Some("faults.errorRate"), "{e}");
    let e = error("session:\n  ttlSeconds: 0\nstates:\n  s: []\n");
    assert_error(&e, 2, 15, "session.ttlSeconds", "at least 1");
    let e = error("limits:\n  maxMessageLength: 0\nstates:\n  s: []\n");
    assert_error(&e, 2, 21, "limits.maxMessageLength", "at least 1");
    let e = error("limits:\n  maxLength: 5\nstates:\n  s: []\n");
    assert_error(&e, 2, 3, "limits.maxLength", "unknown key `maxLength`");
    let e = error("seed: -1\nstates:\n  s: []\n");
    assert_eq!(e.key.as_deref(), Some("seed"), "{e}");
}
