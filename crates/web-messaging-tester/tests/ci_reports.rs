//! CI integration of `scripted`, end to end against the simulator: the JUnit, JSON and HTML
//! reports, several files and globs, per-file config, `--shard` and `report merge`.

mod common;

use common::{ECHO_BOT, Sentinel, echo_script, example, read_json, run, run_survey, write};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// JUnit: the structure CI systems read, checked the way an XSD would.

/// The element children of `node` (text between elements is layout only).
fn elements<'a, 'input>(node: roxmltree::Node<'a, 'input>) -> Vec<roxmltree::Node<'a, 'input>> {
    node.children()
        .filter(roxmltree::Node::is_element)
        .collect()
}

/// Checks `xml` against the JUnit XML structure that CI systems (Jenkins, GitLab, GitHub
/// Actions reporters, Azure DevOps) read, as the common `junit.xsd` describes it: element
/// nesting, required attributes, attribute types, and counts that agree with the content.
// The structure checks in the order of the schema they follow.
#[allow(clippy::too_many_lines)]
fn check_junit_structure(xml: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "testsuites" {
        return Err(format!(
            "root is <{}>, not <testsuites>",
            root.tag_name().name()
        ));
    }
    let count =
        |node: roxmltree::Node, name: &str, required: bool| -> Result<Option<u64>, String> {
            match node.attribute(name) {
                Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                    format!(
                        "<{}> {name}=\"{v}\" is not a whole number",
                        node.tag_name().name()
                    )
                }),
                None if required => Err(format!("<{}> has no {name}", node.tag_name().name())),
                None => Ok(None),
            }
        };
    let seconds = |node: roxmltree::Node, required: bool| -> Result<(), String> {
        match node.attribute("time") {
            Some(v) => match v.parse::<f64>() {
                Ok(t) if t >= 0.0 && !v.contains(['e', 'E']) => Ok(()),
                _ => Err(format!(
                    "<{}> time=\"{v}\" is not a decimal number of seconds",
                    node.tag_name().name()
                )),
            },
            None if required => Err(format!("<{}> has no time", node.tag_name().name())),
            None => Ok(()),
        }
    };
    seconds(root, false)?;
    let (mut all_tests, mut all_failures) = (0u64, 0u64);
    for suite in elements(root) {
        if suite.tag_name().name() != "testsuite" {
            return Err(format!(
                "<testsuites> contains <{}>",
                suite.tag_name().name()
            ));
        }
        if suite.attribute("name").is_none_or(str::is_empty) {
            return Err("<testsuite> has no name".into());
        }
        let tests = count(suite, "tests", true)?.unwrap_or_default();
        let failures = count(suite, "failures", false)?.unwrap_or_default();
        count(suite, "errors", false)?;
        count(suite, "skipped", false)?;
        seconds(suite, false)?;
        let (mut cases, mut failed) = (0u64, 0u64);
        for child in elements(suite) {
            match child.tag_name().name() {
                "properties" | "system-out" | "system-err" => {}
                "testcase" => {
                    cases += 1;
                    for attribute in ["name", "classname"] {
                        if child.attribute(attribute).is_none_or(str::is_empty) {
                            return Err(format!("<testcase> has no {attribute}"));
                        }
                    }
                    seconds(child, true)?;
                    let mut outcomes = 0;
                    for inner in elements(child) {
                        match inner.tag_name().name() {
                            "failure" => {
                                outcomes += 1;
                                failed += 1;
                                if inner.attribute("message").is_none_or(str::is_empty) {
                                    return Err("<failure> has no message".into());
                                }
                                if inner.attribute("type").is_none() {
                                    return Err("<failure> has no type".into());
                                }
                            }
                            "error" | "skipped" => outcomes += 1,
                            "system-out" | "system-err" | "properties" => {}
                            other => return Err(format!("<testcase> contains <{other}>")),
                        }
                    }
                    if outcomes > 1 {
                        return Err("<testcase> has more than one outcome".into());
                    }
                }
                other => return Err(format!("<testsuite> contains <{other}>")),
            }
        }
        if cases != tests || failed != failures {
            return Err(format!(
                "<testsuite name=\"{}\"> says tests={tests} failures={failures}, holds {cases} and {failed}",
                suite.attribute("name").unwrap_or_default()
            ));
        }
        all_tests += tests;
        all_failures += failures;
    }
    if count(root, "tests", false)?.is_some_and(|t| t != all_tests)
        || count(root, "failures", false)?.is_some_and(|f| f != all_failures)
    {
        return Err("<testsuites> counts disagree with its suites".into());
    }
    Ok(())
}

#[test]
fn the_structure_check_catches_what_ci_systems_reject() {
    let good = r#"<testsuites tests="1" failures="0"><testsuite name="s" tests="1"><testcase name="a" classname="f" time="0.5"/></testsuite></testsuites>"#;
    assert_eq!(check_junit_structure(good), Ok(()));
    for bad in [
        r#"<testsuite name="s" tests="1"/>"#,
        r#"<testsuites><testsuite name="s" tests="1"><testcase name="a" time="1"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="s" tests="1"><testcase name="a" classname="f"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="s" tests="2"><testcase name="a" classname="f" time="1"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="s" tests="1" failures="1"><testcase name="a" classname="f" time="1"><failure type="x"/></testcase></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="s" tests="1"><testcase name="a" classname="f" time="1s"/></testsuite></testsuites>"#,
    ] {
        assert!(check_junit_structure(bad).is_err(), "{bad}");
    }
}

#[test]
// One report, every detail checked in the order the XML has it.
#[allow(clippy::too_many_lines)]
fn junit_report_has_the_structure_ci_systems_read_and_every_detail() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("reports/junit.xml");
    let result = run_survey(&["--report-junit", &junit.display().to_string()]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    check_junit_structure(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 5);
    let names: Vec<_> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "Accept Survey",
            "Decline Survey",
            "Provide Incorrect Answer to Survey Question",
            "Failing test using Containing",
            "Failing test using Matching"
        ]
    );
    assert_eq!(
        cases[0].attribute("classname"),
        Some(example("pass.yml").as_str())
    );
    assert_eq!(
        cases[4].attribute("classname"),
        Some(example("fail.yml").as_str())
    );
    let failure = cases[3]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    // The message is one line: what was expected, what came; the body has everything.
    assert_eq!(
        failure.attribute("message"),
        Some(
            "expected a reply containing \"This is deliberately wrong\" within 1 s; got 2 other replies, the last \"Can we ask you some questions about your experience today?\""
        )
    );
    let body = failure.text().unwrap();
    assert!(
        body.starts_with("Expected a message within 1 second containing:\n"),
        "{body}"
    );
    assert!(
        body.contains(" This is deliberately wrong\nReceived:"),
        "{body}"
    );
    assert!(
        body.contains("Transcript:\nYou: hi\nThem: Hello! Thanks for getting in touch."),
        "{body}"
    );
    let out = cases[0]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        out.contains("2. PASS waitForReplyContaining: Can we ask you"),
        "{out}"
    );
    assert!(out.contains("response time"), "{out}");
    // Passed scenarios carry no failure; time is in seconds.
    assert!(cases[0].children().all(|n| !n.has_tag_name("failure")));
    let time: f64 = cases[0].attribute("time").unwrap().parse().unwrap();
    assert!(time > 0.0 && time < 10.0, "{time}");
    // Times are wall times: pass.yml's three scenarios ran side by side (-p 5), so its suite
    // took less than their sum, and no suite took longer than the run.
    let seconds =
        |node: roxmltree::Node| -> f64 { node.attribute("time").unwrap().parse().unwrap() };
    let run_time = seconds(doc.root_element());
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let sum: f64 = cases[..3].iter().map(|c| seconds(*c)).sum();
    assert!(
        seconds(suite) < sum,
        "suite {} vs sum {sum}\n{xml}",
        seconds(suite)
    );
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        assert!(seconds(suite) <= run_time + 0.002, "{xml}");
        assert!(suite.attribute("timestamp").is_some(), "{xml}");
    }
    // The terminal report is printed as always, and the temp file is gone.
    assert!(result.stdout.contains("Scenario Test Results"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, ["junit.xml"]);
}

// ---------------------------------------------------------------------------------------------
// JSON and HTML.

#[test]
fn json_report_holds_everything_in_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let result = run_survey(&["--report-json", &json.display().to_string()]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let report = read_json(&json);
    assert_eq!(report["formatVersion"], 1);
    assert_eq!(report["tool"]["name"], "web-messaging-tester");
    assert!(report["startedAt"].as_str().unwrap().ends_with('Z'));
    assert!(report["durationMs"].as_u64().unwrap() > 0);
    assert_eq!(report["shard"], serde_json::Value::Null);
    assert_eq!(
        report["summary"],
        serde_json::json!({"total": 5, "passed": 3, "failed": 2})
    );
    let scenarios = report["scenarios"].as_array().unwrap();
    let accept = &scenarios[0];
    assert_eq!(accept["name"], "Accept Survey");
    assert_eq!(accept["file"], example("pass.yml"));
    assert_eq!(accept["passed"], true);
    assert_eq!(accept["failure"], serde_json::Value::Null);
    assert_eq!(accept["conversation"], serde_json::Value::Null);
    let steps = accept["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0]["description"], "say: hi");
    assert_eq!(steps[0]["responseTimeMs"], serde_json::Value::Null);
    assert_eq!(steps[1]["passed"], true);
    assert!(steps[1]["durationMs"].is_u64());
    assert!(
        steps[1]["responseTimeMs"].as_u64().unwrap() >= 50,
        "replyDelayMs is 50"
    );
    let transcript = accept["transcript"].as_array().unwrap();
    assert_eq!(transcript[0]["speaker"], "guest");
    assert_eq!(transcript[0]["text"], "hi");
    assert_eq!(transcript[1]["speaker"], "bot");
    assert!(
        transcript[1]["time"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    let failed = &scenarios[3];
    assert_eq!(failed["name"], "Failing test using Containing");
    assert_eq!(failed["passed"], false);
    assert_eq!(failed["failure"]["kind"], "wait");
    assert!(failed["failure"]["message"].as_str().unwrap().starts_with(
        "Expected a message within 1 second containing:\n This is deliberately wrong"
    ));
    assert!(failed["failure"]["summary"].as_str().unwrap().starts_with(
        "expected a reply containing \"This is deliberately wrong\" within 1 s; got 2 other replies"
    ));
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["targets"][0]["simulated"], example("bot.yml"));
    assert_eq!(report["options"][0], example("pass.yml"));
    assert_eq!(
        failed["steps"].as_array().unwrap().last().unwrap()["passed"],
        false
    );
}

#[test]
// One run, every report format checked for the same facts.
#[allow(clippy::too_many_lines)]
fn every_report_records_the_target_the_version_and_the_options_but_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "script.yml", &echo_script("S", 1));
    // Nobody listens: the scenario cannot connect, and every report still says what was tried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let secret = "client-secret-that-must-never-show-1234";
    let endpoint = format!("ws://user:{secret}@127.0.0.1:{port}/v1?token={secret}");
    let (junit, json, html) = (
        dir.path().join("junit.xml"),
        dir.path().join("report.json"),
        dir.path().join("html"),
    );
    let result = common::run_in(
        None,
        &[
            "scripted",
            &script,
            "--deployment-id",
            "d-0123",
            "--endpoint",
            &endpoint,
            // Nothing listens there, so not even the deployment configuration can be read.
            "--no-deployment-config",
            "--origin",
            secret,
            "-t",
            "1",
            "--report-junit",
            &junit.display().to_string(),
            "--report-json",
            &json.display().to_string(),
            "--report-html",
            &html.display().to_string(),
        ],
        &[("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)],
    );
    assert!(result.code != 0 && result.code != 2, "{}", result.stderr);
    let public = format!("ws://127.0.0.1:{port}/v1");

    let report = read_json(&json);
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        report["targets"],
        serde_json::json!([{
            "file": script,
            "deploymentId": "d-0123",
            "region": null,
            "endpoint": public,
            "simulated": null
        }])
    );
    let options: Vec<&str> = report["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(
        &options[..3],
        [script.as_str(), "--deployment-id", "d-0123"]
    );
    assert!(options.contains(&"--report-junit"), "{options:?}");
    let failure = &report["scenarios"][0]["failure"];
    assert_eq!(failure["kind"], "connect");
    assert!(
        !failure["summary"].as_str().unwrap().contains('\n'),
        "{failure}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    check_junit_structure(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    for property in [
        format!(
            "<property name=\"tool.version\" value=\"{}\"/>",
            env!("CARGO_PKG_VERSION")
        ),
        "<property name=\"deploymentId\" value=\"d-0123\"/>".to_string(),
        format!("<property name=\"endpoint\" value=\"{public}\"/>"),
        "<property name=\"options\" value=\"".to_string(),
    ] {
        assert!(xml.contains(&property), "{property}\n{xml}");
    }

    let page = std::fs::read_to_string(html.join("index.html")).unwrap();
    assert!(
        page.contains(&format!(
            "<dt>Target</dt><dd>deployment d-0123 · endpoint {public}</dd>"
        )),
        "{page}"
    );
    assert!(page.contains("<dt>Options</dt><dd><code>"), "{page}");
    assert!(page.contains(env!("CARGO_PKG_VERSION")));

    for (name, text) in [
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("junit", xml.clone()),
        ("html", page.clone()),
    ] {
        assert!(!text.contains(secret), "{name} shows the secret:\n{text}");
    }
    // What the reports record about the run never holds the endpoint's credentials or query.
    // (The connection error itself quotes the URL as the client library reports it.)
    let recorded = [
        report["targets"].to_string(),
        report["options"].to_string(),
        xml[xml.find("<properties>").unwrap()..xml.find("</properties>").unwrap()].to_string(),
        page[page.find("<dl class=\"run\">").unwrap()..page.find("</dl>").unwrap()].to_string(),
    ];
    for text in recorded {
        assert!(
            !text.contains("user:") && !text.contains("token="),
            "{text}"
        );
    }
}

#[test]
fn html_report_is_one_self_contained_page_with_every_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let bot = write(
        dir.path(),
        "bot.yml",
        "states:\n  main:\n    - reply: \"<b>bold</b> & <script>alert('bot')</script>\"\n",
    );
    let script = write(
        dir.path(),
        "script.yml",
        "scenarios:\n  \"Tags <i>in</i> names & more\":\n    - say: \"<img src=x onerror=alert(1)>\"\n    - waitForReplyContaining: \"<b>bold</b>\"\n  \"Fails <here>\":\n    - say: hi\n    - waitForReplyContaining: \"<never>\"\n      timeout: 0.3\n",
    );
    let html_dir = dir.path().join("html");
    let result = run(&[
        "scripted",
        &script,
        "--simulate",
        &bot,
        "--report-html",
        &html_dir.display().to_string(),
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let page = std::fs::read_to_string(html_dir.join("index.html")).expect("index.html");
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Nothing from outside: no scripts, stylesheets, images or fonts to fetch.
    for outside in [
        "<script", "<link", "<img", "<iframe", " src=\"", "@import", "url(",
    ] {
        assert!(!page.contains(outside), "{outside} in the page");
    }
    assert!(page.contains("Tags &lt;i&gt;in&lt;/i&gt; names &amp; more"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains(
        "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(&#39;bot&#39;)&lt;/script&gt;"
    ));
    // Summary counts, the failure with its reason, the chat and the steps' times.
    assert!(page.contains("<span class=\"count pass\">1 passed</span>"));
    assert!(page.contains("<span class=\"count fail\">1 failed</span>"));
    assert!(page.contains("class=\"scenario fail\""));
    assert!(page.contains("Failed at step 2: waitForReplyContaining: &lt;never&gt;"));
    assert!(page.contains("Expected a message within 0.3 seconds containing:"));
    assert!(page.contains("class=\"msg guest\"") && page.contains("class=\"msg bot\""));
    assert!(page.contains("<th class=\"num\">Response time</th>"));
    // Folding and the failures-only filter work without scripts.
    assert!(page.contains("<details class=\"scenario fail\""));
    assert!(page.contains("<input type=\"checkbox\" id=\"failures-only\""));
}

#[test]
fn an_unwritable_report_is_refused_before_any_session_opens() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = write(dir.path(), "plain-file", "x");
    let script = write(dir.path(), "script.yml", &echo_script("S", 1));
    for flag in ["--report-junit", "--report-json", "--report-html"] {
        let sentinel = Sentinel::new();
        let target = format!("{blocker}/report.out");
        let result = run(&[
            "scripted",
            &script,
            "--endpoint",
            &sentinel.url(),
            "-id",
            "x",
            flag,
            &target,
        ]);
        assert_eq!(result.code, 2, "{flag}: {}", result.stderr);
        assert!(
            result
                .stderr
                .starts_with(&format!("error: {flag} {target}")),
            "{flag}: {}",
            result.stderr
        );
        assert!(result.stdout.is_empty());
        assert!(!sentinel.was_contacted(), "{flag}: a session was opened");
    }
}

// ---------------------------------------------------------------------------------------------
// Several files, globs and per-file config.

#[test]
fn a_quoted_glob_runs_every_file_and_names_scenarios_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let bot = write(dir.path(), "bot/bot.yml", ECHO_BOT);
    write(dir.path(), "tests/a.yml", &echo_script("A", 2));
    write(dir.path(), "tests/nested/b.yml", &echo_script("B", 1));
    write(dir.path(), "tests/notes.txt", "not a test");
    let pattern = format!("{}/tests/**/*.yml", dir.path().display());
    let result = run(&["scripted", &pattern, "--simulate", &bot, "-p", "3"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.contains(
            "Scenario Test Results\n---------------------\nPASS - a.yml › A 1\nPASS - a.yml › A 2\nPASS - b.yml › B 1\n\n3 passed, 0 failed in "
        ),
        "{}",
        result.stdout
    );
    assert!(result.stdout.contains("\na.yml › A 1 (PASS)\n"));
    let nothing = run(&["scripted", &format!("{}/none/*.yml", dir.path().display())]);
    assert_eq!(nothing.code, 2);
    assert!(
        nothing.stderr.contains("no file matches"),
        "{}",
        nothing.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_has_its_own_config_and_flags_still_win() {
    use web_messaging_simulator::{BotFlow, Simulator};
    let alpha = Simulator::start(
        BotFlow::from_yaml_str(
            "deploymentId: alpha\nstates:\n  main:\n    - reply: from alpha\n",
            "alpha.yml",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let beta = Simulator::start(
        BotFlow::from_yaml_str(
            "deploymentId: beta\nstates:\n  main:\n    - reply: from beta\n",
            "beta.yml",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = |id: &str, url: &str, expected: &str| {
        format!(
            "config:\n  deploymentId: {id}\n  endpoint: {url}\n  timeout: 2\nscenarios:\n  \"{expected}\":\n    - say: hi\n    - waitForReplyContaining: {expected}\n"
        )
    };
    let a = write(
        dir.path(),
        "a.yml",
        &script("alpha", &alpha.url(), "from alpha"),
    );
    let b = write(
        dir.path(),
        "b.yml",
        &script("beta", &beta.url(), "from beta"),
    );
    let (a2, b2) = (a.clone(), b.clone());
    let both = tokio::task::spawn_blocking(move || run(&["scripted", &a2, &b2]))
        .await
        .unwrap();
    assert_eq!(both.code, 0, "{}\n{}", both.stdout, both.stderr);
    assert!(
        both.stdout
            .contains("PASS - a.yml › from alpha\nPASS - b.yml › from beta\n")
    );
    // --deployment-id beats both files: beta's deployment refuses it.
    let overridden =
        tokio::task::spawn_blocking(move || run(&["scripted", &a, &b, "--deployment-id", "alpha"]))
            .await
            .unwrap();
    // Beta's refusal means it could not be tested (3), and nothing failed for a bot reason.
    assert_eq!(overridden.code, 3, "{}", overridden.stdout);
    assert!(
        overridden
            .stdout
            .contains("PASS - a.yml › from alpha\nFAIL - b.yml › from beta\n")
    );
    alpha.shutdown().await;
    beta.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Shards and merging.

fn shard_fixture(dir: &Path) -> (String, Vec<String>, BTreeSet<(String, String)>) {
    let bot = write(dir, "bot.yml", ECHO_BOT);
    let mut files = Vec::new();
    let mut all = BTreeSet::new();
    for (name, count) in [("one.yml", 4), ("two.yml", 3), ("three.yml", 2)] {
        let prefix = name.trim_end_matches(".yml");
        let path = write(dir, name, &echo_script(prefix, count));
        for n in 1..=count {
            all.insert((path.clone(), format!("{prefix} {n}")));
        }
        files.push(path);
    }
    (bot, files, all)
}

fn run_shard(bot: &str, files: &[String], shard: &str, json: &Path) -> common::Run {
    let mut args = vec!["scripted"];
    args.extend(files.iter().map(String::as_str));
    let json = json.display().to_string();
    args.extend([
        "--simulate",
        bot,
        "-p",
        "4",
        "--shard",
        shard,
        "--report-json",
        &json,
    ]);
    run(&args)
}

fn scenarios_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn shards_together_run_every_scenario_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, files, all) = shard_fixture(dir.path());
    for total in [1u32, 2, 3, 4, 12] {
        let mut seen: HashMap<(String, String), u32> = HashMap::new();
        for index in 1..=total {
            let json = dir.path().join(format!("shard-{index}-of-{total}.json"));
            let result = run_shard(&bot, &files, &format!("{index}/{total}"), &json);
            assert_eq!(result.code, 0, "{index}/{total}: {}", result.stderr);
            let report = read_json(&json);
            assert_eq!(
                report["shard"],
                serde_json::json!({"index": index, "total": total})
            );
            let ran = scenarios_of(&report);
            if ran.is_empty() {
                assert!(
                    result.stderr.contains("falls in this shard"),
                    "{}",
                    result.stderr
                );
            }
            for key in ran {
                *seen.entry(key).or_default() += 1;
            }
        }
        let covered: BTreeSet<_> = seen.keys().cloned().collect();
        assert_eq!(covered, all, "N={total}");
        assert!(seen.values().all(|n| *n == 1), "N={total}: {seen:?}");
    }
    // The same shard always gets the same scenarios.
    let first = dir.path().join("again.json");
    run_shard(&bot, &files, "2/3", &first);
    assert_eq!(
        scenarios_of(&read_json(&first)),
        scenarios_of(&read_json(&dir.path().join("shard-2-of-3.json")))
    );
}

#[test]
fn merged_shard_reports_hold_every_scenario_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut files, all) = shard_fixture(dir.path());
    // One failing scenario, so the merge reports a failure.
    let failing = write(
        dir.path(),
        "failing.yml",
        "scenarios:\n  \"Never answered\":\n    - say: hi\n    - waitForReplyContaining: nothing like this\n      timeout: 0.2\n",
    );
    files.push(failing.clone());
    let mut all = all;
    all.insert((failing, "Never answered".into()));
    let mut inputs = Vec::new();
    for index in 1..=2 {
        let json = dir.path().join(format!("part-{index}.json"));
        let result = run_shard(&bot, &files, &format!("{index}/2"), &json);
        assert!(result.code <= 1, "{}", result.stderr);
        inputs.push(json.display().to_string());
    }
    let out = dir.path().join("merged");
    let (junit, json, html) = (
        out.join("junit.xml").display().to_string(),
        out.join("report.json").display().to_string(),
        out.join("html").display().to_string(),
    );
    let merged = run(&[
        "report",
        "merge",
        &inputs[0],
        &inputs[1],
        "--report-junit",
        &junit,
        "--report-json",
        &json,
        "--report-html",
        &html,
    ]);
    assert_eq!(
        merged.code, 1,
        "a scenario failed: {}{}",
        merged.stdout, merged.stderr
    );
    assert!(
        merged.stdout.contains("10 scenarios, 9 passed, 1 failed"),
        "{}",
        merged.stdout
    );
    let report = read_json(Path::new(&json));
    assert_eq!(report["formatVersion"], 1);
    assert_eq!(report["shard"], serde_json::Value::Null);
    assert_eq!(report["summary"]["total"], 10);
    let merged_set: BTreeSet<_> = scenarios_of(&report).into_iter().collect();
    assert_eq!(merged_set, all);
    let xml = std::fs::read_to_string(&junit).unwrap();
    check_junit_structure(&xml).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 10);
    let page = std::fs::read_to_string(out.join("html/index.html")).unwrap();
    assert!(page.contains("<span class=\"count\">10 scenarios</span>"));
}

#[test]
fn merge_refuses_corrupt_or_foreign_reports_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, files, _) = shard_fixture(dir.path());
    let good = dir.path().join("good.json");
    assert_eq!(run_shard(&bot, &files, "1/1", &good).code, 0);
    let good_text = std::fs::read_to_string(&good).unwrap();
    let corrupt = write(
        dir.path(),
        "corrupt.json",
        &good_text[..good_text.len() / 2],
    );
    let future = write(
        dir.path(),
        "future.json",
        &good_text.replacen("\"formatVersion\": 1", "\"formatVersion\": 2", 1),
    );
    let foreign = write(dir.path(), "foreign.json", "{\"testsuites\": []}");
    let out = dir.path().join("out");
    let json = out.join("merged.json").display().to_string();
    let html = out.join("html").display().to_string();
    let good = good.display().to_string();
    for (bad, expected) in [
        (&corrupt, "not valid JSON"),
        (
            &future,
            "has formatVersion 2; this version of web-messaging-tester reads formatVersion 1",
        ),
        (&foreign, "no formatVersion"),
    ] {
        let result = run(&[
            "report",
            "merge",
            &good,
            bad,
            "--report-json",
            &json,
            "--report-html",
            &html,
        ]);
        assert_eq!(result.code, 2, "{bad}");
        assert!(
            result.stderr.starts_with(&format!("error: {bad}: ")),
            "{}",
            result.stderr
        );
        assert!(result.stderr.contains(expected), "{}", result.stderr);
        assert!(!out.exists(), "{bad}: something was written");
    }
}
