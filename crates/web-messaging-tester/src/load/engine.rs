//! The load engine: guests holding conversations, each in its own session with its own pacing,
//! started as the profile says. Every outcome is recorded; nothing a guest meets under load
//! (timeouts, refusals, closed sockets, a panicking task) stops the run.

use super::distributed::Slice;
use super::profile::{Model, Profile, Stop};
use super::stats::{ConversationRecord, ErrorKind, Recorder};
use crate::format::script::Scenario;
use crate::plan::guest::GuestSettings;
use crate::run::{StepError, run_step};
use genesys_web_messaging::protocol::ServerError;
use genesys_web_messaging::{Conversation, ConversationOptions, Fault};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Everything a guest needs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The scenarios, taken in turn.
    pub scenarios: Arc<[Scenario]>,
    /// Where each conversation's session goes and how it paces itself.
    pub guest: GuestSettings,
    /// Who starts when, and when the run ends (the whole profile, of every shard).
    pub profile: Profile,
    /// The guests and arrivals of the profile this process runs (`--shard`).
    pub slice: Slice,
}

/// Runs the load on the timeline starting at `started` (now, or `--start-at`); returns the
/// wall time, from then to the last conversation's end. When `stop` turns true, no
/// conversation starts any more and those under way are dropped.
pub async fn run(
    plan: &LoadPlan,
    recorder: &Arc<Recorder>,
    stop: watch::Receiver<bool>,
    started: Instant,
) -> Duration {
    let mut guests = JoinSet::new();
    // One plan that every guest points to, rather than a copy in each guest's task.
    let plan = Arc::new(plan.clone());
    match plan.profile.model {
        Model::Closed => {
            let mine = (0..plan.profile.users).filter(|g| plan.slice.owns(*g as u64));
            for guest in mine {
                let plan = Arc::clone(&plan);
                let recorder = Arc::clone(recorder);
                let stop = stop.clone();
                guests.spawn(closed_guest(plan, guest, started, recorder, stop));
            }
        }
        Model::Open { .. } => open_arrivals(&plan, recorder, stop, started, &mut guests).await,
    }
    // A guest task that panicked has already been counted (as an internal error) by its
    // conversation's guard; the run goes on regardless.
    while guests.join_next().await.is_some() {}
    started.elapsed()
}

/// One guest of the closed model: its conversations one after the other.
async fn closed_guest(
    plan: Arc<LoadPlan>,
    guest: usize,
    run_started: Instant,
    recorder: Arc<Recorder>,
    mut stop: watch::Receiver<bool>,
) {
    let start_at = run_started + plan.profile.guest_start(guest);
    tokio::select! {
        () = tokio::time::sleep_until(start_at) => {}
        () = stopped(&mut stop) => return,
    }
    let mut iteration: u64 = 0;
    loop {
        let more = match plan.profile.stop {
            Stop::Iterations(n) => iteration < n,
            Stop::Duration(d) => run_started.elapsed() < d,
        };
        if !more || *stop.borrow() {
            return;
        }
        let scenario =
            (guest + usize::try_from(iteration).unwrap_or(usize::MAX)) % plan.scenarios.len();
        hold(&plan, scenario, &recorder, &mut stop).await;
        iteration += 1;
    }
}

/// The open model: conversations arrive on schedule, at most `users` at once.
async fn open_arrivals(
    plan: &Arc<LoadPlan>,
    recorder: &Arc<Recorder>,
    mut stop: watch::Receiver<bool>,
    started: Instant,
    guests: &mut JoinSet<()>,
) {
    let Stop::Duration(duration) = plan.profile.stop else {
        return;
    };
    let slots = Arc::new(Semaphore::new(plan.slice.users(plan.profile.users)));
    for k in 0u64.. {
        let at = plan.profile.arrival_at(k);
        if at >= duration {
            break;
        }
        if !plan.slice.owns(k) {
            continue; // another shard's arrival
        }
        tokio::select! {
            () = tokio::time::sleep_until(started + at) => {}
            () = stopped(&mut stop) => break,
        }
        // Reap finished guests as we go, so the set stays as small as the concurrency.
        while guests.try_join_next().is_some() {}
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            recorder.dropped_arrival();
            continue;
        };
        let plan = Arc::clone(plan);
        let recorder = Arc::clone(recorder);
        let mut stop = stop.clone();
        // The remainder is below the number of scenarios, so it fits.
        let scenario = usize::try_from(k % plan.scenarios.len() as u64).unwrap_or(0);
        guests.spawn(async move {
            let _slot = slot;
            hold(&plan, scenario, &recorder, &mut stop).await;
        });
    }
}

/// Holds one conversation and records it (unless the run is stopped meanwhile).
async fn hold(
    plan: &LoadPlan,
    scenario: usize,
    recorder: &Recorder,
    stop: &mut watch::Receiver<bool>,
) {
    let active = recorder.begin();
    tokio::select! {
        record = converse(plan, scenario) => active.end(&record),
        () = stopped(stop) => active.interrupted(),
    }
}

/// Resolves once `stop` turns true (never, if its sender is gone while false).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One conversation: connect, wait for the session, run the scenario's steps, close.
pub async fn converse(plan: &LoadPlan, scenario_index: usize) -> ConversationRecord {
    let started = Instant::now();
    let scenario = &plan.scenarios[scenario_index];
    let mut record = ConversationRecord {
        scenario: scenario_index,
        ..ConversationRecord::default()
    };
    let options = ConversationOptions {
        say_delay: plan.guest.say_delay,
        ..ConversationOptions::default()
    };
    // Connecting (WebSocket and TLS set-up) is the largest future a guest awaits, ~12 KiB: on
    // the heap only while it runs, rather than inside every guest's task for its whole life.
    let connect = Box::pin(Conversation::connect(plan.guest.session.clone(), options));
    let mut conversation = match connect.await {
        Ok(conversation) => conversation,
        Err(e) => {
            record.failure = Some((None, ErrorKind::of_connect(&e)));
            record.duration = started.elapsed();
            return record;
        }
    };
    match conversation.wait_for_start(plan.guest.timeout).await {
        Ok(_) => record.session_start = Some(started.elapsed()),
        Err(e) => record.failure = Some((None, ErrorKind::of_wait(&e))),
    }
    // The steps run after that match, not inside it: there the `SessionResponse` it matched
    // would sit in the guest's task through every step.
    if record.session_start.is_some() {
        record.failure = run_steps(&mut conversation, scenario, plan.guest.timeout, &mut record)
            .await
            .err();
    }
    let snapshot = conversation.session().log().snapshot();
    record.received = snapshot
        .messages
        .iter()
        .filter(|m| m.message.is_reply())
        .count() as u64;
    let rate_limited = snapshot
        .faults
        .iter()
        .filter(|f| matches!(f, Fault::Server(ServerError::TooManyRequests { .. })))
        .count() as u64;
    let failed_on_429 = matches!(record.failure, Some((_, ErrorKind::RateLimited)));
    record.rate_limited_resent = rate_limited.saturating_sub(u64::from(failed_on_429));
    conversation.close().await;
    record.duration = started.elapsed();
    record
}

type StepFailure = (Option<usize>, ErrorKind);

async fn run_steps(
    conversation: &mut Conversation,
    scenario: &Scenario,
    default_timeout: Duration,
    record: &mut ConversationRecord,
) -> Result<(), StepFailure> {
    // Response times count from the guest's last message (or the session start), as in
    // `scripted`: the instant the message has been written to the socket.
    let mut spoke_at = Instant::now();
    for (index, step) in scenario.steps.iter().enumerate() {
        let response_time = run_step(conversation, step, default_timeout, &mut spoke_at, None)
            .await
            .map_err(|e| {
                let kind = match &e {
                    StepError::Send(e) => ErrorKind::of_say(e),
                    StepError::Reply(e) | StepError::Disconnect(e) => ErrorKind::of_wait(e),
                    StepError::Attachment(_) | StepError::Lifecycle(_) | StepError::Platform(_) => {
                        ErrorKind::StepFailed
                    }
                };
                (Some(index), kind)
            })?;
        if step.sends() {
            record.sent += 1;
        }
        if let Some(response_time) = response_time {
            record.responses.push((index, response_time));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::script::TestScript;
    use crate::load::profile::ProfileInput;
    use crate::load::stats::Summary;
    use genesys_web_messaging::SessionConfig;
    use std::path::Path;
    use web_messaging_simulator::{BotFlow, Simulator};

    const BOT: &str = "\
replyDelayMs: 2
states:
  main:
    - when: { contains: ping }
      reply: pong
    - when: { contains: bye }
      reply: bye
      disconnect: true
    - when: { contains: fail }
      error: { code: 5000 }
    - when: { contains: close }
      closeSocket: true
";

    const PING_TWICE: &str = "\
scenarios:
  Ping:
    - say: ping
    - waitForReplyContaining: pong
    - say: ping
    - waitForReplyContaining: pong
  Ping once:
    - say: ping
    - waitForReplyContaining: pong
";

    fn profile(input: &ProfileInput) -> Profile {
        Profile::new(input).expect("a valid profile")
    }

    async fn load(bot: &str, script: &str, profile: Profile, deployment: &str) -> Summary {
        let flow = BotFlow::from_yaml_str(bot, "bot.yml").expect("a valid bot");
        let script = TestScript::parse(Path::new("t.yml"), script).expect("a valid script");
        let simulator = Simulator::start(flow).await.expect("the simulator starts");
        let plan = LoadPlan {
            scenarios: script.scenarios.into(),
            guest: GuestSettings {
                session: SessionConfig::for_endpoint(deployment, &simulator.url()),
                say_delay: Duration::ZERO,
                timeout: Duration::from_secs(10),
            },
            profile,
            slice: Slice::WHOLE,
        };
        let recorder = Arc::new(Recorder::new(&plan.scenarios));
        let (_stop, stop) = watch::channel(false);
        let wall_time = run(&plan, &recorder, stop, Instant::now()).await;
        simulator.shutdown().await;
        recorder.summary(wall_time, crate::results::load_error_words)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_model_counts_conversations_messages_and_response_times() {
        let summary = load(
            BOT,
            PING_TWICE,
            profile(&ProfileInput {
                users: Some(30),
                iterations: Some(2),
                ..ProfileInput::default()
            }),
            "d",
        )
        .await;
        // Guest g holds scenario g % 2, then (g + 1) % 2: 30 of each.
        assert_eq!(summary.conversations.started, 60);
        assert_eq!(summary.conversations.completed, 60);
        assert_eq!(summary.conversations.failed, 0, "{:?}", summary.errors);
        assert_eq!(summary.messages.sent, 30 * 2 + 30);
        assert_eq!(summary.messages.received, 30 * 2 + 30);
        let all = summary.response_time_ms.expect("response times");
        assert_eq!(all.count, 90);
        // Counted from before each say's frame was written: never below a real round trip
        // (a reply counted as 0 would be clamped to the histograms' 1 µs).
        assert!(all.min > 0.001, "{all:?}");
        assert!(all.min <= all.p50 && all.p50 <= all.p90 && all.p90 <= all.p95);
        assert!(all.p95 <= all.p99 && all.p99 <= all.max, "{all:?}");
        let counts: Vec<_> = summary
            .steps
            .iter()
            .map(|s| s.response_time_ms.map_or(0, |l| l.count))
            .collect();
        assert_eq!(counts, [0, 30, 0, 30, 0, 30]);
        assert!(summary.steps[1].waits_for_reply && !summary.steps[0].waits_for_reply);
        assert_eq!(summary.session_start_ms.expect("starts").count, 60);
        assert!(summary.peak_active_guests >= 1 && summary.peak_active_guests <= 30);
        assert!(summary.errors.by_kind.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shards_together_hold_exactly_the_whole_runs_conversations() {
        let flow = BotFlow::from_yaml_str(BOT, "bot.yml").expect("a valid bot");
        let script = TestScript::parse(Path::new("t.yml"), PING_TWICE).expect("a valid script");
        let simulator = Simulator::start(flow).await.expect("the simulator starts");
        let mut tally: Option<crate::load::tally::Tally> = None;
        for index in 1..=3 {
            let plan = LoadPlan {
                scenarios: script.scenarios.clone().into(),
                guest: GuestSettings {
                    session: SessionConfig::for_endpoint("d", &simulator.url()),
                    say_delay: Duration::ZERO,
                    timeout: Duration::from_secs(10),
                },
                profile: profile(&ProfileInput {
                    users: Some(10),
                    iterations: Some(3),
                    ..ProfileInput::default()
                }),
                slice: Slice::of(Some(crate::plan::shard::Shard { index, total: 3 })),
            };
            let recorder = Arc::new(Recorder::new(&plan.scenarios));
            let (_stop, stop) = watch::channel(false);
            run(&plan, &recorder, stop, Instant::now()).await;
            let shard = recorder.tally(crate::results::load_error_words);
            // 10 guests over 3 shards: 4, 3, 3.
            assert_eq!(shard.completed, [12, 9, 9][index as usize - 1]);
            match &mut tally {
                None => tally = Some(shard),
                Some(t) => t.add(&shard).expect("same steps"),
            }
        }
        simulator.shutdown().await;
        let summary = tally.expect("three shards").summary(Duration::from_secs(1));
        // Guest g holds scenarios g, g+1, g+2 (mod 2): 15 of each over the 30 conversations.
        assert_eq!(summary.conversations.completed, 30);
        assert_eq!(summary.conversations.failed, 0, "{:?}", summary.errors);
        assert_eq!(summary.messages.sent, 15 * 2 + 15);
        let counts: Vec<_> = summary
            .steps
            .iter()
            .map(|s| s.response_time_ms.map_or(0, |l| l.count))
            .collect();
        assert_eq!(counts, [0, 15, 0, 15, 0, 15]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_are_counted_by_kind_and_step_never_crashing() {
        let script = "\
scenarios:
  Wrong reply:
    - say: ping
    - waitForReplyContaining: nope
      timeout: 300ms
  Disconnect:
    - say: bye
    - waitForReplyContaining: never said
  Server error:
    - say: fail
    - waitForReplyContaining: pong
  Closed socket:
    - say: close
    - waitForReplyContaining: pong
  Fine:
    - say: ping
    - waitForReplyContaining: pong
";
        let summary = load(
            BOT,
            script,
            profile(&ProfileInput {
                users: Some(20),
                iterations: Some(1),
                ..ProfileInput::default()
            }),
            "d",
        )
        .await;
        assert_eq!(summary.conversations.completed, 20);
        assert_eq!(summary.conversations.failed, 16);
        assert!((summary.errors.rate - 0.8).abs() < 1e-12);
        let kinds: Vec<(&str, u64)> = summary
            .errors
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        assert_eq!(
            kinds,
            [
                ("disconnect", 4),
                ("server-error-5000", 4),
                ("socket-closed", 4),
                ("wrong-reply", 4)
            ]
        );
        // Each failure is charged to the wait that saw it.
        assert_eq!(summary.steps[1].errors["wrong-reply"], 4);
        assert_eq!(summary.steps[3].errors["disconnect"], 4);
        assert_eq!(summary.response_time_ms.expect("the fine ones").count, 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_connections_are_counted_not_fatal() {
        let bot = format!("deploymentId: right\n{BOT}");
        let summary = load(
            &bot,
            PING_TWICE,
            profile(&ProfileInput {
                users: Some(10),
                iterations: Some(1),
                ..ProfileInput::default()
            }),
            "wrong",
        )
        .await;
        assert_eq!(summary.conversations.failed, 10);
        assert_eq!(summary.errors.by_kind["connect-refused-403"], 10);
        assert_eq!(summary.session_start_errors["connect-refused-403"], 10);
        assert!(summary.response_time_ms.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_model_starts_conversations_on_schedule() {
        // 50 per second for 400 ms: arrivals at 0, 20, ..., 380 ms.
        let summary = load(
            BOT,
            PING_TWICE,
            profile(&ProfileInput {
                users: Some(50),
                duration: Some(Duration::from_millis(400)),
                arrival_rate: Some(50.0),
                ..ProfileInput::default()
            }),
            "d",
        )
        .await;
        assert_eq!(summary.conversations.started + summary.dropped_arrivals, 20);
        assert_eq!(
            summary.conversations.completed,
            summary.conversations.started
        );
        assert_eq!(summary.conversations.failed, 0, "{:?}", summary.errors);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn duration_runs_every_guest_at_least_once() {
        let summary = load(
            BOT,
            PING_TWICE,
            profile(&ProfileInput {
                users: Some(5),
                duration: Some(Duration::from_millis(200)),
                ..ProfileInput::default()
            }),
            "d",
        )
        .await;
        assert!(summary.conversations.completed >= 5);
        assert_eq!(
            summary.conversations.completed,
            summary.conversations.started
        );
        assert_eq!(summary.conversations.failed, 0, "{:?}", summary.errors);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_drops_the_conversations_under_way() {
        let bot = "states:\n  main:\n    - reply: { text: late, delayMs: 60000 }\n";
        let flow = BotFlow::from_yaml_str(bot, "bot.yml").expect("a valid bot");
        let script = TestScript::parse(
            Path::new("t.yml"),
            "scenarios:\n  a:\n    - say: hi\n    - waitForReplyContaining: late\n",
        )
        .expect("a valid script");
        let simulator = Simulator::start(flow).await.expect("the simulator starts");
        let plan = LoadPlan {
            scenarios: script.scenarios.into(),
            guest: GuestSettings {
                session: SessionConfig::for_endpoint("d", &simulator.url()),
                say_delay: Duration::ZERO,
                timeout: Duration::from_secs(120),
            },
            profile: profile(&ProfileInput {
                users: Some(8),
                iterations: Some(1),
                ..ProfileInput::default()
            }),
            slice: Slice::WHOLE,
        };
        let recorder = Arc::new(Recorder::new(&plan.scenarios));
        let (stop_sender, stop) = watch::channel(false);
        let watcher = Arc::clone(&recorder);
        tokio::spawn(async move {
            while watcher.progress().active < 8 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = stop_sender.send(true);
            std::future::pending::<()>().await;
        });
        let wall_time = run(&plan, &recorder, stop, Instant::now()).await;
        simulator.shutdown().await;
        let summary = recorder.summary(wall_time, crate::results::load_error_words);
        assert_eq!(summary.interrupted_conversations, 8);
        assert_eq!(summary.conversations.completed, 0);
    }

    #[test]
    fn a_guest_task_stays_small() {
        // Each held guest is one task: its future's size is memory per guest. Connecting, and
        // the attachment and lifecycle steps (a reconnect connects), are ~11-12 KiB each: they
        // are boxed, so they do not size every guest's task for its whole life.
        fn size<F: std::future::Future>(_: &F) -> usize {
            std::mem::size_of::<F>()
        }
        let script = TestScript::parse(Path::new("t.yml"), PING_TWICE).expect("a valid script");
        let plan = LoadPlan {
            scenarios: script.scenarios.into(),
            guest: GuestSettings {
                session: SessionConfig::for_endpoint("d", "ws://127.0.0.1:1/v1"),
                say_delay: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
            profile: profile(&ProfileInput {
                users: Some(1),
                iterations: Some(1),
                ..ProfileInput::default()
            }),
            slice: Slice::WHOLE,
        };
        let recorder = Arc::new(Recorder::new(&plan.scenarios));
        let (_stop, stop) = watch::channel(false);
        let guest = closed_guest(Arc::new(plan.clone()), 0, Instant::now(), recorder, stop);
        // 14 KiB before the connect and rarely used steps were boxed (debug build), 4 KiB
        // after; 5.7 KiB once each step reported what it waits for and carried the Platform
        // run; 2.9 KiB since the plan is shared, the Platform steps and 429 resends are boxed
        // and the session response is not kept through the steps. A guard against
        // regressions, not the target.
        assert!(size(&guest) < 3584, "{} bytes", size(&guest));
        assert!(size(&converse(&plan, 0)) < 3 * 1024);
    }
}
