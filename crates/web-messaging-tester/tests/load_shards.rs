//! Load beyond one process: `load --shard K/N` processes of the real binary against one
//! simulator process on loopback, merged with `report merge`; the merged report against a
//! single run's counts and against percentiles computed from every raw sample. Also: every
//! load run ends with its report and a stated reason, and what `--shard`, `--start-at` and
//! `report merge` refuse (exit 2).

mod common;
mod load_files;

use common::SimulatorProcess;
use load_files::{LoadFiles, PING_BOT, PING_SCRIPT, count, exit_code, number, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

/// The ping bot, with jitter so that response times spread over several buckets.
fn bot() -> String {
    format!("{PING_BOT}replyJitterMs: 4\n")
}

/// The ping scenarios, with thresholds that every shard and the merge check.
fn script() -> String {
    format!("config:\n  load:\n    thresholds: ['p99<1h', 'errors<1']\n{PING_SCRIPT}")
}

fn merge(args: &[&Path], extra: &[&str]) -> Output {
    common::command()
        .args(["report", "merge", "--color", "never"])
        .args(args)
        .args(extra)
        .output()
        .expect("runs")
}

/// Every `--samples-csv` line: (scenario, step, microseconds).
fn samples(path: &Path) -> Vec<(u64, u64, u64)> {
    let text = std::fs::read_to_string(path).expect("the samples");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("scenario,step,response_time_us"));
    lines
        .map(|line| {
            let mut cells = line.split(',').map(|c| c.parse::<u64>().expect("a number"));
            let mut next = || cells.next().expect("three cells");
            (next(), next(), next())
        })
        .collect()
}

/// The q-quantile of raw samples as HdrHistogram defines it: the smallest sample with at
/// least q of all samples at or below it.
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    // Exact for these counts: n × q is a small non-negative number.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A reported quantile (milliseconds) is the raw one within the histograms' precision: 3
/// significant digits (a bucket is at most 1/1024 of its value wide), and reported in µs.
/// Either side of the bucket: the minimum is reported as the lowest value of its bucket,
/// quantiles and the maximum as the highest.
fn assert_within_precision(what: &str, reported_ms: f64, raw_us: u64) {
    let raw_ms = raw_us as f64 / 1000.0;
    let tolerance = raw_ms / 1000.0 + 0.001;
    assert!(
        (reported_ms - raw_ms).abs() <= tolerance + 1e-9,
        "{what}: reported {reported_ms} ms, raw samples give {raw_ms} ms"
    );
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario: run, shard, merge, compare
fn shards_merged_equal_one_run_and_the_raw_samples() {
    let files = LoadFiles::new(&bot(), &script());
    let simulator = SimulatorProcess::start(files.path("bot.yml"));
    let url = simulator.url();
    let profile = [
        "-id",
        "d",
        "--endpoint",
        url,
        "--say-delay",
        "0",
        "--users",
        "23",
        "--iterations",
        "3",
        "--ramp-up",
        "300ms",
    ];

    // The whole profile in one process.
    let single = files
        .load(&profile)
        .arg("--report-json")
        .arg(files.path("single.json"))
        .output()
        .expect("runs");
    assert_eq!(exit_code(&single), 0, "{}", text(&single.stderr));

    // The same profile as 3 shard processes at once, aligned by --start-at.
    let start_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).to_string();
    let shards: Vec<Child> = (1..=3)
        .map(|k| {
            files
                .load(&profile)
                .args(["--shard", &format!("{k}/3"), "--start-at", &start_at])
                .arg("--report-json")
                .arg(files.path(&format!("shard{k}.json")))
                .arg("--samples-csv")
                .arg(files.path(&format!("shard{k}.csv")))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    for shard in shards {
        let output = shard.wait_with_output().expect("the shard ends");
        assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
    }
    let reports: Vec<PathBuf> = (1..=3)
        .map(|k| files.path(&format!("shard{k}.json")))
        .collect();
    let refs: Vec<&Path> = reports.iter().map(PathBuf::as_path).collect();
    // In any order.
    let merged_path = files.path("merged.json");
    let output = merge(
        &[refs[2], refs[0], refs[1]],
        &["--report-json", merged_path.to_str().unwrap()],
    );
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 0, "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("Merged 3 load shards"), "{stdout}");
    assert!(stdout.contains("PASS errors<1"), "{stdout}");

    let single = files.json("single.json");
    let merged = files.json("merged.json");
    // 23 guests: 8, 8 and 7.
    let users: Vec<u64> = (1..=3)
        .map(|k| count(&files.json(&format!("shard{k}.json"))["shard"]["users"]))
        .collect();
    assert_eq!(users, [8, 8, 7]);
    for key in ["started", "completed", "passed", "failed"] {
        assert_eq!(
            merged["conversations"][key], single["conversations"][key],
            "{key}"
        );
    }
    assert_eq!(count(&merged["conversations"]["completed"]), 23 * 3);
    for key in ["sent", "received", "total"] {
        assert_eq!(merged["messages"][key], single["messages"][key], "{key}");
    }
    assert_eq!(merged["errors"]["byKind"], single["errors"]["byKind"]);
    assert_eq!(
        merged["responseTimeMs"]["count"],
        single["responseTimeMs"]["count"]
    );
    let steps = merged["steps"].as_array().expect("steps");
    for (m, s) in steps.iter().zip(single["steps"].as_array().unwrap()) {
        assert_eq!(m["description"], s["description"]);
        assert_eq!(
            m["responseTimeMs"]["count"], s["responseTimeMs"]["count"],
            "{}",
            m["description"]
        );
    }
    assert_eq!(merged["shard"], Value::Null);
    assert_eq!(merged["mergedFrom"].as_array().map(Vec::len), Some(3));
    assert_eq!(merged["stopped"], "completed");
    assert_eq!(merged["scriptHash"], single["scriptHash"]);

    // The merged percentiles against every raw sample of every shard, sorted: not computed
    // from any histogram.
    let raw: Vec<(u64, u64, u64)> = (1..=3)
        .flat_map(|k| samples(&files.path(&format!("shard{k}.csv"))))
        .collect();
    let mut all: Vec<u64> = raw.iter().map(|s| s.2).collect();
    all.sort_unstable();
    let overall = &merged["responseTimeMs"];
    assert_eq!(count(&overall["count"]), all.len() as u64);
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
        assert_within_precision(key, number(&overall[key]), exact_quantile(&all, q));
    }
    assert_within_precision("max", number(&overall["max"]), *all.last().unwrap());
    assert_within_precision("min", number(&overall["min"]), all[0]);
    // And per step: scenario 1's step 4.
    let mut step: Vec<u64> = raw
        .iter()
        .filter(|s| (s.0, s.1) == (1, 4))
        .map(|s| s.2)
        .collect();
    step.sort_unstable();
    let reported = &steps[3]["responseTimeMs"];
    assert_eq!(count(&reported["count"]), step.len() as u64);
    assert_within_precision(
        "step 4 p95",
        number(&reported["p95"]),
        exact_quantile(&step, 0.95),
    );
    // Never a reply counted as 0 (the histograms clamp 0 to 1 µs).
    assert!(all[0] > 1, "{}", all[0]);

    // A threshold given again on the command line replaces the recorded ones and sets the
    // exit code.
    let output = merge(&refs, &["--threshold", "p50<1us"]);
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 1, "{stdout}");
    assert!(stdout.contains("FAIL p50<1us"), "{stdout}");
}

#[test]
fn a_load_that_never_started_still_writes_its_report_with_the_reason() {
    // The smoke test fails for a bot reason: exit 1 (the bot did not behave), and the report
    // says why, with nothing counted.
    let files = LoadFiles::new(
        &bot(),
        "scenarios:\n  Broken:\n    - say: ping\n    - waitForReplyContaining: never said\n      timeout: 300ms\n",
    );
    let output = files
        .load(&["--simulate"])
        .arg(files.path("bot.yml"))
        .args(["--users", "5", "--iterations", "1", "--report-json"])
        .arg(files.path("r.json"))
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 1, "{}", text(&output.stderr));
    let report = files.json("r.json");
    assert_eq!(report["stopped"], "smoke-test-failed");
    assert!(
        report["stoppedDetail"]
            .as_str()
            .is_some_and(|d| d.contains("scenario \"Broken\"")),
        "{report}"
    );
    assert_eq!(count(&report["conversations"]["completed"]), 0);
    assert_eq!(report["passed"], false);
    assert_eq!(report["kind"], "load");

    // Nothing listens: the deployment configuration cannot be read.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let output = files
        .load(&[
            "-id",
            "d",
            "--endpoint",
            &format!("ws://127.0.0.1:{port}/v1"),
        ])
        .args(["--users", "5", "--iterations", "1", "--report-json"])
        .arg(files.path("r.json"))
        .output()
        .expect("runs");
    // Exit 3: the deployment could not be tested.
    assert_eq!(exit_code(&output), 3, "{}", text(&output.stderr));
    let report = files.json("r.json");
    assert_eq!(report["stopped"], "target-unavailable", "{report}");
    assert!(
        report["stoppedDetail"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[test]
fn bad_shards_and_start_times_are_refused_before_anything_runs() {
    let files = LoadFiles::new(&bot(), &script());
    for (spec, fragment) in [
        ("3/2", "K must be between 1 and 2"),
        ("0/4", "K must be between 1 and 4"),
        ("1/0", "N must be at least 1"),
        ("two/3", "expected K/N"),
    ] {
        let output = files
            .load(&["--simulate"])
            .arg(files.path("bot.yml"))
            .args(["--users", "5", "--iterations", "1", "--shard", spec])
            .output()
            .expect("runs");
        let stderr = text(&output.stderr);
        assert_eq!(exit_code(&output), 2, "{spec}: {stderr}");
        assert!(stderr.contains(fragment), "{spec}: {stderr}");
    }
    let output = files
        .load(&["--simulate"])
        .arg(files.path("bot.yml"))
        .args(["--users", "3", "--iterations", "1", "--shard", "4/4"])
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 2);
    assert!(text(&output.stderr).contains("cannot be split into 4 shards"));

    let an_hour_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600)).to_string();
    for (at, fragment) in [
        (an_hour_ago.as_str(), "more than the ramp-up (10s)"),
        ("2026-13-01T00:00:00Z", "not an RFC 3339 time"),
        ("next tuesday", "not an RFC 3339 time"),
    ] {
        let output = files
            .load(&["--simulate"])
            .arg(files.path("bot.yml"))
            .args(["--users", "5", "--duration", "20s", "--ramp-up", "10s"])
            .args(["--start-at", at, "--report-json"])
            .arg(files.path("never.json"))
            .output()
            .expect("runs");
        let stderr = text(&output.stderr);
        assert_eq!(exit_code(&output), 2, "{at}: {stderr}");
        assert!(stderr.contains(fragment), "{at}: {stderr}");
        assert!(!stderr.contains("Smoke test"), "{stderr}");
        assert!(
            !files.path("never.json").exists(),
            "bad input writes nothing"
        );
    }
}

#[test]
fn merge_refuses_shards_that_are_not_one_runs() {
    let files = LoadFiles::new(&bot(), &script());
    let shard = |k: u32, n: u32, script: &str, name: &str| {
        std::fs::write(files.path("script.yml"), script).unwrap();
        let output = files
            .load(&["--simulate"])
            .arg(files.path("bot.yml"))
            .args(["--users", "4", "--iterations", "1"])
            .args(["--shard", &format!("{k}/{n}"), "--report-json"])
            .arg(files.path(name))
            .output()
            .expect("runs");
        assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
        files.path(name)
    };
    let script = script();
    let one = shard(1, 2, &script, "one.json");
    let two = shard(2, 2, &script, "two.json");
    let other_script = shard(2, 2, &format!("{script}\n# changed\n"), "other.json");
    let of_three = shard(2, 3, &script, "three.json");

    let scripted_report = files.path("scripted.json");
    std::fs::write(files.path("script.yml"), &script).unwrap();
    let output = common::command()
        .arg("scripted")
        .arg(files.path("script.yml"))
        .arg("--simulate")
        .arg(files.path("bot.yml"))
        .arg("--report-json")
        .arg(&scripted_report)
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));

    let mut newer: Value = serde_json::from_str(&std::fs::read_to_string(&two).unwrap()).unwrap();
    newer["formatVersion"] = 99.into();
    let newer_path = files.path("newer.json");
    std::fs::write(&newer_path, newer.to_string()).unwrap();
    let mut old: Value = newer.clone();
    old.as_object_mut().unwrap().remove("formatVersion");
    let old_path = files.path("old.json");
    std::fs::write(&old_path, old.to_string()).unwrap();

    let merged = files.path("merged.json");
    for (inputs, fragment) in [
        (vec![&one, &one], "are both shard 1/2"),
        (vec![&one], "shard 2/2 is missing"),
        (vec![&one, &other_script], "different test-scripts"),
        (vec![&one, &of_three], "must split the profile the same way"),
        (vec![&one, &scripted_report], "is a load report but"),
        (vec![&scripted_report, &two], "is a load report but"),
        (vec![&one, &newer_path], "formatVersion 99"),
        (vec![&one, &old_path], "older format"),
    ] {
        let paths: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
        let output = merge(&paths, &["--report-json", merged.to_str().unwrap()]);
        let stderr = text(&output.stderr);
        assert_eq!(exit_code(&output), 2, "{fragment}: {stderr}");
        assert!(stderr.contains(fragment), "{fragment}: {stderr}");
        assert!(!merged.exists(), "{fragment}: nothing is written");
    }
    let output = merge(&[&one, &two], &["--report-junit", "j.xml"]);
    assert_eq!(exit_code(&output), 2);
    assert!(text(&output.stderr).contains("--report-junit and --report-html"));
    // Scripted reports still merge as before.
    let output = merge(&[&scripted_report], &[]);
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
}
