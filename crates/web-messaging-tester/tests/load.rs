//! `web-messaging-tester load`, end to end: tens of guests over loopback sockets against the
//! simulator (in-process, or in another process), the JSON report's counts and histograms,
//! thresholds met and breached. What is refused before any load starts (exit 2) is in the
//! data-driven cases (`tests/cases/arch-load-*`).
//! No assertion depends on how fast anything runs.

mod common;
mod load_files;

use common::SimulatorProcess;
use load_files::{
    LoadFiles, PING_BOT as BOT, PING_SCRIPT as SCRIPT, count, exit_code, number, text,
};

#[test]
fn reports_counts_histograms_and_met_thresholds() {
    let files = LoadFiles::new(BOT, SCRIPT);
    let report = files.path("report.json");
    let output = files
        .simulated(&[
            "--users",
            "20",
            "--iterations",
            "2",
            "--threshold",
            "p95<1h",
            "--threshold",
            "error-rate<1%",
            "--report-json",
        ])
        .arg(&report)
        .output()
        .expect("runs");
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 0, "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("PASS p95<1h"), "{stdout}");
    assert!(stdout.contains("Errors: none"), "{stdout}");
    assert!(stdout.contains("Result: PASS"), "{stdout}");

    let json = files.json("report.json");
    // 20 guests, each holding both scenarios once: 3 says and 3 replies per guest.
    assert_eq!(count(&json["conversations"]["completed"]), 40);
    assert_eq!(count(&json["conversations"]["failed"]), 0);
    assert_eq!(count(&json["messages"]["sent"]), 60);
    assert_eq!(count(&json["messages"]["received"]), 60);
    assert_eq!(count(&json["messages"]["total"]), 120);
    assert!(number(&json["messages"]["perSecond"]) > 0.0);
    assert!(number(&json["conversations"]["perSecond"]) > 0.0);
    let all = &json["responseTimeMs"];
    assert_eq!(count(&all["count"]), 60);
    let order: Vec<f64> = ["min", "p50", "p90", "p95", "p99", "max"]
        .iter()
        .map(|k| number(&all[*k]))
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{all}");
    let steps = json["steps"].as_array().expect("steps");
    let counts: Vec<u64> = steps
        .iter()
        .map(|s| s["responseTimeMs"]["count"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [0, 20, 0, 20, 0, 20]);
    assert_eq!(steps[1]["scenario"], "Ping twice");
    assert_eq!(steps[1]["description"], "waitForReplyContaining: pong");
    assert_eq!(count(&json["sessionStartMs"]["count"]), 40);
    assert!(count(&json["peakActiveGuests"]) <= 20);
    assert_eq!(json["errors"]["byKind"], serde_json::json!({}));
    assert_eq!(json["profile"]["users"], 20);
    assert_eq!(json["profile"]["iterations"], 2);
    assert_eq!(json["simulated"], true);
    assert_eq!(json["thresholds"][1]["threshold"], "error-rate<1%");
    assert_eq!(json["thresholds"][1]["passed"], true);
    assert_eq!(json["passed"], true);
}

#[test]
fn a_breached_threshold_exits_1() {
    let files = LoadFiles::new(BOT, SCRIPT);
    let report = files.path("report.json");
    let output = files
        .simulated(&[
            "--users",
            "10",
            "--iterations",
            "1",
            "--threshold",
            "p99<1h",
            "--threshold",
            "errors>=1",
            "--report-json",
        ])
        .arg(&report)
        .output()
        .expect("runs");
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 1, "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("PASS p99<1h"), "{stdout}");
    assert!(stdout.contains("FAIL errors>=1 (actual: 0)"), "{stdout}");
    assert!(stdout.contains("Result: FAIL"), "{stdout}");
    let json = files.json("report.json");
    assert_eq!(json["thresholds"][1]["passed"], false);
    assert_eq!(json["thresholds"][1]["actual"], 0.0);
    assert_eq!(json["passed"], false);
    assert_eq!(count(&json["conversations"]["completed"]), 10);
}

#[test]
fn the_open_model_reports_its_arrivals() {
    let files = LoadFiles::new(BOT, SCRIPT);
    let report = files.path("report.json");
    let output = files
        .simulated(&[
            "--users",
            "20",
            "--arrival-rate",
            "40",
            "--duration",
            "500ms",
            "--report-json",
        ])
        .arg(&report)
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
    let json = files.json("report.json");
    // 40 per second for half a second: arrivals at 0, 25, ..., 475 ms.
    assert_eq!(
        count(&json["conversations"]["started"]) + count(&json["droppedArrivals"]),
        20
    );
    assert_eq!(json["profile"]["model"], "open");
    assert_eq!(json["profile"]["arrivalRate"], 40.0);
}

#[test]
fn loads_a_simulator_in_another_process_over_loopback() {
    let files = LoadFiles::new(BOT, SCRIPT);
    let simulator = SimulatorProcess::start(files.path("bot.yml"));
    let url = simulator.url();
    let report = files.path("report.json");
    let output = files
        .load(&["-id", "load-test", "--endpoint", url, "--say-delay", "0"])
        .args(["--users", "25", "--iterations", "1", "--report-json"])
        .arg(&report)
        .output()
        .expect("runs");
    let stderr = text(&output.stderr);
    assert_eq!(exit_code(&output), 0, "{stderr}");
    assert!(stderr.contains("(loopback)"), "{stderr}");
    let json = files.json("report.json");
    assert_eq!(json["simulated"], false);
    assert_eq!(count(&json["conversations"]["completed"]), 25);
    assert_eq!(count(&json["conversations"]["failed"]), 0);
    // Guests alternate the two scenarios: 13 say twice, 12 once.
    assert_eq!(count(&json["messages"]["sent"]), 13 * 2 + 12);
    assert_eq!(json["target"], url);
}

#[test]
fn thresholds_come_from_the_script_unless_given_on_the_command_line() {
    let script = format!("config:\n  load:\n    thresholds: ['p99<1h', 'errors>=1']\n{SCRIPT}");
    let files = LoadFiles::new(BOT, &script);
    let output = files
        .simulated(&["--users", "5", "--iterations", "1"])
        .output()
        .expect("runs");
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 1, "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("FAIL errors>=1 (actual: 0)"), "{stdout}");
    // A command-line threshold replaces the file's.
    let output = files
        .simulated(&[
            "--users",
            "5",
            "--iterations",
            "1",
            "--threshold",
            "errors<1",
        ])
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stdout));

    let bad = LoadFiles::new(
        BOT,
        &format!("config:\n  load:\n    thresholds: ['p97<1s']\n{SCRIPT}"),
    );
    let output = bad
        .simulated(&["--users", "5", "--iterations", "1"])
        .output()
        .expect("runs");
    assert_eq!(exit_code(&output), 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(":3:18: \"config.load.thresholds[0]\""),
        "{stderr}"
    );
}
