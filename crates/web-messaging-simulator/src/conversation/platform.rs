//! What a conversation did inside the simulated Genesys Cloud, as timed events, and the two
//! views the Platform API gives of it: the live conversation (every event due by now) and
//! analytics (events older than the indexing delay; flow facts only once the flow ended).

use crate::flow::platform::{PlatformConfig, RulePlatform};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Events kept per conversation (the oldest participant-data events go first).
const MAX_EVENTS: usize = 512;

/// Who ended the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndedBy {
    /// The bot's `disconnect: true`.
    Bot,
    /// The agent's `transfer.disconnect`.
    Agent,
    /// The disconnect PATCH.
    Api,
}

/// One thing the flow did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// `setParticipantData`.
    Data(String, String),
    /// `outcome`.
    Outcome(String, bool),
    /// `milestone`.
    Milestone(String),
    /// `exitFlow: true`: the bot flow exits back to the message flow.
    BotExit,
    /// The bot's `transfer` to a queue.
    Transfer(String),
    /// The agent joined.
    AgentJoined,
    /// The conversation ended.
    Ended(EndedBy),
}

/// A conversation's record.
#[derive(Debug)]
pub(crate) struct PlatformRecord {
    pub(crate) started: Instant,
    pub(crate) started_wall: SystemTime,
    events: Vec<(Instant, Event)>,
}

impl Default for PlatformRecord {
    fn default() -> Self {
        PlatformRecord {
            started: Instant::now(),
            started_wall: SystemTime::now(),
            events: Vec::new(),
        }
    }
}

impl PlatformRecord {
    /// Records `event` as happening at `at`.
    pub(crate) fn push(&mut self, at: Instant, event: Event) {
        if self.events.len() >= MAX_EVENTS
            && let Some(i) = self
                .events
                .iter()
                .position(|(_, e)| matches!(e, Event::Data(..)))
        {
            self.events.remove(i);
        }
        if self.events.len() < MAX_EVENTS {
            self.events.push((at, event));
        }
    }

    /// Records what a matched rule does, due when its replies are (`at`).
    pub(crate) fn rule(
        &mut self,
        effects: Option<&RulePlatform>,
        transfer: Option<&str>,
        disconnect: bool,
        at: Instant,
    ) {
        if let Some(effects) = effects {
            for (k, v) in &effects.data {
                self.push(at, Event::Data(k.clone(), v.clone()));
            }
            for (name, success) in &effects.outcomes {
                self.push(at, Event::Outcome(name.clone(), *success));
            }
            for name in &effects.milestones {
                self.push(at, Event::Milestone(name.clone()));
            }
            if effects.exit_flow {
                self.push(at, Event::BotExit);
            }
        }
        if let Some(queue) = transfer {
            self.push(at, Event::Transfer(queue.to_string()));
        }
        if disconnect {
            self.push(at, Event::Ended(EndedBy::Bot));
        }
    }

    /// The events due by `until`.
    fn upto(&self, until: Instant) -> Facts {
        let mut facts = Facts::default();
        for (at, event) in &self.events {
            if *at > until {
                continue;
            }
            let wall = self.wall(*at);
            match event {
                Event::Data(k, v) => {
                    facts.data.insert(k.clone(), v.clone());
                }
                Event::Outcome(name, success) => {
                    facts.outcomes.push((name.clone(), *success, wall))
                }
                Event::Milestone(name) => facts.milestones.push(name.clone()),
                Event::BotExit => {
                    facts.bot_exit.get_or_insert((wall, "FLOW_EXIT"));
                }
                Event::Transfer(queue) => {
                    if facts.transfer.is_none() && facts.ended.is_none() {
                        facts.transfer = Some((queue.clone(), wall));
                        facts.bot_exit.get_or_insert((wall, "FLOW_EXIT"));
                    }
                }
                Event::AgentJoined => {
                    if facts.ended.is_none() {
                        facts.agent_joined.get_or_insert(wall);
                    }
                }
                Event::Ended(by) => {
                    if facts.ended.is_none() {
                        facts.ended = Some((*by, wall));
                        facts.bot_exit.get_or_insert((wall, "DISCONNECT"));
                    }
                }
            }
        }
        facts
    }

    fn wall(&self, at: Instant) -> SystemTime {
        self.started_wall + at.saturating_duration_since(self.started)
    }

    /// Whether the conversation was ended (by the bot, the agent or the API) by `now`.
    pub(crate) fn ended(&self, now: Instant) -> bool {
        self.upto(now).ended.is_some()
    }

    /// `GET /api/v2/conversations/messages/{id}` (`MessageConversation`, Genesys' Platform API documentation).
    pub(crate) fn live(&self, ids: &Ids<'_>, config: &PlatformConfig, now: Instant) -> Value {
        let facts = self.upto(now);
        let ended = facts
            .ended
            .map(|(by, at)| (disconnect_type(config, by), at));
        let start = timestamp(self.started_wall);
        let mut participants = Vec::new();
        let customer_end = ended.as_ref();
        participants.push(participant(
            json!({
                "id": ids.participant("customer"),
                "name": "Guest",
                "purpose": "customer",
                "direction": "inbound",
                "type": "webmessaging",
                "startTime": start,
                "connectedTime": start,
                "attributes": facts.data,
            }),
            customer_end.map(|(t, at)| (t.as_str(), *at)),
        ));
        let flow_end = match (&facts.transfer, &ended) {
            (Some((_, at)), _) => Some(("transfer", *at)),
            (None, Some((t, at))) => Some((t.as_str(), *at)),
            (None, None) => None,
        };
        participants.push(participant(
            json!({
                "id": ids.participant("workflow"),
                "name": config.message_flow,
                "purpose": "workflow",
                "direction": "inbound",
                "startTime": start,
            }),
            flow_end,
        ));
        if let Some((queue, at)) = &facts.transfer {
            let queue_ref = json!({"id": ids.entity("queue", queue), "name": queue});
            let acd_end = match (&facts.agent_joined, &ended) {
                (Some(joined), _) => Some(("transfer", *joined)),
                (None, Some((t, at))) => Some((t.as_str(), *at)),
                (None, None) => None,
            };
            participants.push(participant(
                json!({
                    "id": ids.participant("acd"),
                    "name": queue,
                    "purpose": "acd",
                    "startTime": timestamp(*at),
                    "queue": queue_ref,
                    "conversationRoutingData": {"queue": {"id": ids.entity("queue", queue)}, "priority": 0, "skills": []},
                }),
                acd_end,
            ));
            if let Some(joined) = facts.agent_joined {
                participants.push(participant(
                    json!({
                        "id": ids.participant("agent"),
                        "name": "Agent",
                        "purpose": "agent",
                        "queue": {"id": ids.entity("queue", queue)},
                        "connectedTime": timestamp(joined),
                        "wrapupRequired": true,
                    }),
                    ended.as_ref().map(|(t, at)| (t.as_str(), *at)),
                ));
            }
        }
        json!({
            "id": ids.conversation,
            "participants": participants,
            "recentTransfers": [],
            "divisions": [],
            "selfUri": format!("/api/v2/conversations/messages/{}", ids.conversation),
        })
    }

    /// `GET /api/v2/analytics/conversations/{id}/details`, as indexed `lag` ago; `None` (404)
    /// until the conversation is indexed.
    // One literal JSON document in the shape Genesys documents: kept whole so it can be
    // read against that shape line by line.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn analytics(
        &self,
        ids: &Ids<'_>,
        config: &PlatformConfig,
        now: Instant,
    ) -> Option<Value> {
        let lag = config.analytics_delay;
        let until = now.checked_sub(lag)?;
        if until < self.started {
            return None;
        }
        let facts = self.upto(until);
        let ended = facts
            .ended
            .map(|(by, at)| (camel(&disconnect_type(config, by)), at));
        let outcomes: Vec<Value> = facts
            .outcomes
            .iter()
            .map(|(name, success, at)| {
                let id = ids.entity("outcome", name);
                let value = if *success { "SUCCESS" } else { "FAILURE" };
                let mut outcome = json!({
                    "flowOutcomeId": id,
                    "flowOutcomeValue": value,
                    "flowOutcome": format!("{id}:{value}"),
                    "flowOutcomeStartTimestamp": timestamp(self.started_wall),
                });
                if *success {
                    outcome["flowOutcomeEndTimestamp"] = json!(timestamp(*at));
                }
                outcome
            })
            .collect();
        let mut participants = vec![json!({
            "participantId": ids.participant("customer"),
            "purpose": "customer",
            "sessions": [{
                "mediaType": "message", "messageType": "webmessaging",
                "provider": "PureCloud Messaging", "direction": "inbound",
                "sessionId": ids.participant("customer-session"),
                "segments": [segment(self.started_wall, ended.as_ref().map(|(t, at)| (t.as_str(), *at)), None)],
            }],
        })];
        // The message flow's session ends with the transfer or the disconnect.
        let mut message_flow = json!({
            "mediaType": "message", "messageType": "webmessaging",
            "sessionId": ids.participant("workflow-session"),
        });
        let flow_end = facts
            .transfer
            .as_ref()
            .map(|(_, at)| *at)
            .or(ended.as_ref().map(|(_, at)| *at));
        if let Some(end) = flow_end {
            let mut flow = json!({
                "flowId": ids.entity("flow", &config.message_flow),
                "flowName": config.message_flow,
                "flowType": "INBOUNDSHORTMESSAGE",
                "flowVersion": "1.0",
                "entryType": "direct",
                "exitReason": if facts.transfer.is_some() { "TRANSFER" } else { "DISCONNECT" },
            });
            if let Some((queue, _)) = &facts.transfer {
                flow["transferType"] = json!("ACD");
                flow["transferTargetAddress"] = json!(ids.entity("queue", queue));
                flow["transferTargetName"] = json!(queue);
            }
            if config.bot_flow.is_none() && !outcomes.is_empty() {
                flow["outcomes"] = json!(outcomes);
            }
            message_flow["flow"] = flow;
            let kind = if facts.transfer.is_some() {
                "transfer".to_string()
            } else {
                ended.as_ref().map(|(t, _)| t.clone()).unwrap_or_default()
            };
            message_flow["segments"] =
                json!([segment(self.started_wall, Some((kind.as_str(), end)), None)]);
        }
        participants.push(json!({
            "participantId": ids.participant("workflow"),
            "participantName": config.message_flow,
            "purpose": "workflow",
            "sessions": [message_flow],
        }));
        if let Some(bot) = &config.bot_flow {
            let mut session = json!({
                "mediaType": "message", "messageType": "webmessaging",
                "provider": "PureCloud BotFlow",
                "sessionId": ids.participant("botflow-session"),
            });
            // The flow object appears only once the bot flow has ended (F19288).
            if let Some((_, reason)) = facts.bot_exit {
                let mut flow = json!({
                    "flowId": ids.entity("flow", bot),
                    "flowName": bot,
                    "flowType": "BOT",
                    "flowVersion": "1.0",
                    "entryType": "direct",
                    "entryReason": "PureCloud BotFlow",
                    "exitReason": reason,
                });
                if !outcomes.is_empty() {
                    flow["outcomes"] = json!(outcomes);
                }
                session["flow"] = flow;
            }
            participants.push(json!({
                "participantId": ids.participant("botflow"),
                "participantName": bot,
                "purpose": "botflow",
                "sessions": [session],
            }));
        }
        if let Some((queue, at)) = &facts.transfer {
            let end = match (&facts.agent_joined, &ended) {
                (Some(joined), _) => Some(("transfer", *joined)),
                (None, Some((t, at))) => Some((t.as_str(), *at)),
                (None, None) => None,
            };
            participants.push(json!({
                "participantId": ids.participant("acd"),
                "participantName": queue,
                "purpose": "acd",
                "sessions": [{
                    "mediaType": "message", "messageType": "webmessaging", "flowInType": "workflow",
                    "segments": [segment(*at, end, Some(&ids.entity("queue", queue)))],
                }],
            }));
        }
        let mut details = json!({
            "conversationId": ids.conversation,
            "conversationStart": timestamp(self.started_wall),
            "originatingDirection": "inbound",
            "divisionIds": [],
            "participants": participants,
        });
        if let Some((_, at)) = &ended {
            details["conversationEnd"] = json!(timestamp(*at));
        }
        Some(details)
    }

    /// The milestones reached, as indexed by the aggregates `lag` ago: name → count.
    pub(crate) fn milestones(&self, lag: Duration, now: Instant) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        let Some(until) = now.checked_sub(lag) else {
            return counts;
        };
        for name in self.upto(until).milestones {
            *counts.entry(name).or_insert(0) += 1;
        }
        counts
    }
}

/// The facts due by some instant.
#[derive(Default)]
struct Facts {
    data: BTreeMap<String, String>,
    outcomes: Vec<(String, bool, SystemTime)>,
    milestones: Vec<String>,
    bot_exit: Option<(SystemTime, &'static str)>,
    transfer: Option<(String, SystemTime)>,
    agent_joined: Option<SystemTime>,
    ended: Option<(EndedBy, SystemTime)>,
}

/// Ids of one conversation and its parts.
pub(crate) struct Ids<'a> {
    pub(crate) conversation: &'a str,
}

impl Ids<'_> {
    /// A participant's id: stable for the conversation.
    fn participant(&self, role: &str) -> String {
        stable_id(&format!("{}/{role}", self.conversation))
    }

    /// A named entity's id: stable for the name.
    fn entity(&self, kind: &str, name: &str) -> String {
        entity_id(kind, name)
    }
}

fn disconnect_type(config: &PlatformConfig, by: EndedBy) -> String {
    match by {
        EndedBy::Bot => config.disconnect_types.bot.clone(),
        EndedBy::Agent => config.disconnect_types.agent.clone(),
        EndedBy::Api => config.disconnect_types.api.clone(),
    }
}

/// The analytics form of a dotted disconnect type (`transfer.forward` → `forwardTransfer`,
/// `endpoint.donotdisturb` → `dndEndpoint`, `transport.failure` → `transportFailure`).
pub(crate) fn camel(dotted: &str) -> String {
    match dotted {
        "transfer.conference" => "conferenceTransfer".into(),
        "transfer.consult" => "consultTransfer".into(),
        "transfer.donotdisturb" => "dndTransfer".into(),
        "transfer.forward" => "forwardTransfer".into(),
        "transfer.noanswer" => "noAnswerTransfer".into(),
        "transfer.notavailable" => "notAvailableTransfer".into(),
        "transport.failure" => "transportFailure".into(),
        "endpoint.donotdisturb" => "dndEndpoint".into(),
        other => other.to_string(),
    }
}

/// A participant's state and end, added to its JSON.
fn participant(mut value: Value, end: Option<(&str, SystemTime)>) -> Value {
    match end {
        Some((kind, at)) => {
            value["state"] = json!("disconnected");
            value["disconnectType"] = json!(kind);
            value["endTime"] = json!(timestamp(at));
        }
        None => value["state"] = json!("connected"),
    }
    value
}

fn segment(start: SystemTime, end: Option<(&str, SystemTime)>, queue: Option<&str>) -> Value {
    let mut segment = json!({"segmentType": "interact", "segmentStart": timestamp(start)});
    if let Some((kind, at)) = end {
        segment["segmentEnd"] = json!(timestamp(at));
        segment["disconnectType"] = json!(kind);
    }
    if let Some(queue) = queue {
        segment["queueId"] = json!(queue);
    }
    segment
}

/// ISO-8601 with milliseconds, as Genesys writes times.
pub(crate) fn timestamp(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .map(|t| t.round(jiff::Unit::Millisecond).unwrap_or(t))
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

/// A stable UUID-shaped id for `text` (FNV-1a, two seeds): the same name gets the same id
/// in every run, so reports and test expectations stay stable.
pub(crate) fn stable_id(text: &str) -> String {
    let hash = |seed: u64| {
        text.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (high, low) = (hash(0xcbf2_9ce4_8422_2325), hash(0x84222325_cbf29ce4));
    uuid::Uuid::from_u64_pair(
        (high & !0xf000) | 0x4000,
        (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000,
    )
    .to_string()
}

/// The id of a named entity (`queue`, `outcome`, `milestone`, `flow`).
pub(crate) fn entity_id(kind: &str, name: &str) -> String {
    stable_id(&format!("{kind}:{}", name.to_lowercase()))
}
