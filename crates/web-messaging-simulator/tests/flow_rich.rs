//! Validation of the `transfer`, `datePicker`, `attachment` and `datePicked` keys: every
//! mistake is refused with file, line, column and key.

use web_messaging_simulator::BotFlow;

fn refused(yaml: &str) -> web_messaging_simulator::FlowError {
    match BotFlow::from_yaml_str(yaml, "bot.yml") {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e,
    }
}

fn assert_refused(yaml: &str, line: usize, column: usize, key: &str, fragment: &str) {
    let e = refused(yaml);
    assert_eq!(
        (e.line, e.column, e.key.as_deref()),
        (Some(line), Some(column), Some(key)),
        "{e}"
    );
    assert!(e.message.contains(fragment), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("bot.yml:{line}:{column}: \"{key}\"")),
        "{e}"
    );
}

#[test]
fn every_new_key_is_accepted() {
    let flow = BotFlow::from_yaml_str(
        r#"
states:
  main:
    - when: { datePicked: any }
      reply: ok
    - when: { datePicked: "2030-01-15T09:00:00Z", contains: x }
      reply: ok
    - reply:
        - text: pick
          datePicker:
            title: T
            subtitle: S
            imageUrl: https://example.com/i.png
            availableTimes: [{ dateTime: "2030-01-15T09:00:00+02:00", duration: 60 }]
        - attachment: { filename: a.pdf, mediaType: File, mime: application/pdf, fileSize: 1, url: "https://x.example/a.pdf" }
        - attachment: { filename: site, mediaType: Link, url: "https://example.com" }
      transfer:
        queue: Q
        after: 2.5
        agent: { nickname: N, image: "https://example.com/n.png", firstName: F, lastName: L }
        typing: false
        say: hello
        answers: [a, { text: b, delayMs: 5, jitterMs: 5, typing: true, attachment: { filename: x.png, mediaType: Image, mime: image/png } }]
        disconnect: true
"#,
        "bot.yml",
    );
    assert!(flow.is_ok(), "{}", flow.unwrap_err());
    for after in ["0", "1500ms", "3s", "2m", "1h", "24h", "0.5"] {
        let yaml = format!("states:\n  s:\n    - transfer: {{ queue: Q, after: {after} }}\n");
        assert!(BotFlow::from_yaml_str(&yaml, "bot.yml").is_ok(), "{after}");
    }
    // A plain scalar nickname is kept as written.
    assert!(
        BotFlow::from_yaml_str(
            "states:\n  s:\n    - transfer: { queue: Q, agent: Yes }\n",
            "bot.yml"
        )
        .is_ok()
    );
}

#[test]
fn transfer_mistakes() {
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: \"\" }\n",
        3,
        17,
        "states.s[0].transfer.queue",
        "needs the name of a queue",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { agent: A }\n",
        3,
        19,
        "states.s[0].transfer.queue",
        "is required",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, agnet: A }\n",
        3,
        29,
        "states.s[0].transfer.agnet",
        "unknown key",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, after: 25h }\n",
        3,
        36,
        "states.s[0].transfer.after",
        "from 0 to 24 hours",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, after: soon }\n",
        3,
        36,
        "states.s[0].transfer.after",
        "`soon`",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, after: -1 }\n",
        3,
        36,
        "states.s[0].transfer.after",
        "must be a duration",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, agent: { image: \"ftp://x\" } }\n",
        3,
        36,
        "states.s[0].transfer.agent.image",
        "http:// or https://",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, agent: {} }\n",
        3,
        36,
        "states.s[0].transfer.agent",
        "is empty",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, agent: { nickname: \" \" } }\n",
        3,
        36,
        "states.s[0].transfer.agent.nickname",
        "is empty",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, say: [{ text: hi, quickReplies: [a] }] }\n",
        3,
        35,
        "states.s[0].transfer.say[0].quickReplies",
        "is bot content",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, answers: [ok, \"\"] }\n",
        3,
        43,
        "states.s[0].transfer.answers[1]",
        "empty",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, say: [{ text: hi, delayMs: 90000000 }] }\n",
        3,
        56,
        "states.s[0].transfer.say[0].delayMs",
        "too large",
    );
    assert_refused(
        "states:\n  s:\n    - disconnect: true\n      transfer: { queue: Q }\n",
        4,
        17,
        "states.s[0].transfer",
        "cannot follow `disconnect: true`",
    );
    assert_refused(
        "states:\n  s:\n    - transfer: { queue: Q, say: \"{name}\" }\n",
        3,
        34,
        "states.s[0].transfer.say",
        "no `when.matches` pattern",
    );
}

#[test]
fn date_picker_mistakes() {
    let picker = |body: &str| format!("states:\n  s:\n    - reply:\n        datePicker: {body}\n");
    assert_refused(
        &picker("{ title: T, availableTimes: [] }"),
        4,
        49,
        "states.s[0].reply.datePicker.availableTimes",
        "at least one time",
    );
    assert_refused(
        &picker(
            "{ title: \"\", availableTimes: [{ dateTime: \"2030-01-01T00:00:00Z\", duration: 1 }] }",
        ),
        4,
        21,
        "states.s[0].reply.datePicker.title",
        "needs a title",
    );
    assert_refused(
        &picker("{ title: T, availableTimes: [{ dateTime: \"2030-01-01 09:00\", duration: 1 }] }"),
        4,
        50,
        "states.s[0].reply.datePicker.availableTimes[0].dateTime",
        "with an offset",
    );
    assert_refused(
        &picker(
            "{ title: T, availableTimes: [{ dateTime: \"2030-01-01T00:00:00Z\", duration: 0 }] }",
        ),
        4,
        96,
        "states.s[0].reply.datePicker.availableTimes[0].duration",
        "from 1 to 2678400",
    );
    assert_refused(
        &picker("{ title: T, availableTimes: [{ dateTime: \"2030-01-01T00:00:00Z\" }] }"),
        4,
        52,
        "states.s[0].reply.datePicker.availableTimes[0].duration",
        "is required",
    );
    assert_refused(
        &picker("{ title: T, image: x, availableTimes: [] }"),
        4,
        33,
        "states.s[0].reply.datePicker.image",
        "unknown key",
    );
    assert_refused(
        "states:\n  s:\n    - reply:\n        text: t\n        quickReplies: [a]\n        datePicker: { title: T, availableTimes: [{ dateTime: \"2030-01-01T00:00:00Z\", duration: 1 }] }\n",
        6,
        21,
        "states.s[0].reply.datePicker",
        "goes in a message of its own",
    );
    assert_refused(
        "states:\n  s:\n    - when: { datePicked: tomorrow }\n",
        3,
        27,
        "states.s[0].when.datePicked",
        "must be `any` or a date and time",
    );
}

#[test]
fn attachment_mistakes() {
    let attachment =
        |body: &str| format!("states:\n  s:\n    - reply:\n        attachment: {body}\n");
    assert_refused(
        &attachment("{ filename: a.png, mediaType: Picture, mime: image/png }"),
        4,
        51,
        "states.s[0].reply.attachment.mediaType",
        "must be one of Image, File, Audio, Video, Link",
    );
    assert_refused(
        &attachment("{ filename: a.png, mediaType: Image }"),
        4,
        21,
        "states.s[0].reply.attachment.mime",
        "needs a `mime` type",
    );
    assert_refused(
        &attachment("{ filename: a.png, mediaType: Image, mime: png }"),
        4,
        21,
        "states.s[0].reply.attachment.mime",
        "must be a MIME type",
    );
    assert_refused(
        &attachment("{ filename: \"\", mediaType: File, mime: a/b }"),
        4,
        21,
        "states.s[0].reply.attachment.filename",
        "needs a file name",
    );
    assert_refused(
        &attachment("{ filename: a, mediaType: File, mime: a/b, fileSize: 3000000000 }"),
        4,
        74,
        "states.s[0].reply.attachment.fileSize",
        "too large",
    );
    assert_refused(
        &attachment("{ filename: a, mediaType: File, mime: a/b, url: \"file:///etc/passwd\" }"),
        4,
        21,
        "states.s[0].reply.attachment.url",
        "http:// or https://",
    );
    assert_refused(
        &attachment("{ filename: a, mediaType: File, mime: a/b, size: 1 }"),
        4,
        64,
        "states.s[0].reply.attachment.size",
        "unknown key",
    );
    assert_refused(
        "states:\n  s:\n    - reply:\n        card: { title: T }\n        attachment: { filename: a, mediaType: File, mime: a/b }\n",
        5,
        21,
        "states.s[0].reply.attachment",
        "goes in a message of its own",
    );
}
