//! `load`: replay a test-script's scenarios as many concurrent guests, measure the bot's
//! response times, conversations and messages per second and the errors by kind, and check
//! them against thresholds.
//!
//! The steps, in order, each refusing bad input before anything is loaded (exit 2): the
//! script, the profile, the target and its safety (a real deployment needs consent), the
//! open-files limit, then one guest through every scenario as a smoke test. Only then the load,
//! with live progress on stderr, the table on stdout and `--report-json`.

use crate::Outcome;
use crate::commands::after_writing_reports;
use crate::format::script::TestScript;
use crate::load::engine::{self, LoadPlan};
use crate::load::profile::{Model, Profile, ProfileInput};
use crate::load::safety;
use crate::load::stats::Recorder;
use crate::load::{limits, raise_open_files_limit};
use crate::plan::guest::GuestSettings;
use crate::plan::target::{Target, TargetPlan};
use crate::reports::progress::live_display_possible;
use crate::reports::{load as report, load_progress as progress};
use crate::run::{Progress as ScenarioProgress, RunSettings, ScenarioResult, run_scenarios};
use genesys_web_messaging::SessionLog;
use genesys_web_messaging::protocol::region_endpoint;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Genesys' limit of `onMessage` per second per session, which the library keeps to.
const MESSAGES_PER_SECOND_PER_SESSION: f64 = 2.0;

/// What `load` runs, and how.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// The test-script whose scenarios the guests replay, in turn.
    pub file: std::path::PathBuf,
    /// Where the guest sessions go.
    pub session: crate::plan::target::SessionSettings,
    /// Who starts when, and when the run ends (checked by [`Profile::new`]).
    pub profile: ProfileInput,
    /// Pass/fail thresholds (over the file's).
    pub thresholds: Vec<crate::format::threshold::Threshold>,
    /// Also write the results as JSON to this file.
    pub report_json: Option<std::path::PathBuf>,
    /// Allow a load run against a real deployment.
    pub allow_real_deployment: bool,
    /// How long each wait may take (over the file's).
    pub timeout: Option<Duration>,
    /// Quiet time before each `say` (over the file's).
    pub say_delay: Option<Duration>,
    /// Log every frame on stderr.
    pub verbose: bool,
}

/// The expect… steps poll the Platform API: `scripted` only, never once per simulated user.
fn refuse_platform_steps(script: &TestScript, file: &std::path::Path) -> Result<(), String> {
    if script.has_platform_steps() {
        return Err(format!(
            "{}: the expect… steps check the Platform API and run in `scripted` only; `load` would poll it for every simulated user. Remove them from the test-script given to `load`",
            file.display()
        ));
    }
    Ok(())
}

/// Runs `load`.
pub async fn run(args: LoadSettings, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let script = match TestScript::load(&args.file) {
        Ok(script) => script,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    if let Err(message) = refuse_platform_steps(&script, &args.file) {
        return Outcome::Invalid(message);
    }
    let profile = match Profile::new(&args.profile) {
        Ok(profile) => profile,
        Err(message) => return Outcome::Invalid(message),
    };
    if let Some(path) = &args.report_json
        && let Err(message) = check_writable(path)
    {
        return Outcome::Invalid(message);
    }
    let plan = match TargetPlan::prepare(&args.session, &(&script.config).into()) {
        Ok(plan) => plan,
        Err(message) => return Outcome::Invalid(message),
    };
    let simulated = plan.simulated();
    let real_url = (!simulated).then(|| target_url(&plan.target));
    if let Err(message) = check_safety(
        real_url.as_deref(),
        args.allow_real_deployment,
        profile.users,
        simulated,
    ) {
        return Outcome::Invalid(message);
    }
    let timeout = plan.timeout(args.timeout, script.config.timeout);
    let say_delay = plan.say_delay(args.say_delay, script.config.say_delay);
    // Command-line thresholds replace the file's, as every command-line value does.
    let thresholds = if args.thresholds.is_empty() {
        script.config.load_thresholds.clone()
    } else {
        args.thresholds.clone()
    };

    // All input is valid: start the simulator (for --simulate), announce, smoke-test.
    let started = match plan.start().await {
        Ok(started) => started,
        Err(message) => return Outcome::Invalid(message),
    };
    // From here on SIGINT and SIGTERM stop the run gracefully (exit 130, reports written).
    let interrupt = crate::interrupt::Interrupt::listen();
    let guest = started.guest(timeout, say_delay);
    let shown_url = without_query(&guest.session.url).to_string();
    announce(
        &script,
        &profile,
        say_delay,
        timeout,
        &shown_url,
        simulated,
        real_url.as_deref(),
    );
    if let Err(message) = smoke_test(&script, &guest, &interrupt).await {
        started.shutdown().await;
        if interrupt.signal().is_some() {
            eprintln!("Interrupted during the smoke test: no load was started");
            return Outcome::Interrupted;
        }
        return Outcome::Invalid(message);
    }

    let recorder = Arc::new(Recorder::new(&script.scenarios));
    let (signal_watch, stop) = stop_on_signal(&interrupt);
    let load = LoadPlan {
        scenarios: script.scenarios.clone().into(),
        guest,
        profile,
    };
    let started_at = jiff::Timestamp::now();
    let live = !args.verbose && live_display_possible(colour_allowed);
    let display = progress::Display::start(Arc::clone(&recorder), live);
    let wall_time = engine::run(&load, &recorder, stop.clone()).await;
    display.finish();
    let interrupted = *stop.borrow() || interrupt.signal().is_some();
    signal_watch.abort();
    started.shutdown().await;

    let summary = recorder.summary(wall_time, crate::results::load_error_words);
    let verdicts: Vec<_> = thresholds.iter().map(|t| t.check(&summary)).collect();
    let passed = !interrupted && verdicts.iter().all(|v| v.passed);
    let info = report::RunInfo {
        script: args.file.display().to_string(),
        target: shown_url,
        simulated,
        started_at: started_at.to_string(),
        profile: report::ProfileInfo::new(&profile, say_delay, timeout),
        interrupted,
    };
    let written = print_and_write(
        &info,
        &summary,
        &verdicts,
        passed,
        args.report_json.as_deref(),
    );
    let outcome = Outcome::of_run(interrupted, passed);
    after_writing_reports(outcome, written)
}

/// A watch that turns true on SIGINT or SIGTERM, and the task that sets it (abort it when the
/// run is over).
fn stop_on_signal(
    interrupt: &crate::interrupt::Interrupt,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<bool>) {
    let (stop_sender, stop) = watch::channel(false);
    let interrupt = interrupt.clone();
    let task = tokio::spawn(async move {
        interrupt.wait().await;
        eprintln!("Stopping the guests");
        let _ = stop_sender.send(true);
        // Keep the sender, so the guests see `true` rather than a closed channel.
        std::future::pending::<()>().await;
    });
    (task, stop)
}

/// Prints the table on stdout, then writes `--report-json` (the one rule for a report that
/// cannot be written is the caller's).
fn print_and_write(
    info: &report::RunInfo,
    summary: &crate::load::stats::Summary,
    verdicts: &[crate::load::verdict::Verdict],
    passed: bool,
    report_json: Option<&std::path::Path>,
) -> Result<(), String> {
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(report::render(info, summary, verdicts, passed).as_bytes());
    let _ = stdout.flush();
    match report_json {
        Some(path) => {
            let json = report::to_json(info, summary, verdicts, passed);
            crate::reports::write::write_atomically(path, json.as_bytes())
                .map_err(|e| format!("--report-json {}: cannot write it: {e}", path.display()))
        }
        None => Ok(()),
    }
}

/// Refuses a real deployment without consent, and more guests than open files allow (after
/// raising the limit as far as it goes).
fn check_safety(
    real_url: Option<&str>,
    allow_real_deployment: bool,
    users: usize,
    simulated: bool,
) -> Result<(), String> {
    if let Some(url) = real_url
        && !safety::is_loopback_url(url)
        && !allow_real_deployment
    {
        return Err(format!(
            "refusing to load-test {}: it is not this machine's loopback nor the simulator. \
             {} guests would open real conversations in that Genesys Cloud organisation \
             (they count against its limits and show in its analytics). If that is what you \
             want, add {}",
            without_query(url),
            users,
            safety::REAL_DEPLOYMENT_FLAG
        ));
    }
    if let Some(limit) = raise_open_files_limit() {
        let needed = limits::files_needed(users, simulated);
        if needed > limit {
            return Err(format!(
                "--users {} needs about {needed} open files{}, but this process may open {limit} \
                 (ulimit -n); raise the limit or lower --users",
                users,
                if simulated {
                    " (two per guest: the simulator runs in this process)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}

/// The URL the sessions of a non-simulated target connect to.
fn target_url(target: &Target) -> String {
    match (&target.endpoint, &target.region) {
        (Some(endpoint), _) => endpoint.clone(),
        (None, Some(region)) => region_endpoint(region, &target.deployment_id),
        (None, None) => String::new(),
    }
}

fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Refuses a `--report-json` path whose folder does not exist, before the run rather than
/// after it.
fn check_writable(path: &std::path::Path) -> Result<(), String> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(format!(
            "--report-json {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )),
        _ if path.is_dir() => Err(format!(
            "--report-json {}: is a folder, not a file",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// Says what is about to happen, on stderr: guests, pacing, target, expected message rate.
fn announce(
    script: &TestScript,
    profile: &Profile,
    say_delay: Duration,
    timeout: Duration,
    url: &str,
    simulated: bool,
    real_url: Option<&str>,
) {
    let scenarios = &script.scenarios;
    let messages_per_conversation = scenarios
        .iter()
        .map(|s| s.steps.iter().filter(|step| step.sends()).count())
        .sum::<usize>() as f64
        / scenarios.len() as f64;
    // Each say waits for `say_delay` of bot silence, so a guest sends at most one message per
    // say delay (and a session at most 2 per second); with no say delay, only the bot's speed
    // bounds the rate.
    let per_guest = (!say_delay.is_zero())
        .then(|| MESSAGES_PER_SECOND_PER_SESSION.min(1.0 / say_delay.as_secs_f64()));
    let expected = match (profile.model, per_guest) {
        (Model::Closed, Some(per_guest)) => format!(
            "at most {:.0} guest messages/s ({} guests, each sending at most {per_guest:.2}/s with a {} say delay)",
            profile.users as f64 * per_guest,
            profile.users,
            crate::format::duration::compact(say_delay)
        ),
        (Model::Closed, None) => format!(
            "as many guest messages/s as {} guests get answers for: with no say delay, only the bot's speed limits the rate",
            profile.users
        ),
        (Model::Open { per_second }, _) => format!(
            "about {:.1} guest messages/s ({per_second} conversations/s × {messages_per_conversation:.1} messages each)",
            per_second * messages_per_conversation
        ),
    };
    let whereto = if simulated {
        format!("the simulator at {url} (in this process)")
    } else if real_url.is_some_and(safety::is_loopback_url) {
        format!("{url} (loopback)")
    } else {
        format!(
            "{url}: a REAL deployment, every guest is a real conversation ({} given)",
            safety::REAL_DEPLOYMENT_FLAG
        )
    };
    eprintln!(
        "Load test of {whereto}\n  {}; {} scenario{} in turn, {messages_per_conversation:.1} guest messages each\n  say delay {}, timeout {}\n  expected: {expected}",
        profile.describe(),
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" },
        crate::format::duration::compact(say_delay),
        crate::format::duration::compact(timeout),
    );
}

/// Silences the scenario runner during the smoke test.
struct Quiet;

impl ScenarioProgress for Quiet {
    fn started(&self, _index: usize, _name: &str, _log: Arc<SessionLog>) {}
    fn finished(&self, _index: usize, _result: &ScenarioResult) {}
}

/// One guest through every scenario, one after the other, before any load: a script that
/// fails for a single guest would only fail thousands of times under load.
async fn smoke_test(
    script: &TestScript,
    guest: &GuestSettings,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), String> {
    eprintln!(
        "Smoke test: one guest through {} scenario{}",
        script.scenarios.len(),
        if script.scenarios.len() == 1 { "" } else { "s" }
    );
    let settings = RunSettings {
        guest: guest.clone(),
        scenario_timeout: None,
        platform: None,
    };
    let scenarios = script
        .scenarios
        .iter()
        .map(|scenario| (scenario.clone(), settings.clone()))
        .collect();
    let results = run_scenarios(scenarios, 1, Arc::new(Quiet), interrupt).await;
    let Some(failed) = results.iter().find(|r| !r.passed()) else {
        return Ok(());
    };
    let mut lines = vec![format!(
        "the smoke test failed, so no load was started: one guest could not get through scenario \"{}\"",
        failed.name
    )];
    lines.extend(failed.transcript.render("You", "Them"));
    if let Some(failure) = &failed.failure {
        lines.push(crate::results::describe_failure(failure, guest.timeout));
    }
    Err(lines.join("\n"))
}
