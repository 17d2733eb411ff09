//! `scripted`: run test-scripts' scenarios and report them.
//!
//! Order of work, so that bad input or a bad setting never opens a session: expand the file
//! arguments, load and check every file and its target, pick this shard's scenarios, check the
//! report destinations, log in and check the permission for `--associate-id`; then start the
//! targets, run, look up the conversations, print, and write the reports.

use crate::Outcome;
use crate::commands::{CiSettings, after_writing_reports};
use crate::format::script::{Scenario, TestScript};
use crate::interrupt::Interrupt;
use crate::plan::shard::{self, Shard};
use crate::plan::target::{
    DEFAULT_TIMEOUT, SessionSettings, StartError, StartedTarget, TargetPlan,
};
use crate::reports::progress::{LiveProgress, PlainProgress, live_display_possible};
use crate::reports::terminal::{self, Extra};
use crate::reports::{RunReport, ScenarioContext, ScenarioReport, TargetReport};
use crate::run::associate::{Association, Associator, prepare_associator};
use crate::run::{Progress, RunSettings, ScenarioResult, run_scenarios};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One test-script, loaded and checked, with where its sessions go.
struct Suite {
    file: String,
    plan: TargetPlan,
    timeout: Duration,
    say_delay: Duration,
    scenario_timeout: Option<Duration>,
}

/// One scenario to run: which suite, its own name, the name shown.
struct Job {
    suite: usize,
    name: String,
    scenario: Scenario,
}

/// What `scripted` runs, and how.
#[derive(Debug, Clone)]
pub struct ScriptedSettings {
    /// The test-script files (globs are expanded).
    pub files: Vec<PathBuf>,
    /// Where the guest sessions go.
    pub session: SessionSettings,
    /// Most scenarios at once.
    pub parallel: usize,
    /// Only output failures.
    pub failures_only: bool,
    /// How long each wait may take (over the file's).
    pub timeout: Option<Duration>,
    /// Quiet time before each `say` (over the file's).
    pub say_delay: Option<Duration>,
    /// Most time each scenario may take (over the file's).
    pub scenario_timeout: Option<Duration>,
    /// Log every frame on stderr.
    pub verbose: bool,
    /// Reports and conversation IDs.
    pub ci: CiSettings,
    /// Run only this job's share of the scenarios.
    pub shard: Option<Shard>,
    /// `--filter` and `--skip`: which scenarios run.
    pub selection: crate::plan::select::Selection,
    /// `${NAME}` values: `--variable`, `--variables-file`, `--secret`.
    pub variables: crate::format::variables::VariableSettings,
    /// `--keep-conversations`: never disconnect a scenario's conversation after it.
    pub keep_conversations: bool,
}

/// Runs `scripted`.
pub async fn run(args: ScriptedSettings, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let Checked {
        files,
        suites,
        jobs,
        parallel,
        associator,
        platform,
    } = match check(&args).await {
        Ok(checked) => checked,
        Err(message) => return Outcome::Invalid(message),
    };
    let destinations = &args.ci.reports;

    // From here on SIGINT and SIGTERM stop the run gracefully: what finished keeps its result,
    // the rest is marked interrupted, every report is printed and written, exit code 130.
    let interrupt = Interrupt::listen();
    let targets_report: Vec<TargetReport> = suites
        .iter()
        .map(|suite| {
            TargetReport::new(
                &suite.file,
                &suite.plan.target,
                args.session.simulate.as_deref(),
            )
        })
        .collect();
    let run_started_at = jiff::Timestamp::now();
    let clock = tokio::time::Instant::now();
    let (targets, settings) = match start_targets(suites, &jobs, &files, &platform).await {
        Ok(started) => started,
        Err(e) => return e.into(),
    };

    let live = (!args.verbose && live_display_possible(colour_allowed))
        .then(|| Arc::new(LiveProgress::new()));
    let progress: Arc<dyn Progress> = match &live {
        Some(live) => Arc::clone(live) as Arc<dyn Progress>,
        None => Arc::new(PlainProgress),
    };
    let scenarios = jobs
        .iter()
        .filter_map(|job| Some((job.scenario.clone(), settings[job.suite].clone()?)))
        .collect();
    let results = run_scenarios(scenarios, parallel, progress, &interrupt).await;
    if let Some(live) = &live {
        live.clear();
    }
    shutdown(targets).await;
    let duration = clock.elapsed();

    let associations = match &associator {
        Some(associator) => {
            let ids: Vec<_> = results.iter().map(|r| r.first_message_id.clone()).collect();
            Some(associator.associate_all(&ids).await)
        }
        None if platform.used => Some(platform_associations(&jobs, &results, &settings)),
        None => None,
    };
    let timeout_of = |job: &Job| {
        settings[job.suite]
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, |s| s.guest.timeout)
    };
    let timeouts: Vec<Duration> = jobs.iter().map(timeout_of).collect();
    print_text(
        &results,
        &timeouts,
        associations.as_deref(),
        args.failures_only,
        duration,
    );
    let file_names = files_display(&files);
    let scenarios = jobs
        .iter()
        .zip(&results)
        .enumerate()
        .map(|(i, (job, result))| {
            ScenarioReport::new(
                result,
                &ScenarioContext {
                    file: &file_names[job.suite],
                    name: &job.name,
                    timeout: timeouts[i],
                    association: associations.as_ref().map(|a| &a[i]),
                },
            )
        })
        .collect();
    let run_report = RunReport::new(run_started_at, duration, args.shard, scenarios)
        .with_targets(targets_report);
    let outcome = crate::run::outcome(
        results.iter().map(|r| r.failure.as_ref()),
        interrupt.signal().is_some(),
    );
    after_writing_reports(outcome, destinations.write(&run_report))
}

/// Everything checked before anything starts.
struct Checked {
    files: Vec<PathBuf>,
    suites: Vec<Suite>,
    jobs: Vec<Job>,
    parallel: usize,
    associator: Option<Arc<Associator>>,
    platform: PlatformPlan,
}

/// The Platform API side of the run (`expect…` steps, or `-a` against the simulator).
struct PlatformPlan {
    /// Whether the run uses it.
    used: bool,
    /// Each simulator's own Platform API (no `-a` variable set), else `shared`.
    per_simulator: bool,
    options: crate::run::platform::PlatformOptions,
    /// One client for the whole run against Genesys Cloud: one login, one request budget.
    shared: Option<Arc<crate::run::platform::PlatformRun>>,
}

/// Expands the file arguments, loads and checks every file and its target, picks this shard's
/// scenarios, checks the report destinations, logs in and checks the permission for
/// `--associate-id`. Nothing is opened.
async fn check(args: &ScriptedSettings) -> Result<Checked, String> {
    args.variables.install()?;
    let files = crate::plan::files::expand_with(&args.files, super::is_test_script)?;
    let (suites, jobs, total) = load(args, &files)?;
    let simulated = suites.iter().any(|suite| suite.plan.simulated());
    let parallel = crate::load::check_parallel(args.parallel, jobs.len(), simulated)?;
    if let Some(shard) = args.shard
        && jobs.is_empty()
    {
        eprintln!("shard {shard}: none of the {total} scenarios falls in this shard");
    }
    args.ci.reports.check()?;
    // The expect… steps imply -a. Against the simulator the Platform API is the simulator's
    // own unless the -a variables name another (a proxy, a test server). `-a` alone against
    // Genesys Cloud keeps its own lookup and wording: the cleanup and the wider permissions
    // come with the expect… steps.
    let platform_steps = jobs.iter().any(|job| {
        job.scenario
            .steps
            .iter()
            .any(|s| matches!(s, crate::format::script::Step::Platform { .. }))
    });
    let per_simulator = simulated && !crate::run::associate::variables_set();
    let used = platform_steps || (args.ci.associate_id && per_simulator);
    let options = crate::run::platform::PlatformOptions {
        keep_conversations: args.keep_conversations,
        verbose: args.verbose,
    };
    let shared = if used && !per_simulator {
        let run = crate::run::platform::PlatformRun::from_env(options)?;
        let scenarios: Vec<&Scenario> = jobs.iter().map(|job| &job.scenario).collect();
        run.preflight(&scenarios).await?;
        Some(run)
    } else {
        None
    };
    let associator = if args.ci.associate_id && !used {
        Some(prepare_associator().await?)
    } else {
        None
    };
    Ok(Checked {
        files,
        suites,
        jobs,
        parallel,
        associator,
        platform: PlatformPlan {
            used,
            per_simulator,
            options,
            shared,
        },
    })
}

/// Starts the targets, only once all input is known to be valid and only for files with
/// scenarios in this shard; then refuses attachments over limits known before any session
/// opens (the deployment's upload limits), with their file, line and column. On an error every
/// started target is shut down.
async fn start_targets(
    suites: Vec<Suite>,
    jobs: &[Job],
    files: &[PathBuf],
    platform: &PlatformPlan,
) -> Result<(Vec<Option<StartedTarget>>, Vec<Option<RunSettings>>), StartError> {
    let mut targets: Vec<Option<StartedTarget>> = Vec::new();
    let mut settings: Vec<Option<RunSettings>> = Vec::new();
    for (index, suite) in suites.into_iter().enumerate() {
        if !jobs.iter().any(|job| job.suite == index) {
            targets.push(None);
            settings.push(None);
            continue;
        }
        let Suite {
            file,
            plan,
            timeout,
            say_delay,
            scenario_timeout,
        } = suite;
        let started = match plan.start().await {
            Ok(started) => started,
            Err(e) => {
                shutdown(targets).await;
                return Err(e.map(|message| with_file(files, &file, message)));
            }
        };
        let run = match suite_platform(platform, &started, jobs, index).await {
            Ok(run) => run,
            Err(message) => {
                started.shutdown().await;
                shutdown(targets).await;
                return Err(StartError::Invalid(with_file(files, &file, message)));
            }
        };
        settings.push(Some(RunSettings {
            guest: started.guest(timeout, say_delay),
            scenario_timeout,
            platform: run,
        }));
        targets.push(Some(started));
    }
    for (index, suite_settings) in settings.iter().enumerate() {
        if let Some(limits) = suite_settings
            .as_ref()
            .and_then(|s| s.guest.session.attachment_limits.as_ref())
        {
            let scenarios: Vec<Scenario> = jobs
                .iter()
                .filter(|job| job.suite == index)
                .map(|job| job.scenario.clone())
                .collect();
            if let Err(e) = crate::format::script::check_attachment_limits(&scenarios, limits) {
                shutdown(targets).await;
                return Err(StartError::Invalid(e.to_string()));
            }
        }
    }
    Ok((targets, settings))
}

/// Each scenario's conversation as the Platform side of the run found it.
fn platform_associations(
    jobs: &[Job],
    results: &[ScenarioResult],
    settings: &[Option<RunSettings>],
) -> Vec<Association> {
    jobs.iter()
        .zip(results)
        .map(|(job, result)| {
            let run = settings[job.suite]
                .as_ref()
                .and_then(|s| s.platform.as_ref());
            crate::run::associate::association_of(
                result.conversation_id.as_deref(),
                run.map(AsRef::as_ref),
                result.first_message_id.is_some(),
            )
        })
        .collect()
}

/// The Platform client of one suite: the run's, or its simulator's (checked by a preflight).
async fn suite_platform(
    platform: &PlatformPlan,
    started: &StartedTarget,
    jobs: &[Job],
    index: usize,
) -> Result<Option<Arc<crate::run::platform::PlatformRun>>, String> {
    if let Some(run) = &platform.shared {
        return Ok(Some(Arc::clone(run)));
    }
    let Some(url) = started.simulator_http_url() else {
        return Ok(None);
    };
    if !(platform.used && platform.per_simulator) {
        return Ok(None);
    }
    let scenarios: Vec<&Scenario> = jobs
        .iter()
        .filter(|job| job.suite == index)
        .map(|job| &job.scenario)
        .collect();
    let run = crate::run::platform::PlatformRun::for_simulator(&url, platform.options)?;
    run.preflight(&scenarios).await?;
    Ok(Some(run))
}

/// Prints the text report and the totals on stdout. `timeouts` and `associations` go with
/// `results` by position.
fn print_text(
    results: &[ScenarioResult],
    timeouts: &[Duration],
    associations: Option<&[Association]>,
    failures_only: bool,
    duration: Duration,
) {
    let extras: Vec<Extra> = timeouts
        .iter()
        .enumerate()
        .map(|(i, timeout)| {
            let mut extra = Extra {
                timeout: Some(*timeout),
                ..Extra::default()
            };
            if let Some(association) = associations.map(|a| &a[i]) {
                extra.add_association(association);
            }
            if let Some(cleanup) = &results[i].cleanup {
                extra.notes.push(crate::secrets::redact(&format!(
                    "Conversation cleanup: {cleanup}"
                )));
            }
            extra
        })
        .collect();
    let run_timeout = timeouts.first().copied().unwrap_or(DEFAULT_TIMEOUT);
    let mut text = terminal::render(results, &extras, failures_only, run_timeout);
    text.push_str(&terminal::totals(results, duration));
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn files_display(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.display().to_string()).collect()
}

/// An error about one file's settings names the file when the run has several.
fn with_file(files: &[PathBuf], file: &str, message: String) -> String {
    if files.len() > 1 && !message.starts_with(file) {
        format!("{file}: {message}")
    } else {
        message
    }
}

/// Loads every file and its target, and picks this shard's scenarios. Returns the suites,
/// the jobs in run order, and how many scenarios there are before sharding.
fn load(
    args: &ScriptedSettings,
    files: &[PathBuf],
) -> Result<(Vec<Suite>, Vec<Job>, usize), String> {
    let short_names = crate::plan::files::short_names(files);
    let several = files.len() > 1;
    let mut suites = Vec::new();
    let mut jobs = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let file = path.display().to_string();
        let script = TestScript::load(path).map_err(|e| e.to_string())?;
        let plan = TargetPlan::prepare(&args.session, &script.config.target)
            .map_err(|message| with_file(files, &file, message))?;
        let timeout = plan.timeout(args.timeout, script.config.timeout);
        let say_delay = plan.say_delay(args.say_delay, script.config.say_delay);
        let scenario_timeout = args.scenario_timeout.or(script.config.scenario_timeout);
        for scenario in script.scenarios {
            let name = scenario.name.clone();
            let mut shown = scenario;
            if several {
                shown.name = format!("{} › {name}", short_names[index]);
            }
            jobs.push(Job {
                suite: index,
                name,
                scenario: shown,
            });
        }
        suites.push(Suite {
            file,
            plan,
            timeout,
            say_delay,
            scenario_timeout,
        });
    }
    let full_names: Vec<String> = jobs
        .iter()
        .map(|job| crate::plan::select::full_name(&short_names[job.suite], &job.name))
        .collect();
    let chosen = args.selection.select(&full_names)?;
    jobs = jobs
        .into_iter()
        .zip(chosen)
        .filter_map(|(job, keep)| keep.then_some(job))
        .collect();
    let total = jobs.len();
    if let Some(shard) = args.shard {
        let keys: Vec<String> = jobs
            .iter()
            .map(|job| shard::scenario_key(&suites[job.suite].file, &job.name))
            .collect();
        let chosen = shard::select(&keys, shard);
        jobs = jobs
            .into_iter()
            .zip(chosen)
            .filter_map(|(job, keep)| keep.then_some(job))
            .collect();
    }
    Ok((suites, jobs, total))
}

async fn shutdown(targets: Vec<Option<StartedTarget>>) {
    for target in targets.into_iter().flatten() {
        target.shutdown().await;
    }
}
