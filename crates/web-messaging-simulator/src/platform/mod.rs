//! The simulated Platform API (Genesys' Platform API documentation), served on the simulator's HTTP port
//! next to `config.json`: the OAuth token endpoint, message details, the live conversation,
//! analytics details (404 until indexed), the flows aggregates query for milestones, name
//! lookups, the disconnect PATCH, and faults (429 with `Retry-After`, 403
//! `missing.any.permissions`, 401 for an expired token). Everything is backed by what the
//! bot flow really did in each conversation.

mod api;

use crate::conversation::platform::entity_id;
pub(crate) use api::{handles, serve};

use crate::conversation::platform::Event;
use crate::flow::Rule;
use crate::session::SessionState;
use tokio::time::Instant;

/// The high half of every simulated conversation id (the low half is the session number),
/// so that an id can be traced back to its session.
const CONVERSATION_PREFIX: u64 = 0x5eed_c0de_0000_4000;

/// The conversation id of a session.
pub(crate) fn conversation_id(session_id: u64) -> String {
    // Variant bits set so that the id reads as an RFC 4122 UUID.
    uuid::Uuid::from_u64_pair(CONVERSATION_PREFIX, session_id | 0x8000_0000_0000_0000).to_string()
}

/// The session number of a conversation id made by [`conversation_id`].
pub(crate) fn session_of(conversation_id: &str) -> Option<u64> {
    let uuid = uuid::Uuid::parse_str(conversation_id).ok()?;
    let (high, low) = uuid.as_u64_pair();
    (high == CONVERSATION_PREFIX).then_some(low & !0x8000_0000_0000_0000)
}

/// Records what a matched rule does inside Genesys Cloud; `at` is when its replies are due
/// (a transfer happens then, as in `start_transfer`).
pub(crate) fn on_rule(state: &mut SessionState, rule: &Rule, at: Instant) {
    let record = &mut state.record.platform;
    record.rule(
        rule.platform.as_deref(),
        rule.transfer.as_ref().map(|t| t.queue.as_str()),
        rule.disconnect,
        at,
    );
    if let Some(transfer) = &rule.transfer {
        // A transfer with nobody to answer waits in the queue (until disconnected).
        let agent =
            transfer.agent.is_some() || !transfer.say.is_empty() || !transfer.answers.is_empty();
        if agent {
            let joins = at.checked_add(transfer.after).unwrap_or(at);
            record.push(joins, Event::AgentJoined);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BotFlow;

    #[test]
    fn ids_round_trip_and_names_give_stable_ids() {
        let id = conversation_id(42);
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert_eq!(session_of(&id), Some(42));
        assert_eq!(session_of("e5958a27-27ac-4da5-83a5-7ecac4a2ff11"), None);
        assert_eq!(entity_id("queue", "Billing"), entity_id("queue", "billing"));
        assert_ne!(
            entity_id("queue", "Billing"),
            entity_id("outcome", "Billing")
        );
    }

    #[test]
    fn bad_platform_keys_are_refused_with_their_position() {
        for (yaml, wanted) in [
            (
                "states:\n  main:\n    - reply: hi\n      outcome: { Identified: maybe }\n",
                "bot.yml:4:",
            ),
            (
                "states:\n  main:\n    - reply: hi\n      milestone: ['']\n",
                "milestone",
            ),
            (
                "platform:\n  analyticsDelayMs: 9999999\nstates:\n  main:\n    - reply: hi\n",
                "platform.analyticsDelayMs",
            ),
            (
                "platform:\n  faults: { tooManyRequests: { every: 0 } }\nstates:\n  main:\n    - reply: hi\n",
                "tooManyRequests.every",
            ),
            (
                "botFlow: ''\nstates:\n  main:\n    - reply: hi\n",
                "botFlow",
            ),
            (
                "platform:\n  queue: [x]\nstates:\n  main:\n    - reply: hi\n",
                "queue",
            ),
        ] {
            let e = BotFlow::from_yaml_str(yaml, "bot.yml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted), "{yaml}: {e}");
        }
    }
}
