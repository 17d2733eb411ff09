//! The Platform API's JSON, as far as this crate reads it: only the fields used, every one
//! optional or defaulted, unknown fields ignored (Genesys adds fields without notice).
//! Field names are the wire's camelCase (Genesys' Platform API documentation).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/v2/conversations/messages/{messageId}/details` (`MessageData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageData {
    /// The message's id.
    pub id: Option<String>,
    /// The conversation the message belongs to.
    pub conversation_id: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
}

/// A reference to another entity (`DomainEntityRef`): `{id, name, selfUri}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EntityRef {
    /// The entity's id.
    pub id: Option<String>,
    /// Its name, when the API gives it.
    pub name: Option<String>,
}

/// `GET /api/v2/conversations/messages/{conversationId}` (`MessageConversation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageConversation {
    /// The conversation's id.
    pub id: Option<String>,
    /// Everyone who took part: customer, flows, queues, agents.
    pub participants: Vec<Participant>,
}

/// One `MessageMediaParticipant`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Participant {
    /// The participant's id.
    pub id: Option<String>,
    /// Display name: the flow's name for a flow, the queue's for an `acd` participant.
    pub name: Option<String>,
    /// `customer`, `workflow`, `botflow`, `acd`, `agent`... (compare case-insensitively).
    pub purpose: Option<String>,
    /// `connected`, `disconnected`, `alerting`...
    pub state: Option<String>,
    /// Why the participant left, dotted form (`transfer`, `client`, `peer`...).
    pub disconnect_type: Option<String>,
    /// The queue of an `acd` or `agent` participant.
    pub queue: Option<EntityRef>,
    /// Participant data ("ad-hoc attributes"), string to string.
    pub attributes: BTreeMap<String, String>,
    /// When the participant joined.
    pub start_time: Option<String>,
    /// When the participant left (absent while connected).
    pub end_time: Option<String>,
}

impl Participant {
    /// Whether `purpose` is `expected` (case-insensitively).
    pub fn has_purpose(&self, expected: &str) -> bool {
        self.purpose
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(expected))
    }

    /// Whether the participant is still in the conversation (not `disconnected`/`terminated`).
    pub fn is_active(&self) -> bool {
        !matches!(
            self.state
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("disconnected" | "terminated")
        )
    }
}

impl MessageConversation {
    /// The customer participant (participant data lives there).
    pub fn customer(&self) -> Option<&Participant> {
        self.participants.iter().find(|p| p.has_purpose("customer"))
    }

    /// Whether anyone is still connected or waiting (the conversation needs cleaning up).
    pub fn is_active(&self) -> bool {
        self.participants.iter().any(Participant::is_active)
    }
}

/// `GET /api/v2/analytics/conversations/{id}/details` (`AnalyticsConversationWithoutAttributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsConversation {
    /// The conversation's id.
    pub conversation_id: Option<String>,
    /// ISO-8601 start.
    pub conversation_start: Option<String>,
    /// ISO-8601 end, absent while the conversation is active.
    pub conversation_end: Option<String>,
    /// The participants with their sessions.
    pub participants: Vec<AnalyticsParticipant>,
}

/// An analytics participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsParticipant {
    /// The participant's id.
    pub participant_id: Option<String>,
    /// Its name.
    pub participant_name: Option<String>,
    /// `customer`, `workflow`, `botflow`, `acd`, `agent`...
    pub purpose: Option<String>,
    /// Its sessions.
    pub sessions: Vec<AnalyticsSession>,
}

/// An analytics session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsSession {
    /// The session's id.
    pub session_id: Option<String>,
    /// `PureCloud Messaging`, `PureCloud BotFlow`...
    pub provider: Option<String>,
    /// The flow that ran in this session, once it has ended.
    pub flow: Option<AnalyticsFlow>,
    /// The session's segments.
    pub segments: Vec<AnalyticsSegment>,
}

/// `session.flow`: what a flow did. Present only once the flow session has ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsFlow {
    /// The flow's id.
    pub flow_id: Option<String>,
    /// Its name at the time.
    pub flow_name: Option<String>,
    /// `BOT`, `DIGITALBOT`, `INBOUNDSHORTMESSAGE`...
    pub flow_type: Option<String>,
    /// Free text: `TRANSFER`, `FLOW_EXIT`, `DISCONNECT`...
    pub exit_reason: Option<String>,
    /// `ACD`... for a transfer.
    pub transfer_type: Option<String>,
    /// For an ACD transfer, the queue's id.
    pub transfer_target_address: Option<String>,
    /// For an ACD transfer, the queue's name.
    pub transfer_target_name: Option<String>,
    /// The outcomes the flow reached or failed.
    pub outcomes: Vec<AnalyticsFlowOutcome>,
}

/// One `flow.outcomes[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsFlowOutcome {
    /// The outcome's id.
    pub flow_outcome_id: Option<String>,
    /// `SUCCESS`, `FAILURE` or `UNKNOWN`.
    pub flow_outcome_value: Option<String>,
    /// When it started.
    pub flow_outcome_start_timestamp: Option<String>,
    /// When it ended (may be absent when it did not succeed).
    pub flow_outcome_end_timestamp: Option<String>,
}

/// One analytics segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyticsSegment {
    /// `interact`, `alert`, `wrapup`...
    pub segment_type: Option<String>,
    /// The queue of the segment.
    pub queue_id: Option<String>,
    /// camelCase disconnect type (`transfer`, `client`, `peer`...).
    pub disconnect_type: Option<String>,
}

impl AnalyticsConversation {
    /// Every ended flow session, with the purpose of its participant.
    pub fn flows(&self) -> impl Iterator<Item = (&AnalyticsParticipant, &AnalyticsFlow)> {
        self.participants.iter().flat_map(|p| {
            p.sessions
                .iter()
                .filter_map(move |s| s.flow.as_ref().map(|f| (p, f)))
        })
    }
}

/// `POST /api/v2/analytics/flows/aggregates/query` answer (`FlowAggregateQueryResponse`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AggregateResponse {
    /// One result per group.
    pub results: Vec<AggregateResult>,
}

/// One group of an aggregate answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AggregateResult {
    /// The group's dimensions (`flowMilestoneId` → id).
    pub group: BTreeMap<String, String>,
    /// The intervals.
    pub data: Vec<AggregateData>,
}

/// One interval of a group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AggregateData {
    /// `start/end`.
    pub interval: Option<String>,
    /// The metrics.
    pub metrics: Vec<AggregateMetric>,
}

/// One metric of an interval.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AggregateMetric {
    /// `nFlowMilestone`...
    pub metric: Option<String>,
    /// Its statistics.
    pub stats: AggregateStats,
}

/// A metric's statistics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AggregateStats {
    /// How many times.
    pub count: Option<f64>,
}

/// A named entity from a lookup (queue, flow outcome, flow milestone, flow).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedEntity {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its type (flows only: `BOT`, `DIGITALBOT`, `INBOUNDSHORTMESSAGE`...).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A page of a listing (`QueueEntityListing`, `FlowOutcomeListing`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Listing {
    /// The entities of this page.
    pub entities: Vec<NamedEntity>,
    /// The number of matches in all, when given.
    pub total: Option<u64>,
}

/// The body of a Platform API error (`ErrorBody`), only the parts that are safe to show.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorBody {
    pub(crate) code: Option<String>,
    /// OAuth's error field (`invalid_client`).
    pub(crate) error: Option<String>,
}

/// The login answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: Option<String>,
    pub(crate) expires_in: Option<u64>,
}
