//! The bot-flow keys of the simulated Platform API: the top-level `botFlow` and `platform`
//! keys, and the rule keys `setParticipantData`, `outcome`, `milestone` and `exitFlow`.

use crate::flow::FlowError;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

/// The default name of the inbound message flow (the `workflow` participant).
pub(crate) const DEFAULT_MESSAGE_FLOW: &str = "Inbound Message Flow";
/// The default "not indexed yet" window of analytics details (no source gives a figure;
/// estimates found range from seconds to tens of seconds).
const DEFAULT_ANALYTICS_DELAY: Duration = Duration::from_secs(2);
/// The longest configurable delay.
const MAX_DELAY_MS: u64 = 600_000;

/// `platform:` in a bot flow.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawPlatform {
    #[serde(default)]
    message_flow: Option<String>,
    #[serde(default)]
    analytics_delay_ms: Option<Spanned<u64>>,
    #[serde(default)]
    aggregates_delay_ms: Option<Spanned<u64>>,
    #[serde(default)]
    credentials: Option<RawCredentials>,
    #[serde(default)]
    token_lifetime_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default)]
    outcomes: Vec<String>,
    #[serde(default)]
    milestones: Vec<String>,
    #[serde(default)]
    flows: Vec<String>,
    #[serde(default)]
    missing_permissions: Vec<String>,
    #[serde(default)]
    faults: Option<RawPlatformFaults>,
    #[serde(default)]
    disconnect_types: Option<RawDisconnectTypes>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCredentials {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPlatformFaults {
    #[serde(default)]
    too_many_requests: Option<RawTooMany>,
    #[serde(default)]
    expire_tokens_after_requests: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTooMany {
    every: Spanned<u64>,
    #[serde(default)]
    retry_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDisconnectTypes {
    #[serde(default)]
    bot: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    api: Option<String>,
}

/// `outcome: {Name: success|failure}` values.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawOutcomeValue {
    Success,
    Failure,
}

/// `milestone: Name` or `milestone: [A, B]`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawNames {
    One(String),
    Many(Vec<String>),
}

/// The rule keys of this module, as read.
#[derive(Clone, Copy)]
pub(crate) struct RawRulePlatform<'a> {
    pub(crate) set_participant_data: Option<&'a Spanned<IndexMap<String, String>>>,
    pub(crate) outcome: Option<&'a Spanned<IndexMap<String, RawOutcomeValue>>>,
    pub(crate) milestone: Option<&'a Spanned<RawNames>>,
    pub(crate) exit_flow: bool,
}

/// What a rule does inside Genesys Cloud, besides its replies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RulePlatform {
    /// `setParticipantData`: set on the customer participant.
    pub(crate) data: Vec<(String, String)>,
    /// `outcome`: name, success.
    pub(crate) outcomes: Vec<(String, bool)>,
    /// `milestone`.
    pub(crate) milestones: Vec<String>,
    /// `exitFlow: true`: the bot flow ends with `FLOW_EXIT`.
    pub(crate) exit_flow: bool,
}

/// Disconnect types the simulator reports (Conversations API, dotted form). What Genesys
/// reports in each case is not documented: they are configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DisconnectTypes {
    /// The bot's `disconnect: true` (the customer's `disconnectType`).
    pub(crate) bot: String,
    /// The agent's `transfer.disconnect`.
    pub(crate) agent: String,
    /// `PATCH /api/v2/conversations/messages/{id}` `{"state":"disconnected"}`.
    pub(crate) api: String,
}

/// The simulated Platform API's settings.
#[derive(Debug, Clone)]
pub(crate) struct PlatformConfig {
    pub(crate) message_flow: String,
    pub(crate) bot_flow: Option<String>,
    pub(crate) analytics_delay: Duration,
    pub(crate) aggregates_delay: Duration,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) token_lifetime: u64,
    pub(crate) queues: Vec<String>,
    pub(crate) outcomes: Vec<String>,
    pub(crate) milestones: Vec<String>,
    pub(crate) flows: Vec<String>,
    pub(crate) missing_permissions: HashSet<String>,
    /// Every n-th API request gets 429 with this `Retry-After`.
    pub(crate) too_many_requests: Option<(u64, u64)>,
    /// A token answers 401 after this many requests.
    pub(crate) expire_tokens_after: Option<u64>,
    pub(crate) disconnect_types: DisconnectTypes,
}

fn delay(
    value: Option<&Spanned<u64>>,
    file: &str,
    key: &str,
) -> Result<Option<Duration>, FlowError> {
    match value {
        None => Ok(None),
        Some(v) if v.value > MAX_DELAY_MS => Err(FlowError::at(
            file,
            &v.referenced,
            key,
            format!("is {} ms: at most {MAX_DELAY_MS} ms", v.value),
        )),
        Some(v) => Ok(Some(Duration::from_millis(v.value))),
    }
}

fn positive(value: &Spanned<u64>, file: &str, key: &str) -> Result<u64, FlowError> {
    if value.value == 0 {
        return Err(FlowError::at(
            file,
            &value.referenced,
            key,
            "must be at least 1",
        ));
    }
    Ok(value.value)
}

/// Checks the rule keys.
pub(crate) fn compile_rule(
    raw: RawRulePlatform<'_>,
    file: &str,
    key: &str,
) -> Result<Option<std::sync::Arc<RulePlatform>>, FlowError> {
    let mut rule = RulePlatform {
        exit_flow: raw.exit_flow,
        ..RulePlatform::default()
    };
    if let Some(data) = raw.set_participant_data {
        for (name, value) in &data.value {
            if name.trim().is_empty() {
                return Err(FlowError::at(
                    file,
                    &data.referenced,
                    &format!("{key}.setParticipantData"),
                    "has an empty key",
                ));
            }
            rule.data.push((name.clone(), value.clone()));
        }
    }
    if let Some(outcomes) = raw.outcome {
        for (name, value) in &outcomes.value {
            if name.trim().is_empty() {
                return Err(FlowError::at(
                    file,
                    &outcomes.referenced,
                    &format!("{key}.outcome"),
                    "has an empty outcome name",
                ));
            }
            rule.outcomes
                .push((name.clone(), *value == RawOutcomeValue::Success));
        }
    }
    if let Some(names) = raw.milestone {
        let list = match &names.value {
            RawNames::One(name) => vec![name.clone()],
            RawNames::Many(names) => names.clone(),
        };
        if list.iter().any(|n| n.trim().is_empty()) {
            return Err(FlowError::at(
                file,
                &names.referenced,
                &format!("{key}.milestone"),
                "has an empty milestone name",
            ));
        }
        rule.milestones = list;
    }
    Ok((rule != RulePlatform::default()).then(|| std::sync::Arc::new(rule)))
}

/// Names used by the flow's rules, for the lookups.
#[derive(Default)]
pub(crate) struct UsedNames {
    pub(crate) queues: BTreeSet<String>,
    pub(crate) outcomes: BTreeSet<String>,
    pub(crate) milestones: BTreeSet<String>,
}

/// The queues, outcomes and milestones the rules of `states` name.
pub(crate) fn used_names(states: &[super::model::State]) -> UsedNames {
    let mut used = UsedNames::default();
    for rule in states.iter().flat_map(|s| &s.rules) {
        if let Some(transfer) = &rule.transfer {
            used.queues.insert(transfer.queue.clone());
        }
        if let Some(platform) = &rule.platform {
            used.outcomes
                .extend(platform.outcomes.iter().map(|(n, _)| n.clone()));
            used.milestones.extend(platform.milestones.iter().cloned());
        }
    }
    used
}

/// Checks `platform:` and `botFlow:`.
pub(crate) fn compile_config(
    raw: Option<RawPlatform>,
    bot_flow: Option<Spanned<String>>,
    used: UsedNames,
    file: &str,
) -> Result<PlatformConfig, FlowError> {
    let raw = raw.unwrap_or_default();
    let bot_flow = match bot_flow {
        None => None,
        Some(name) if name.value.trim().is_empty() => {
            return Err(FlowError::at(
                file,
                &name.referenced,
                "botFlow",
                "is empty: give the bot flow's name",
            ));
        }
        Some(name) => Some(name.value),
    };
    let analytics_delay = delay(
        raw.analytics_delay_ms.as_ref(),
        file,
        "platform.analyticsDelayMs",
    )?
    .unwrap_or(DEFAULT_ANALYTICS_DELAY);
    let aggregates_delay = delay(
        raw.aggregates_delay_ms.as_ref(),
        file,
        "platform.aggregatesDelayMs",
    )?
    .unwrap_or(analytics_delay);
    let token_lifetime = match &raw.token_lifetime_seconds {
        None => 86_399,
        Some(v) => positive(v, file, "platform.tokenLifetimeSeconds")?,
    };
    let (too_many_requests, expire_tokens_after) = match &raw.faults {
        None => (None, None),
        Some(faults) => (
            match &faults.too_many_requests {
                None => None,
                Some(t) => Some((
                    positive(&t.every, file, "platform.faults.tooManyRequests.every")?,
                    t.retry_after_seconds.unwrap_or(1),
                )),
            },
            match &faults.expire_tokens_after_requests {
                None => None,
                Some(n) => Some(positive(
                    n,
                    file,
                    "platform.faults.expireTokensAfterRequests",
                )?),
            },
        ),
    };
    let message_flow = raw
        .message_flow
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_MESSAGE_FLOW.to_string());
    let merge = |used: BTreeSet<String>, extra: Vec<String>| -> Vec<String> {
        let mut all: BTreeSet<String> = used;
        all.extend(extra.into_iter().filter(|n| !n.trim().is_empty()));
        all.into_iter().collect()
    };
    let mut flows: BTreeSet<String> = raw.flows.into_iter().collect();
    flows.insert(message_flow.clone());
    if let Some(bot) = &bot_flow {
        flows.insert(bot.clone());
    }
    let types = raw.disconnect_types;
    let pick = |value: Option<&String>, default: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    Ok(PlatformConfig {
        message_flow,
        bot_flow,
        analytics_delay,
        aggregates_delay,
        credentials: raw.credentials.map(|c| (c.client_id, c.client_secret)),
        token_lifetime,
        queues: merge(used.queues, raw.queues),
        outcomes: merge(used.outcomes, raw.outcomes),
        milestones: merge(used.milestones, raw.milestones),
        flows: flows.into_iter().collect(),
        missing_permissions: raw.missing_permissions.into_iter().collect(),
        too_many_requests,
        expire_tokens_after,
        disconnect_types: DisconnectTypes {
            bot: pick(types.as_ref().and_then(|t| t.bot.as_ref()), "peer"),
            agent: pick(types.as_ref().and_then(|t| t.agent.as_ref()), "peer"),
            api: pick(types.as_ref().and_then(|t| t.api.as_ref()), "client"),
        },
    })
}
