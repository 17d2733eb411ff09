//! What the simulator records about each conversation beyond the bot's state: the handover
//! to a queue and an agent, and the DatePickers the bot offered. Exposed read-only through
//! [`crate::Simulator::conversation_state`], for tests and for a simulated Platform API.

pub(crate) mod platform;

use crate::flow::{AgentProfile, Transfer};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::time::Instant;

/// DatePickers remembered per conversation (the oldest are forgotten), so that the guest's
/// answer can be checked against what was offered.
const MAX_OFFERS: usize = 32;

/// A conversation's handover, as recorded when the bot's `transfer` ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferState {
    /// The queue the bot transferred to.
    pub queue: String,
    /// When the transfer happened: after the transferring rule's own replies.
    pub transferred_at: SystemTime,
    /// The agent who takes the conversation, if the flow names one.
    pub agent: Option<AgentProfile>,
    /// Whether the agent has joined (the transfer's `after` has passed).
    pub agent_joined: bool,
    /// Guest messages the agent has answered so far (from the transfer's `answers`).
    pub answered: usize,
}

/// What the simulator knows of one guest conversation, by token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversationState {
    /// The bot's current state (a name from the flow's `states`).
    pub bot_state: String,
    /// The conversation is read-only (the bot or agent disconnected, or `closeSession`).
    pub read_only: bool,
    /// The handover to a queue, once the bot transferred.
    pub transfer: Option<TransferState>,
}

/// The per-conversation record kept in the session store.
#[derive(Debug, Default)]
pub(crate) struct FlowRecord {
    /// Set when a rule's `transfer` ran: the bot's rules no longer answer.
    pub(crate) handover: Option<Handover>,
    /// The DatePickers offered, newest last: (message id, times offered).
    offers: VecDeque<(String, Vec<jiff::Timestamp>)>,
    /// What the flow did inside Genesys Cloud, for the simulated Platform API.
    pub(crate) platform: platform::PlatformRecord,
}

/// A running handover.
#[derive(Debug)]
pub(crate) struct Handover {
    pub(crate) transfer: Arc<Transfer>,
    pub(crate) transferred_at: SystemTime,
    /// When the agent joins (the first line of `say`, or the first answer, may come then).
    pub(crate) joins_at: Instant,
    /// How many `answers` were used.
    pub(crate) answered: usize,
}

impl FlowRecord {
    /// Remembers a DatePicker the bot sent.
    pub(crate) fn offered(&mut self, message_id: String, times: Vec<jiff::Timestamp>) {
        if self.offers.len() >= MAX_OFFERS {
            self.offers.pop_front();
        }
        self.offers.push_back((message_id, times));
    }

    /// The picked time, if the DatePicker `origin` was offered here and offered `picked`.
    pub(crate) fn offered_time(
        &self,
        origin: Option<&str>,
        picked: Option<jiff::Timestamp>,
    ) -> Option<jiff::Timestamp> {
        let (origin, picked) = (origin?, picked?);
        self.offers
            .iter()
            .find(|(id, _)| id == origin)
            .and_then(|(_, times)| times.iter().find(|t| **t == picked).copied())
    }

    /// The public view of the handover.
    pub(crate) fn transfer_state(&self, now: Instant) -> Option<TransferState> {
        let handover = self.handover.as_ref()?;
        Some(TransferState {
            queue: handover.transfer.queue.clone(),
            transferred_at: handover.transferred_at,
            agent: handover.transfer.agent.clone(),
            agent_joined: now >= handover.joins_at,
            answered: handover.answered,
        })
    }
}
