//! The Platform API side of a run: the client (one per run against Genesys Cloud, one per
//! simulator), the preflight (permissions each step kind needs, names resolved), the checks
//! of the `expect…` steps (polled until they hold or time out), and the cleanup of
//! conversations left connected or waiting in a queue.

use crate::format::platform_steps::{DataMatch, PlatformCheck, Source};
use crate::format::script::{Scenario, Step};
use genesys_platform::models::{AnalyticsConversation, MessageConversation, Participant};
use genesys_platform::{
    CallRecord, ClientOptions, Credentials, Endpoints, EntityKind, Lookup, PlatformClient,
    PlatformError, Probe,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The default time limit of a check, by the data source it reads (Genesys' Platform API documentation):
/// the live conversation 15 s, analytics 90 s, flows aggregates 120 s.
pub fn default_timeout(source: Source) -> Duration {
    match source {
        Source::Live => Duration::from_secs(15),
        Source::Analytics => Duration::from_secs(90),
        Source::Aggregates => Duration::from_secs(120),
    }
}

/// The wait before poll `n` (0-based) of a source: live every second; analytics and
/// aggregates from 2 s, ×1.5 each time, at most 10 s.
fn poll_interval(source: Source, n: u32) -> Duration {
    match source {
        Source::Live => Duration::from_secs(1),
        Source::Analytics | Source::Aggregates => {
            let ms = 2000.0 * 1.5f64.powi(i32::try_from(n.min(20)).unwrap_or(20));
            Duration::from_secs_f64(ms.min(10_000.0) / 1000.0)
        }
    }
}

/// The permissions (as probes) a step kind needs.
pub fn probes(check: &PlatformCheck) -> Vec<Probe> {
    match check {
        PlatformCheck::TransferTo(_) => vec![
            Probe::Conversation,
            Probe::AnalyticsDetails,
            Probe::Lookup(EntityKind::Queue),
        ],
        PlatformCheck::NoTransfer => vec![Probe::Conversation, Probe::AnalyticsDetails],
        PlatformCheck::ParticipantData(_) | PlatformCheck::DisconnectType(_) => {
            vec![Probe::Conversation]
        }
        PlatformCheck::FlowOutcome(_) => vec![
            Probe::AnalyticsDetails,
            Probe::Lookup(EntityKind::FlowOutcome),
        ],
        PlatformCheck::Milestone(_) => vec![
            Probe::FlowAggregates,
            Probe::Lookup(EntityKind::FlowMilestone),
        ],
        PlatformCheck::FlowExit { .. } | PlatformCheck::BotFlow(_) => {
            vec![Probe::AnalyticsDetails, Probe::Lookup(EntityKind::Flow)]
        }
    }
}

/// The names a check resolves through lookups.
fn names(check: &PlatformCheck) -> Vec<(EntityKind, String)> {
    match check {
        PlatformCheck::TransferTo(q) => vec![(EntityKind::Queue, q.clone())],
        PlatformCheck::FlowOutcome(pairs) => pairs
            .iter()
            .map(|(n, _)| (EntityKind::FlowOutcome, n.clone()))
            .collect(),
        PlatformCheck::Milestone(m) => vec![(EntityKind::FlowMilestone, m.clone())],
        PlatformCheck::FlowExit { flow, .. } => vec![(EntityKind::Flow, flow.clone())],
        PlatformCheck::BotFlow(b) => vec![(EntityKind::Flow, b.clone())],
        _ => Vec::new(),
    }
}

/// How the Platform side of a run behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlatformOptions {
    /// `--keep-conversations`: never disconnect a conversation after its scenario.
    pub keep_conversations: bool,
    /// `--verbose`: log every API call (method, path, status, latency) on stderr.
    pub verbose: bool,
}

/// The Platform API client of a run, with its per-run name cache.
pub struct PlatformRun {
    client: PlatformClient,
    options: PlatformOptions,
    lookups: tokio::sync::Mutex<HashMap<(EntityKind, String), Lookup>>,
}

impl std::fmt::Debug for PlatformRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformRun")
            .field("client", &self.client)
            .finish()
    }
}

fn client_options(options: PlatformOptions) -> ClientOptions {
    let observer: Option<genesys_platform::CallObserver> = options.verbose.then(|| {
        Arc::new(|call: &CallRecord| {
            let status = call
                .status
                .map_or_else(|| "no answer".to_string(), |s| s.to_string());
            let line = format!(
                "platform: {} {} → {status} in {} ms{}",
                call.method,
                call.path,
                call.latency.as_millis(),
                if call.attempt > 1 {
                    format!(" (attempt {})", call.attempt)
                } else {
                    String::new()
                }
            );
            eprintln!("{}", crate::secrets::terminal_line(&line));
        }) as genesys_platform::CallObserver
    });
    ClientOptions {
        observer,
        // Every token is masked in every output, should a server ever echo it.
        token_observer: Some(Arc::new(|token: &str| {
            crate::secrets::register(token);
        })),
        ..ClientOptions::default()
    }
}

impl PlatformRun {
    /// A run against Genesys Cloud, with the `-a` variables (region, client id, secret).
    pub fn from_env(options: PlatformOptions) -> Result<Arc<PlatformRun>, String> {
        use crate::run::associate::{ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REGION};
        let mut values = Vec::new();
        for name in [ENV_REGION, ENV_CLIENT_ID, ENV_CLIENT_SECRET] {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => values.push(v.trim().to_string()),
                Ok(_) => {
                    return Err(format!(
                        "\"{name}\" is not allowed to be empty (needed by --associate-id and the expect… steps)"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "\"{name}\" is required by --associate-id and the expect… steps: set {ENV_REGION}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} for an OAuth client (client credentials); see docs/platform-assertions.md for the permissions its role needs"
                    ));
                }
            }
        }
        let (region, id, secret) = (&values[0], &values[1], &values[2]);
        crate::secrets::global().register_basic_auth(id, secret);
        let endpoints =
            Endpoints::for_region(region).map_err(|e| format!("\"{ENV_REGION}\": {e}"))?;
        Self::connect(endpoints, Credentials::new(id, secret), options)
    }

    /// A run against the simulator's Platform API (any credentials are accepted there).
    pub fn for_simulator(
        http_url: &str,
        options: PlatformOptions,
    ) -> Result<Arc<PlatformRun>, String> {
        Self::connect(
            Endpoints::single(http_url),
            Credentials::new("web-messaging-tester", "simulated"),
            options,
        )
    }

    fn connect(
        endpoints: Endpoints,
        credentials: Credentials,
        options: PlatformOptions,
    ) -> Result<Arc<PlatformRun>, String> {
        let client = PlatformClient::with_options(endpoints, credentials, client_options(options))
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(PlatformRun {
            client,
            options,
            lookups: tokio::sync::Mutex::new(HashMap::new()),
        }))
    }

    /// The conversation's page in Genesys Cloud.
    pub fn link(&self, conversation_id: &str) -> String {
        self.client.conversation_link(conversation_id)
    }

    /// Before any session opens: logs in, checks every permission the scenarios' steps (and
    /// the cleanup) need, and resolves every name they use. The error is the message to
    /// print (exit 2): each missing permission with the step kinds that need it, each
    /// unknown name with its close matches.
    pub async fn preflight(&self, scenarios: &[&Scenario]) -> Result<(), String> {
        let fail = |e: String| crate::secrets::redact(&e);
        self.client.login().await.map_err(|e| {
            fail(format!(
                "could not log in to the Platform API (for --associate-id and the expect… steps): {e}"
            ))
        })?;
        let mut needs: BTreeMap<Probe, BTreeSet<&'static str>> = BTreeMap::new();
        needs
            .entry(Probe::MessageDetails)
            .or_default()
            .insert("--associate-id");
        if !self.options.keep_conversations {
            needs.entry(Probe::Disconnect).or_default().insert(
                "the cleanup of conversations left connected; or pass --keep-conversations",
            );
        }
        let checks: Vec<&PlatformCheck> = scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|step| match step {
                Step::Platform { check, .. } => Some(check),
                _ => None,
            })
            .collect();
        for check in &checks {
            for probe in probes(check) {
                needs.entry(probe).or_default().insert(check.key());
            }
        }
        let mut missing = Vec::new();
        for (probe, users) in &needs {
            match self.client.check_permission(*probe).await {
                Ok(true) => {}
                Ok(false) => missing.push(format!(
                    "  {} (needed by {})",
                    probe.permission(),
                    users.iter().copied().collect::<Vec<_>>().join(", ")
                )),
                Err(e) => {
                    return Err(fail(format!(
                        "could not check the OAuth client's permission {}: {e}",
                        probe.permission()
                    )));
                }
            }
        }
        if !missing.is_empty() {
            return Err(fail(format!(
                "Your OAuth client's role lacks permissions (Genesys Cloud answered 403 missing.any.permissions):\n{}",
                missing.join("\n")
            )));
        }
        let mut unknown = Vec::new();
        let mut seen = BTreeSet::new();
        for check in &checks {
            for (kind, name) in names(check) {
                if !seen.insert((kind, name.to_lowercase())) {
                    continue;
                }
                match self.resolve(kind, &name).await {
                    Ok(_) => {}
                    Err(message) => unknown.push(format!("  {} ({message})", check)),
                }
            }
        }
        if !unknown.is_empty() {
            return Err(fail(format!(
                "Some names in the expect… steps are not known to Genesys Cloud:\n{}",
                unknown.join("\n")
            )));
        }
        Ok(())
    }

    /// The id of the entity `name`, from the run's cache or a lookup. The error words an
    /// unknown name with its close matches.
    async fn resolve(&self, kind: EntityKind, name: &str) -> Result<String, String> {
        let key = (kind, name.to_lowercase());
        let cached = self.lookups.lock().await.get(&key).cloned();
        let lookup = match cached {
            Some(lookup) => lookup,
            None => {
                let lookup = self
                    .client
                    .lookup(kind, name)
                    .await
                    .map_err(|e| format!("looking up the {} '{name}': {e}", kind.noun()))?;
                self.lookups.lock().await.insert(key, lookup.clone());
                lookup
            }
        };
        match lookup {
            Lookup::Found(entity) => Ok(entity.id),
            Lookup::Unknown { suggestions } if suggestions.is_empty() => {
                Err(format!("there is no {} named '{name}'", kind.noun()))
            }
            Lookup::Unknown { suggestions } => Err(format!(
                "there is no {} named '{name}'; close matches: {}",
                kind.noun(),
                suggestions.join(", ")
            )),
        }
    }

    /// The name of an id, for messages: resolved earlier in the run, else looked up (and
    /// cached).
    async fn name_of(&self, kind: EntityKind, id: &str) -> Option<String> {
        let known = self
            .lookups
            .lock()
            .await
            .iter()
            .find_map(|((k, _), lookup)| match lookup {
                Lookup::Found(e) if *k == kind && e.id == id => Some(e.name.clone()),
                _ => None,
            });
        if known.is_some() || id.is_empty() {
            return known;
        }
        let entity = self.client.entity(kind, id).await.ok()?;
        let name = entity.name.clone();
        self.lookups
            .lock()
            .await
            .insert((kind, name.to_lowercase()), Lookup::Found(entity));
        Some(name)
    }

    /// The conversation of `message_id`, waiting up to `within` for Genesys to know the
    /// message (404 meanwhile).
    pub async fn conversation_id(
        &self,
        message_id: &str,
        within: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            match self.client.message_details(message_id).await {
                Ok(details) => {
                    if let Some(id) = details.conversation_id.filter(|id| !id.is_empty()) {
                        return Ok(id);
                    }
                    return Err("the message details name no conversation".into());
                }
                Err(e) if e.is_not_found() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(crate::secrets::redact(&e.to_string())),
            }
        }
    }

    /// Runs one check: polls until it holds or `timeout` passes. The error says what was
    /// expected, what the conversation showed last, and how long it polled.
    pub async fn check(
        &self,
        conversation_id: &str,
        check: &PlatformCheck,
        timeout: Duration,
    ) -> Result<(), String> {
        let started = Instant::now();
        let deadline = started + timeout;
        let source = check.source();
        let mut polls = 0u32;
        let mut analytics_due = started;
        let mut analytics_polls = 0u32;
        let last = loop {
            polls += 1;
            let use_analytics = match check {
                PlatformCheck::TransferTo(_) | PlatformCheck::NoTransfer => {
                    Instant::now() >= analytics_due
                }
                _ => true,
            };
            let verdict = self
                .poll(conversation_id, check, use_analytics, started)
                .await;
            if use_analytics && matches!(check, PlatformCheck::TransferTo(_)) {
                analytics_due = Instant::now() + poll_interval(Source::Analytics, analytics_polls);
                analytics_polls += 1;
            }
            match verdict {
                Poll::Holds => return Ok(()),
                // A negative check is decided by what the conversation shows now.
                Poll::Fails(observed) => break (observed, true),
                Poll::NotYet(observed) => {
                    let wait = poll_interval(source, polls - 1);
                    if Instant::now() + wait >= deadline {
                        break (observed, false);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        };
        // The step's time limit, not the clock: messages stay the same from run to run.
        let (last, decided_at_once) = last;
        let how = if decided_at_once {
            "checked once".to_string()
        } else {
            format!(
                "polled {} for {}",
                match source {
                    Source::Live => "every second",
                    Source::Analytics | Source::Aggregates => "every 2 to 10 s",
                },
                crate::format::duration::humanize(timeout)
            )
        };
        Err(crate::secrets::redact(&format!("{check}: {last} ({how})")))
    }

    async fn live(&self, conversation_id: &str) -> Result<MessageConversation, String> {
        let read = self.client.conversation(conversation_id).await;
        read.map_err(unreadable("the live conversation"))
    }

    async fn analytics(
        &self,
        conversation_id: &str,
    ) -> Result<Option<AnalyticsConversation>, String> {
        let read = self.client.analytics_conversation(conversation_id).await;
        read.map_err(unreadable("analytics"))
    }

    async fn poll(
        &self,
        id: &str,
        check: &PlatformCheck,
        use_analytics: bool,
        started: Instant,
    ) -> Poll {
        match self.poll_inner(id, check, use_analytics, started).await {
            Ok(poll) => poll,
            Err(reason) => Poll::NotYet(reason),
        }
    }

    // One arm per step kind, each short; splitting them would only scatter the one rule.
    #[allow(clippy::too_many_lines)]
    async fn poll_inner(
        &self,
        id: &str,
        check: &PlatformCheck,
        use_analytics: bool,
        started: Instant,
    ) -> Result<Poll, String> {
        const NOT_INDEXED: &str = "analytics has not indexed the conversation yet (404)";
        match check {
            PlatformCheck::TransferTo(queue) => {
                let queue_id = self.resolve(EntityKind::Queue, queue).await?;
                let live = self.live(id).await?;
                let acd: Vec<_> = live
                    .participants
                    .iter()
                    .filter(|p| p.has_purpose("acd"))
                    .collect();
                if acd.iter().any(|p| {
                    p.queue.as_ref().and_then(|q| q.id.as_deref()) == Some(queue_id.as_str())
                }) {
                    return Ok(Poll::Holds);
                }
                let mut seen: Vec<String> = Vec::new();
                for p in &acd {
                    let qid = p
                        .queue
                        .as_ref()
                        .and_then(|q| q.id.clone())
                        .unwrap_or_default();
                    let name = match p.queue.as_ref().and_then(|q| q.name.clone()) {
                        Some(n) => n,
                        None => match self.name_of(EntityKind::Queue, &qid).await {
                            Some(n) => n,
                            None => p.name.clone().unwrap_or(qid),
                        },
                    };
                    seen.push(name);
                }
                if use_analytics && let Some(details) = self.analytics(id).await? {
                    for (_, flow) in details.flows() {
                        if flow
                            .transfer_type
                            .as_deref()
                            .is_some_and(|t| t.eq_ignore_ascii_case("ACD"))
                        {
                            let to_id = flow.transfer_target_address.as_deref();
                            let to_name = flow.transfer_target_name.as_deref();
                            if to_id == Some(queue_id.as_str())
                                || to_name.is_some_and(|n| n.eq_ignore_ascii_case(queue))
                            {
                                return Ok(Poll::Holds);
                            }
                            if let Some(n) = to_name.or(to_id) {
                                seen.push(n.to_string());
                            }
                        }
                    }
                }
                seen.dedup();
                Ok(Poll::NotYet(if seen.is_empty() {
                    "the conversation shows no transfer to a queue".into()
                } else {
                    format!("transferred to queue {}, not {queue}", seen.join(", "))
                }))
            }
            PlatformCheck::NoTransfer => {
                let live = self.live(id).await?;
                let mut seen: Vec<String> = live
                    .participants
                    .iter()
                    .filter(|p| p.has_purpose("acd"))
                    .map(queue_shown)
                    .collect();
                if seen.is_empty()
                    && let Some(details) = self.analytics(id).await?
                {
                    seen.extend(details.flows().filter_map(|(_, f)| {
                        f.transfer_type.as_ref()?;
                        Some(
                            f.transfer_target_name
                                .clone()
                                .unwrap_or_else(|| "a queue".into()),
                        )
                    }));
                }
                Ok(if seen.is_empty() {
                    Poll::Holds
                } else {
                    Poll::Fails(format!("transferred to queue {}", seen.join(", ")))
                })
            }
            PlatformCheck::ParticipantData(expected) => {
                let live = self.live(id).await?;
                let data = live
                    .customer()
                    .map(|c| c.attributes.clone())
                    .unwrap_or_default();
                let mut wrong = Vec::new();
                for (key, matcher) in expected {
                    let value = data.get(key);
                    let ok = match (matcher, value) {
                        (_, None) => false,
                        (DataMatch::Exists, Some(_)) => true,
                        (DataMatch::Equals(v), Some(actual)) => v == actual,
                        (DataMatch::Matches(r), Some(actual)) => r.is_match(actual),
                    };
                    if !ok {
                        wrong.push(match value {
                            None => format!("{key} is not set"),
                            Some(actual) => format!("{key} is '{actual}', not {matcher}"),
                        });
                    }
                }
                if wrong.is_empty() {
                    return Ok(Poll::Holds);
                }
                let set: Vec<String> = data.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                Ok(Poll::NotYet(format!(
                    "{}; the customer's participant data is {{{}}}",
                    wrong.join("; "),
                    set.join(", ")
                )))
            }
            PlatformCheck::DisconnectType(expected) => {
                let live = self.live(id).await?;
                let Some(customer) = live.customer() else {
                    return Ok(Poll::NotYet(
                        "the conversation has no customer participant".into(),
                    ));
                };
                match customer.disconnect_type.as_deref() {
                    Some(actual) if canonical(actual) == canonical(expected) => Ok(Poll::Holds),
                    Some(actual) => Ok(Poll::NotYet(format!(
                        "the customer's disconnectType is {actual}, not {expected}"
                    ))),
                    None if customer.is_active() => Ok(Poll::NotYet(
                        "the customer is still connected (no disconnectType yet)".into(),
                    )),
                    None => Ok(Poll::NotYet(
                        "the customer left without a disconnectType".into(),
                    )),
                }
            }
            PlatformCheck::FlowOutcome(expected) => {
                let mut ids = Vec::new();
                for (name, success) in expected {
                    ids.push((
                        name,
                        *success,
                        self.resolve(EntityKind::FlowOutcome, name).await?,
                    ));
                }
                let Some(details) = self.analytics(id).await? else {
                    return Ok(Poll::NotYet(NOT_INDEXED.into()));
                };
                let outcomes: Vec<_> = details.flows().flat_map(|(_, f)| &f.outcomes).collect();
                let mut wrong = Vec::new();
                for (name, success, outcome_id) in &ids {
                    let values: Vec<&str> = outcomes
                        .iter()
                        .filter(|o| o.flow_outcome_id.as_deref() == Some(outcome_id.as_str()))
                        .map(|o| o.flow_outcome_value.as_deref().unwrap_or("UNKNOWN"))
                        .collect();
                    let wanted = if *success { "SUCCESS" } else { "FAILURE" };
                    if !values.iter().any(|v| v.eq_ignore_ascii_case(wanted)) {
                        wrong.push(if values.is_empty() {
                            format!("outcome {name} was not reached")
                        } else {
                            format!("outcome {name} is {}, not {wanted}", values.join("/"))
                        });
                    }
                }
                if wrong.is_empty() {
                    return Ok(Poll::Holds);
                }
                let mut seen = Vec::new();
                for o in &outcomes {
                    let oid = o.flow_outcome_id.clone().unwrap_or_default();
                    let name = self
                        .name_of(EntityKind::FlowOutcome, &oid)
                        .await
                        .unwrap_or(oid);
                    seen.push(format!(
                        "{name}={}",
                        o.flow_outcome_value.as_deref().unwrap_or("UNKNOWN")
                    ));
                }
                Ok(Poll::NotYet(format!(
                    "{}; outcomes in analytics: {}{}",
                    wrong.join("; "),
                    if seen.is_empty() {
                        "none".into()
                    } else {
                        seen.join(", ")
                    },
                    ended_hint(&details)
                )))
            }
            PlatformCheck::Milestone(name) => {
                let milestone = self.resolve(EntityKind::FlowMilestone, name).await?;
                let from = jiff::Timestamp::now()
                    - jiff::SignedDuration::from_hours(1)
                    - jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default();
                let to = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
                let reached = self
                    .client
                    .flow_milestones(id, &format!("{from}/{to}"))
                    .await
                    .map_err(unreadable("the flows aggregates"))?;
                if reached.get(&milestone).is_some_and(|n| *n > 0) {
                    return Ok(Poll::Holds);
                }
                let mut seen = Vec::new();
                for mid in reached.keys() {
                    seen.push(
                        self.name_of(EntityKind::FlowMilestone, mid)
                            .await
                            .unwrap_or_else(|| mid.clone()),
                    );
                }
                Ok(Poll::NotYet(format!(
                    "milestone {name} was not reached; milestones reached: {}",
                    if seen.is_empty() {
                        "none".into()
                    } else {
                        seen.join(", ")
                    }
                )))
            }
            PlatformCheck::FlowExit { flow, reason } => {
                let flow_id = self.resolve(EntityKind::Flow, flow).await?;
                let Some(details) = self.analytics(id).await? else {
                    return Ok(Poll::NotYet(NOT_INDEXED.into()));
                };
                let mut exits = Vec::new();
                for (_, f) in details.flows() {
                    let same = f.flow_id.as_deref() == Some(flow_id.as_str())
                        || f.flow_name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(flow));
                    if same {
                        let actual = f
                            .exit_reason
                            .clone()
                            .unwrap_or_else(|| "no exitReason".into());
                        if actual.eq_ignore_ascii_case(reason) {
                            return Ok(Poll::Holds);
                        }
                        exits.push(actual);
                    }
                }
                Ok(Poll::NotYet(if exits.is_empty() {
                    format!(
                        "flow {flow} has not ended in this conversation (yet); ended flows: {}",
                        flow_names(&details)
                    )
                } else {
                    format!("flow {flow} exited with {}, not {reason}", exits.join(", "))
                }))
            }
            PlatformCheck::BotFlow(name) => {
                let flow_id = self.resolve(EntityKind::Flow, name).await?;
                let Some(details) = self.analytics(id).await? else {
                    return Ok(Poll::NotYet(NOT_INDEXED.into()));
                };
                let mut bots = Vec::new();
                for p in &details.participants {
                    let by_purpose = p
                        .purpose
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case("botflow"));
                    for s in &p.sessions {
                        let flow = s.flow.as_ref();
                        let bot_type = flow.and_then(|f| f.flow_type.as_deref()).is_some_and(|t| {
                            t.eq_ignore_ascii_case("BOT") || t.eq_ignore_ascii_case("DIGITALBOT")
                        });
                        if !by_purpose && !bot_type {
                            continue;
                        }
                        let matches = flow.is_some_and(|f| {
                            f.flow_id.as_deref() == Some(flow_id.as_str())
                                || f.flow_name
                                    .as_deref()
                                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                        }) || p
                            .participant_name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name));
                        if matches {
                            return Ok(Poll::Holds);
                        }
                        bots.push(
                            flow.and_then(|f| f.flow_name.clone())
                                .or_else(|| p.participant_name.clone())
                                .unwrap_or_else(|| "an unnamed bot flow".into()),
                        );
                    }
                }
                Ok(Poll::NotYet(if bots.is_empty() {
                    "no bot flow took part in the conversation (in analytics)".into()
                } else {
                    format!("the bot flow was {}, not {name}", bots.join(", "))
                }))
            }
        }
    }

    /// After a scenario: disconnects its conversation if it is still connected or waiting
    /// in a queue (unless `--keep-conversations`). Returns what was done, for the reports.
    pub async fn cleanup(&self, conversation_id: &str) -> String {
        let live = match self.client.conversation(conversation_id).await {
            Ok(live) => live,
            Err(e) => {
                return crate::secrets::redact(&format!(
                    "could not check whether the conversation is still connected: {e}"
                ));
            }
        };
        if !live.is_active() {
            return "the conversation had ended".into();
        }
        let queued: Vec<String> = live
            .participants
            .iter()
            .filter(|p| p.has_purpose("acd") && p.is_active())
            .map(queue_shown)
            .collect();
        let was = if queued.is_empty() {
            "still connected".to_string()
        } else {
            format!("waiting in queue {}", queued.join(", "))
        };
        if self.options.keep_conversations {
            return format!("kept (--keep-conversations): it is {was}");
        }
        match self.client.disconnect(conversation_id).await {
            Ok(()) => format!("disconnected: it was {was}"),
            Err(e) => crate::secrets::redact(&format!(
                "could not disconnect the conversation ({was}): {}",
                describe(&e)
            )),
        }
    }
}

/// The queue an `acd` participant stands for, as a reason names it: the queue's name, else
/// the participant's, else `a queue`.
fn queue_shown(participant: &Participant) -> String {
    participant
        .queue
        .as_ref()
        .and_then(|q| q.name.clone())
        .or_else(|| participant.name.clone())
        .unwrap_or_else(|| "a queue".into())
}

/// The reason a poll gives when a Platform read fails: what could not be read, and why.
fn unreadable(what: &'static str) -> impl FnOnce(PlatformError) -> String {
    move |e| format!("{what} could not be read: {e}")
}

fn describe(e: &PlatformError) -> String {
    match e.code() {
        Some("missing.any.permissions") => {
            format!("{e}: the OAuth client's role needs conversation:communication:disconnect")
        }
        _ => e.to_string(),
    }
}

/// One poll's verdict.
enum Poll {
    Holds,
    NotYet(String),
    Fails(String),
}

/// Disconnect types compared across the Conversations API's dotted form and analytics'
/// camelCase (`transfer.forward` = `forwardTransfer`).
fn canonical(kind: &str) -> String {
    let lower = kind.trim().to_ascii_lowercase();
    let camel = match lower.as_str() {
        "transfer.conference" => "conferencetransfer",
        "transfer.consult" => "consulttransfer",
        "transfer.donotdisturb" => "dndtransfer",
        "transfer.forward" => "forwardtransfer",
        "transfer.noanswer" => "noanswertransfer",
        "transfer.notavailable" => "notavailabletransfer",
        "transport.failure" => "transportfailure",
        "endpoint.donotdisturb" => "dndendpoint",
        other => other,
    };
    camel.to_string()
}

fn flow_names(details: &AnalyticsConversation) -> String {
    let names: Vec<String> = details
        .flows()
        .map(|(_, f)| {
            format!(
                "{} ({})",
                f.flow_name.as_deref().unwrap_or("unnamed"),
                f.exit_reason.as_deref().unwrap_or("no exitReason")
            )
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn ended_hint(details: &AnalyticsConversation) -> &'static str {
    if details.flows().next().is_none() {
        " (no flow has ended yet: analytics shows a flow's outcomes once it ends)"
    } else {
        ""
    }
}

/// A scenario's Platform state: the run's client and its conversation, once found.
#[derive(Debug)]
pub struct ScenarioPlatform {
    /// The run's client.
    pub run: Arc<PlatformRun>,
    /// The scenario's conversation, once found.
    pub conversation_id: Option<String>,
}

impl ScenarioPlatform {
    /// A scenario's state before its conversation is known.
    pub fn new(run: Arc<PlatformRun>) -> ScenarioPlatform {
        ScenarioPlatform {
            run,
            conversation_id: None,
        }
    }

    /// The conversation, found from the first message received.
    pub async fn conversation(
        &mut self,
        first_message_id: Option<String>,
        within: Duration,
    ) -> Result<String, String> {
        if let Some(id) = &self.conversation_id {
            return Ok(id.clone());
        }
        let Some(message_id) = first_message_id else {
            return Err(
                "no message has been received yet, so the conversation cannot be found (check after a wait for the bot's reply)"
                    .into(),
            );
        };
        let id = self.run.conversation_id(&message_id, within).await?;
        self.conversation_id = Some(id.clone());
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_paces_by_source() {
        assert_eq!(poll_interval(Source::Live, 5), Duration::from_secs(1));
        assert_eq!(poll_interval(Source::Analytics, 0), Duration::from_secs(2));
        assert_eq!(poll_interval(Source::Analytics, 1), Duration::from_secs(3));
        assert_eq!(
            poll_interval(Source::Analytics, 50),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn disconnect_types_compare_across_forms() {
        assert_eq!(canonical("transfer.forward"), canonical("forwardTransfer"));
        assert_eq!(canonical("Client"), canonical("client"));
        assert_ne!(canonical("peer"), canonical("client"));
    }
}
