//! Test-scripts: upstream's YAML format (`config` + `scenarios`), loaded with positions so every
//! mistake is reported with its file, line, column and key before anything connects.

use crate::format::config::{RawTarget, TargetSettings, parse_yaml, require_scenarios};
use crate::format::duration::{parse_say_delay, parse_scenario_timeout, parse_timeout};
use genesys_web_messaging::{JsRegex, SenderKind};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::Path;
use std::time::Duration;
use web_messaging_input::{InputError, read_file};

/// A loaded, validated test-script.
#[derive(Debug, Clone)]
pub struct TestScript {
    /// The `config` section.
    pub config: FileConfig,
    /// The scenarios, in file order.
    pub scenarios: Vec<Scenario>,
}

/// The `config` section: upstream's keys plus our optional extensions.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// `deploymentId`, `region`, `origin`, `endpoint`, `autostart` and `auth.codeVariable`:
    /// where the sessions go and how they open.
    pub target: TargetSettings,
    /// `timeout`: seconds each wait may take.
    pub timeout: Option<Duration>,
    /// `sayDelay`: quiet time before each `say` (e.g. `2s`, `500ms`).
    pub say_delay: Option<Duration>,
    /// `scenarioTimeout`: most time each scenario may take (e.g. `10m`).
    pub scenario_timeout: Option<Duration>,
    /// `load.thresholds`: pass/fail rules for `load` (e.g. `p95<2s`), checked as the file loads.
    pub load_thresholds: Vec<crate::format::threshold::Threshold>,
}

/// One scenario: its own guest session running its steps in order.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario's name (its key in `scenarios`).
    pub name: String,
    /// The steps.
    pub steps: Vec<Step>,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// `say: text`.
    Say(String),
    /// `click: label`: answer a quick reply or card button.
    Click(String),
    /// `sendAttachment: path` (or `{path, text, mediaType}`): upload a file as the guest.
    SendAttachment(AttachmentStep),
    /// `clearConversation`, `reconnect`, `startNew` or `closeSession: true`.
    Lifecycle {
        /// Which.
        action: LifecycleAction,
        /// The step's `timeout`, overriding the run's.
        timeout: Option<Duration>,
    },
    /// `pickDate: <ISO date-time>`: answer a date picker with the slot starting then.
    PickDate(String),
    /// A wait, with its own time limit when the step sets `timeout`.
    Wait {
        /// What to wait for.
        what: WaitFor,
        /// The step's `timeout`, overriding the run's.
        timeout: Option<Duration>,
        /// The step's `from`: only messages from the bot, or from an agent, count.
        from: Option<SenderKind>,
    },
    /// A check of what the flow did, through the Platform API (`expectTransferTo`...).
    Platform {
        /// What to check.
        check: crate::format::platform_steps::PlatformCheck,
        /// The step's `timeout`; `None`: the default of its data source.
        timeout: Option<Duration>,
    },
}

/// A `sendAttachment` step, its file checked as the test-script loaded.
#[derive(Debug, Clone)]
pub struct AttachmentStep {
    /// The path as written.
    pub written: String,
    /// The path resolved against the test-script's folder.
    pub path: std::path::PathBuf,
    /// Text sent with the attachment.
    pub text: Option<String>,
    /// The MIME type; `None`: guessed from the extension.
    pub media_type: Option<String>,
    /// The step's `timeout`, overriding the run's.
    pub timeout: Option<Duration>,
    /// The file's size when the test-script loaded.
    pub size: u64,
    /// Where the step is, for errors found later (limits).
    pub at: InputError,
}

impl AttachmentStep {
    /// The MIME type sent: the step's, else guessed from the file name.
    pub fn media_type(&self) -> String {
        self.media_type
            .clone()
            .unwrap_or_else(|| genesys_web_messaging::guess_media_type(&self.written).to_string())
    }
}

/// The lifecycle steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    /// `clearConversation: true`: Presence Clear.
    ClearConversation,
    /// `reconnect: true`: a new socket with the same token.
    Reconnect,
    /// `startNew: true`: `configureSession` with `startNew`.
    StartNew,
    /// `closeSession: true`: `closeSession` with `closeAllConnections`.
    CloseSession,
}

impl LifecycleAction {
    /// The step's key.
    pub fn key(self) -> &'static str {
        match self {
            LifecycleAction::ClearConversation => "clearConversation",
            LifecycleAction::Reconnect => "reconnect",
            LifecycleAction::StartNew => "startNew",
            LifecycleAction::CloseSession => "closeSession",
        }
    }
}

impl Step {
    /// Whether the step sends an `onMessage` (`say`, `click`, `pickDate`).
    pub fn sends(&self) -> bool {
        matches!(
            self,
            Step::Say(_) | Step::Click(_) | Step::PickDate(_) | Step::SendAttachment(_)
        )
    }
}

/// What a wait step waits for.
#[derive(Debug, Clone)]
pub enum WaitFor {
    /// `waitForReplyContaining: text` (case-insensitive).
    ReplyContaining(String),
    /// `waitForReplyMatching: pattern` (JavaScript syntax, flags `im`).
    ReplyMatching(JsRegex),
    /// `waitForQuickReplies: [labels]`: a reply offering at least these quick replies.
    QuickReplies(Vec<String>),
    /// `waitForButtons: [labels]`: a reply whose cards offer at least these buttons.
    Buttons(Vec<String>),
    /// `waitForDisconnect: true`: the bot ends the conversation.
    Disconnect,
    /// `waitForAgent: true` or `waitForAgent: <nickname>`: the first message from a human
    /// agent (from the one with that nickname, ignoring case).
    Agent(Option<String>),
    /// `waitForDatePicker: true` or `[<ISO date-time>, ...]`: a reply offering a date picker
    /// (with at least these slots).
    DatePicker(Vec<String>),
    /// `waitForAttachment: true` or `{filename, mediaType}`: a reply carrying an attachment
    /// (with that file name, ignoring case, and media type).
    Attachment {
        /// `filename`.
        filename: Option<String>,
        /// `mediaType`: `Audio`, `File`, `Image`, `Link` or `Video`.
        media_type: Option<String>,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Say(text) => write!(f, "say: {text}"),
            Step::Click(label) => write!(f, "click: {label}"),
            Step::SendAttachment(a) => write!(f, "sendAttachment: {}", a.written),
            Step::Lifecycle { action, .. } => write!(f, "{}", action.key()),
            Step::Platform { check, .. } => write!(f, "{check}"),
            Step::PickDate(date_time) => write!(f, "pickDate: {date_time}"),
            Step::Wait { what, from, .. } => {
                match what {
                    WaitFor::ReplyContaining(text) => write!(f, "waitForReplyContaining: {text}"),
                    WaitFor::ReplyMatching(regex) => {
                        write!(f, "waitForReplyMatching: {}", regex.source())
                    }
                    WaitFor::QuickReplies(labels) => {
                        write!(f, "waitForQuickReplies: [{}]", labels.join(", "))
                    }
                    WaitFor::Buttons(labels) => {
                        write!(f, "waitForButtons: [{}]", labels.join(", "))
                    }
                    WaitFor::Disconnect => write!(f, "waitForDisconnect"),
                    WaitFor::Agent(None) => write!(f, "waitForAgent"),
                    WaitFor::Agent(Some(name)) => write!(f, "waitForAgent: {name}"),
                    WaitFor::DatePicker(slots) if slots.is_empty() => {
                        write!(f, "waitForDatePicker")
                    }
                    WaitFor::DatePicker(slots) => {
                        write!(f, "waitForDatePicker: [{}]", slots.join(", "))
                    }
                    WaitFor::Attachment {
                        filename,
                        media_type,
                    } => {
                        write!(f, "waitForAttachment")?;
                        let parts: Vec<String> =
                            [("filename", filename), ("mediaType", media_type)]
                                .into_iter()
                                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
                                .collect();
                        if !parts.is_empty() {
                            write!(f, ": {{{}}}", parts.join(", "))?;
                        }
                        Ok(())
                    }
                }?;
                match from {
                    Some(SenderKind::Bot) => write!(f, " (from: bot)"),
                    Some(SenderKind::Agent) => write!(f, " (from: agent)"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    #[serde(default)]
    config: Option<Spanned<RawConfig>>,
    scenarios: Spanned<IndexMap<String, Spanned<Vec<Spanned<RawStep>>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    deployment_id: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    say_delay: Option<Spanned<String>>,
    scenario_timeout: Option<Spanned<String>>,
    load: Option<RawLoad>,
    autostart: Option<bool>,
    auth: Option<RawAuth>,
}

/// `config.auth`: an authenticated session.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAuth {
    code_variable: Option<Spanned<String>>,
}

/// `config.load`: settings of the `load` command.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
}

/// A step is a mapping with exactly one action key (plus `timeout` beside a wait). Values are
/// typed `String`s, so `say: Yes` and `say: 0755` stay text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStep {
    #[serde(default, deserialize_with = "present")]
    say: Option<Spanned<Option<String>>>,
    #[serde(default, deserialize_with = "present")]
    wait_for_reply_containing: Option<Spanned<Option<String>>>,
    #[serde(default, deserialize_with = "present")]
    wait_for_reply_matching: Option<Spanned<Option<String>>>,
    wait_for_quick_replies: Option<Spanned<Vec<String>>>,
    wait_for_buttons: Option<Spanned<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    click: Option<Spanned<Option<String>>>,
    wait_for_disconnect: Option<Spanned<bool>>,
    send_attachment: Option<Spanned<RawAttachment>>,
    clear_conversation: Option<Spanned<bool>>,
    reconnect: Option<Spanned<bool>>,
    start_new: Option<Spanned<bool>>,
    close_session: Option<Spanned<bool>>,
    #[serde(default, deserialize_with = "present")]
    wait_for_agent: Option<Spanned<FlagOr<String>>>,
    #[serde(default, deserialize_with = "present")]
    wait_for_date_picker: Option<Spanned<FlagOr<Vec<String>>>>,
    #[serde(default, deserialize_with = "present")]
    wait_for_attachment: Option<Spanned<FlagOr<RawWaitAttachment>>>,
    #[serde(default, deserialize_with = "present")]
    pick_date: Option<Spanned<Option<String>>>,
    from: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    // Platform API checks (format/platform_steps.rs).
    #[serde(default, deserialize_with = "present")]
    expect_transfer_to: Option<Spanned<Option<String>>>,
    expect_no_transfer: Option<Spanned<bool>>,
    expect_participant_data: Option<Spanned<IndexMap<String, String>>>,
    expect_flow_outcome: Option<Spanned<IndexMap<String, String>>>,
    #[serde(default, deserialize_with = "present")]
    expect_milestone: Option<Spanned<Option<String>>>,
    expect_flow_exit: Option<Spanned<crate::format::platform_steps::RawFlowExit>>,
    #[serde(default, deserialize_with = "present")]
    expect_bot_flow: Option<Spanned<Option<String>>>,
    #[serde(default, deserialize_with = "present")]
    expect_disconnect_type: Option<Spanned<Option<String>>>,
}

/// `waitForAttachment`'s mapping form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWaitAttachment {
    filename: Option<Spanned<String>>,
    media_type: Option<Spanned<String>>,
}

/// A value that is either `true`/`false` or something more precise (a nickname, a list of
/// slots, a mapping). Errors inside the precise form keep their key and position.
enum FlagOr<T> {
    Flag(bool),
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FlagOr<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer};
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = FlagOr<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, or a value")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(FlagOr::Flag(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(StrDeserializer::<E>::new(v)).map(FlagOr::Value)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(SeqAccessDeserializer::new(seq)).map(FlagOr::Value)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(FlagOr::Value)
            }
        }
        d.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// Whether `text` is an ISO-8601 date-time with an offset (`2025-01-31T09:00:00Z`).
fn is_date_time(text: &str) -> bool {
    text.trim().parse::<jiff::Timestamp>().is_ok()
}

const MEDIA_TYPES: [&str; 5] = ["Audio", "File", "Image", "Link", "Video"];

/// `sendAttachment: path` or `sendAttachment: {path, text, mediaType}`.
#[derive(Default)]
struct RawAttachment {
    path: Option<String>,
    text: Option<String>,
    media_type: Option<String>,
}

impl<'de> Deserialize<'de> for RawAttachment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawAttachment;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a file path, or a mapping with path and optional text and mediaType")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawAttachment, E> {
                Ok(RawAttachment {
                    path: Some(v.to_string()),
                    ..RawAttachment::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawAttachment, A::Error> {
                let mut raw = RawAttachment::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "path" => &mut raw.path,
                        "text" => &mut raw.text,
                        "mediaType" => &mut raw.media_type,
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["path", "text", "mediaType"],
                            ));
                        }
                    };
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(raw)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A key that is present counts even with a null value (`say:`), so it can be refused by name.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

const ACTIONS: &str = "say, waitForReplyContaining, waitForReplyMatching, waitForQuickReplies, waitForButtons, click, waitForDisconnect, waitForAgent, waitForDatePicker, waitForAttachment, pickDate, sendAttachment, clearConversation, reconnect, startNew, closeSession, expectTransferTo, expectNoTransfer, expectParticipantData, expectFlowOutcome, expectMilestone, expectFlowExit, expectBotFlow, expectDisconnectType";

impl TestScript {
    /// Whether a scenario checks what the flow did through the Platform API (which implies
    /// `--associate-id`).
    pub fn has_platform_steps(&self) -> bool {
        self.scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .any(|step| matches!(step, Step::Platform { .. }))
    }

    /// Reads and validates a test-script.
    pub fn load(path: &Path) -> Result<TestScript, InputError> {
        let source = read_file(path, "test-script")?;
        Self::parse(path, &source)
    }

    /// Validates a test-script's text.
    pub fn parse(path: &Path, source: &str) -> Result<TestScript, InputError> {
        let file = path.display().to_string();
        let raw: RawScript = parse_yaml(&file, source)?;
        let config = match raw.config {
            Some(c) => convert_config(&file, c.value)?,
            None => FileConfig::default(),
        };
        require_scenarios(&file, &raw.scenarios)?;
        let mut scenarios = Vec::new();
        for (name, steps) in raw.scenarios.value {
            let mut converted = Vec::new();
            for (index, step) in steps.value.into_iter().enumerate() {
                converted.push(convert_step(&file, path, &name, index, step)?);
            }
            scenarios.push(Scenario {
                name,
                steps: converted,
            });
        }
        Ok(TestScript { config, scenarios })
    }
}

fn convert_config(file: &str, raw: RawConfig) -> Result<FileConfig, InputError> {
    let timeout = match raw.timeout {
        Some(s) => Some(
            parse_timeout(&s.value)
                .map_err(|reason| InputError::at(file, &s.referenced, "config.timeout", &reason))?,
        ),
        None => None,
    };
    let say_delay =
        match raw.say_delay {
            Some(s) => Some(parse_say_delay(&s.value).map_err(|reason| {
                InputError::at(file, &s.referenced, "config.sayDelay", &reason)
            })?),
            None => None,
        };
    let scenario_timeout = match raw.scenario_timeout {
        Some(s) => Some(parse_scenario_timeout(&s.value).map_err(|reason| {
            InputError::at(file, &s.referenced, "config.scenarioTimeout", &reason)
        })?),
        None => None,
    };
    let mut load_thresholds = Vec::new();
    for (index, threshold) in raw
        .load
        .map(|l| l.thresholds)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let parsed = crate::format::threshold::parse(&threshold.value).map_err(|reason| {
            InputError::at(
                file,
                &threshold.referenced,
                &format!("config.load.thresholds[{index}]"),
                &reason,
            )
        })?;
        load_thresholds.push(parsed);
    }
    Ok(FileConfig {
        target: TargetSettings::read(
            file,
            RawTarget {
                deployment_id: raw.deployment_id,
                region: raw.region,
                origin: raw.origin,
                endpoint: raw.endpoint,
                autostart: raw.autostart,
                auth_code_variable: raw.auth.and_then(|a| a.code_variable),
            },
        )?,
        timeout,
        say_delay,
        scenario_timeout,
        load_thresholds,
    })
}

// One arm per step kind: the match is the test-script grammar, read in one place.
#[allow(clippy::too_many_lines)]
fn convert_step(
    file: &str,
    script_path: &Path,
    scenario: &str,
    index: usize,
    raw: Spanned<RawStep>,
) -> Result<Step, InputError> {
    let step_key = format!("scenarios.{scenario}[{index}]");
    let at = |location: &serde_saphyr::Location, key: &str, message: String| {
        let key = if key.is_empty() {
            step_key.clone()
        } else {
            format!("{step_key}.{key}")
        };
        InputError::at(file, location, &key, message)
    };
    let text = |value: Spanned<Option<String>>, key: &str| match value.value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(at(
            &value.referenced,
            key,
            "is not allowed to be empty".into(),
        )),
    };
    let labels = |value: Spanned<Vec<String>>, key: &str| {
        if value.value.is_empty() || value.value.iter().any(String::is_empty) {
            Err(at(
                &value.referenced,
                key,
                "must list at least one label, none of them empty".into(),
            ))
        } else {
            Ok(value.value)
        }
    };
    let location = raw.referenced;
    let mut raw = raw.value;
    let checks = crate::format::platform_steps::RawChecks {
        transfer_to: raw.expect_transfer_to.take(),
        no_transfer: raw.expect_no_transfer.take(),
        participant_data: raw.expect_participant_data.take(),
        flow_outcome: raw.expect_flow_outcome.take(),
        milestone: raw.expect_milestone.take(),
        flow_exit: raw.expect_flow_exit.take(),
        bot_flow: raw.expect_bot_flow.take(),
        disconnect_type: raw.expect_disconnect_type.take(),
    };
    let mut present: Vec<&str> = [
        ("say", raw.say.is_some()),
        (
            "waitForReplyContaining",
            raw.wait_for_reply_containing.is_some(),
        ),
        (
            "waitForReplyMatching",
            raw.wait_for_reply_matching.is_some(),
        ),
        ("waitForQuickReplies", raw.wait_for_quick_replies.is_some()),
        ("waitForButtons", raw.wait_for_buttons.is_some()),
        ("click", raw.click.is_some()),
        ("waitForDisconnect", raw.wait_for_disconnect.is_some()),
        ("sendAttachment", raw.send_attachment.is_some()),
        ("clearConversation", raw.clear_conversation.is_some()),
        ("reconnect", raw.reconnect.is_some()),
        ("startNew", raw.start_new.is_some()),
        ("closeSession", raw.close_session.is_some()),
        ("waitForAgent", raw.wait_for_agent.is_some()),
        ("waitForDatePicker", raw.wait_for_date_picker.is_some()),
        ("waitForAttachment", raw.wait_for_attachment.is_some()),
        ("pickDate", raw.pick_date.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    present.extend(checks.present());
    match present.len() {
        1 => {}
        0 => return Err(at(&location, "", format!("must have one of {ACTIONS}"))),
        _ => {
            return Err(at(
                &location,
                "",
                format!(
                    "must have only one of {ACTIONS} (found {})",
                    present.join(" and ")
                ),
            ));
        }
    }
    let timeout = match raw.timeout {
        Some(t) => {
            Some(parse_timeout(&t.value).map_err(|reason| at(&t.referenced, "timeout", reason))?)
        }
        None => None,
    };
    let action = present[0];
    let from = match raw.from {
        Some(f) => {
            let kind = match f.value.as_str() {
                "bot" => SenderKind::Bot,
                "agent" => SenderKind::Agent,
                _ => {
                    return Err(at(
                        &f.referenced,
                        "from",
                        format!("must be bot or agent (found '{}')", f.value),
                    ));
                }
            };
            let takes_from = [
                "waitForReplyContaining",
                "waitForReplyMatching",
                "waitForQuickReplies",
                "waitForButtons",
                "waitForDatePicker",
                "waitForAttachment",
            ];
            if !takes_from.contains(&action) {
                let why = if action == "waitForAgent" {
                    "waitForAgent already waits for an agent's message"
                } else {
                    "only reply waits take a from"
                };
                return Err(at(
                    &f.referenced,
                    "from",
                    format!("is not allowed beside {action}: {why}"),
                ));
            }
            Some(kind)
        }
        None => None,
    };
    if let Some(check) = checks.convert(&|location, key, message| at(location, key, message)) {
        return Ok(Step::Platform {
            check: check?,
            timeout,
        });
    }
    let wait = |what| {
        Ok(Step::Wait {
            what,
            timeout,
            from,
        })
    };
    if let Some(v) = raw.say {
        return no_timeout(timeout, &location, &at, "say").and(Ok(Step::Say(text(v, "say")?)));
    }
    if let Some(v) = raw.click {
        return no_timeout(timeout, &location, &at, "click")
            .and(Ok(Step::Click(text(v, "click")?)));
    }
    if let Some(v) = raw.pick_date {
        no_timeout(timeout, &location, &at, "pickDate")?;
        let referenced = v.referenced;
        let date_time = text(v, "pickDate")?;
        if !is_date_time(&date_time) {
            return Err(at(
                &referenced,
                "pickDate",
                format!(
                    "'{date_time}' is not an ISO-8601 date-time with an offset, like 2025-01-31T09:00:00Z"
                ),
            ));
        }
        return Ok(Step::PickDate(date_time));
    }
    if let Some(v) = raw.wait_for_agent {
        return match v.value {
            FlagOr::Flag(true) => wait(WaitFor::Agent(None)),
            FlagOr::Value(name) if !name.trim().is_empty() => wait(WaitFor::Agent(Some(name))),
            _ => Err(at(
                &v.referenced,
                "waitForAgent",
                "must be true or an agent's nickname".into(),
            )),
        };
    }
    if let Some(v) = raw.wait_for_date_picker {
        return match v.value {
            FlagOr::Flag(true) => wait(WaitFor::DatePicker(Vec::new())),
            FlagOr::Value(slots) if !slots.is_empty() => {
                if let Some(bad) = slots.iter().find(|s| !is_date_time(s)) {
                    return Err(at(
                        &v.referenced,
                        "waitForDatePicker",
                        format!(
                            "'{bad}' is not an ISO-8601 date-time with an offset, like 2025-01-31T09:00:00Z"
                        ),
                    ));
                }
                wait(WaitFor::DatePicker(slots))
            }
            _ => Err(at(
                &v.referenced,
                "waitForDatePicker",
                "must be true or a list of at least one ISO-8601 date-time".into(),
            )),
        };
    }
    if let Some(v) = raw.wait_for_attachment {
        return match v.value {
            FlagOr::Flag(true) => wait(WaitFor::Attachment {
                filename: None,
                media_type: None,
            }),
            FlagOr::Value(spec) => {
                let filename = match spec.filename {
                    Some(f) if f.value.trim().is_empty() => {
                        return Err(at(
                            &f.referenced,
                            "waitForAttachment.filename",
                            "is not allowed to be empty".into(),
                        ));
                    }
                    other => other.map(|f| f.value),
                };
                let media_type = match spec.media_type {
                    Some(m) => match MEDIA_TYPES
                        .iter()
                        .find(|t| t.eq_ignore_ascii_case(m.value.trim()))
                    {
                        Some(t) => Some(t.to_string()),
                        None => {
                            return Err(at(
                                &m.referenced,
                                "waitForAttachment.mediaType",
                                format!(
                                    "must be one of {} (found '{}')",
                                    MEDIA_TYPES.join(", "),
                                    m.value
                                ),
                            ));
                        }
                    },
                    None => None,
                };
                wait(WaitFor::Attachment {
                    filename,
                    media_type,
                })
            }
            FlagOr::Flag(false) => Err(at(
                &v.referenced,
                "waitForAttachment",
                "must be true or a mapping with filename and/or mediaType".into(),
            )),
        };
    }
    if let Some(v) = raw.wait_for_reply_containing {
        return wait(WaitFor::ReplyContaining(text(v, "waitForReplyContaining")?));
    }
    if let Some(v) = raw.wait_for_reply_matching {
        let referenced = v.referenced;
        let pattern = text(v, "waitForReplyMatching")?;
        let regex = JsRegex::new(&pattern, "im").map_err(|e| {
            at(
                &referenced,
                "waitForReplyMatching",
                format!("is not a valid regular expression: {e}"),
            )
        })?;
        return wait(WaitFor::ReplyMatching(regex));
    }
    if let Some(v) = raw.wait_for_quick_replies {
        return wait(WaitFor::QuickReplies(labels(v, "waitForQuickReplies")?));
    }
    if let Some(v) = raw.wait_for_buttons {
        return wait(WaitFor::Buttons(labels(v, "waitForButtons")?));
    }
    if let Some(v) = raw.send_attachment {
        return convert_attachment(file, script_path, &step_key, v, timeout);
    }
    for (action, value) in [
        (LifecycleAction::ClearConversation, raw.clear_conversation),
        (LifecycleAction::Reconnect, raw.reconnect),
        (LifecycleAction::StartNew, raw.start_new),
        (LifecycleAction::CloseSession, raw.close_session),
    ] {
        match value {
            Some(v) if v.value => return Ok(Step::Lifecycle { action, timeout }),
            Some(v) => return Err(at(&v.referenced, action.key(), "must be true".into())),
            None => {}
        }
    }
    match raw.wait_for_disconnect {
        Some(v) if v.value => wait(WaitFor::Disconnect),
        Some(v) => Err(at(
            &v.referenced,
            "waitForDisconnect",
            "must be true".into(),
        )),
        None => unreachable!("exactly one action key is present"),
    }
}

/// A `sendAttachment` step: the file must exist, be readable and within the tool's size bound
/// now, before any session opens.
fn convert_attachment(
    file: &str,
    script_path: &Path,
    step_key: &str,
    raw: Spanned<RawAttachment>,
    timeout: Option<Duration>,
) -> Result<Step, InputError> {
    let key = format!("{step_key}.sendAttachment");
    let location = raw.referenced;
    let at = |message: String| InputError::at(file, &location, &key, message);
    let raw = raw.value;
    let written = match raw.path {
        Some(path) if !path.trim().is_empty() => path,
        Some(_) => return Err(at("has an empty path".into())),
        None => return Err(at("must have a path".into())),
    };
    if raw.text.as_deref().is_some_and(str::is_empty) {
        return Err(at("has an empty text: leave text out instead".into()));
    }
    if let Some(media_type) = &raw.media_type {
        let valid = media_type
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !media_type.contains(' '));
        if !valid {
            return Err(at(format!(
                "has mediaType '{media_type}', which is not a MIME type such as image/png"
            )));
        }
    }
    let path = {
        let written_path = Path::new(&written);
        if written_path.is_absolute() {
            written_path.to_path_buf()
        } else {
            script_path
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join(written_path)
        }
    };
    let size =
        genesys_web_messaging::check_attachment_file(&path).map_err(|e| at(e.to_string()))?;
    Ok(Step::SendAttachment(AttachmentStep {
        written,
        path,
        text: raw.text,
        media_type: raw.media_type,
        timeout,
        size,
        at: at(String::new()),
    }))
}

/// Checks every `sendAttachment` against upload limits known before the sessions open (e.g.
/// the deployment configuration's `fileUpload`): an error names the step's file, line and
/// column.
pub fn check_attachment_limits(
    scenarios: &[Scenario],
    limits: &genesys_web_messaging::AttachmentLimits,
) -> Result<(), InputError> {
    for step in scenarios.iter().flat_map(|s| s.steps.iter()) {
        if let Step::SendAttachment(a) = step {
            let name = genesys_web_messaging::file_name_of(&a.path);
            limits
                .check(&name, &a.media_type(), a.size)
                .map_err(|e| InputError {
                    message: e.to_string(),
                    ..a.at.clone()
                })?;
        }
    }
    Ok(())
}

/// `timeout` only makes sense beside a wait.
fn no_timeout(
    timeout: Option<Duration>,
    location: &serde_saphyr::Location,
    at: &impl Fn(&serde_saphyr::Location, &str, String) -> InputError,
    action: &str,
) -> Result<(), InputError> {
    match timeout {
        Some(_) => Err(at(
            location,
            "timeout",
            format!("is not allowed beside {action}: only wait steps take a timeout"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<TestScript, InputError> {
        TestScript::parse(Path::new("t.yml"), src)
    }

    #[test]
    fn loads_upstream_format_keeping_yaml_11_scalars_as_text() {
        let script = parse(
            "config:\n  deploymentId: d\n  region: xxxx.pure.cloud\nscenarios:\n  \"B\":\n    - say: Yes\n    - say: 0755\n    - waitForReplyMatching: Thank you[\\.]+\n  \"A\": []\n",
        )
        .unwrap();
        assert_eq!(
            script.config.target.region.as_deref(),
            Some("xxxx.pure.cloud")
        );
        let names: Vec<_> = script.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["B", "A"]);
        assert!(matches!(&script.scenarios[0].steps[0], Step::Say(s) if s == "Yes"));
        assert!(matches!(&script.scenarios[0].steps[1], Step::Say(s) if s == "0755"));
    }

    #[test]
    fn reports_position_and_key() {
        let cases = [
            (
                "scenarios:\n  a:\n    - sayy: hi\n",
                3,
                7,
                "scenarios.a[0].sayy",
            ),
            (
                "scenarios:\n  a:\n    - say: ''\n",
                3,
                12,
                "scenarios.a[0].say",
            ),
            (
                "scenarios:\n  a:\n    - waitForReplyMatching: '('\n",
                3,
                29,
                "scenarios.a[0].waitForReplyMatching",
            ),
            (
                "config:\n  foo: 1\nscenarios:\n  a: []\n",
                2,
                3,
                "config.foo",
            ),
            ("scenarios: {}\n", 1, 12, "scenarios"),
            (
                "scenarios:\n  a:\n    - say:\n",
                3,
                10,
                "scenarios.a[0].say",
            ),
            (
                "config:\n  timeout: abc\nscenarios:\n  a: []\n",
                2,
                12,
                "config.timeout",
            ),
        ];
        for (src, line, column, key) in cases {
            let e = parse(src).unwrap_err();
            assert_eq!(
                (e.line, e.column, e.key.as_deref()),
                (Some(line), Some(column), Some(key)),
                "{src}: {e}"
            );
        }
    }

    #[test]
    fn new_steps_and_per_step_timeouts() {
        let script = parse(
            "scenarios:\n  a:\n    - waitForQuickReplies: [Yes, No]\n      timeout: 2s\n    - click: Yes\n    - waitForButtons: [Book now]\n    - waitForReplyContaining: ok\n      timeout: 1.5\n    - waitForDisconnect: true\n",
        )
        .unwrap();
        let steps = &script.scenarios[0].steps;
        assert!(
            matches!(&steps[0], Step::Wait { what: WaitFor::QuickReplies(l), timeout: Some(t), .. } if l == &["Yes", "No"] && *t == Duration::from_secs(2))
        );
        assert!(matches!(&steps[1], Step::Click(l) if l == "Yes"));
        assert!(matches!(
            &steps[2],
            Step::Wait {
                what: WaitFor::Buttons(_),
                timeout: None,
                ..
            }
        ));
        assert!(
            matches!(&steps[3], Step::Wait { timeout: Some(t), .. } if *t == Duration::from_millis(1500))
        );
        assert!(matches!(
            &steps[4],
            Step::Wait {
                what: WaitFor::Disconnect,
                ..
            }
        ));
    }

    #[test]
    fn step_shape_errors_name_the_step() {
        let cases = [
            (
                "scenarios:\n  a:\n    - say: hi\n      waitForReplyContaining: x\n",
                "scenarios.a[0]",
                "must have only one of",
            ),
            (
                "scenarios:\n  a:\n    - timeout: 2s\n",
                "scenarios.a[0]",
                "must have one of",
            ),
            (
                "scenarios:\n  a:\n    - say: hi\n      timeout: 2s\n",
                "scenarios.a[0].timeout",
                "is not allowed beside say",
            ),
            (
                "scenarios:\n  a:\n    - waitForDisconnect: false\n",
                "scenarios.a[0].waitForDisconnect",
                "must be true",
            ),
            (
                "scenarios:\n  a:\n    - waitForQuickReplies: []\n",
                "scenarios.a[0].waitForQuickReplies",
                "at least one label",
            ),
            (
                "scenarios:\n  a:\n    - click: ''\n",
                "scenarios.a[0].click",
                "empty",
            ),
            (
                "scenarios:\n  a:\n    - waitForReplyContaining: x\n      timeout: 0\n",
                "scenarios.a[0].timeout",
                "greater than 0",
            ),
            (
                "scenarios:\n  a:\n    - waitForReplyContaining: x\n      timeout: 1ns\n",
                "scenarios.a[0].timeout",
                "must be from 1 ms to 1 hour",
            ),
            (
                "scenarios:\n  a:\n    - waitForReplyContaining: x\n      timeout: 2h\n",
                "scenarios.a[0].timeout",
                "out of range",
            ),
        ];
        for (src, key, fragment) in cases {
            let e = parse(src).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.message.contains(fragment), "{e}");
            assert!(e.line.is_some() && e.column.is_some(), "{e}");
        }
    }

    #[test]
    fn absurd_durations_are_refused_with_position_and_key() {
        let cases = [
            ("timeout: 1ns", "config.timeout"),
            ("timeout: 1e300", "config.timeout"),
            ("timeout: -5", "config.timeout"),
            ("timeout: 3601", "config.timeout"),
            ("sayDelay: 100y", "config.sayDelay"),
            ("sayDelay: 61s", "config.sayDelay"),
            ("sayDelay: 99999999999999999999s", "config.sayDelay"),
            ("scenarioTimeout: 0", "config.scenarioTimeout"),
            ("scenarioTimeout: 25h", "config.scenarioTimeout"),
            ("scenarioTimeout: 500ms", "config.scenarioTimeout"),
        ];
        for (line, key) in cases {
            let e = parse(&format!("config:\n  {line}\nscenarios:\n  a: []\n")).unwrap_err();
            assert_eq!(
                (e.line, e.key.as_deref()),
                (Some(2), Some(key)),
                "{line}: {e}"
            );
        }
        let ok = parse("config:\n  timeout: 0.001\n  sayDelay: 60s\n  scenarioTimeout: 24h\nscenarios:\n  a: []\n")
            .unwrap();
        assert_eq!(ok.config.timeout, Some(Duration::from_millis(1)));
        assert_eq!(ok.config.say_delay, Some(Duration::from_secs(60)));
        assert_eq!(
            ok.config.scenario_timeout,
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(parse_timeout("1.0005"), Ok(Duration::from_millis(1001)));
    }

    #[test]
    fn autostart_is_a_boolean_setting() {
        let on = parse("config:\n  autostart: true\nscenarios:\n  a: []\n").unwrap();
        assert_eq!(on.config.target.autostart, Some(true));
        let off = parse("config:\n  autostart: false\nscenarios:\n  a: []\n").unwrap();
        assert_eq!(off.config.target.autostart, Some(false));
        assert_eq!(
            parse("scenarios:\n  a: []\n")
                .unwrap()
                .config
                .target
                .autostart,
            None
        );
        let e = parse("config:\n  autostart: maybe\nscenarios:\n  a: []\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("config.autostart"))
        );
    }

    #[test]
    fn attachment_and_lifecycle_steps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/a.png"), b"1234").unwrap();
        let script = dir.path().join("t.yml");
        let parse_in = |src: &str| TestScript::parse(&script, src);
        let ok = parse_in(
            "config:\n  auth:\n    codeVariable: CODE\nscenarios:\n  a:\n    - sendAttachment: files/a.png\n    - sendAttachment: {path: files/a.png, text: see, mediaType: image/x-icon}\n      timeout: 2s\n    - clearConversation: true\n    - reconnect: true\n    - startNew: true\n    - closeSession: true\n",
        )
        .unwrap();
        assert_eq!(ok.config.target.auth_code_variable.as_deref(), Some("CODE"));
        let steps = &ok.scenarios[0].steps;
        match &steps[0] {
            Step::SendAttachment(a) => {
                assert_eq!(a.path, dir.path().join("files/a.png"));
                assert_eq!((a.size, a.media_type().as_str()), (4, "image/png"));
                assert_eq!(steps[0].to_string(), "sendAttachment: files/a.png");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&steps[1], Step::SendAttachment(a) if a.text.as_deref() == Some("see") && a.media_type() == "image/x-icon" && a.timeout == Some(Duration::from_secs(2)))
        );
        let actions: Vec<String> = steps[2..]
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        assert_eq!(
            actions,
            ["clearConversation", "reconnect", "startNew", "closeSession"]
        );
        let cases = [
            (
                "    - sendAttachment: nope.png\n",
                3,
                23,
                "sendAttachment",
                "cannot read",
            ),
            (
                "    - sendAttachment: files\n",
                3,
                23,
                "sendAttachment",
                "not a regular file",
            ),
            (
                "    - sendAttachment: {text: x}\n",
                3,
                23,
                "sendAttachment",
                "must have a path",
            ),
            (
                "    - sendAttachment: {path: files/a.png, mediaType: png}\n",
                3,
                23,
                "sendAttachment",
                "not a MIME type",
            ),
            (
                "    - sendAttachment: {path: files/a.png, pth: x}\n",
                3,
                43,
                "sendAttachment.pth",
                "unknown",
            ),
            (
                "    - reconnect: false\n",
                3,
                18,
                "reconnect",
                "must be true",
            ),
            (
                "    - startNew: true\n      say: x\n",
                3,
                7,
                "",
                "only one of",
            ),
        ];
        for (step, line, column, key, fragment) in cases {
            let e = parse_in(&format!("scenarios:\n  a:\n{step}")).unwrap_err();
            let key = if key.is_empty() {
                "scenarios.a[0]".to_string()
            } else {
                format!("scenarios.a[0].{key}")
            };
            assert_eq!(
                (e.line, e.column, e.key.as_deref()),
                (Some(line), Some(column), Some(key.as_str())),
                "{step}: {e}"
            );
            assert!(e.message.contains(fragment), "{step}: {e}");
        }
        let limits = genesys_web_messaging::AttachmentLimits {
            modes: vec![genesys_web_messaging::UploadMode {
                file_types: vec!["image/*".into()],
                max_file_size_kb: Some(0),
            }],
            blocked_extensions: Vec::new(),
        };
        let e = check_attachment_limits(&ok.scenarios, &limits).unwrap_err();
        assert_eq!((e.line, e.column), (Some(6), Some(23)), "{e}");
        assert!(e.message.contains("over the limit of 0 bytes"), "{e}");
        let e =
            parse_in("config:\n  auth:\n    codeVariable: ''\nscenarios:\n  a: []\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("config.auth.codeVariable"));
    }

    #[test]
    fn agent_date_picker_and_attachment_steps() {
        let script = parse(
            "scenarios:\n  a:\n    - waitForAgent: true\n    - waitForAgent: Anna\n      timeout: 5s\n    - waitForReplyContaining: hi\n      from: agent\n    - waitForQuickReplies: [Yes]\n      from: bot\n    - waitForDatePicker: true\n    - waitForDatePicker: ['2025-01-31T09:00:00Z', '2025-01-31T10:00:00.000+01:00']\n    - pickDate: 2025-01-31T09:00:00Z\n    - waitForAttachment: true\n    - waitForAttachment: {filename: Invoice.PDF, mediaType: file}\n      from: agent\n",
        )
        .unwrap();
        let steps = &script.scenarios[0].steps;
        assert!(matches!(
            &steps[0],
            Step::Wait {
                what: WaitFor::Agent(None),
                ..
            }
        ));
        assert!(
            matches!(&steps[1], Step::Wait { what: WaitFor::Agent(Some(n)), timeout: Some(_), .. } if n == "Anna")
        );
        assert!(matches!(
            &steps[2],
            Step::Wait {
                from: Some(SenderKind::Agent),
                ..
            }
        ));
        assert!(matches!(
            &steps[3],
            Step::Wait {
                from: Some(SenderKind::Bot),
                ..
            }
        ));
        assert!(
            matches!(&steps[4], Step::Wait { what: WaitFor::DatePicker(s), .. } if s.is_empty())
        );
        assert!(
            matches!(&steps[5], Step::Wait { what: WaitFor::DatePicker(s), .. } if s.len() == 2)
        );
        assert!(matches!(&steps[6], Step::PickDate(d) if d == "2025-01-31T09:00:00Z"));
        assert!(matches!(
            &steps[7],
            Step::Wait {
                what: WaitFor::Attachment {
                    filename: None,
                    media_type: None
                },
                ..
            }
        ));
        assert!(
            matches!(&steps[8], Step::Wait { what: WaitFor::Attachment { filename: Some(f), media_type: Some(m) }, from: Some(SenderKind::Agent), .. } if f == "Invoice.PDF" && m == "File")
        );
        assert_eq!(
            steps[8].to_string(),
            "waitForAttachment: {filename: Invoice.PDF, mediaType: File} (from: agent)"
        );
        assert_eq!(steps[1].to_string(), "waitForAgent: Anna");
    }

    #[test]
    fn new_step_mistakes_are_refused_with_position_and_key() {
        let cases = [
            (
                "    - waitForAgent: false\n",
                "scenarios.a[0].waitForAgent",
                "must be true or",
            ),
            (
                "    - waitForAgent: ''\n",
                "scenarios.a[0].waitForAgent",
                "must be true or",
            ),
            (
                "    - waitForAgent: true\n      from: bot\n",
                "scenarios.a[0].from",
                "waitForAgent already",
            ),
            (
                "    - say: hi\n      from: bot\n",
                "scenarios.a[0].from",
                "is not allowed beside say",
            ),
            (
                "    - waitForDisconnect: true\n      from: agent\n",
                "scenarios.a[0].from",
                "not allowed beside",
            ),
            (
                "    - waitForReplyContaining: x\n      from: human\n",
                "scenarios.a[0].from",
                "must be bot or agent",
            ),
            (
                "    - waitForDatePicker: []\n",
                "scenarios.a[0].waitForDatePicker",
                "at least one",
            ),
            (
                "    - waitForDatePicker: [tomorrow]\n",
                "scenarios.a[0].waitForDatePicker",
                "'tomorrow' is not an ISO-8601",
            ),
            (
                "    - pickDate: 2025-01-31\n",
                "scenarios.a[0].pickDate",
                "is not an ISO-8601",
            ),
            (
                "    - pickDate: 2025-01-31T09:00:00Z\n      timeout: 2s\n",
                "scenarios.a[0].timeout",
                "not allowed beside pickDate",
            ),
            (
                "    - waitForAttachment: false\n",
                "scenarios.a[0].waitForAttachment",
                "must be true or",
            ),
            (
                "    - waitForAttachment: {mediaType: Pdf}\n",
                "scenarios.a[0].waitForAttachment.mediaType",
                "must be one of",
            ),
            (
                "    - waitForAttachment: {filename: ''}\n",
                "scenarios.a[0].waitForAttachment.filename",
                "empty",
            ),
        ];
        for (step, key, fragment) in cases {
            let e = parse(&format!("scenarios:\n  a:\n{step}")).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{step}: {e}");
            assert!(e.message.contains(fragment), "{step}: {e}");
            // The step's own line, or the line of the key at fault.
            assert!(matches!(e.line, Some(3 | 4)), "{step}: {e}");
            assert!(e.column.is_some(), "{step}: {e}");
        }
        // An unknown key inside waitForAttachment is refused where it is.
        let e = parse("scenarios:\n  a:\n    - waitForAttachment:\n        filename: a.pdf\n        size: 3\n")
            .unwrap_err();
        assert_eq!(
            (e.line, e.column, e.key.as_deref()),
            (
                Some(5),
                Some(9),
                Some("scenarios.a[0].waitForAttachment.size")
            ),
            "{e}"
        );
    }

    #[test]
    fn missing_scenarios_and_non_mapping_documents_are_refused() {
        for src in ["config: {}\n", "", "- a\n", "scenarios: [\n"] {
            assert!(parse(src).is_err(), "{src:?}");
        }
    }
}
