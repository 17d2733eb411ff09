//! The HTML report (`--report-html <dir>` writes `<dir>/index.html`): one self-contained page,
//! no scripts, fonts or images from anywhere, so it works offline and as a CI artifact. Summary
//! counts and what was tested (target, tool version, options), then each scenario as a
//! `<details>` (failures open, passes folded): its verdict, its failure (highlighted, with the
//! reason), its transcript as a chat and its steps with their response times (each foldable),
//! and its conversation in Genesys Cloud. A "failures only" checkbox hides the passes with CSS
//! alone (`:checked ~`). Every text from a test-script, a bot or a report is HTML-escaped;
//! links are only made of `http(s)` URLs.

use super::{RunReport, ScenarioReport};
use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A link, when `url` is an http(s) URL; else the escaped text alone.
fn link(url: &str, text: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a>",
            escape(url.trim()),
            escape(text)
        )
    } else {
        escape(text)
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// `HH:MM:SS.mmm` in UTC.
fn clock(at: jiff::Timestamp) -> String {
    at.strftime("%H:%M:%S%.3f").to_string()
}

const STYLE: &str = r#"
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --muted: #656d76;
  --line: #d0d7de; --guest: #0969da; --bot: #f6f8fa; --warn-bg: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; }
header { padding: 24px 32px 16px; border-bottom: 1px solid var(--line); background: #f6f8fa; }
h1 { margin: 0 0 8px; font-size: 22px; }
.meta { color: var(--muted); font-size: 13px; }
.counts { display: flex; gap: 12px; margin: 12px 0 4px; flex-wrap: wrap; }
.count { padding: 6px 14px; border-radius: 999px; font-weight: 600; border: 1px solid var(--line); background: #fff; }
.count.pass { color: var(--pass); background: var(--pass-bg); border-color: #aceebb; }
.count.fail { color: var(--fail); background: var(--fail-bg); border-color: #ffcecb; }
.run { margin: 8px 0 0; font-size: 13px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
.run dt { color: var(--muted); }
.run dd { margin: 0; word-break: break-word; }
.run ul { margin: 0; padding-left: 18px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.toggle { margin: 14px 6px 0 32px; vertical-align: middle; }
.toggle-label { font-size: 14px; cursor: pointer; vertical-align: middle; }
#failures-only:checked ~ nav li.pass, #failures-only:checked ~ main .scenario.pass { display: none; }
.no-failures { display: none; color: var(--muted); font-style: italic; }
#failures-only:checked ~ main .no-failures { display: block; }
nav { padding: 12px 32px; border-bottom: 1px solid var(--line); font-size: 14px; }
nav ol { margin: 0; padding-left: 20px; columns: 2; }
nav a { color: inherit; }
main { padding: 8px 32px 32px; max-width: 1100px; }
details.scenario { margin: 24px 0; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
details.scenario.fail { border-color: var(--fail); box-shadow: 0 0 0 1px var(--fail) inset; }
summary { cursor: pointer; list-style: none; }
summary::-webkit-details-marker { display: none; }
summary::before { content: "\25B8"; display: inline-block; width: 1em; color: var(--muted); }
details[open] > summary::before { content: "\25BE"; }
.scenario > summary { display: flex; align-items: center; padding: 12px 16px; }
.scenario > summary > h2 { margin: 0; font-size: 17px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.scenario.pass > summary { background: var(--pass-bg); }
.scenario.fail > summary { background: var(--fail-bg); }
.took { font-weight: 400; color: var(--muted); font-size: 13px; }
.badge { font-size: 12px; font-weight: 700; color: #fff; padding: 2px 8px; border-radius: 4px; }
.pass .badge { background: var(--pass); }
.fail .badge { background: var(--fail); }
.file { font-weight: 400; color: var(--muted); font-size: 13px; }
.body { padding: 12px 16px 16px; }
.failure { border-left: 4px solid var(--fail); background: var(--fail-bg); padding: 8px 12px; margin: 4px 0 12px; border-radius: 4px; }
.failure strong { color: var(--fail); }
.warning { border-left: 4px solid #bf8700; background: var(--warn-bg); padding: 8px 12px; margin: 8px 0; border-radius: 4px; }
pre { margin: 6px 0 0; white-space: pre-wrap; word-break: break-word; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.chat { display: flex; flex-direction: column; gap: 6px; padding: 12px; background: #fbfcfd; border: 1px solid var(--line); border-radius: 8px; margin: 8px 0 12px; }
.msg { display: flex; flex-direction: column; max-width: 75%; }
.msg.guest { align-self: flex-end; align-items: flex-end; }
.msg.bot { align-self: flex-start; align-items: flex-start; }
.bubble { padding: 8px 12px; border-radius: 16px; white-space: pre-wrap; word-break: break-word; }
.guest .bubble { background: var(--guest); color: #fff; border-bottom-right-radius: 4px; }
.bot .bubble { background: var(--bot); border: 1px solid var(--line); border-bottom-left-radius: 4px; }
.who { font-size: 11px; color: var(--muted); margin: 0 6px 2px; }
.options { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 4px; }
.option { font-size: 12px; border: 1px solid var(--guest); color: var(--guest); border-radius: 999px; padding: 1px 10px; }
.empty { color: var(--muted); font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.fail td { background: var(--fail-bg); }
.step-pass { color: var(--pass); font-weight: 600; }
.step-fail { color: var(--fail); font-weight: 600; }
details.part > summary { font-size: 14px; font-weight: 600; margin: 14px 0 4px; }
"#;

/// The whole page.
pub fn render(report: &RunReport) -> String {
    let several = report.several_files();
    let title = |s: &ScenarioReport| {
        if several {
            s.qualified_name()
        } else {
            s.name.clone()
        }
    };
    let summary = &report.summary;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} – web-messaging-tester</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        if summary.failed == 0 {
            format!("{} passed", summary.passed)
        } else {
            format!("{} failed, {} passed", summary.failed, summary.passed)
        }
    );
    let _ = write!(
        page,
        "<header>\n<h1>Scenario Test Results</h1>\n<div class=\"counts\"><span class=\"count\">{} scenarios</span><span class=\"count pass\">{} passed</span><span class=\"count fail\">{} failed</span></div>\n<div class=\"meta\">Started {} UTC · took {}",
        summary.total,
        summary.passed,
        summary.failed,
        escape(&report.started_at.strftime("%Y-%m-%d %H:%M:%S").to_string()),
        seconds(report.duration_ms),
    );
    if let Some(shard) = &report.shard {
        let _ = write!(page, " · shard {}/{}", shard.index, shard.total);
    }
    let _ = writeln!(
        page,
        " · {} {}</div>",
        escape(&report.tool.name),
        escape(&report.tool.version)
    );
    run_details(&mut page, report);
    page.push_str("</header>\n");
    // The checkbox comes before the list and the scenarios: CSS hides the passes when it is
    // checked (`:checked ~`), no script needed.
    page.push_str("<input type=\"checkbox\" id=\"failures-only\" class=\"toggle\"><label for=\"failures-only\" class=\"toggle-label\">Show failures only</label>\n");
    if !report.scenarios.is_empty() {
        page.push_str("<nav><ol>\n");
        for (n, s) in report.scenarios.iter().enumerate() {
            let verdict = if s.passed { "PASS" } else { "FAIL" };
            let class = if s.passed { "step-pass" } else { "step-fail" };
            let _ = writeln!(
                page,
                "<li class=\"{}\"><span class=\"{class}\">{verdict}</span> <a href=\"#scenario-{}\">{}</a></li>",
                if s.passed { "pass" } else { "fail" },
                n + 1,
                escape(&title(s))
            );
        }
        page.push_str("</ol></nav>\n");
    }
    page.push_str("<main>\n");
    if report.scenarios.is_empty() {
        page.push_str("<p class=\"empty\">No scenarios were run.</p>\n");
    } else if summary.failed == 0 {
        page.push_str("<p class=\"no-failures\">No scenario failed.</p>\n");
    }
    // Failures first: they are what a reader comes for.
    let numbered: Vec<_> = report.scenarios.iter().enumerate().collect();
    let (passed, failed): (Vec<_>, Vec<_>) = numbered.into_iter().partition(|(_, s)| s.passed);
    for (n, scenario) in failed.into_iter().chain(passed) {
        scenario_section(&mut page, n + 1, scenario, &title(scenario));
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// What was tested and how: the target (one line, or one per file when they differ) and the
/// command's options.
fn run_details(page: &mut String, report: &RunReport) {
    if report.targets.is_empty() && report.options.is_empty() {
        return;
    }
    page.push_str("<dl class=\"run\">\n");
    let mut lines: Vec<String> = Vec::new();
    for target in &report.targets {
        let line = target.describe();
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    match lines.as_slice() {
        [] => {}
        [only] => {
            let _ = writeln!(page, "<dt>Target</dt><dd>{}</dd>", escape(only));
        }
        _ => {
            page.push_str("<dt>Targets</dt><dd><ul>");
            for target in &report.targets {
                let _ = write!(
                    page,
                    "<li>{}: {}</li>",
                    escape(&target.file),
                    escape(&target.describe())
                );
            }
            page.push_str("</ul></dd>\n");
        }
    }
    let _ = writeln!(
        page,
        "<dt>Options</dt><dd><code>{}</code></dd>",
        escape(&report.options.join(" "))
    );
    page.push_str("</dl>\n");
}

// The section's markup top to bottom, as the page shows it.
#[allow(clippy::too_many_lines)]
fn scenario_section(page: &mut String, number: usize, s: &ScenarioReport, title: &str) {
    let interrupted = s.failure.as_ref().is_some_and(|f| f.kind == "interrupted");
    let (class, verdict) = if s.passed {
        ("pass", "PASS")
    } else if interrupted {
        ("fail", "INTERRUPTED")
    } else {
        ("fail", "FAIL")
    };
    // Failures are open, passes folded; either opens and folds with a click.
    let open = if s.passed { "" } else { " open" };
    let _ = write!(
        page,
        "<details class=\"scenario {class}\" id=\"scenario-{number}\"{open}>\n<summary><h2><span class=\"badge\">{verdict}</span> {} <span class=\"file\">{}</span> <span class=\"took\">{}</span></h2></summary>\n<div class=\"body\">\n<div class=\"meta\">Started {} UTC · took {}",
        escape(title),
        escape(&s.file),
        seconds(s.duration_ms),
        escape(&clock(s.started_at)),
        seconds(s.duration_ms)
    );
    if let Some(conversation) = &s.conversation {
        let _ = write!(
            page,
            " · conversation {}",
            link(&conversation.link, &conversation.id)
        );
        if let Some(cleanup) = &conversation.cleanup {
            let _ = write!(page, " · cleanup: {}", escape(cleanup));
        }
    }
    page.push_str("</div>\n");
    if let Some(failure) = &s.failure {
        let at = match s.steps.iter().position(|step| !step.passed) {
            Some(n) => format!(
                "Failed at step {}: {}",
                n + 1,
                escape(&s.steps[n].description)
            ),
            None => format!("Failed ({})", escape(&failure.kind)),
        };
        let _ = writeln!(
            page,
            "<div class=\"failure\"><strong>{at}</strong><pre>{}</pre></div>",
            escape(&failure.message)
        );
    }
    for warning in &s.warnings {
        let _ = writeln!(page, "<div class=\"warning\">{}</div>", escape(warning));
    }
    let _ = write!(
        page,
        "<details class=\"part\" open><summary>Transcript ({} {})</summary>\n<div class=\"chat\">\n",
        s.transcript.len(),
        if s.transcript.len() == 1 {
            "message"
        } else {
            "messages"
        }
    );
    if s.transcript.is_empty() {
        page.push_str("<div class=\"empty\">Nothing was said.</div>\n");
    }
    for line in &s.transcript {
        let (side, who) = match (line.speaker.as_str(), &line.name) {
            ("guest", _) => ("guest", "You".to_string()),
            ("agent", Some(name)) => ("bot agent", format!("Agent ({name})")),
            ("agent", None) => ("bot agent", "Agent".to_string()),
            _ => ("bot", "Them".to_string()),
        };
        let _ = write!(
            page,
            "<div class=\"msg {side}\"><div class=\"who\">{} · {}</div><div class=\"bubble\">{}</div>",
            escape(&who),
            escape(&clock(line.time)),
            escape(&line.text)
        );
        if !line.options.is_empty() {
            page.push_str("<div class=\"options\">");
            for option in &line.options {
                let _ = write!(page, "<span class=\"option\">{}</span>", escape(option));
            }
            page.push_str("</div>");
        }
        page.push_str("</div>\n");
    }
    let _ = write!(
        page,
        "</div>\n</details>\n<details class=\"part\" open><summary>Steps ({})</summary>\n",
        s.steps.len()
    );
    if s.steps.is_empty() {
        page.push_str("<p class=\"empty\">No step ran.</p>\n");
    } else {
        page.push_str("<table>\n<tr><th>#</th><th>Step</th><th>Result</th><th class=\"num\">Step time</th><th class=\"num\">Response time</th></tr>\n");
        for (n, step) in s.steps.iter().enumerate() {
            let (row, cell, verdict) = if step.passed {
                ("pass", "step-pass", "PASS")
            } else {
                ("fail", "step-fail", "FAIL")
            };
            let response = step
                .response_time_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                page,
                "<tr class=\"{row}\"><td class=\"num\">{}</td><td>{}</td><td class=\"{cell}\">{verdict}</td><td class=\"num\">{} ms</td><td class=\"num\">{}</td></tr>",
                n + 1,
                escape(&step.description),
                step.duration_ms,
                response
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</details>\n</div>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::json::tests::sample;

    #[test]
    fn escapes_every_user_text_and_links_only_http() {
        let page = render(&sample());
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("hi &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("Accept &lt;Survey&gt; &amp; &quot;more&quot;"));
        assert!(page.contains("waitForReplyContaining: &lt;b&gt;Hello&lt;/b&gt;"));
        assert!(page.contains(
            "<a href=\"https://apps.mypurecloud.ie/directory/#/analytics/interactions/c-1/admin\""
        ));
        assert!(page.contains("<span class=\"count fail\">1 failed</span>"));
        assert!(
            page.contains("survey.yml › Accept"),
            "several files are named"
        );
        assert!(
            !page.contains("src=\"http") && !page.contains("<link"),
            "self-contained"
        );
        assert_eq!(link("javascript:alert(1)", "x"), "x");
        assert!(page.contains("<dt>Target</dt><dd>deployment d-1 · region mypurecloud.ie</dd>"));
    }

    #[test]
    fn folds_and_filters_without_scripts() {
        let page = render(&sample());
        assert!(!page.contains("<script"), "no script at all");
        // The failure is open, the pass folded; each transcript folds on its own.
        assert!(page.contains("<details class=\"scenario fail\" id=\"scenario-2\" open>"));
        assert!(page.contains("<details class=\"scenario pass\" id=\"scenario-1\">"));
        assert!(
            page.contains(
                "<details class=\"part\" open><summary>Transcript (2 messages)</summary>"
            )
        );
        // The toggle is a checkbox before the list and the scenarios, read by CSS alone.
        let toggle = page
            .find("<input type=\"checkbox\" id=\"failures-only\"")
            .unwrap();
        assert!(toggle < page.find("<nav>").unwrap() && toggle < page.find("<main>").unwrap());
        assert!(STYLE.contains("#failures-only:checked ~ main .scenario.pass"));
        assert!(page.contains("<li class=\"pass\">"));
        // Balanced: every details closes.
        assert_eq!(
            page.matches("<details").count(),
            page.matches("</details>").count()
        );
        // Offline: nothing loaded from anywhere.
        for external in ["src=", "<link", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
    }
}
