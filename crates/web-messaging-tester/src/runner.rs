//! Runs scenarios: each in its own guest session, up to `parallel` at once, every one reported
//! whatever happens to the others.

use crate::script::{Scenario, Step, WaitFor};
use genesys_web_messaging::{
    ConnectError, Conversation, ConversationOptions, Expectation, SayError, SessionConfig,
    SessionLog, Transcript, WaitError,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Where and how every scenario connects and paces itself.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The session each scenario opens (its token is fresh per scenario).
    pub session: SessionConfig,
    /// How long each wait (and the session start) may take.
    pub timeout: Duration,
    /// Quiet time before each `say`.
    pub say_delay: Duration,
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
    /// The scenario's task itself failed (a bug: reported, never hidden).
    Internal(String),
    /// An `ai` scenario's verdict was a fail: why, as the `ai` report words it.
    Verdict(String),
}

/// Told about scenarios as they start and finish (the live terminal display).
pub trait Progress: Send + Sync {
    /// A scenario connected; its log shows every message as it arrives.
    fn started(&self, index: usize, name: &str, log: Arc<SessionLog>);
    /// A scenario finished.
    fn finished(&self, index: usize, result: &ScenarioResult);
}

/// Runs every scenario, each with its own settings (the files of one run may differ), at most
/// `parallel` at once, starting them in the order given; returns their results in that order.
pub async fn run_scenarios(
    scenarios: Vec<(Scenario, RunSettings)>,
    parallel: usize,
    progress: Arc<dyn Progress>,
) -> Vec<ScenarioResult> {
    let names: Vec<String> = scenarios.iter().map(|(s, _)| s.name.clone()).collect();
    run_in_order(
        scenarios,
        parallel,
        move |index, (scenario, settings)| {
            let progress = Arc::clone(&progress);
            async move {
                let result = run_scenario(index, &scenario, &settings, progress.as_ref()).await;
                progress.finished(index, &result);
                result
            }
        },
        |index| ScenarioResult {
            name: names[index].clone(),
            failure: Some(Failure::Internal(
                "the scenario's task stopped unexpectedly".into(),
            )),
            transcript: Transcript::default(),
            duration: Duration::ZERO,
            started_at: jiff::Timestamp::now(),
            steps: Vec::new(),
            first_message_id: None,
        },
    )
    .await
}

/// Runs `work` on every item, at most `parallel` at once, starting them in the order given
/// (with `parallel` 1, strictly one after the other, as upstream), and returns the results in
/// that order. A task that dies (a bug) still gets a result, from `lost`: nothing is dropped.
pub async fn run_in_order<I, T, F, Fut>(
    items: Vec<I>,
    parallel: usize,
    work: F,
    lost: impl Fn(usize) -> T,
) -> Vec<T>
where
    F: Fn(usize, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    let count = items.len();
    let mut tasks = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        // Taking the permit before spawning keeps the start order. The semaphore is never
        // closed.
        let permit = Arc::clone(&permits).acquire_owned().await;
        let task = work(index, item);
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
        .map(|(index, result)| result.unwrap_or_else(|| lost(index)))
        .collect()
}

async fn run_scenario(
    index: usize,
    scenario: &Scenario,
    settings: &RunSettings,
    progress: &dyn Progress,
) -> ScenarioResult {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let options = ConversationOptions {
        say_delay: settings.say_delay,
        ..ConversationOptions::default()
    };
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        failure: None,
        transcript: Transcript::default(),
        duration: Duration::ZERO,
        started_at,
        steps: Vec::new(),
        first_message_id: None,
    };
    match Conversation::connect(settings.session.clone(), options).await {
        Ok(mut conversation) => {
            progress.started(
                index,
                &scenario.name,
                Arc::clone(conversation.session().log()),
            );
            result.failure = run_steps(&mut conversation, scenario, settings, &mut result.steps)
                .await
                .err();
            result.transcript = conversation.transcript();
            result.first_message_id = conversation.first_message_id();
            conversation.close().await;
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
    records: &mut Vec<StepRecord>,
) -> Result<(), Failure> {
    conversation
        .wait_for_start(settings.timeout)
        .await
        .map_err(Failure::Start)?;
    // Response times count from the guest's last message (or the session start).
    let mut spoke_at = Instant::now();
    for step in &scenario.steps {
        let step_started = Instant::now();
        let outcome = run_step(conversation, step, settings.timeout, &mut spoke_at)
            .await
            .map_err(|e| match e {
                StepError::Send(e) => Failure::Say(e),
                StepError::Reply(e) => Failure::Wait(e),
                StepError::Disconnect(e) => Failure::NoDisconnect(e),
            });
        let response_time = outcome.as_ref().ok().copied().flatten();
        records.push(record(step, step_started, outcome.is_ok(), response_time));
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
}

/// Runs one step: the one meaning of every step, for `scripted` and `load` alike. Returns,
/// for a reply wait, the bot's response time: from `spoke_at` (the guest's last message,
/// which `say` and `click` move) to the reply's arrival.
pub async fn run_step(
    conversation: &mut Conversation,
    step: &Step,
    default_timeout: Duration,
    spoke_at: &mut Instant,
) -> Result<Option<Duration>, StepError> {
    match step {
        Step::Say(text) => {
            let sent = conversation.say(text).await.map_err(StepError::Send);
            *spoke_at = Instant::now();
            sent.map(|()| None)
        }
        Step::Click(label) => {
            let sent = conversation.click(label).await.map_err(StepError::Send);
            *spoke_at = Instant::now();
            sent.map(|()| None)
        }
        Step::Wait { what, timeout } => {
            let timeout = timeout.unwrap_or(default_timeout);
            let expectation = match what {
                WaitFor::ReplyContaining(text) => Expectation::containing(text.clone()),
                WaitFor::ReplyMatching(regex) => Expectation::Matching(regex.clone()),
                WaitFor::QuickReplies(labels) => Expectation::QuickReplies(labels.clone()),
                WaitFor::Buttons(labels) => Expectation::Buttons(labels.clone()),
                WaitFor::Disconnect => {
                    return conversation
                        .wait_for_disconnect(timeout)
                        .await
                        .map(|()| None)
                        .map_err(StepError::Disconnect);
                }
            };
            let reply = conversation
                .wait_for_reply(&expectation, timeout)
                .await
                .map_err(StepError::Reply)?;
            Ok(Some(reply.received_at.saturating_duration_since(*spoke_at)))
        }
    }
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
