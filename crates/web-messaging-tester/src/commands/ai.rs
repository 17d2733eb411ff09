//! `ai`: a model plays the customer against the bot, scenario by scenario, and a judge can
//! read each conversation afterwards.
//!
//! The order of things: read and check the file, the session settings (as `scripted`, through
//! [`crate::plan::target`]), `--out-dir`, the providers' keys and credentials, then a preflight
//! request to each provider, and `--associate-id`'s login and permission check. Any of these
//! failing (or a `--report-*` destination that cannot be written) exits with 2 before a session
//! opens. Then every scenario runs in its own guest session (`--parallel` at once), its JSON
//! file is written as it ends, and the report follows, then the `--report-*` files (`scripted`'s
//! JUnit, JSON and HTML reports).

use crate::Outcome;
use crate::ai::conversation::{ConversationOutcome, ConversationSettings, EndKind, converse};
use crate::ai::http::Http;
use crate::ai::provider::{Env, Provider};
use crate::ai::result::AiResult;
use crate::commands::{CiSettings, after_writing_reports};
use crate::format::ai_script::{AiFile, AiScenario, ProviderSpec};
use crate::interrupt::{Interrupt, Signal};
use crate::plan::target::{SessionSettings, TargetPlan};
use crate::reports::ai::{OutputDir, check_out_dir};
use crate::reports::terminal::Extra;
use crate::reports::terminal::{render_ai as render, transcript_line};
use crate::reports::{RunReport, ScenarioContext, ScenarioReport, TargetReport};
use crate::run::associate::Association;
use crate::run::associate::prepare_associator;
use crate::run::{Failure, ScenarioResult, run_in_order};
use genesys_web_messaging::Transcript;
use indexmap::IndexMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Messages the model may send to the bot when neither `--max-turns` nor the file says.
const DEFAULT_MAX_TURNS: u32 = 10;

/// One scenario, ready to run: its placeholders chosen, its providers built.
struct Prepared {
    scenario: AiScenario,
    values: IndexMap<String, String>,
    prompt: String,
    judge: Option<Arc<Provider>>,
}

/// What `ai` runs, and how.
#[derive(Debug, Clone)]
pub struct AiSettings {
    /// The `ai` test file.
    pub file: std::path::PathBuf,
    /// Where the guest sessions go.
    pub session: SessionSettings,
    /// Where to write one JSON file per scenario.
    pub out_dir: Option<std::path::PathBuf>,
    /// Most scenarios at once.
    pub parallel: usize,
    /// Seed for choosing placeholder values.
    pub seed: Option<u64>,
    /// Most messages the model may send per scenario (over the file's).
    pub max_turns: Option<u32>,
    /// Bot silence that ends the bot's turn.
    pub silence: Duration,
    /// Most time each conversation may take.
    pub time_limit: Duration,
    /// Log every frame and model request on stderr.
    pub verbose: bool,
    /// The variable holding the openai-compatible server's API key.
    pub api_key_variable: Option<String>,
    /// Reports and conversation IDs.
    pub ci: CiSettings,
    /// `${NAME}` values: `--variable`, `--variables-file`, `--secret`.
    pub variables: crate::format::variables::VariableSettings,
}

/// Runs `ai`.
pub async fn run(args: AiSettings, colour_allowed: bool) -> Outcome {
    init_logging(args.verbose, colour_allowed);
    crate::secrets::register_from_env(args.api_key_variable.as_deref());
    let Checked {
        file,
        plan,
        providers,
        associator,
    } = match check(&args).await {
        Ok(checked) => checked,
        Err(message) => return Outcome::Invalid(message),
    };
    let destinations = &args.ci.reports;

    let prepared = prepare_scenarios(&file, &providers, args.seed);

    // `ai` has no say-delay setting: the default pacing for its target.
    let say_delay = plan.say_delay(None, None);
    let timeout = plan.timeout(None, None);
    // From here on SIGINT and SIGTERM stop the run gracefully (exit 130, reports written).
    let interrupt = Interrupt::listen();
    let run_started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let parallel =
        match crate::load::check_parallel(args.parallel, prepared.len(), plan.simulated()) {
            Ok(parallel) => parallel,
            Err(message) => return Outcome::Invalid(message),
        };
    let target_report = TargetReport::new(
        &args.file.display().to_string(),
        &plan.target,
        args.session.simulate.as_deref(),
    );
    let started = match plan.start().await {
        Ok(started) => started,
        Err(e) => return e.into(),
    };
    let simulator = started.simulator_http_url();
    let associator = match with_simulator(associator, args.ci.associate_id, simulator).await {
        Ok(associator) => associator,
        Err(message) => return shutdown_invalid(started, message).await,
    };
    let settings = Arc::new(ConversationSettings {
        // `ai` has no timeout setting: the session start gets the default 10 s.
        guest: started.guest(timeout, say_delay),
        max_turns: args
            .max_turns
            .or(file.max_turns)
            .unwrap_or(DEFAULT_MAX_TURNS),
        silence: args.silence,
        time_limit: args.time_limit,
        interrupt: interrupt.clone(),
    });
    let out_dir = args
        .out_dir
        .clone()
        .map(|dir| Arc::new(OutputDir::new(dir)));
    let results = run_all(prepared, &providers.main, &settings, out_dir, parallel).await;
    started.shutdown().await;
    let duration = clock.elapsed();

    let (results, signals): (Vec<AiResult>, Vec<Option<Signal>>) = results.into_iter().unzip();
    let scenario_results = as_scenario_results(&results, &signals);
    let associations = match &associator {
        Some(associator) => {
            let ids: Vec<_> = scenario_results
                .iter()
                .map(|r| r.first_message_id.clone())
                .collect();
            Some(associator.associate_all(&ids).await)
        }
        None => None,
    };
    print_text(
        &results,
        &scenario_results,
        associations.as_deref(),
        duration,
    );

    let file_name = args.file.display().to_string();
    let scenarios = scenario_results
        .iter()
        .enumerate()
        .map(|(i, result)| {
            ScenarioReport::new(
                result,
                &ScenarioContext {
                    file: &file_name,
                    name: &result.name,
                    timeout: settings.time_limit,
                    association: associations.as_ref().map(|a| &a[i]),
                },
            )
        })
        .collect();
    let run_report =
        RunReport::new(run_started_at, duration, None, scenarios).with_targets(vec![target_report]);
    let outcome = crate::run::outcome(
        scenario_results.iter().map(|r| r.failure.as_ref()),
        interrupt.signal().is_some(),
    );
    after_writing_reports(outcome, destinations.write(&run_report))
}

/// Chooses each scenario's placeholder values (with `seed_arg`, else a fresh seed that is
/// then printed) and its judge.
fn prepare_scenarios(file: &AiFile, providers: &Providers, seed_arg: Option<u64>) -> Vec<Prepared> {
    let seed = seed_arg.unwrap_or_else(crate::ai::placeholders::fresh_seed);
    let mut picker = crate::ai::placeholders::Picker::new(seed);
    let prepared: Vec<Prepared> = file
        .scenarios
        .iter()
        .map(|scenario| {
            let values = picker.pick(&scenario.placeholders);
            Prepared {
                prompt: crate::ai::placeholders::replace(&scenario.prompt, &values),
                judge: providers.judge_of(scenario),
                scenario: scenario.clone(),
                values,
            }
        })
        .collect();
    if seed_arg.is_none() && prepared.iter().any(|p| !p.values.is_empty()) {
        eprintln!("Placeholder values chosen with seed {seed} (--seed {seed} chooses them again)");
    }
    prepared
}

/// The results as `scripted`'s, for the CI reports and `--associate-id`. `signals` go with
/// `results` by position: an interrupted conversation shows as interrupted, whatever it
/// reached.
fn as_scenario_results(results: &[AiResult], signals: &[Option<Signal>]) -> Vec<ScenarioResult> {
    results
        .iter()
        .zip(signals)
        .map(|(result, signal)| {
            let mut scenario = result.to_scenario_result();
            if let Some(signal) = *signal {
                scenario.failure = Some(Failure::Interrupted {
                    signal,
                    during: (!result.lines.is_empty() || result.turns > 0)
                        .then(|| "before the conversation ended".to_string()),
                });
            }
            scenario
        })
        .collect()
}

/// Prints the text report and the totals on stdout. `associations` go with `results` by
/// position.
fn print_text(
    results: &[AiResult],
    scenario_results: &[ScenarioResult],
    associations: Option<&[Association]>,
    duration: Duration,
) {
    let extras: Vec<Extra> = associations
        .iter()
        .copied()
        .flatten()
        .map(|association| {
            let mut extra = Extra::default();
            extra.add_association(association);
            extra
        })
        .collect();
    let mut stdout = anstream::stdout();
    let mut text = render(results, &extras);
    text.push_str(&crate::reports::terminal::totals(
        scenario_results,
        duration,
    ));
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Everything checked before any session opens.
struct Checked {
    file: AiFile,
    plan: TargetPlan,
    providers: Providers,
    associator: Option<Arc<crate::run::associate::Associator>>,
}

/// Reads and checks the file, the session settings (as `scripted`, through
/// [`TargetPlan`]), `--out-dir`, the report destinations, the providers' keys and
/// credentials, then a preflight request to each provider, and `--associate-id`'s login and
/// permission check.
async fn check(args: &AiSettings) -> Result<Checked, String> {
    args.variables.install()?;
    let mut file = AiFile::load(&args.file).map_err(|e| e.to_string())?;
    allow_key_variables(&mut file, &args.file, args.api_key_variable.as_deref())?;
    let plan = TargetPlan::prepare(&args.session, &file.target)?;
    if let Some(dir) = &args.out_dir {
        check_out_dir(dir)?;
    }
    args.ci.reports.check()?;
    let http = Arc::new(Http::new()?);
    let env = Env::from_process();
    let providers = build_providers(&file, &env, &http)?;
    for provider in providers.all() {
        for note in provider.notes() {
            eprintln!("warning: {}", crate::secrets::terminal(note));
        }
    }
    for provider in providers.all() {
        if let Err(e) = provider.preflight().await {
            return Err(format!(
                "The check to ensure {} can be used failed due to:\n{e}",
                provider.name()
            ));
        }
    }
    // Against the simulator with none of the `-a` variables, its own Platform API answers
    // (once it has started).
    let simulator_platform = plan.simulated() && !crate::run::associate::variables_set();
    let associator = if args.ci.associate_id && !simulator_platform {
        Some(prepare_associator().await?)
    } else {
        None
    };
    Ok(Checked {
        file,
        plan,
        providers,
        associator,
    })
}

/// Provider keys come only from the documented variables or from the one named on the
/// command line: a file's `apiKeyVariable` must name the `--api-key-variable` variable (a file
/// alone cannot send any variable to any server). The flag's variable becomes the key of
/// every `openai-compatible` provider of the file that names none.
fn allow_key_variables(
    file: &mut AiFile,
    path: &std::path::Path,
    allowed: Option<&str>,
) -> Result<(), String> {
    let mut specs: Vec<&mut ProviderSpec> = vec![&mut file.ai];
    specs.extend(
        file.scenarios
            .iter_mut()
            .filter_map(|s| s.follow_up.as_mut())
            .filter_map(|f| f.provider.as_mut()),
    );
    let mut used = false;
    for spec in specs {
        if let (Some(variable), Some(site)) = (
            &spec.config.api_key_variable,
            &spec.config.api_key_variable_at,
        ) && allowed != Some(variable.as_str())
        {
            let message = format!(
                "names the environment variable {variable} as the server's API key, but a test file alone may not choose which variable is read (it could send any secret to any server): pass --api-key-variable {variable} to allow it"
            );
            return Err(site.error(message).to_string());
        }
        if spec.kind == crate::format::ai_script::ProviderKind::OpenAiCompatible {
            used = true;
            if spec.config.api_key_variable.is_none() {
                spec.config.api_key_variable = allowed.map(String::from);
            }
        }
    }
    match allowed {
        Some(variable) if !used => Err(format!(
            "--api-key-variable {variable}: only provider openai-compatible reads it, and {} uses none",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The provider of `config.ai` and those of the `followUp`s that name their own, each built
/// once however many scenarios use it.
struct Providers {
    main: Arc<Provider>,
    judges: Vec<(ProviderSpec, Arc<Provider>)>,
}

impl Providers {
    fn all(&self) -> impl Iterator<Item = &Arc<Provider>> {
        std::iter::once(&self.main).chain(self.judges.iter().map(|(_, p)| p))
    }

    fn judge_of(&self, scenario: &AiScenario) -> Option<Arc<Provider>> {
        let follow_up = scenario.follow_up.as_ref()?;
        Some(match &follow_up.provider {
            Some(spec) => self
                .judges
                .iter()
                .find(|(s, _)| s == spec)
                .map(|(_, p)| Arc::clone(p))
                .unwrap_or_else(|| Arc::clone(&self.main)),
            None => Arc::clone(&self.main),
        })
    }
}

fn build_providers(file: &AiFile, env: &Env, http: &Arc<Http>) -> Result<Providers, String> {
    let main = Arc::new(Provider::build(&file.ai, env, Arc::clone(http))?);
    let mut judges: Vec<(ProviderSpec, Arc<Provider>)> = Vec::new();
    for scenario in &file.scenarios {
        let Some(spec) = scenario
            .follow_up
            .as_ref()
            .and_then(|f| f.provider.as_ref())
        else {
            continue;
        };
        if *spec == file.ai || judges.iter().any(|(s, _)| s == spec) {
            continue;
        }
        let judge = Provider::build(spec, env, Arc::clone(http))
            .map_err(|e| format!("scenarios.{}.followUp: {e}", scenario.name))?;
        judges.push((spec.clone(), Arc::new(judge)));
    }
    Ok(Providers { main, judges })
}

/// Runs every scenario, `parallel` at once, and returns their results in file order, each with
/// the signal that interrupted it, if one did.
async fn run_all(
    prepared: Vec<Prepared>,
    provider: &Arc<Provider>,
    settings: &Arc<ConversationSettings>,
    out_dir: Option<Arc<OutputDir>>,
    parallel: usize,
) -> Vec<(AiResult, Option<Signal>)> {
    let names: Vec<String> = prepared.iter().map(|p| p.scenario.name.clone()).collect();
    let interrupt = settings.interrupt.clone();
    run_in_order(
        prepared,
        parallel,
        &interrupt,
        |_, scenario| {
            let provider = Arc::clone(provider);
            let settings = Arc::clone(settings);
            let out_dir = out_dir.clone();
            async move {
                let result = run_scenario(scenario, &provider, &settings).await;
                let signal = settings.interrupt.signal();
                if let Some(out_dir) = out_dir {
                    // As upstream: a file that cannot be saved is reported, the verdict stands.
                    if let Err(e) = out_dir.save(&result) {
                        let warn = anstyle::AnsiColor::Yellow.on_default();
                        let mut stderr = anstream::stderr();
                        let e = crate::secrets::terminal(&e);
                        let _ =
                            writeln!(stderr, "{warn}\nFailed to save output file:\n{e}{warn:#}");
                    }
                }
                // A conversation that ended on its own before the signal keeps its verdict.
                let interrupted = signal.filter(|_| result.end_kind == EndKind::Error);
                (result, interrupted)
            }
        },
        |index, signal| {
            let end_description = match signal {
                Some(signal) => format!("Interrupted by {signal} before the scenario started"),
                None => "Internal error: the scenario's task stopped unexpectedly".into(),
            };
            (not_run(&names[index], end_description, provider), signal)
        },
    )
    .await
}

/// The result of a scenario that did not run.
fn not_run(name: &str, end_description: String, provider: &Provider) -> AiResult {
    AiResult {
        name: name.to_string(),
        placeholder_values: IndexMap::new(),
        prompt: String::new(),
        lines: Vec::new(),
        end_kind: EndKind::Error,
        end_description,
        judge: None,
        judge_skipped: None,
        model: provider.model().to_string(),
        turns: 0,
        usage: crate::ai::provider::Usage::default(),
        duration: Duration::ZERO,
        started_at: jiff::Timestamp::now(),
        transcript: Transcript::default(),
        first_message_id: None,
        session_failure: None,
    }
}

async fn run_scenario(
    prepared: Prepared,
    provider: &Provider,
    settings: &ConversationSettings,
) -> AiResult {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let name = prepared.scenario.name.clone();
    let shown = crate::secrets::terminal_line(&name);
    eprintln!("[STARTED] {shown}");
    let on_line = |line: &crate::ai::conversation::Line| {
        eprintln!(
            "[{shown}] {}",
            crate::secrets::terminal(&crate::secrets::bound(&transcript_line(line)))
        );
    };
    let ConversationOutcome {
        lines,
        end,
        turns,
        mut usage,
        transcript,
        first_message_id,
    } = converse(
        &prepared.prompt,
        &prepared.scenario.phrases,
        provider,
        settings,
        &on_line,
    )
    .await;
    let mut judge = None;
    let mut judge_skipped = None;
    if let (Some(follow_up), Some(judge_provider)) = (&prepared.scenario.follow_up, &prepared.judge)
    {
        if settings.interrupt.signal().is_some() && end.kind == EndKind::Error {
            judge_skipped = Some("the run was interrupted".to_string());
        } else if end.kind == EndKind::Error || lines.is_empty() {
            judge_skipped = Some("the conversation did not take place".to_string());
        } else {
            let prompt = crate::ai::placeholders::replace(&follow_up.prompt, &prepared.values);
            let (verdict, judge_usage) =
                crate::ai::judge::judge(&prompt, &follow_up.phrases, judge_provider, &lines).await;
            usage += judge_usage;
            judge = Some(verdict);
        }
    }
    let result = AiResult {
        name,
        placeholder_values: prepared.values,
        prompt: prepared.prompt,
        lines,
        end_kind: end.kind,
        end_description: match &end.failure {
            Some((failure, timeout)) => crate::results::describe_failure(failure, *timeout),
            None => end.description,
        },
        session_failure: end.failure.map(|(failure, _)| failure),
        judge,
        judge_skipped,
        model: provider.model().to_string(),
        turns,
        usage,
        duration: started.elapsed(),
        started_at,
        transcript,
        first_message_id,
    };
    let seconds = result.duration.as_secs_f64();
    if result.passed() {
        eprintln!("[SUCCESS] {shown} (PASS) in {seconds:.1} s");
    } else {
        eprintln!("[FAILED] {shown} (FAIL) in {seconds:.1} s");
    }
    result
}

/// `--verbose` also logs the model requests (target `ai`); otherwise as every command.
fn init_logging(verbose: bool, colour_allowed: bool) {
    if !verbose {
        crate::logging::init(false, colour_allowed);
        return;
    }
    use std::io::IsTerminal;
    let directives = format!(
        "warn,{}=debug,{}=debug",
        genesys_web_messaging::WIRE_TARGET,
        crate::ai::http::TARGET
    );
    let colours = colour_allowed && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(directives))
        .with_writer(crate::secrets::LogWriter { colours })
        .with_ansi(colours)
        .try_init();
}

/// `-a` against the simulator's own Platform API, when no variable named another.
async fn with_simulator(
    associator: Option<Arc<crate::run::associate::Associator>>,
    associate_id: bool,
    simulator: Option<String>,
) -> Result<Option<Arc<crate::run::associate::Associator>>, String> {
    match (associator, simulator) {
        (None, Some(url)) if associate_id => {
            crate::run::associate::prepare_simulator_associator(&url)
                .await
                .map(Some)
        }
        (associator, _) => Ok(associator),
    }
}

/// Stops the target and refuses the run.
async fn shutdown_invalid(started: crate::plan::target::StartedTarget, message: String) -> Outcome {
    started.shutdown().await;
    Outcome::Invalid(message)
}
