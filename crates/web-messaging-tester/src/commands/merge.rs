//! `report merge <json...>`: combines the JSON reports of a sharded run into one set of
//! reports. Every input is read and checked first (valid JSON, `formatVersion` 1); any problem
//! stops the command with exit 2 before anything is written.

use crate::Outcome;
use crate::reports::{Destinations, RunReport, Summary, Tool, wall_span};
use std::collections::HashSet;

/// Runs `report merge`. Exit 0 when every merged scenario passed, 1 when one failed, 2 for
/// unreadable or incompatible inputs or unwritable outputs.
///
/// Load reports (`load --shard K/N --report-json`) are merged by [`super::merge_load`];
/// `thresholds` (from the command line) then replace the ones they recorded.
pub fn run(
    inputs: &[std::path::PathBuf],
    destinations: &Destinations,
    thresholds: &[crate::format::threshold::Threshold],
) -> Outcome {
    let mut texts = Vec::new();
    for path in inputs {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => texts.push((name, text)),
            Err(e) => return Outcome::Invalid(format!("{name}: cannot read the report: {e}")),
        }
    }
    // Load reports (`load --shard`) merge by their histograms; never with scripted ones.
    let values: Vec<Option<serde_json::Value>> = texts
        .iter()
        .map(|(_, text)| serde_json::from_str(text).ok())
        .collect();
    let is_load =
        |v: &Option<serde_json::Value>| v.as_ref().is_some_and(super::merge_load::is_load_report);
    if values.iter().any(is_load) {
        if let Some(position) = values.iter().position(|v| !is_load(v)) {
            let load = values.iter().position(is_load).unwrap_or_default();
            return Outcome::Invalid(format!(
                "{} is a load report but {} is not: load reports merge only with the other shards of the same load run",
                texts[load].0, texts[position].0
            ));
        }
        if destinations.junit.is_some() || destinations.html.is_some() {
            return Outcome::Invalid(
                "--report-junit and --report-html are for scripted reports; merged load reports are written with --report-json".into(),
            );
        }
        if let Err(message) = destinations.check() {
            return Outcome::Invalid(message);
        }
        let reports = texts
            .into_iter()
            .zip(values)
            .filter_map(|((name, _), value)| value.map(|v| (name, v)))
            .collect();
        return super::merge_load::run(reports, destinations.json.as_deref(), thresholds);
    }
    if !thresholds.is_empty() {
        return Outcome::Invalid(
            "--threshold applies to load reports only; these are scripted reports".into(),
        );
    }
    let mut reports = Vec::new();
    for (name, text) in &texts {
        match RunReport::from_json(text, name) {
            Ok(report) => reports.push(report),
            Err(message) => return Outcome::Invalid(message),
        }
    }
    if let Err(message) = destinations.check() {
        return Outcome::Invalid(message);
    }
    let merged = merge(reports);
    let mut seen = HashSet::new();
    for s in &merged.scenarios {
        if !seen.insert((s.file.as_str(), s.name.as_str())) {
            eprintln!(
                "warning: {} › {} is in more than one report (were the same shard's reports given twice?)",
                crate::secrets::terminal_line(&s.file),
                crate::secrets::terminal_line(&s.name)
            );
        }
    }
    let summary = merged.summary;
    println!(
        "Merged {} reports: {} scenarios, {} passed, {} failed",
        inputs.len(),
        summary.total,
        summary.passed,
        summary.failed
    );
    let outcome = Outcome::of_run(false, summary.failed == 0);
    super::after_writing_reports(outcome, destinations.write(&merged))
}

/// One report of every scenario, in the order of the inputs; its time span covers them all.
pub fn merge(reports: Vec<RunReport>) -> RunReport {
    let (started_at, duration_ms) =
        wall_span(reports.iter().map(|r| (r.started_at, r.duration_ms)))
            .unwrap_or_else(|| (jiff::Timestamp::now(), 0));
    // The shards ran one command: its options are the first report's, without `--shard`.
    let options = reports
        .first()
        .map(|r| without_shard(&r.options))
        .unwrap_or_default();
    let mut targets = Vec::new();
    for target in reports.iter().flat_map(|r| &r.targets) {
        if !targets.contains(target) {
            targets.push(target.clone());
        }
    }
    let scenarios: Vec<_> = reports.into_iter().flat_map(|r| r.scenarios).collect();
    RunReport {
        format_version: crate::reports::FORMAT_VERSION,
        tool: Tool::this(),
        started_at,
        duration_ms,
        shard: None,
        targets,
        options,
        summary: Summary::of(&scenarios),
        scenarios,
    }
}

/// `options` without `--shard K/N` (or `--shard=K/N`).
fn without_shard(options: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for option in options {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if option == "--shard" {
            skip_next = true;
        } else if !option.starts_with("--shard=") {
            kept.push(option.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::json::tests::sample;
    use std::time::Duration;

    #[test]
    fn merges_scenarios_and_spans_the_runs() {
        let a = sample();
        let mut b = sample();
        b.started_at = a.started_at.checked_add(Duration::from_secs(10)).unwrap();
        b.scenarios.truncate(1);
        let merged = merge(vec![a, b]);
        assert_eq!(merged.scenarios.len(), 3);
        assert_eq!(
            merged.summary,
            Summary {
                total: 3,
                passed: 2,
                failed: 1
            }
        );
        assert_eq!(merged.duration_ms, 12_500);
        assert_eq!(merged.targets.len(), 2, "the same targets are listed once");
        assert!(merged.shard.is_none());
    }

    #[test]
    fn the_merged_options_leave_the_shard_out() {
        let options: Vec<String> = ["a.yml", "--shard", "2/3", "-p", "2", "--shard=1/2"]
            .map(String::from)
            .to_vec();
        assert_eq!(without_shard(&options), ["a.yml", "-p", "2"]);
    }
}
