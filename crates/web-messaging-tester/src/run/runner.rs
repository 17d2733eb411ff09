//! Runs scenarios: each in its own guest session, up to `parallel` at once, every one reported
//! whatever happens to the others.
//!
//! Every scenario has a time limit of its own (`--scenario-timeout`): over it, it stops where
//! it is and fails, its transcript so far kept. SIGINT or SIGTERM stops every scenario the
//! same way (marked interrupted), and starts no new one.

use crate::format::script::{LifecycleAction, Scenario, Step, WaitFor};
use crate::interrupt::{Interrupt, Signal};
use crate::plan::guest::GuestSettings;
use crate::run::activity::Activity;
use genesys_web_messaging::{
    Attachment, AttachmentError, ConnectError, Conversation, ConversationOptions, Expectation,
    LifecycleError, SayError, SessionLog, Transcript, WaitError,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How every scenario of a suite runs: its guest session and pacing, and its time limit.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Where each scenario's session goes and how it paces itself.
    pub guest: GuestSettings,
    /// Most time the whole scenario may take; `None`: [`default_scenario_timeout`].
    pub scenario_timeout: Option<Duration>,
    /// The Platform API client for the `expect…` steps, the conversation lookup and the
    /// cleanup (`--associate-id`); `None`: no Platform API.
    pub platform: Option<Arc<crate::run::platform::PlatformRun>>,
}

/// The least a scenario gets by default: 10 minutes.
pub const MIN_DEFAULT_SCENARIO_TIMEOUT: Duration = Duration::from_secs(600);

/// A scenario's default time limit: twice the longest its steps may take (the connect and
/// session start, each wait's timeout, and for each `say` or `click` the longer of the say
/// delay and the timeout plus a second for the rate limit), at least 10 minutes and at most
/// 24 hours.
pub fn default_scenario_timeout(
    scenario: &Scenario,
    timeout: Duration,
    say_delay: Duration,
) -> Duration {
    let one_second = Duration::from_secs(1);
    let most = scenario.steps.iter().fold(timeout, |total, step| {
        let step_most = match step {
            Step::Wait { timeout: own, .. } => own.unwrap_or(timeout),
            Step::Say(_) | Step::Click(_) | Step::PickDate(_) => {
                say_delay.max(timeout).saturating_add(one_second)
            }
            // Up to three waits (URL, upload, verdict) and a paced message.
            Step::SendAttachment(a) => a
                .timeout
                .unwrap_or(timeout)
                .saturating_mul(3)
                .saturating_add(say_delay.max(timeout))
                .saturating_add(one_second),
            // Reconnecting: the connect and the session response.
            Step::Platform {
                check,
                timeout: own,
            } => own.unwrap_or_else(|| crate::run::platform::default_timeout(check.source())),
            Step::Lifecycle { timeout: own, .. } => own
                .unwrap_or(timeout)
                .saturating_mul(2)
                .saturating_add(one_second),
        };
        total.saturating_add(step_most)
    });
    most.saturating_mul(2).clamp(
        MIN_DEFAULT_SCENARIO_TIMEOUT,
        crate::format::duration::SCENARIO_TIMEOUT_RANGE.1,
    )
}

impl RunSettings {
    /// The time limit of `scenario` run with these settings.
    pub fn scenario_limit(&self, scenario: &Scenario) -> Duration {
        self.scenario_timeout.unwrap_or_else(|| {
            default_scenario_timeout(scenario, self.guest.timeout, self.guest.say_delay)
        })
    }
}

/// How one scenario ended.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// `None` when it passed.
    pub failure: Option<Failure>,
    /// What was said.
    pub transcript: Transcript,
    /// How long it took.
    pub duration: Duration,
    /// When it started (wall clock).
    pub started_at: jiff::Timestamp,
    /// What each step did, in order; steps after a failure are not run and not listed.
    pub steps: Vec<StepRecord>,
    /// The id of the first message of the session (to find its Genesys conversation).
    pub first_message_id: Option<String>,
    /// Frames Genesys sent that the client could not use (each with the frame, bounded),
    /// as the session log recorded them; not yet redacted.
    pub warnings: Vec<String>,
    /// The Genesys conversation, when the Platform API found it during the run.
    pub conversation_id: Option<String>,
    /// What the cleanup did with the conversation (disconnected, kept, had ended...).
    pub cleanup: Option<String>,
}

/// One step as it ran.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// The step as written, e.g. `say: hi` or `waitForReplyContaining: Hello`.
    pub description: String,
    /// Whether it passed.
    pub passed: bool,
    /// How long the step took.
    pub duration: Duration,
    /// For a wait that got its reply: the bot's response time, from the guest's last `say`
    /// (or the session start) to the arrival of the reply.
    pub response_time: Option<Duration>,
}

impl ScenarioResult {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Why a scenario failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The session could not be opened.
    Connect(String),
    /// The session never started, or failed while starting.
    Start(WaitError),
    /// A `say` could not be sent.
    Say(SayError),
    /// A wait did not get its reply.
    Wait(WaitError),
    /// `waitForDisconnect` did not see the bot leave.
    NoDisconnect(WaitError),
    /// A `sendAttachment` or lifecycle step failed: why.
    Step(String),
    /// The scenario's task itself failed (a bug: reported, never hidden).
    Internal(String),
    /// An `ai` scenario's verdict was a fail: why, as the `ai` report words it.
    Verdict(String),
    /// The scenario took longer than its time limit and was stopped.
    ScenarioTimeout {
        /// The limit.
        limit: Duration,
        /// Where it was stopped, e.g. `during step 2 (say: hi)`.
        during: String,
    },
    /// SIGINT or SIGTERM stopped the run before the scenario finished.
    Interrupted {
        /// Which signal.
        signal: Signal,
        /// Where it was stopped, e.g. `during step 2 (say: hi)`; `None`: it never started.
        during: Option<String>,
    },
}

impl Failure {
    /// Whether a signal stopped the scenario.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Failure::Interrupted { .. })
    }
}

impl ScenarioResult {
    /// The result of a scenario that started at `started_at`, nothing recorded yet: no
    /// failure, no steps, no transcript.
    pub fn new(name: String, started_at: jiff::Timestamp) -> ScenarioResult {
        ScenarioResult {
            name,
            failure: None,
            transcript: Transcript::default(),
            duration: Duration::ZERO,
            started_at,
            steps: Vec::new(),
            first_message_id: None,
            warnings: Vec::new(),
            conversation_id: None,
            cleanup: None,
        }
    }

    /// The result of a scenario that never ran.
    pub fn not_run(name: String, failure: Failure) -> ScenarioResult {
        ScenarioResult {
            failure: Some(failure),
            ..ScenarioResult::new(name, jiff::Timestamp::now())
        }
    }

    /// Whether a signal stopped it.
    pub fn interrupted(&self) -> bool {
        self.failure.as_ref().is_some_and(Failure::is_interrupted)
    }
}

/// Told about scenarios as they start and finish (the live terminal display).
pub trait Progress: Send + Sync {
    /// A scenario connected; its log shows every message as it arrives.
    fn started(&self, index: usize, name: &str, log: Arc<SessionLog>);
    /// A scenario finished.
    fn finished(&self, index: usize, result: &ScenarioResult);
    /// A scenario began something that may take a while (the session start, a step): told
    /// once as it begins, so a display words the time since.
    fn activity(&self, _index: usize, _activity: &Activity) {}
}

/// Runs every scenario, each with its own settings (the files of one run may differ), at most
/// `parallel` at once, starting them in the order given; returns their results in that order.
/// After `interrupt` fires, running scenarios stop and the others never start (all marked
/// interrupted).
pub async fn run_scenarios(
    scenarios: Vec<(Scenario, RunSettings)>,
    parallel: usize,
    progress: Arc<dyn Progress>,
    interrupt: &Interrupt,
) -> Vec<ScenarioResult> {
    let names: Vec<String> = scenarios.iter().map(|(s, _)| s.name.clone()).collect();
    run_in_order(
        scenarios,
        parallel,
        interrupt,
        move |index, (scenario, settings)| {
            let progress = Arc::clone(&progress);
            let interrupt = interrupt.clone();
            // Every frame logged for this scenario (`--verbose`), its session task's included,
            // carries its name, whatever runs beside it.
            let span = tracing::debug_span!(
                target: genesys_web_messaging::WIRE_TARGET,
                "scenario",
                name = %scenario.name
            );
            tracing::Instrument::instrument(
                async move {
                    let result =
                        run_scenario(index, &scenario, &settings, progress.as_ref(), &interrupt)
                            .await;
                    progress.finished(index, &result);
                    result
                },
                span,
            )
        },
        |index, signal| {
            let failure = match signal {
                Some(signal) => Failure::Interrupted {
                    signal,
                    during: None,
                },
                None => Failure::Internal("the scenario's task stopped unexpectedly".into()),
            };
            ScenarioResult::not_run(names[index].clone(), failure)
        },
    )
    .await
}

/// Runs `work` on every item, at most `parallel` at once, starting them in the order given
/// (with `parallel` 1, strictly one after the other, as upstream), and returns the results in
/// that order. Once `interrupt` fires no further item starts: each of those gets
/// `lost(index, Some(signal))`. A task that dies (a bug) gets `lost(index, None)`: nothing is
/// dropped. (The work itself is expected to stop soon after `interrupt` fires.)
pub async fn run_in_order<I, T, F, Fut>(
    items: Vec<I>,
    parallel: usize,
    interrupt: &Interrupt,
    work: F,
    lost: impl Fn(usize, Option<Signal>) -> T,
) -> Vec<T>
where
    F: Fn(usize, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    let count = items.len();
    let mut started = vec![false; count];
    let mut tasks = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        if interrupt.signal().is_some() {
            break;
        }
        // Taking the permit before spawning keeps the start order. The semaphore is never
        // closed.
        let permit = tokio::select! {
            biased;
            _ = interrupt.wait() => break,
            permit = Arc::clone(&permits).acquire_owned() => permit,
        };
        let task = work(index, item);
        started[index] = true;
        tasks.spawn(async move {
            let _permit = permit;
            (index, task.await)
        });
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            result.unwrap_or_else(|| {
                let signal = if started[index] {
                    None
                } else {
                    interrupt.signal()
                };
                lost(index, signal)
            })
        })
        .collect()
}

/// What stopped a scenario from outside.
enum Cut {
    Signal(Signal),
    Limit,
}

/// Waits for the signal or the scenario's deadline, whichever comes first.
async fn cut_short(interrupt: &Interrupt, deadline: Instant) -> Cut {
    tokio::select! {
        biased;
        signal = interrupt.wait() => Cut::Signal(signal),
        () = tokio::time::sleep_until(deadline) => Cut::Limit,
    }
}

impl Cut {
    fn failure(self, limit: Duration, during: String) -> Failure {
        match self {
            Cut::Signal(signal) => Failure::Interrupted {
                signal,
                during: Some(during),
            },
            Cut::Limit => Failure::ScenarioTimeout { limit, during },
        }
    }
}

/// `at + duration`, saturating instead of panicking.
fn later(at: Instant, duration: Duration) -> Instant {
    at.checked_add(duration)
        .or_else(|| at.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(at)
}

/// Most time finding a scenario's conversation may take (Genesys may not know the message
/// at once).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(15);
/// Most time the cleanup of a scenario's conversation may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Most time closing a session may take (a peer that does not read could block the close).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where `run_steps` is: the records of the steps done, and the step running.
struct StepsState {
    records: Vec<StepRecord>,
    running: Option<(usize, Instant)>,
}

async fn run_scenario(
    index: usize,
    scenario: &Scenario,
    settings: &RunSettings,
    progress: &dyn Progress,
    interrupt: &Interrupt,
) -> ScenarioResult {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let limit = settings.scenario_limit(scenario);
    let deadline = later(started, limit);
    let options = ConversationOptions {
        say_delay: settings.guest.say_delay,
        // A bot that never goes quiet gets the say anyway after the wait timeout.
        max_quiet_wait: settings.guest.timeout,
        ..ConversationOptions::default()
    };
    // Connecting and the session start share the timeout (`-t`).
    let mut session = settings.guest.session.clone();
    session.connect_timeout = settings.guest.timeout;
    let mut result = ScenarioResult::new(scenario.name.clone(), started_at);
    let mut platform = settings
        .platform
        .as_ref()
        .map(|run| crate::run::platform::ScenarioPlatform::new(Arc::clone(run)));
    let connected = tokio::select! {
        connected = Conversation::connect(session, options) => connected,
        cut = cut_short(interrupt, deadline) => {
            result.failure = Some(cut.failure(limit, "while connecting".into()));
            result.duration = started.elapsed();
            return result;
        }
    };
    match connected {
        Ok(mut conversation) => {
            progress.started(
                index,
                &scenario.name,
                Arc::clone(conversation.session().log()),
            );
            let mut state = StepsState {
                records: Vec::new(),
                running: None,
            };
            let tell = |activity: Activity| progress.activity(index, &activity);
            let outcome = tokio::select! {
                outcome = run_steps(&mut conversation, scenario, settings, started, &mut state, &tell, platform.as_mut()) => outcome.err(),
                cut = cut_short(interrupt, deadline) => {
                    let during = match state.running {
                        Some((n, step_started)) => {
                            let step = &scenario.steps[n];
                            state.records.push(record(step, step_started, false, None));
                            format!("during step {} ({step})", n + 1)
                        }
                        None => "while waiting for the session to start".into(),
                    };
                    Some(cut.failure(limit, during))
                }
            };
            result.failure = outcome;
            result.steps = state.records;
            result.transcript = conversation.transcript();
            result.first_message_id = conversation.first_message_id();
            result.warnings = conversation.session().log().warning_lines();
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conversation.close()).await;
            if let Some(platform) = platform.as_mut() {
                let found = platform
                    .conversation(result.first_message_id.clone(), LOOKUP_TIMEOUT)
                    .await;
                if let Ok(id) = found {
                    // Never a test conversation left waiting for a real agent.
                    let cleanup = tokio::time::timeout(CLEANUP_TIMEOUT, platform.run.cleanup(&id))
                        .await
                        .unwrap_or_else(|_| "the cleanup did not finish in time".into());
                    result.cleanup = Some(cleanup);
                    result.conversation_id = Some(id);
                }
            }
        }
        Err(e) => result.failure = Some(Failure::Connect(describe_connect(&e))),
    }
    result.duration = started.elapsed();
    result
}

async fn run_steps(
    conversation: &mut Conversation,
    scenario: &Scenario,
    settings: &RunSettings,
    connect_started: Instant,
    state: &mut StepsState,
    tell: &(dyn Fn(Activity) + Sync),
    mut platform: Option<&mut crate::run::platform::ScenarioPlatform>,
) -> Result<(), Failure> {
    // Connecting and the session start share one timeout.
    let start_timeout = settings
        .guest
        .timeout
        .saturating_sub(connect_started.elapsed())
        .max(Duration::from_millis(1));
    tell(Activity::Starting {
        limit: settings.guest.timeout,
    });
    conversation
        .wait_for_start(start_timeout)
        .await
        .map_err(|mut e| {
            e.timeout = settings.guest.timeout;
            Failure::Start(e)
        })?;
    // Response times count from the guest's last message (or the session start).
    let mut spoke_at = Instant::now();
    for (n, step) in scenario.steps.iter().enumerate() {
        let step_started = Instant::now();
        state.running = Some((n, step_started));
        tell(Activity::of_step(
            step,
            settings.guest.timeout,
            settings.guest.say_delay,
        ));
        let outcome = run_step(
            conversation,
            step,
            settings.guest.timeout,
            &mut spoke_at,
            platform.as_deref_mut(),
        )
        .await
        .map_err(|e| match e {
            StepError::Send(e) => Failure::Say(e),
            StepError::Reply(e) => Failure::Wait(e),
            StepError::Disconnect(e) => Failure::NoDisconnect(e),
            StepError::Attachment(e) => Failure::Step(e.to_string()),
            StepError::Lifecycle(e) => Failure::Step(e.to_string()),
            StepError::Platform(reason) => Failure::Step(reason),
        });
        let response_time = outcome.as_ref().ok().copied().flatten();
        state
            .records
            .push(record(step, step_started, outcome.is_ok(), response_time));
        state.running = None;
        outcome?;
    }
    Ok(())
}

/// Why one step failed.
#[derive(Debug)]
pub enum StepError {
    /// A `say` or `click` could not be sent.
    Send(SayError),
    /// A reply wait did not get its reply.
    Reply(WaitError),
    /// `waitForDisconnect` did not see the bot leave.
    Disconnect(WaitError),
    /// `sendAttachment` failed.
    Attachment(AttachmentError),
    /// `clearConversation`, `reconnect`, `startNew` or `closeSession` failed.
    Lifecycle(LifecycleError),
    /// An `expect…` step (Platform API) did not hold: why, with what the conversation showed.
    Platform(String),
}

/// Runs one step: the one meaning of every step, for `scripted` and `load` alike. Returns,
/// for a reply wait, the bot's response time: from `spoke_at` (the guest's last message,
/// which `say` and `click` move) to the reply's arrival.
pub async fn run_step(
    conversation: &mut Conversation,
    step: &Step,
    default_timeout: Duration,
    spoke_at: &mut Instant,
    platform: Option<&mut crate::run::platform::ScenarioPlatform>,
) -> Result<Option<Duration>, StepError> {
    match step {
        // Boxed, as the attachment and lifecycle steps below: the Platform API's polling is
        // ~2.9 KiB and rare under load; inline, it sized every guest's task (3.0 KiB of steps
        // where a wait needs 1.2 KiB) for the guest's whole life.
        Step::Platform { check, timeout } => {
            Box::pin(platform_step(conversation, check, *timeout, platform)).await
        }
        Step::Say(text) => {
            let sent = conversation.say(text).await.map_err(StepError::Send);
            *spoke_at = sent_at(conversation);
            sent.map(|()| None)
        }
        Step::Click(label) => {
            let sent = conversation.click(label).await.map_err(StepError::Send);
            *spoke_at = sent_at(conversation);
            sent.map(|()| None)
        }
        Step::SendAttachment(step) => {
            let timeout = step.timeout.unwrap_or(default_timeout);
            let attachment = Attachment::from_path(&step.path, Some(&step.media_type()))
                .map_err(StepError::Attachment)?;
            // Boxed, as the lifecycle steps below: these futures are large (a reconnect holds a
            // whole WebSocket connect) and rare, and would otherwise size every step's future,
            // and so every load guest's task, for the guest's whole life.
            let sent =
                Box::pin(conversation.send_attachment(&attachment, step.text.as_deref(), timeout))
                    .await
                    .map_err(StepError::Attachment);
            *spoke_at = Instant::now();
            sent.map(|_| None)
        }
        Step::Lifecycle { action, timeout } => {
            let timeout = timeout.unwrap_or(default_timeout);
            let done = Box::pin(async {
                match action {
                    LifecycleAction::ClearConversation => {
                        conversation.clear_conversation(timeout).await
                    }
                    LifecycleAction::Reconnect => conversation.reconnect(timeout).await.map(|_| ()),
                    LifecycleAction::StartNew => conversation.start_new(timeout).await.map(|_| ()),
                    LifecycleAction::CloseSession => {
                        conversation.close_session(timeout).await.map(|_| ())
                    }
                }
            })
            .await;
            if matches!(action, LifecycleAction::StartNew) {
                *spoke_at = Instant::now();
            }
            done.map(|()| None).map_err(StepError::Lifecycle)
        }
        Step::PickDate(date_time) => {
            let sent = conversation
                .pick_date(date_time)
                .await
                .map_err(StepError::Send);
            *spoke_at = sent_at(conversation);
            sent.map(|()| None)
        }
        Step::Wait {
            what,
            timeout,
            from,
        } => {
            let timeout = timeout.unwrap_or(default_timeout);
            let expectation = match what {
                WaitFor::ReplyContaining(text) => Expectation::containing(text.clone()),
                WaitFor::ReplyMatching(regex) => Expectation::Matching(regex.clone()),
                WaitFor::QuickReplies(labels) => Expectation::QuickReplies(labels.clone()),
                WaitFor::Buttons(labels) => Expectation::Buttons(labels.clone()),
                WaitFor::Agent(nickname) => Expectation::Agent(nickname.clone()),
                WaitFor::DatePicker(slots) => Expectation::DatePicker(slots.clone()),
                WaitFor::Attachment {
                    filename,
                    media_type,
                } => Expectation::Attachment {
                    filename: filename.clone(),
                    media_type: media_type.clone(),
                },
                WaitFor::Disconnect => {
                    return conversation
                        .wait_for_disconnect(timeout)
                        .await
                        .map(|()| None)
                        .map_err(StepError::Disconnect);
                }
            };
            let expectation = match from {
                Some(kind) => expectation.from(*kind),
                None => expectation,
            };
            let reply = conversation
                .wait_for_reply(&expectation, timeout)
                .await
                .map_err(StepError::Reply)?;
            Ok(Some(reply.received_at.saturating_duration_since(*spoke_at)))
        }
    }
}

/// When the message just sent went out: taken before its frame was written (after pacing),
/// so a reply that arrives while `say` is still returning is never counted as 0 ms.
fn sent_at(conversation: &Conversation) -> Instant {
    conversation.last_sent_at().unwrap_or_else(Instant::now)
}

/// An `expect…` step: the conversation (found once), then the check, polled.
async fn platform_step(
    conversation: &Conversation,
    check: &crate::format::platform_steps::PlatformCheck,
    timeout: Option<Duration>,
    platform: Option<&mut crate::run::platform::ScenarioPlatform>,
) -> Result<Option<Duration>, StepError> {
    let Some(platform) = platform else {
        return Err(StepError::Platform(format!(
            "{check}: the Platform API is not available here (expect… steps run in scripted, which logs in with --associate-id)"
        )));
    };
    let timeout = timeout.unwrap_or_else(|| crate::run::platform::default_timeout(check.source()));
    let id = platform
        .conversation(conversation.first_message_id(), timeout)
        .await
        .map_err(|e| StepError::Platform(format!("{check}: {e}")))?;
    platform
        .run
        .check(&id, check, timeout)
        .await
        .map(|()| None)
        .map_err(StepError::Platform)
}

fn record(
    step: &Step,
    started: Instant,
    passed: bool,
    response_time: Option<Duration>,
) -> StepRecord {
    StepRecord {
        description: step.to_string(),
        passed,
        duration: started.elapsed(),
        response_time,
    }
}

fn describe_connect(e: &ConnectError) -> String {
    format!("Could not open a session: {e}")
}
