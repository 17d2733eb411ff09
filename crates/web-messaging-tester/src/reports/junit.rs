//! The JUnit XML report (`--report-junit`), in the shape CI systems read (GitHub Actions test
//! reporters, GitLab, Jenkins, Azure DevOps):
//!
//! ```text
//! <testsuites name="web-messaging-tester" tests=".." failures=".." errors="0" time="..">
//!   <testsuite name="<test-script>" tests=".." failures=".." errors="0" time="..">
//!     <testcase name="<scenario>" classname="<test-script>" time="<seconds>">
//!       <failure message="<first line>" type="<kind>"><whole explanation + transcript></failure>
//!       <system-out><steps with their response times, the conversation link></system-out>
//!     </testcase>
//! ```

use super::{RunReport, ScenarioReport};
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
    if let Some(at) = chrono_time(report.started_at) {
        junit.set_timestamp(at);
    }
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
        suite.set_time(seconds(scenarios.iter().map(|s| s.duration_ms).sum()));
        suite.add_test_cases(scenarios.into_iter().map(test_case));
        junit.add_test_suite(suite);
    }
    // XML 1.0 has no way to write most control characters, even escaped: bot text with
    // them would make the document unreadable, so they are written visibly instead.
    junit
        .to_string()
        .map(|xml| crate::secrets::xml_safe(&xml).into_owned())
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
                .set_message(failure.first_line())
                .set_type(failure.kind.as_str())
                .set_description(body);
            status
        }
    };
    let mut case = TestCase::new(scenario.name.as_str(), status);
    case.set_classname(scenario.file.as_str());
    case.set_time(seconds(scenario.duration_ms));
    if let Some(at) = chrono_time(scenario.started_at) {
        case.set_timestamp(at);
    }
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
    }
    for warning in &scenario.warnings {
        let _ = writeln!(out, "{warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::sample;

    #[test]
    fn one_suite_per_file_one_case_per_scenario() {
        let xml = render(&sample()).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("tests"), Some("2"));
        assert_eq!(root.attribute("failures"), Some("1"));
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
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
            Some("Expected a message within 1 second containing:")
        );
        let body = failure.text().unwrap();
        assert!(body.contains("Didn't receive any response\n\nTranscript:\nYou: hi <script>"));
    }
}
