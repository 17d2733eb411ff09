//! `load`: replay a test-script's scenarios as many concurrent guests, measure the bot's
//! response times, conversations and messages per second and the errors by kind, and check
//! them against thresholds.
//!
//! The steps, in order, each refusing bad input before anything is loaded (exit 2): the
//! script, the profile, the target and its safety (a real deployment needs consent), the
//! open-files limit, then one guest through every scenario as a smoke test. Only then the load,
//! with live progress on stderr, the table on stdout and `--report-json`.

use super::load_ending::{self, Ending};
use crate::Outcome;
use crate::commands::after_writing_reports;
use crate::format::duration::compact;
use crate::format::script::TestScript;
use crate::load::distributed::{self, Slice};
use crate::load::engine::{self, LoadPlan};
use crate::load::limits;
use crate::load::profile::{Model, Profile, ProfileInput};
use crate::load::safety;
use crate::load::stats::Recorder;
use crate::plan::guest::GuestSettings;
use crate::plan::target::{Target, TargetPlan};
use crate::reports::load::Stopped;
use crate::reports::progress::live_display_possible;
use crate::reports::{load as report, load_progress as progress};
use crate::run::{Progress as ScenarioProgress, RunSettings, ScenarioResult, run_scenarios};
use genesys_web_messaging::SessionLog;
use genesys_web_messaging::protocol::region_endpoint;
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
    /// `${NAME}` values: `--variable`, `--variables-file`, `--secret`.
    pub variables: crate::format::variables::VariableSettings,
    /// `--shard K/N`: this process runs every N-th guest and arrival of the profile.
    pub shard: Option<crate::plan::shard::Shard>,
    /// `--start-at`: when the load's timeline starts (every shard given the same).
    pub start_at: Option<jiff::Timestamp>,
    /// `--samples-csv`: also write every response time to this file.
    pub samples_csv: Option<std::path::PathBuf>,
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
// One straight sequence (check, start, smoke-test, wait for --start-at, load, report) whose
// every ending must write the report: kept in one place so none is missed.
#[allow(clippy::too_many_lines)]
pub async fn run(args: LoadSettings, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let script = match load_script(&args) {
        Ok(script) => script,
        Err(message) => return Outcome::Invalid(message),
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
    if let Some(path) = &args.samples_csv
        && let Err(message) = check_writable(path)
    {
        return Outcome::Invalid(message.replace("--report-json", "--samples-csv"));
    }
    let slice = Slice::of(args.shard);
    if let Err(message) = slice.check(profile.users) {
        return Outcome::Invalid(message);
    }
    if let Some(at) = args.start_at
        && let Err(message) =
            distributed::check_start_at(at, profile.ramp_up, jiff::Timestamp::now())
    {
        return Outcome::Invalid(message);
    }
    let script_hash = match std::fs::read(&args.file) {
        Ok(bytes) => script_hash(&bytes),
        Err(e) => return Outcome::Invalid(format!("{}: {e}", args.file.display())),
    };
    let plan = match TargetPlan::prepare(&args.session, &script.config.target) {
        Ok(plan) => plan,
        Err(message) => return Outcome::Invalid(message),
    };
    let simulated = plan.simulated();
    let real_url = (!simulated).then(|| target_url(&plan.target));
    if let Err(message) = check_safety(
        real_url.as_deref(),
        args.allow_real_deployment,
        slice.users(profile.users),
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

    // All input is valid. From here on every ending writes the report (with --report-json)
    // and says why it stopped, even one that never got to the load.
    let mut ending = Ending {
        report_json: args.report_json.clone(),
        info: report::RunInfo {
            script: args.file.display().to_string(),
            target: String::new(),
            simulated,
            started_at: jiff::Timestamp::now().to_string(),
            profile: report::ProfileInfo::new(&profile, say_delay, timeout),
            interrupted: false,
            stopped: Stopped::Completed,
            stopped_detail: None,
            script_hash,
            shard: args.shard.map(|s| report::ShardInfo {
                index: s.index,
                total: s.total,
                users: slice.users(profile.users),
            }),
            start_at: args.start_at.map(|t| t.to_string()),
            started_late_ms: None,
        },
        thresholds,
        empty: Recorder::new(&script.scenarios).tally(crate::results::load_error_words),
    };

    // Start the simulator (for --simulate), announce, smoke-test.
    let started = match plan.start().await {
        Ok(started) => started,
        Err(e) => {
            ending.write_before_load(Stopped::TargetUnavailable, e.message());
            return e.into();
        }
    };
    // From here on SIGINT and SIGTERM stop the run gracefully (exit 130, reports written).
    let interrupt = crate::interrupt::Interrupt::listen();
    let guest = started.guest(timeout, say_delay);
    let shown_url = without_query(&guest.session.url).to_string();
    ending.info.target.clone_from(&shown_url);
    announce(
        &script,
        &profile,
        slice,
        say_delay,
        timeout,
        &shown_url,
        simulated,
        real_url.as_deref(),
    );
    if let Err(failed) = smoke_test(&script, &guest, &interrupt).await {
        started.shutdown().await;
        if let Some(signal) = interrupt.signal() {
            eprintln!("Interrupted during the smoke test: no load was started");
            ending.info.interrupted = true;
            ending.write_before_load(
                Stopped::Interrupted,
                &format!("{signal} during the smoke test: no load was started"),
            );
            return Outcome::Interrupted;
        }
        ending.write_before_load(Stopped::SmokeTestFailed, failed.message());
        return failed.outcome();
    }

    // Every shard follows the same timeline: it starts at --start-at (waiting for it, or
    // catching up when a little late), else now.
    let (timeline, late) = distributed::timeline_start(args.start_at, profile.ramp_up);
    if let Some(late) = late {
        eprintln!(
            "warning: starting {} after --start-at, later than the ramp-up allows: this shard is behind the others",
            compact(late)
        );
        ending.info.started_late_ms = Some(u64::try_from(late.as_millis()).unwrap_or(u64::MAX));
    }
    if timeline > tokio::time::Instant::now() {
        eprintln!(
            "Waiting for --start-at {} ({} from now)",
            args.start_at.map(|t| t.to_string()).unwrap_or_default(),
            compact(timeline - tokio::time::Instant::now())
        );
        tokio::select! {
            () = tokio::time::sleep_until(timeline) => {}
            signal = interrupt.wait() => {
                started.shutdown().await;
                ending.info.interrupted = true;
                ending.write_before_load(
                    Stopped::Interrupted,
                    &format!("{signal} while waiting for --start-at: no load was started"),
                );
                return Outcome::Interrupted;
            }
        }
    }
    let started_at = jiff::Timestamp::now()
        - jiff::SignedDuration::try_from(timeline.elapsed()).unwrap_or_default();
    ending.info.started_at = started_at.to_string();

    let mut recorder = Recorder::new(&script.scenarios);
    if let Some(path) = &args.samples_csv {
        match std::fs::File::create(path) {
            Ok(file) => recorder = recorder.with_samples(file),
            Err(e) => eprintln!("warning: cannot write {}: {e}", path.display()),
        }
    }
    let recorder = Arc::new(recorder);
    let (signal_watch, stop) = stop_on_signal(&interrupt);
    let load = LoadPlan {
        scenarios: script.scenarios.clone().into(),
        guest,
        profile,
        slice,
    };
    let live = !args.verbose && live_display_possible(colour_allowed);
    let display = progress::Display::start(Arc::clone(&recorder), live);
    let checkpoints = ending.checkpoints(Arc::clone(&recorder), timeline);
    // The load runs in its own task: a panic in it ends the load, not the process, and what
    // was measured until then is still reported.
    let engine = {
        let recorder = Arc::clone(&recorder);
        let stop = stop.clone();
        tokio::spawn(async move { engine::run(&load, &recorder, stop, timeline).await })
    };
    let failure = match engine.await {
        Ok(_) => None,
        Err(e) => Some(load_ending::panic_message(e)),
    };
    let wall_time = timeline.elapsed();
    if let Some(task) = checkpoints {
        task.abort();
        let _ = task.await;
    }
    display.finish();
    let interrupted = *stop.borrow() || interrupt.signal().is_some();
    signal_watch.abort();
    started.shutdown().await;

    let (stopped, detail) = match (&failure, interrupt.signal()) {
        (Some(message), _) => {
            eprintln!("error: the load stopped on an internal error: {message}");
            (Stopped::InternalError, Some(message.clone()))
        }
        (None, Some(signal)) => (Stopped::Interrupted, Some(signal.to_string())),
        (None, None) => (Stopped::Completed, None),
    };
    ending.info.interrupted = interrupted;
    ending.info.stopped = stopped;
    ending.info.stopped_detail = detail;
    if let Err(e) = recorder.flush_samples() {
        eprintln!("warning: cannot write --samples-csv: {e}");
    }
    let tally = recorder.tally(crate::results::load_error_words);
    let (passed, written) = ending.finish(&tally, wall_time);
    let outcome = if failure.is_some() {
        Outcome::Failed
    } else {
        Outcome::of_run(interrupted, passed)
    };
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
    limits::check_open_files(
        &format!("--users {users}"),
        users,
        simulated,
        "raise the limit or lower --users (or split it with --shard)",
    )
}

/// `sha256:<hex>` of the test-script's bytes, which every shard's report records.
fn script_hash(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
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
#[allow(clippy::too_many_arguments)]
fn announce(
    script: &TestScript,
    profile: &Profile,
    slice: Slice,
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
    if slice.total > 1 {
        eprintln!(
            "Shard {}/{}: {} of the profile's {} guests{} (the numbers below are the whole profile's)",
            slice.index + 1,
            slice.total,
            slice.users(profile.users),
            profile.users,
            match profile.model {
                Model::Open { per_second } => format!(
                    ", {:.3} of its {per_second} conversations/s",
                    per_second / slice.total as f64
                ),
                Model::Closed => String::new(),
            }
        );
    }
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
/// Why the smoke test failed, worded.
enum SmokeFailure {
    /// A step failed: the bot did not behave.
    Bot(String),
    /// The session could not be opened or never started.
    Untestable(String),
}

impl SmokeFailure {
    /// What failed, for the report's stated reason.
    fn message(&self) -> &str {
        match self {
            SmokeFailure::Bot(message) | SmokeFailure::Untestable(message) => message,
        }
    }

    /// The bot failing its one guest is 1; a deployment that cannot be reached is 3.
    fn outcome(self) -> Outcome {
        match self {
            SmokeFailure::Bot(message) => {
                eprintln!("error: {}", crate::secrets::terminal(&message));
                Outcome::Failed
            }
            SmokeFailure::Untestable(message) => Outcome::Untestable(Some(message)),
        }
    }
}

/// The test-script, read with the command's `${NAME}` values.
fn load_script(args: &LoadSettings) -> Result<TestScript, String> {
    args.variables.install()?;
    TestScript::load(&args.file).map_err(|e| e.to_string())
}

async fn smoke_test(
    script: &TestScript,
    guest: &GuestSettings,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), SmokeFailure> {
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
    let message = lines.join("\n");
    Err(match &failed.failure {
        Some(failure) if failure.untestable() => SmokeFailure::Untestable(message),
        _ => SmokeFailure::Bot(message),
    })
}
