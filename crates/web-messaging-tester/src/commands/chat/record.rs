//! Freezing a conversation into a test-script scenario that passes when `scripted` replays it
//! against the same bot.
//!
//! What the guest did becomes `say`, `click` and `pickDate`; each bot or agent reply becomes
//! one wait, in conversation order (`waitForQuickReplies` or `waitForButtons` when it offered
//! options, else `waitForReplyContaining` with its text, or the part `/expect` chose); the bot
//! ending the conversation becomes `waitForDisconnect`. A reply goes before a guest action
//! only when it had arrived before the guest acted, so a replay never waits for a reply that
//! the bot only sends after the guest's next message.
//!
//! A scenario is appended to an existing file as text (its comments and layout kept), and the
//! result must load with the project's own loader, with the new scenario last and whole,
//! before it replaces the file (atomically: a temporary file in the same folder, renamed).

use crate::format::script::TestScript;
use crate::plan::target::TargetSettings;
use crate::secrets;
use genesys_web_messaging::Received;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What the recorded file says about the target: never a secret (an authentication code is
/// named by its variable, never written).
#[derive(Debug, Clone, Default)]
pub struct TargetConfig {
    /// Its `config`: `deploymentId` when the chat had one (not the simulator's placeholder),
    /// `endpoint` as given (never the simulator's loopback URL, whose port changes),
    /// `autostart` when forced, `auth.codeVariable` by its name. `region_at` is not used.
    pub settings: TargetSettings,
    /// The `--simulate` bot flow: named in the file's header, as `scripted` takes it on its
    /// command line.
    pub simulate: Option<PathBuf>,
}

/// Something the guest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Said this text.
    Say(String),
    /// Clicked the quick reply or button with this label.
    Click(String),
    /// Picked the date picker slot starting then.
    PickDate(String),
}

/// An action and when it was sent.
#[derive(Debug, Clone)]
pub struct Done {
    /// What.
    pub action: Action,
    /// When the message was written to the socket.
    pub sent_at: Instant,
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq)]
pub enum RecStep {
    /// `say`, `click` or `pickDate`.
    Act(Action),
    /// A wait, with its own `timeout` when the reply came slowly.
    Wait {
        /// What for.
        what: RecWait,
        /// The step's own time limit.
        timeout: Option<Duration>,
    },
}

/// What a recorded wait waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum RecWait {
    /// `waitForReplyContaining`.
    Containing(String),
    /// `waitForQuickReplies`.
    QuickReplies(Vec<String>),
    /// `waitForButtons`.
    Buttons(Vec<String>),
    /// `waitForDatePicker: true`.
    DatePicker,
    /// `waitForAttachment` (with the file name, when it had one).
    Attachment(Option<String>),
    /// Any reply (one with nothing else to check): `waitForReplyMatching: '[\s\S]*'`.
    Any,
    /// `waitForDisconnect: true`.
    Disconnect,
}

/// A reply slower than this share of the replay's default timeout gets a step `timeout` of
/// twice its response time.
const SLOW_SHARE: f64 = 0.5;

/// The steps of a session: the guest's actions and a wait per reply, in conversation order
/// (see the module's documentation). `narrowed`: the text `/expect` chose, by the reply's
/// arrival number. `started`: when the session started (response times of replies before
/// the guest's first action count from it).
pub fn steps(
    messages: &[Arc<Received>],
    actions: &[Done],
    narrowed: &HashMap<u64, String>,
    started: Instant,
    replay_timeout: Duration,
) -> Vec<RecStep> {
    let mut out = Vec::new();
    let mut emitted = 0;
    for received in messages {
        let message = &received.message;
        let what = if message.is_reply() {
            wait_for(message, narrowed.get(&received.arrival))
        } else if message.is_disconnect() {
            RecWait::Disconnect
        } else {
            continue;
        };
        let before = actions.partition_point(|a| a.sent_at < received.received_at);
        while emitted < before {
            out.push(RecStep::Act(actions[emitted].action.clone()));
            emitted += 1;
        }
        let asked_at = emitted
            .checked_sub(1)
            .map_or(started, |last| actions[last].sent_at);
        let took = received.received_at.saturating_duration_since(asked_at);
        let timeout = (what != RecWait::Disconnect
            && took.as_secs_f64() > replay_timeout.as_secs_f64() * SLOW_SHARE)
            .then(|| {
                Duration::from_secs(took.saturating_mul(2).as_secs().max(1) + 1)
                    .max(replay_timeout)
                    .min(Duration::from_secs(3600))
            });
        out.push(RecStep::Wait { what, timeout });
    }
    for done in &actions[emitted..] {
        out.push(RecStep::Act(done.action.clone()));
    }
    out
}

/// The wait that a reply satisfies (see the module's documentation).
fn wait_for(
    message: &genesys_web_messaging::protocol::StructuredMessage,
    narrowed: Option<&String>,
) -> RecWait {
    if let Some(text) = narrowed {
        return RecWait::Containing(text.clone());
    }
    let quick: Vec<String> = message.quick_replies().map(|q| q.text.clone()).collect();
    if !quick.is_empty() {
        return RecWait::QuickReplies(quick);
    }
    let buttons: Vec<String> = message.buttons().map(|b| b.text.clone()).collect();
    if !buttons.is_empty() {
        return RecWait::Buttons(buttons);
    }
    let text = message.text.as_deref().unwrap_or_default().trim();
    if !text.is_empty() {
        return RecWait::Containing(text.to_string());
    }
    if message.date_pickers().next().is_some() {
        return RecWait::DatePicker;
    }
    if let Some(attachment) = message.attachments().next() {
        return RecWait::Attachment(attachment.filename.clone().filter(|f| !f.is_empty()));
    }
    RecWait::Any
}

/// `text` as a YAML double-quoted scalar: every character YAML would not take as it is (C0
/// and C1 controls, DEL, line and paragraph separators, byte-order marks, non-characters) is
/// escaped, so any text comes back exactly.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Redacts one text of the recording; notes when a secret was masked.
fn clean(text: &str, masked: &mut bool) -> String {
    let redacted = secrets::redact(text);
    if redacted != text {
        *masked = true;
    }
    redacted
}

/// The scenario `name` with `steps`, as the lines of a `scenarios` entry indented by
/// `indent` spaces. `masked` is set when a secret had to be masked.
pub fn scenario_yaml(name: &str, steps: &[RecStep], indent: usize, masked: &mut bool) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}{}:", quote(&clean(name, masked)));
    if steps.is_empty() {
        out.push_str(" []\n");
        return out;
    }
    out.push('\n');
    let list = |labels: &[String], masked: &mut bool| {
        let quoted: Vec<String> = labels.iter().map(|l| quote(&clean(l, masked))).collect();
        format!("[{}]", quoted.join(", "))
    };
    for step in steps {
        let (line, timeout) = match step {
            RecStep::Act(Action::Say(text)) => {
                (format!("say: {}", quote(&clean(text, masked))), None)
            }
            RecStep::Act(Action::Click(label)) => {
                (format!("click: {}", quote(&clean(label, masked))), None)
            }
            RecStep::Act(Action::PickDate(at)) => {
                (format!("pickDate: {}", quote(&clean(at, masked))), None)
            }
            RecStep::Wait { what, timeout } => {
                let line = match what {
                    RecWait::Containing(text) => {
                        format!("waitForReplyContaining: {}", quote(&clean(text, masked)))
                    }
                    RecWait::QuickReplies(labels) => {
                        format!("waitForQuickReplies: {}", list(labels, masked))
                    }
                    RecWait::Buttons(labels) => format!("waitForButtons: {}", list(labels, masked)),
                    RecWait::DatePicker => "waitForDatePicker: true".to_string(),
                    RecWait::Attachment(Some(name)) => format!(
                        "waitForAttachment: {{filename: {}}}",
                        quote(&clean(name, masked))
                    ),
                    RecWait::Attachment(None) => "waitForAttachment: true".to_string(),
                    RecWait::Any => format!("waitForReplyMatching: {}", quote(r"[\s\S]*")),
                    RecWait::Disconnect => "waitForDisconnect: true".to_string(),
                };
                (line, *timeout)
            }
        };
        out.push_str(&format!("{pad}  - {line}\n"));
        if let Some(timeout) = timeout {
            out.push_str(&format!("{pad}    timeout: {}s\n", timeout.as_secs()));
        }
    }
    out
}

/// A new test-script holding one scenario: a header saying how to replay it, the `config`
/// of the target, the scenario.
pub fn new_file_yaml(target: &TargetConfig, scenario: &str, file: &Path) -> String {
    let mut out = String::from("# Recorded with `web-messaging-tester chat`.\n");
    let mut replay = format!("web-messaging-tester scripted {}", file.display());
    if let Some(bot) = &target.simulate {
        replay.push_str(&format!(" --simulate {}", bot.display()));
    }
    out.push_str(&format!("# Replay: {}\n", secrets::terminal_line(&replay)));
    let mut config = String::new();
    let mut masked = false;
    let settings = &target.settings;
    for (key, value) in [
        ("deploymentId", &settings.deployment_id),
        ("region", &settings.region),
        ("endpoint", &settings.endpoint),
        ("origin", &settings.origin),
    ] {
        if let Some(value) = value {
            config.push_str(&format!("  {key}: {}\n", quote(&clean(value, &mut masked))));
        }
    }
    if let Some(autostart) = settings.autostart {
        config.push_str(&format!("  autostart: {autostart}\n"));
    }
    if let Some(variable) = &settings.auth_code_variable {
        config.push_str(&format!(
            "  auth:\n    codeVariable: {}\n",
            quote(&clean(variable, &mut masked))
        ));
    }
    if !config.is_empty() {
        out.push_str("config:\n");
        out.push_str(&config);
    }
    out.push_str("scenarios:\n");
    out.push_str(scenario);
    out
}

/// Checks, before any session opens, that a recording can be written to `path`: an existing
/// file must be a valid test-script (the scenario is appended to it) that can be replaced; a
/// new one needs a folder that exists and can be written.
pub fn check_destination(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let dir = folder_of(path);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(format!("cannot record to {shown}: it is a directory"));
        }
        Ok(meta) => {
            TestScript::load(path).map_err(|e| {
                format!(
                    "cannot append the recording to {shown}, which is not a valid test-script: {e}"
                )
            })?;
            if meta.permissions().readonly() {
                return Err(format!("cannot record to {shown}: the file is read-only"));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !dir.is_dir() {
                return Err(format!(
                    "cannot record to {shown}: the folder {} does not exist",
                    dir.display()
                ));
            }
        }
        Err(e) => return Err(format!("cannot record to {shown}: {e}")),
    }
    // The file is replaced by renaming a temporary file of the same folder over it.
    tempfile::NamedTempFile::new_in(&dir)
        .map(drop)
        .map_err(|e| format!("cannot record to {shown}: its folder cannot be written ({e})"))
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What [`save`] wrote.
#[derive(Debug)]
pub struct Saved {
    /// The scenario's name (with a suffix when the file already had one so named).
    pub name: String,
    /// How many steps.
    pub steps: usize,
    /// Whether a secret had to be masked (the masked text will not match in a replay).
    pub masked: bool,
    /// Whether the file was created.
    pub created: bool,
}

/// Appends the scenario `name` with `steps` to the test-script at `path` (created with the
/// target's `config` when it does not exist), atomically. The result is loaded with the
/// project's own loader before it replaces the file.
pub fn save(
    path: &Path,
    name: &str,
    steps: &[RecStep],
    target: &TargetConfig,
) -> Result<Saved, String> {
    let shown = path.display();
    let mut masked = false;
    let existing = match std::fs::metadata(path) {
        Ok(_) => Some(TestScript::load(path).map_err(|e| {
            format!("cannot append to {shown}, which is not a valid test-script: {e}")
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot record to {shown}: {e}")),
    };
    let (text, name, before) = match &existing {
        None => {
            let name = name.to_string();
            let scenario = scenario_yaml(&name, steps, 2, &mut masked);
            (new_file_yaml(target, &scenario, path), name, 0)
        }
        Some(script) => {
            let names: Vec<&str> = script.scenarios.iter().map(|s| s.name.as_str()).collect();
            let name = unique_name(name, &names);
            let old =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
            let indent = scenario_indent(&old);
            let mut text = old;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&scenario_yaml(&name, steps, indent, &mut masked));
            (text, name, script.scenarios.len())
        }
    };
    let checked = TestScript::parse(path, &text).map_err(|e| {
        format!("cannot append to {shown}: the result would not load ({e}); is `scenarios` the file's last block?")
    })?;
    let whole = checked.scenarios.len() == before + 1
        && checked
            .scenarios
            .last()
            .is_some_and(|s| s.name == secrets::redact(&name) && s.steps.len() == steps.len());
    if !whole {
        return Err(format!(
            "cannot append to {shown}: `scenarios` must be the file's last block (the scenario would not be read back whole)"
        ));
    }
    write_atomically(path, &text).map_err(|e| format!("cannot write {shown}: {e}"))?;
    Ok(Saved {
        name,
        steps: steps.len(),
        masked,
        created: existing.is_none(),
    })
}

/// `name`, or `name (2)`, `name (3)`... when the file already has a scenario so named.
fn unique_name(name: &str, taken: &[&str]) -> String {
    if !taken.contains(&name) {
        return name.to_string();
    }
    (2..)
        .map(|n| format!("{name} ({n})"))
        .find(|candidate| !taken.contains(&candidate.as_str()))
        .unwrap_or_else(|| name.to_string())
}

/// The indentation of the scenario names under `scenarios:` (2 when it cannot be told).
fn scenario_indent(text: &str) -> usize {
    let mut lines = text.lines();
    for line in lines.by_ref() {
        let code = line.split(" #").next().unwrap_or_default().trim_end();
        if code == "scenarios:" {
            break;
        }
    }
    lines
        .map(|l| (l.len() - l.trim_start_matches(' ').len(), l.trim()))
        .find(|(_, rest)| !rest.is_empty() && !rest.starts_with('#'))
        .map_or(2, |(indent, _)| indent.max(1))
}

/// Writes `text` to a temporary file in `path`'s folder, flushes it to disk and renames it
/// over `path`, keeping an existing file's permissions: readers see the old file or the new
/// one, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = folder_of(path);
    let mut file = tempfile::NamedTempFile::new_in(&dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        file.as_file().set_permissions(meta.permissions())?;
    }
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_through_the_loader() {
        let texts = [
            "plain",
            "Yes",
            "0755",
            "a \"quote\" and \\ backslash",
            "two\nlines\r\n\ttab",
            "bell \u{7} del \u{7f} c1 \u{85} sep \u{2028} bom \u{feff}",
            "# not a comment: [x] {y} - z ' '",
            "émoji 🍕",
        ];
        let steps: Vec<RecStep> = texts
            .iter()
            .map(|t| RecStep::Act(Action::Say(t.to_string())))
            .collect();
        let mut masked = false;
        let yaml = format!(
            "scenarios:\n{}",
            scenario_yaml("name: with \"quotes\"", &steps, 2, &mut masked)
        );
        let script = TestScript::parse(Path::new("t.yml"), &yaml).unwrap();
        assert_eq!(script.scenarios[0].name, "name: with \"quotes\"");
        let said: Vec<String> = script.scenarios[0]
            .steps
            .iter()
            .map(|s| match s {
                crate::format::script::Step::Say(t) => t.clone(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(said, texts);
        assert!(!masked);
    }

    #[test]
    fn appends_keeping_the_file_and_names_uniquely() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yml");
        std::fs::write(
            &path,
            "# my tests\nconfig:\n  deploymentId: d\n  region: r\nscenarios:\n    \"A\":\n        - say: hi\n",
        )
        .unwrap();
        check_destination(&path).unwrap();
        let steps = [
            RecStep::Act(Action::Say("hi".into())),
            RecStep::Wait {
                what: RecWait::QuickReplies(vec!["Yes".into(), "No".into()]),
                timeout: Some(Duration::from_secs(12)),
            },
            RecStep::Wait {
                what: RecWait::Disconnect,
                timeout: None,
            },
        ];
        let saved = save(&path, "A", &steps, &TargetConfig::default()).unwrap();
        assert_eq!(saved.name, "A (2)");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my tests\n"), "{text}");
        assert!(
            text.contains("    \"A (2)\":\n      - say: \"hi\"\n"),
            "{text}"
        );
        assert!(text.contains("        timeout: 12s\n"), "{text}");
        let script = TestScript::load(&path).unwrap();
        assert_eq!(script.scenarios.len(), 2);
        assert_eq!(script.scenarios[1].steps.len(), 3);
    }

    #[test]
    fn refuses_to_append_where_the_scenario_would_not_be_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yml");
        let original = "scenarios:\n  A:\n    - say: hi\nconfig:\n  region: r\n";
        std::fs::write(&path, original).unwrap();
        let steps = [RecStep::Act(Action::Say("x".into()))];
        let e = save(&path, "B", &steps, &TargetConfig::default()).unwrap_err();
        assert!(e.contains("last block"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }

    #[test]
    fn a_new_file_has_the_target_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.yml");
        check_destination(&path).unwrap();
        let target = TargetConfig {
            settings: TargetSettings {
                deployment_id: Some("dep".into()),
                region: Some("mypurecloud.ie".into()),
                auth_code_variable: Some("MY_CODE".into()),
                ..TargetSettings::default()
            },
            simulate: None,
        };
        let steps = [RecStep::Wait {
            what: RecWait::Any,
            timeout: None,
        }];
        let saved = save(&path, "s", &steps, &target).unwrap();
        assert!(saved.created);
        let script = TestScript::load(&path).unwrap();
        assert_eq!(script.config.target.deployment_id.as_deref(), Some("dep"));
        assert_eq!(
            script.config.target.auth_code_variable.as_deref(),
            Some("MY_CODE")
        );
    }

    fn received(arrival: u64, at: Instant, json: &str) -> Arc<Received> {
        Arc::new(Received {
            message: serde_json::from_str(json).unwrap(),
            time: jiff::Timestamp::now(),
            received_at: at,
            arrival,
            arrived_out_of_order: false,
            clamped_time: None,
            tracing_id: None,
        })
    }

    #[test]
    fn a_reply_goes_before_an_action_only_if_it_arrived_before_it() {
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        let bot = |text: &str| {
            format!(
                r#"{{"type":"Text","direction":"Outbound","originatingEntity":"Bot","text":"{text}"}}"#
            )
        };
        let messages = [
            received(0, ms(10), &bot("Welcome")),
            received(1, ms(110), &bot(" Pick a size ")),
            received(
                2,
                ms(9_000),
                r#"{"type":"Structured","direction":"Outbound","originatingEntity":"Bot","text":"Which?",
                "content":[{"contentType":"QuickReply","quickReply":{"text":"S","payload":"S"}}]}"#,
            ),
            received(
                3,
                ms(9_100),
                r#"{"type":"Event","direction":"Outbound","events":[{"eventType":"Typing","typing":{"type":"On"}}]}"#,
            ),
            received(
                4,
                ms(9_200),
                r#"{"type":"Event","direction":"Outbound","events":[{"eventType":"Presence","presence":{"type":"Disconnect"}}]}"#,
            ),
        ];
        let actions = [
            Done {
                action: Action::Say("hi".into()),
                sent_at: ms(100),
            },
            Done {
                action: Action::Click("S".into()),
                sent_at: ms(9_500),
            },
        ];
        let narrowed = HashMap::from([(1, "size".to_string())]);
        let steps = steps(
            &messages,
            &actions,
            &narrowed,
            start,
            Duration::from_secs(10),
        );
        let wait = |what: RecWait, timeout: Option<u64>| RecStep::Wait {
            what,
            timeout: timeout.map(Duration::from_secs),
        };
        assert_eq!(
            steps,
            [
                wait(RecWait::Containing("Welcome".into()), None),
                RecStep::Act(Action::Say("hi".into())),
                wait(RecWait::Containing("size".into()), None),
                // 8.9 s after the guest spoke: over half the replay's 10 s, so twice that.
                wait(RecWait::QuickReplies(vec!["S".into()]), Some(18)),
                wait(RecWait::Disconnect, None),
                RecStep::Act(Action::Click("S".into())),
            ]
        );
    }

    #[test]
    fn refuses_destinations_that_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_destination(&dir.path().join("missing/x.yml")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_destination(dir.path()).unwrap_err();
        assert!(e.contains("directory"), "{e}");
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, "scenarios: [").unwrap();
        let e = check_destination(&bad).unwrap_err();
        assert!(e.contains("not a valid test-script"), "{e}");
    }
}
