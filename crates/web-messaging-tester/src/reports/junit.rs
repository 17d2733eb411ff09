//! The JUnit XML report (`--report-junit`), in the shape CI systems read (GitHub Actions test
//! reporters, GitLab, Jenkins, Azure DevOps):
//!
//! ```text
//! <testsuites name="web-messaging-tester" tests=".." failures=".." errors="0" time="<run's wall time>">
//!   <testsuite name="<test-script>" tests=".." failures=".." errors="0" timestamp=".." time="<wall span>">
//!     <properties><property name="tool.version" value=".."/>, the target, the options</properties>
//!     <testcase name="<scenario>" classname="<test-script>" time="<seconds>">
//!       <failure message="<one-line summary>" type="<kind>"><whole explanation + transcript></failure>
//!       <system-out><steps with their response times, the conversation link></system-out>
//!     </testcase>
//! ```
//!
//! The document is valid against Jenkins' JUnit schema (xunit's `junit-10.xsd`, checked by
//! `tests/junit_xsd.rs`): no attribute outside it (so no `timestamp` on `<testsuites>` or
//! `<testcase>`, no `skipped` on `<testsuites>`), properties only on `<testsuite>`. Every time
//! is a wall time: a suite's is the span from its first scenario's start to its last one's end,
//! not the sum of scenarios that ran in parallel.

use super::{RunReport, ScenarioReport, wall_span};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write;
use std::time::Duration;

fn chrono_time(at: jiff::Timestamp) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let nanos = u32::try_from(at.subsec_nanosecond()).ok()?;
    chrono::DateTime::from_timestamp(at.as_second(), nanos).map(|t| t.fixed_offset())
}

fn seconds(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The whole XML document.
pub fn render(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("web-messaging-tester");
    junit.set_time(seconds(report.duration_ms));
    // One suite per test-script, in the order the files first appear.
    let mut files: Vec<&str> = Vec::new();
    for scenario in &report.scenarios {
        if !files.contains(&scenario.file.as_str()) {
            files.push(&scenario.file);
        }
    }
    for file in files {
        let scenarios: Vec<&ScenarioReport> =
            report.scenarios.iter().filter(|s| s.file == file).collect();
        let mut suite = TestSuite::new(file);
        if let Some(at) = scenarios.first().and_then(|s| chrono_time(s.started_at)) {
            suite.set_timestamp(at);
        }
        suite.set_time(seconds(wall_span_ms(&scenarios)));
        suite.add_properties(properties(report, file));
        suite.add_test_cases(scenarios.into_iter().map(test_case));
        junit.add_test_suite(suite);
    }
    // XML 1.0 has no way to write most control characters, even escaped: bot text with
    // them would make the document unreadable, so they are written visibly instead.
    junit
        .to_string()
        .map(|xml| without_root_skipped(&crate::secrets::xml_safe(&xml)))
}

/// From the first scenario's start to the last one's end, in milliseconds: the suite's wall
/// time, however many of its scenarios ran at once.
fn wall_span_ms(scenarios: &[&ScenarioReport]) -> u64 {
    wall_span(scenarios.iter().map(|s| (s.started_at, s.duration_ms))).map_or(0, |(_, ms)| ms)
}

/// What the run was: the tool and its version, the target of `file`, the command's options.
fn properties(report: &RunReport, file: &str) -> Vec<(String, String)> {
    let mut properties = vec![
        ("tool".to_string(), report.tool.name.clone()),
        ("tool.version".to_string(), report.tool.version.clone()),
    ];
    for target in report.targets_of(file) {
        properties.push(("deploymentId".into(), target.deployment_id.clone()));
        if let Some(region) = &target.region {
            properties.push(("region".into(), region.clone()));
        }
        if let Some(endpoint) = &target.endpoint {
            properties.push(("endpoint".into(), endpoint.clone()));
        }
        if let Some(flow) = &target.simulated {
            properties.push(("simulated".into(), flow.clone()));
        }
    }
    if let Some(shard) = &report.shard {
        properties.push(("shard".into(), format!("{}/{}", shard.index, shard.total)));
    }
    properties.push(("options".into(), report.options.join(" ")));
    properties
}

/// The document without the `skipped` attribute of `<testsuites>`, which quick-junit always
/// writes and Jenkins' schema does not allow (nothing is ever skipped here; the suites keep
/// theirs). Only the root element's start tag is touched.
fn without_root_skipped(xml: &str) -> String {
    let Some(root) = xml.find("<testsuites") else {
        return xml.to_string();
    };
    let tag_end = xml[root..].find('>').map_or(xml.len(), |end| root + end);
    let tag = &xml[root..tag_end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml.to_string();
    };
    let value_start = at + " skipped=\"".len();
    let Some(value_len) = tag[value_start..].find('"') else {
        return xml.to_string();
    };
    let (from, to) = (root + at, root + value_start + value_len + 1);
    format!("{}{}", &xml[..from], &xml[to..])
}

fn test_case(scenario: &ScenarioReport) -> TestCase {
    let status = match &scenario.failure {
        None => TestCaseStatus::success(),
        Some(failure) => {
            // An interrupted scenario did not fail: it was stopped (a JUnit error).
            let kind = if failure.kind == "interrupted" {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let mut body = failure.message.clone();
            if !scenario.transcript.is_empty() {
                body.push_str("\n\nTranscript:");
                for line in &scenario.transcript {
                    let who = if line.speaker == "guest" {
                        "You"
                    } else {
                        "Them"
                    };
                    let options: String = line.options.iter().map(|o| format!(" [{o}]")).collect();
                    let _ = write!(body, "\n{who}: {}{options}", line.text);
                }
            }
            status
                .set_message(failure.headline())
                .set_type(failure.kind.as_str())
                .set_description(body);
            status
        }
    };
    let mut case = TestCase::new(scenario.name.as_str(), status);
    case.set_classname(scenario.file.as_str());
    case.set_time(seconds(scenario.duration_ms));
    case.set_system_out(system_out(scenario));
    case
}

/// The steps with their times, then the conversation and any warning.
fn system_out(scenario: &ScenarioReport) -> String {
    let mut out = String::from("Steps:\n");
    if scenario.steps.is_empty() {
        out.push_str("  (none ran)\n");
    }
    for (n, step) in scenario.steps.iter().enumerate() {
        let verdict = if step.passed { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "  {}. {verdict} {} ({} ms",
            n + 1,
            step.description,
            step.duration_ms
        );
        if let Some(response) = step.response_time_ms {
            let _ = write!(out, ", response time {response} ms");
        }
        out.push_str(")\n");
    }
    if let Some(conversation) = &scenario.conversation {
        let _ = writeln!(
            out,
            "Conversation: {} {}",
            conversation.id, conversation.link
        );
        if let Some(cleanup) = &conversation.cleanup {
            let _ = writeln!(out, "Conversation cleanup: {cleanup}");
        }
    }
    for warning in &scenario.warnings {
        let _ = writeln!(out, "{warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::json::tests::sample;

    #[test]
    fn one_suite_per_file_one_case_per_scenario() {
        let xml = render(&sample()).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("tests"), Some("2"));
        assert_eq!(root.attribute("failures"), Some("1"));
        let suites: Vec<_> = root
            .children()
            .filter(roxmltree::Node::is_element)
            .collect();
        assert_eq!(suites.len(), 2);
        let case = suites[0]
            .children()
            .find(|n| n.has_tag_name("testcase"))
            .unwrap();
        assert_eq!(case.attribute("name"), Some("Accept <Survey> & \"more\""));
        assert_eq!(case.attribute("classname"), Some("tests/survey.yml"));
        assert_eq!(case.attribute("time"), Some("1.500"));
        let out = case
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap();
        assert!(out.contains("response time 50 ms"), "{out}");
        assert!(out.contains("Conversation: c-1 https://apps."), "{out}");
        let failure = suites[1]
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            failure.attribute("message"),
            Some("expected a reply containing \"x\" within 1 s; got no reply")
        );
        let properties: Vec<_> = suites[0]
            .descendants()
            .filter(|n| n.has_tag_name("property"))
            .map(|n| (n.attribute("name").unwrap(), n.attribute("value").unwrap()))
            .collect();
        assert!(properties.contains(&("tool.version", env!("CARGO_PKG_VERSION"))));
        assert!(
            properties.contains(&("deploymentId", "d-1")),
            "{properties:?}"
        );
        assert!(properties.contains(&("region", "mypurecloud.ie")));
        assert!(
            !xml[..xml.find("<testsuite ").unwrap()].contains("skipped"),
            "{xml}"
        );
        assert!(
            !xml.contains("<testcase name=\"Decline\" classname=\"tests/other.yml\" timestamp")
        );
        let body = failure.text().unwrap();
        assert!(body.contains("Didn't receive any response\n\nTranscript:\nYou: hi <script>"));
    }

    #[test]
    fn a_suite_time_is_its_wall_span() {
        let mut report = sample();
        // Two scenarios of one file, run side by side: 1.5 s and 1.5 s starting 0.5 s apart.
        report.scenarios[1].file = report.scenarios[0].file.clone();
        report.scenarios[1].started_at = report.scenarios[0]
            .started_at
            .checked_add(Duration::from_millis(500))
            .unwrap();
        let xml = render(&report).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("time"), Some("2.000"));
        assert!(suite.attribute("timestamp").is_some());
    }

    #[test]
    fn only_the_roots_skipped_attribute_goes() {
        assert_eq!(
            without_root_skipped(
                "<?xml?>\n<testsuites name=\"w\" tests=\"1\" skipped=\"0\" failures=\"0\">\n<testsuite skipped=\"0\">"
            ),
            "<?xml?>\n<testsuites name=\"w\" tests=\"1\" failures=\"0\">\n<testsuite skipped=\"0\">"
        );
    }
}
