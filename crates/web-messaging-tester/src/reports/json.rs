//! Machine-readable reports of a `scripted` or `ai` run (and of `report merge`): JSON, JUnit
//! XML and a self-contained HTML page.
//!
//! All three are made from one model, [`RunReport`], which is also the JSON report itself: so
//! shards' JSON reports can be merged and turned into any report later, with nothing lost.
//! Files are written to a temporary file in the destination's folder and then renamed, so a
//! reader never sees half a report; destinations are checked before any session opens.

use crate::plan::shard::Shard;
use crate::plan::target::Target;
use crate::results::{describe_failure, failure_kind, summarize_failure};
use crate::run::ScenarioResult;
use crate::run::associate::Association;
use crate::secrets::{bound, redact};
use genesys_web_messaging::Speaker;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// The version of the JSON report's shape; raised on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// A whole run: the JSON report's top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// What wrote it.
    pub tool: Tool,
    /// When the run started.
    pub started_at: jiff::Timestamp,
    /// The run's wall time, in milliseconds.
    pub duration_ms: u64,
    /// The shard this run was (`--shard`), or null.
    pub shard: Option<ShardInfo>,
    /// What was tested: the target of each test-script (each file may name its own).
    #[serde(default)]
    pub targets: Vec<TargetReport>,
    /// The command's options: the arguments after the command's name, secrets masked.
    #[serde(default)]
    pub options: Vec<String>,
    /// Counts.
    pub summary: Summary,
    /// Every scenario, in run order.
    pub scenarios: Vec<ScenarioReport>,
}

/// The wall time of runs that each started at a time and took some milliseconds (the
/// scenarios of a suite, the shards of a run): the first start, and the milliseconds from it
/// to the last end, however many ran at once. `None` when there are none.
pub fn wall_span(
    runs: impl IntoIterator<Item = (jiff::Timestamp, u64)>,
) -> Option<(jiff::Timestamp, u64)> {
    let runs: Vec<(jiff::Timestamp, u64)> = runs.into_iter().collect();
    let start = runs.iter().map(|(started_at, _)| *started_at).min()?;
    let end = runs
        .iter()
        .filter_map(|(started_at, ms)| started_at.checked_add(Duration::from_millis(*ms)).ok())
        .max()
        .unwrap_or(start);
    let ms = u64::try_from(end.duration_since(start).as_millis().max(0)).unwrap_or_default();
    Some((start, ms))
}

/// The program that wrote a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// `web-messaging-tester`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Where one test-script's sessions went. Never a secret: only the deployment ID, the region
/// or the endpoint (without credentials, query or fragment), or the simulator's bot flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// The test-script, as given on the command line.
    pub file: String,
    /// The Web Messenger deployment's ID (a placeholder one against the simulator).
    pub deployment_id: String,
    /// The Genesys Cloud region, e.g. `mypurecloud.ie`, or null.
    pub region: Option<String>,
    /// The WebSocket endpoint used instead of the region's, or null.
    pub endpoint: Option<String>,
    /// The bot-flow file, when the sessions went to the built-in simulator (`--simulate`);
    /// else null.
    pub simulated: Option<String>,
}

impl TargetReport {
    /// The report of `target`, the merged settings of `file`; `simulated` is `--simulate`'s
    /// bot flow (then region and endpoint, unused, are left out).
    pub fn new(file: &str, target: &Target, simulated: Option<&Path>) -> TargetReport {
        let simulated = simulated.map(|path| redact(&path.display().to_string()));
        let unless_simulated = |value: &Option<String>| match simulated {
            Some(_) => None,
            None => value.as_deref().map(redact),
        };
        TargetReport {
            file: redact(file),
            deployment_id: redact(&target.deployment_id),
            region: unless_simulated(&target.region),
            endpoint: unless_simulated(&target.endpoint.as_deref().map(public_url)),
            simulated,
        }
    }

    /// One line for people: `deployment <id> · region <region>`, `… · endpoint <url>` or
    /// `… · simulator <bot.yml>`.
    pub fn describe(&self) -> String {
        let mut text = format!("deployment {}", self.deployment_id);
        if let Some(flow) = &self.simulated {
            let _ = write!(text, " · simulator {flow}");
        }
        if let Some(region) = &self.region {
            let _ = write!(text, " · region {region}");
        }
        if let Some(endpoint) = &self.endpoint {
            let _ = write!(text, " · endpoint {endpoint}");
        }
        text
    }
}

/// `url` without what may hold a credential: `user:password@`, the query and the fragment.
fn public_url(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// The command's arguments after its name, recorded once by `main` (see [`record_options`]).
static OPTIONS: OnceLock<Vec<String>> = OnceLock::new();

/// Records the command's options for every report of this run (the first call wins).
pub fn record_options(options: Vec<String>) {
    let _ = OPTIONS.set(options);
}

/// The recorded options, each redacted and bounded, URLs without credentials or query.
fn recorded_options() -> Vec<String> {
    OPTIONS
        .get()
        .map(|options| options.iter().map(|o| bound(&public_option(o))).collect())
        .unwrap_or_default()
}

/// An option with any URL in it (`wss://…` or `--endpoint=wss://…`) made [`public_url`].
fn public_option(option: &str) -> String {
    if !option.contains("://") {
        return option.to_string();
    }
    match option.split_once('=') {
        Some((flag, url)) if flag.starts_with('-') => format!("{flag}={}", public_url(url)),
        _ => public_url(option),
    }
}

/// `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardInfo {
    /// K, from 1.
    pub index: u32,
    /// N.
    pub total: u32,
}

/// Counts of scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Scenarios run.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
}

impl Summary {
    /// Counts `scenarios`.
    pub fn of(scenarios: &[ScenarioReport]) -> Summary {
        let passed = scenarios.iter().filter(|s| s.passed).count();
        Summary {
            total: scenarios.len(),
            passed,
            failed: scenarios.len() - passed,
        }
    }
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    /// The scenario's name, as in its file.
    pub name: String,
    /// The test-script, as given on the command line.
    pub file: String,
    /// Whether every step passed.
    pub passed: bool,
    /// When its session started.
    pub started_at: jiff::Timestamp,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed, or null.
    pub failure: Option<FailureReport>,
    /// Its Genesys Cloud conversation (`--associate-id`), or null.
    pub conversation: Option<ConversationReport>,
    /// Warnings, e.g. a conversation that could not be found.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The steps that ran, in order.
    pub steps: Vec<StepReport>,
    /// What was said, in conversation order.
    pub transcript: Vec<LineReport>,
}

impl ScenarioReport {
    /// The name shown when a run has several files: `survey.yml › Accept Survey`.
    pub fn qualified_name(&self) -> String {
        let file = Path::new(&self.file)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| self.file.clone());
        format!("{file} › {}", self.name)
    }
}

/// Why a scenario failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureReport {
    /// `connect`, `start`, `say`, `wait`, `disconnect`, `scenario-timeout`, `interrupted`,
    /// `internal` or (`ai`) `verdict`.
    pub kind: String,
    /// The whole explanation, as the terminal report prints it.
    pub message: String,
    /// The explanation in one line: what was expected and what came (JUnit's `message`).
    /// Empty in reports written before it existed.
    #[serde(default)]
    pub summary: String,
}

impl FailureReport {
    /// The explanation's first line.
    pub fn first_line(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }

    /// The one-line summary; the first line for reports that have none.
    pub fn headline(&self) -> &str {
        if self.summary.is_empty() {
            self.first_line()
        } else {
            &self.summary
        }
    }
}

/// A scenario's conversation in Genesys Cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationReport {
    /// `conversationId`.
    pub id: String,
    /// Its page in Genesys Cloud.
    pub link: String,
    /// What the cleanup after the scenario did (`disconnected: it was waiting in queue
    /// Billing`, `kept (--keep-conversations): …`, `the conversation had ended`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<String>,
}

/// One step as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The step as written, e.g. `say: hi`.
    pub description: String,
    /// Whether it passed.
    pub passed: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// For a wait that got its reply: the bot's response time in milliseconds, from the
    /// guest's last message (or the session start); else null.
    pub response_time_ms: Option<u64>,
}

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineReport {
    /// `guest`, `bot` or `agent`.
    pub speaker: String,
    /// For an agent, the name Messenger shows, when exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What was said.
    pub text: String,
    /// Quick replies and buttons offered with it.
    #[serde(default)]
    pub options: Vec<String>,
    /// When Genesys created it.
    pub time: jiff::Timestamp,
}

/// What a scenario's report is made of, beside its result.
pub struct ScenarioContext<'a> {
    /// The test-script, as given.
    pub file: &'a str,
    /// The scenario's own name.
    pub name: &'a str,
    /// The wait time limit it ran with (for the failure's wording).
    pub timeout: Duration,
    /// Its association (`--associate-id`).
    pub association: Option<&'a Association>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl ScenarioReport {
    /// The report of one result.
    pub fn new(result: &ScenarioResult, context: &ScenarioContext<'_>) -> ScenarioReport {
        let (conversation, warnings) = match context.association {
            Some(Association::Found { id, link }) => (
                Some(ConversationReport {
                    id: id.clone(),
                    link: link.clone(),
                    cleanup: result.cleanup.as_deref().map(crate::secrets::redact),
                }),
                Vec::new(),
            ),
            Some(Association::NotFound { warning }) => (None, vec![bound(warning)]),
            None => (None, Vec::new()),
        };
        let mut warnings = warnings;
        warnings.extend(result.warnings.iter().map(|w| bound(w)));
        ScenarioReport {
            name: redact(context.name),
            file: redact(context.file),
            passed: result.passed(),
            started_at: result.started_at,
            duration_ms: millis(result.duration),
            failure: result.failure.as_ref().map(|f| FailureReport {
                kind: failure_kind(f).into(),
                message: describe_failure(f, context.timeout),
                summary: summarize_failure(f, context.timeout),
            }),
            conversation,
            warnings,
            steps: result
                .steps
                .iter()
                .map(|s| StepReport {
                    description: bound(&s.description),
                    passed: s.passed,
                    duration_ms: millis(s.duration),
                    response_time_ms: s.response_time.map(millis),
                })
                .collect(),
            transcript: result
                .transcript
                .lines
                .iter()
                .map(|l| LineReport {
                    speaker: match l.speaker {
                        Speaker::Guest => "guest",
                        Speaker::Bot => "bot",
                        Speaker::Agent => "agent",
                    }
                    .into(),
                    name: l.name.as_deref().map(bound),
                    text: bound(&l.text),
                    options: l.options.iter().map(|o| bound(o)).collect(),
                    time: l.time,
                })
                .collect(),
        }
    }
}

impl RunReport {
    /// A run's report.
    pub fn new(
        started_at: jiff::Timestamp,
        duration: Duration,
        shard: Option<Shard>,
        scenarios: Vec<ScenarioReport>,
    ) -> RunReport {
        RunReport {
            format_version: FORMAT_VERSION,
            tool: Tool::this(),
            started_at,
            duration_ms: millis(duration),
            shard: shard.map(|s| ShardInfo {
                index: s.index,
                total: s.total,
            }),
            targets: Vec::new(),
            options: recorded_options(),
            summary: Summary::of(&scenarios),
            scenarios,
        }
    }

    /// The same report, recording what was tested.
    pub fn with_targets(mut self, targets: Vec<TargetReport>) -> RunReport {
        self.targets = targets;
        self
    }

    /// The targets of the scenarios of `file` (one, unless reports of different targets were
    /// merged).
    pub fn targets_of(&self, file: &str) -> Vec<&TargetReport> {
        let mut found: Vec<&TargetReport> = Vec::new();
        for target in self.targets.iter().filter(|t| t.file == file) {
            if !found.contains(&target) {
                found.push(target);
            }
        }
        found
    }

    /// Whether the run had scenarios from more than one file.
    pub fn several_files(&self) -> bool {
        self.scenarios
            .first()
            .is_some_and(|first| self.scenarios.iter().any(|s| s.file != first.file))
    }

    /// The JSON report's text.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }

    /// Reads a JSON report; `name` names it in errors. Another `formatVersion` is refused.
    pub fn from_json(text: &str, name: &str) -> Result<RunReport, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{name}: not valid JSON: {e}"))?;
        match value.get("formatVersion") {
            Some(v) if v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
            Some(v) => {
                return Err(format!(
                    "{name}: has formatVersion {v}; this version of web-messaging-tester reads formatVersion {FORMAT_VERSION}"
                ));
            }
            None => {
                return Err(format!(
                    "{name}: not a web-messaging-tester JSON report (it has no formatVersion)"
                ));
            }
        }
        serde_json::from_value(value)
            .map_err(|e| format!("{name}: not a valid web-messaging-tester JSON report: {e}"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::{Destinations, html, junit};

    pub(crate) fn sample() -> RunReport {
        let at: jiff::Timestamp = "2026-01-02T03:04:05.678Z".parse().unwrap();
        let passed = ScenarioReport {
            name: "Accept <Survey> & \"more\"".into(),
            file: "tests/survey.yml".into(),
            passed: true,
            started_at: at,
            duration_ms: 1500,
            failure: None,
            conversation: Some(ConversationReport {
                id: "c-1".into(),
                link: "https://apps.mypurecloud.ie/directory/#/analytics/interactions/c-1/admin"
                    .into(),
                cleanup: None,
            }),
            warnings: vec![],
            steps: vec![
                StepReport {
                    description: "say: hi".into(),
                    passed: true,
                    duration_ms: 2,
                    response_time_ms: None,
                },
                StepReport {
                    description: "waitForReplyContaining: <b>Hello</b>".into(),
                    passed: true,
                    duration_ms: 51,
                    response_time_ms: Some(50),
                },
            ],
            transcript: vec![
                LineReport {
                    speaker: "guest".into(),
                    text: "hi <script>alert(1)</script>".into(),
                    options: vec![],
                    name: None,
                    time: at,
                },
                LineReport {
                    speaker: "bot".into(),
                    text: "Hello & welcome".into(),
                    options: vec!["Yes".into(), "No".into()],
                    name: None,
                    time: at,
                },
            ],
        };
        let failed = ScenarioReport {
            name: "Decline".into(),
            file: "tests/other.yml".into(),
            passed: false,
            failure: Some(FailureReport {
                kind: "wait".into(),
                message: "Expected a message within 1 second containing:\n x\nDidn't receive any response".into(),
                summary: "expected a reply containing \"x\" within 1 s; got no reply".into(),
            }),
            conversation: None,
            warnings: vec!["WARNING: Could not find Conversation ID for test as your test did not receive a response from your flow.".into()],
            ..passed.clone()
        };
        let target = |file: &str| TargetReport {
            file: file.into(),
            deployment_id: "d-1".into(),
            region: Some("mypurecloud.ie".into()),
            endpoint: None,
            simulated: None,
        };
        RunReport::new(at, Duration::from_millis(2500), None, vec![passed, failed])
            .with_targets(vec![target("tests/survey.yml"), target("tests/other.yml")])
    }

    #[test]
    fn session_warnings_reach_every_report() {
        let result = ScenarioResult {
            warnings: vec![
                "Genesys sent a frame of class BrandNewEvent, which this tool does not use: {\"x\":\"<b>\"}"
                    .into(),
            ],
            ..ScenarioResult::new("s".into(), "2026-01-02T03:04:05Z".parse().unwrap())
        };
        let context = ScenarioContext {
            file: "t.yml",
            name: "s",
            timeout: Duration::from_secs(1),
            association: None,
        };
        let scenario = ScenarioReport::new(&result, &context);
        assert_eq!(scenario.warnings.len(), 1);
        assert!(scenario.warnings[0].contains("BrandNewEvent"));
        let report = RunReport::new(result.started_at, Duration::ZERO, None, vec![scenario]);
        let json = report.to_json();
        assert!(
            json.contains("\"warnings\": [\n        \"Genesys sent a frame of class BrandNewEvent"),
            "{json}"
        );
        let xml = junit::render(&report).unwrap();
        assert!(xml.contains("class BrandNewEvent"), "{xml}");
        let html = html::render(&report);
        assert!(
            html.contains("<div class=\"warning\">Genesys sent a frame of class BrandNewEvent")
                && html.contains("&lt;b&gt;"),
            "{html}"
        );
    }

    #[test]
    fn json_round_trips_and_checks_the_format_version() {
        let report = sample();
        let text = report.to_json();
        assert!(text.starts_with("{\n  \"formatVersion\": 1,"), "{text}");
        assert_eq!(RunReport::from_json(&text, "r.json").unwrap(), report);
        let other = text.replace("\"formatVersion\": 1", "\"formatVersion\": 2");
        let e = RunReport::from_json(&other, "r.json").unwrap_err();
        assert!(e.contains("formatVersion 2"), "{e}");
        assert!(
            RunReport::from_json("{", "r.json")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            RunReport::from_json("{}", "r.json")
                .unwrap_err()
                .contains("no formatVersion")
        );
        assert!(
            RunReport::from_json("{\"formatVersion\": 1}", "r.json")
                .unwrap_err()
                .contains("not a valid")
        );
    }

    #[test]
    fn targets_never_show_credentials() {
        assert_eq!(
            public_url("wss://user:pw@example.com:8443/ws?token=abc#x"),
            "wss://example.com:8443/ws"
        );
        assert_eq!(public_url("ws://127.0.0.1:9000"), "ws://127.0.0.1:9000");
        assert_eq!(
            public_option("--endpoint=wss://u:p@h/x?t=1"),
            "--endpoint=wss://h/x"
        );
        assert_eq!(public_option("-p"), "-p");
        let target = Target {
            deployment_id: "d-1".into(),
            region: Some("mypurecloud.ie".into()),
            endpoint: Some("wss://a:b@host/path?k=v".into()),
            origin: None,
            autostart: None,
        };
        let report = TargetReport::new("t.yml", &target, None);
        assert_eq!(report.endpoint.as_deref(), Some("wss://host/path"));
        assert_eq!(
            report.describe(),
            "deployment d-1 · region mypurecloud.ie · endpoint wss://host/path"
        );
        let simulated = TargetReport::new("t.yml", &target, Some(Path::new("bot.yml")));
        assert_eq!(simulated.describe(), "deployment d-1 · simulator bot.yml");
    }

    #[test]
    fn reports_without_the_newer_fields_still_read() {
        let mut value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("targets");
        object.remove("options");
        for scenario in object["scenarios"].as_array_mut().unwrap() {
            if let Some(failure) = scenario["failure"].as_object_mut() {
                failure.remove("summary");
            }
        }
        let report = RunReport::from_json(&value.to_string(), "old.json").unwrap();
        assert!(report.targets.is_empty() && report.options.is_empty());
        let failure = report.scenarios[1].failure.as_ref().unwrap();
        assert_eq!(
            failure.headline(),
            "Expected a message within 1 second containing:"
        );
    }

    #[test]
    fn destinations_are_checked_and_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let destinations = Destinations {
            junit: Some(dir.path().join("out/junit.xml")),
            json: Some(dir.path().join("report.json")),
            html: Some(dir.path().join("html")),
        };
        destinations.check().unwrap();
        destinations.write(&sample()).unwrap();
        for file in ["out/junit.xml", "report.json", "html/index.html"] {
            assert!(dir.path().join(file).is_file(), "{file}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".wmt-report-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::write(dir.path().join("plain"), "x").unwrap();
        let blocked = Destinations {
            json: Some(dir.path().join("plain/report.json")),
            ..Destinations::default()
        };
        let e = blocked.check().unwrap_err();
        assert!(e.starts_with("--report-json "), "{e}");
        let html_on_file = Destinations {
            html: Some(dir.path().join("plain")),
            ..Destinations::default()
        };
        assert!(html_on_file.check().unwrap_err().contains("is a file"));
    }
}
