//! `report merge` on load reports: the shards of one profile (`load --shard K/N`) combined
//! exactly. Counts are added, the HDR histograms merged bucket by bucket, and every
//! percentile recomputed from the merged histograms (never averaged); errors by kind are
//! added; the thresholds are checked on the merged numbers and set the exit code.
//!
//! Every input is checked first, and nothing is written if one is wrong (exit 2): each must be
//! a load report of this format version, all of the same tool version, test-script (its
//! hash) and profile, and together exactly shards 1..N of one N.

use crate::Outcome;
use crate::format::threshold::{self, Threshold};
use crate::load::stats::{ErrorSummary, StepSummary};
use crate::load::tally::{self as tally_, EncodedHistograms, StepTally, Tally, decode};
use crate::reports::load::{self as report, MergedShard, ProfileInfo, RunInfo, ShardInfo, Stopped};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

/// Whether a JSON report is a load report (of any format version).
pub fn is_load_report(value: &serde_json::Value) -> bool {
    value.get("kind").and_then(|k| k.as_str()) == Some(report::KIND)
        || value.get("tool").and_then(|t| t.as_str()) == Some(report::TOOL)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counts {
    started: u64,
    completed: u64,
    failed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Messages {
    sent: u64,
    received: u64,
}

#[derive(Debug, Deserialize)]
struct RecordedThreshold {
    threshold: String,
}

/// The parts of a load report that merging reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    version: String,
    script: String,
    target: String,
    simulated: bool,
    started_at: jiff::Timestamp,
    profile: ProfileInfo,
    stopped: Stopped,
    #[serde(default)]
    stopped_detail: Option<String>,
    script_hash: String,
    shard: Option<ShardInfo>,
    #[serde(default)]
    start_at: Option<String>,
    wall_time_ms: f64,
    peak_active_guests: u64,
    dropped_arrivals: u64,
    interrupted_conversations: u64,
    conversations: Counts,
    messages: Messages,
    session_start_errors: BTreeMap<String, u64>,
    steps: Vec<StepSummary>,
    errors: ErrorSummary,
    rate_limited_resent: u64,
    thresholds: Vec<RecordedThreshold>,
    histograms: EncodedHistograms,
}

impl Input {
    fn read(name: &str, value: serde_json::Value) -> Result<Input, String> {
        match value.get("formatVersion").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(report::LOAD_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "{name}: a load report of formatVersion {v}; this version of web-messaging-tester merges formatVersion {}",
                    report::LOAD_FORMAT_VERSION
                ));
            }
            None => {
                return Err(format!(
                    "{name}: a load report of an older format (no formatVersion, no histograms): its percentiles cannot be merged exactly; run the shards again with this version"
                ));
            }
        }
        let input: Input = serde_json::from_value(value)
            .map_err(|e| format!("{name}: not a valid load report: {e}"))?;
        if input.histograms.steps.len() != input.steps.len() {
            return Err(format!(
                "{name}: not a valid load report: {} step histograms for {} steps",
                input.histograms.steps.len(),
                input.steps.len()
            ));
        }
        if input.histograms.encoding != tally_::HISTOGRAM_ENCODING {
            return Err(format!(
                "{name}: histograms in an unknown encoding '{}' (expected {})",
                input.histograms.encoding,
                tally_::HISTOGRAM_ENCODING
            ));
        }
        Ok(input)
    }

    fn tally(&self, name: &str) -> Result<Tally, String> {
        let h = |what: &str, text: &str| decode(text).map_err(|e| format!("{name}: {what}: {e}"));
        let steps = self
            .steps
            .iter()
            .zip(&self.histograms.steps)
            .map(|(s, text)| {
                Ok(StepTally {
                    scenario: s.scenario.clone(),
                    step: s.step,
                    description: s.description.clone(),
                    waits_for_reply: s.waits_for_reply,
                    histogram: h(&format!("histograms.steps[{}]", s.step), text)?,
                    errors: s.errors.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Tally {
            overall: h("histograms.responseTime", &self.histograms.response_time)?,
            session_start: h("histograms.sessionStart", &self.histograms.session_start)?,
            conversation: h("histograms.conversation", &self.histograms.conversation)?,
            steps,
            start_errors: self.session_start_errors.clone(),
            errors: self.errors.by_kind.clone(),
            labels: self.errors.labels.clone(),
            started: self.conversations.started,
            completed: self.conversations.completed,
            failed: self.conversations.failed,
            sent: self.messages.sent,
            received: self.messages.received,
            rate_limited_resent: self.rate_limited_resent,
            dropped_arrivals: self.dropped_arrivals,
            interrupted: self.interrupted_conversations,
            peak_active: self.peak_active_guests,
        })
    }

    fn ended_at(&self) -> jiff::Timestamp {
        let wall = jiff::SignedDuration::from_secs_f64(self.wall_time_ms.max(0.0) / 1000.0);
        self.started_at.checked_add(wall).unwrap_or(self.started_at)
    }
}

/// Refuses shards that are not one profile's: the first disagreement found, naming the files.
fn check_agreement(inputs: &[(String, Input)]) -> Result<(), String> {
    let Some((first_name, first)) = inputs.first() else {
        return Err("no report to merge".into());
    };
    for (name, input) in &inputs[1..] {
        let differs = |what: &str, a: &str, b: &str| {
            Err(format!(
                "{name} and {first_name} are not shards of one run: different {what} ({b} and {a})"
            ))
        };
        if input.version != first.version {
            return differs(
                "web-messaging-tester versions",
                &first.version,
                &input.version,
            );
        }
        if input.script_hash != first.script_hash {
            return differs(
                "test-scripts (by their hash)",
                &format!("{} {}", first.script, first.script_hash),
                &format!("{} {}", input.script, input.script_hash),
            );
        }
        if input.profile != first.profile {
            let show = |p: &ProfileInfo| serde_json::to_string(p).unwrap_or_default();
            return differs("profiles", &show(&first.profile), &show(&input.profile));
        }
    }
    let shards: Vec<(&str, Option<ShardInfo>)> =
        inputs.iter().map(|(n, i)| (n.as_str(), i.shard)).collect();
    if let Some((name, _)) = shards.iter().find(|(_, s)| s.is_none()) {
        return Err(if inputs.len() == 1 {
            format!("{name} is a whole run, not a shard: there is nothing to merge it with")
        } else {
            format!(
                "{name} is a whole run, not a shard (no --shard): merging it with others would count its profile twice"
            )
        });
    }
    let total = shards[0].1.map_or(1, |s| s.total);
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (name, shard) in &shards {
        let Some(shard) = shard else { continue };
        if shard.total != total {
            return Err(format!(
                "{name} is shard {}/{} but {} is shard {}/{total}: the shards must split the profile the same way",
                shard.index,
                shard.total,
                shards[0].0,
                shards[0].1.map_or(1, |s| s.index)
            ));
        }
        if let Some(other) = seen.insert(shard.index, name) {
            return Err(format!(
                "{name} and {other} are both shard {}/{total}",
                shard.index
            ));
        }
    }
    let missing: Vec<String> = (1..=total)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{total}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard{} {} {} missing: the merged numbers would not be the whole profile's",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        ));
    }
    Ok(())
}

/// Runs `report merge` on load reports (already read as JSON, each with its file name).
/// `thresholds` replaces the ones the reports recorded when not empty.
// Read, check, add up, word, write: one sequence.
#[allow(clippy::too_many_lines)]
pub fn run(
    reports: Vec<(String, serde_json::Value)>,
    report_json: Option<&Path>,
    thresholds: &[Threshold],
) -> Outcome {
    let mut inputs = Vec::new();
    for (name, value) in reports {
        match Input::read(&name, value) {
            Ok(input) => inputs.push((name, input)),
            Err(message) => return Outcome::Invalid(message),
        }
    }
    if let Err(message) = check_agreement(&inputs) {
        return Outcome::Invalid(message);
    }
    // Shards in their order, whatever the order of the files.
    inputs.sort_by_key(|(_, i)| i.shard.map_or(0, |s| s.index));
    let mut tally: Option<Tally> = None;
    for (name, input) in &inputs {
        let shard = match input.tally(name) {
            Ok(t) => t,
            Err(message) => return Outcome::Invalid(message),
        };
        match &mut tally {
            None => tally = Some(shard),
            Some(t) => {
                if let Err(message) = t.add(&shard) {
                    return Outcome::Invalid(format!("{name}: {message}"));
                }
            }
        }
    }
    let Some(tally) = tally else {
        return Outcome::Invalid("no report to merge".into());
    };
    let thresholds = if thresholds.is_empty() {
        match recorded_thresholds(&inputs) {
            Ok(t) => t,
            Err(message) => return Outcome::Invalid(message),
        }
    } else {
        thresholds.to_vec()
    };
    let (_, first) = &inputs[0];
    let started_at = inputs
        .iter()
        .map(|(_, i)| i.started_at)
        .min()
        .unwrap_or(first.started_at);
    let ended_at = inputs
        .iter()
        .map(|(_, i)| i.ended_at())
        .max()
        .unwrap_or(started_at);
    let wall_time = Duration::try_from(ended_at.duration_since(started_at)).unwrap_or_default();
    // The merged run stopped as its first shard that did not complete, if any.
    let unfinished = inputs.iter().find(|(_, i)| i.stopped != Stopped::Completed);
    let mut targets: Vec<&str> = Vec::new();
    for (_, input) in &inputs {
        if !targets.contains(&input.target.as_str()) {
            targets.push(&input.target);
        }
    }
    let info = RunInfo {
        script: first.script.clone(),
        target: targets.join(", "),
        simulated: inputs.iter().all(|(_, i)| i.simulated),
        started_at: started_at.to_string(),
        profile: first.profile.clone(),
        interrupted: unfinished.is_some_and(|(_, i)| i.stopped == Stopped::Interrupted),
        stopped: unfinished.map_or(Stopped::Completed, |(_, i)| i.stopped),
        stopped_detail: unfinished.map(|(name, i)| {
            format!(
                "{name} ({}): {}",
                i.shard
                    .map(|s| format!("shard {}/{}", s.index, s.total))
                    .unwrap_or_default(),
                i.stopped_detail.as_deref().unwrap_or(i.stopped.reason())
            )
        }),
        script_hash: first.script_hash.clone(),
        shard: None,
        start_at: first.start_at.clone(),
        started_late_ms: None,
    };
    let summary = tally.summary(wall_time);
    let verdicts: Vec<_> = thresholds.iter().map(|t| t.check(&summary)).collect();
    let passed = info.stopped == Stopped::Completed && verdicts.iter().all(|v| v.passed);
    let merged_from: Vec<MergedShard> = inputs
        .iter()
        .map(|(name, i)| MergedShard {
            file: name.clone(),
            shard: i.shard,
            stopped: i.stopped,
        })
        .collect();
    if let Some(path) = report_json {
        let json = report::to_json(
            &info,
            &summary,
            &verdicts,
            passed,
            &tally.encoded(),
            &merged_from,
        );
        if let Err(e) = crate::reports::write::write_atomically(path, json.as_bytes()) {
            return Outcome::Invalid(format!("cannot write {}: {e}", path.display()));
        }
    }
    let mut stdout = anstream::stdout();
    let _ = writeln!(
        stdout,
        "Merged {} load shards of {} (the peak at once is the sum of the shards' peaks)",
        inputs.len(),
        crate::secrets::terminal_line(&info.script)
    );
    let _ = stdout.write_all(report::render(&info, &summary, &verdicts, passed).as_bytes());
    let _ = stdout.flush();
    if passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

/// The thresholds the shards recorded (each once, in order of appearance).
fn recorded_thresholds(inputs: &[(String, Input)]) -> Result<Vec<Threshold>, String> {
    let mut sources: Vec<&str> = Vec::new();
    for (_, input) in inputs {
        for t in &input.thresholds {
            if !sources.contains(&t.threshold.as_str()) {
                sources.push(&t.threshold);
            }
        }
    }
    sources
        .into_iter()
        .map(|s| threshold::parse(s).map_err(|e| format!("a recorded threshold: {e}")))
        .collect()
}
