//! The steps that check what the flow did inside Genesys Cloud (through the Platform API):
//! `expectTransferTo`, `expectNoTransfer`, `expectParticipantData`, `expectFlowOutcome`,
//! `expectMilestone`, `expectFlowExit`, `expectBotFlow`, `expectDisconnectType`. Their syntax
//! only: the run layer polls the API.

use genesys_web_messaging::JsRegex;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::fmt;
use web_messaging_input::InputError;

/// The step keys of this module, for "must have one of" messages.
pub const KEYS: [&str; 8] = [
    "expectTransferTo",
    "expectNoTransfer",
    "expectParticipantData",
    "expectFlowOutcome",
    "expectMilestone",
    "expectFlowExit",
    "expectBotFlow",
    "expectDisconnectType",
];

/// What a Platform step expects.
#[derive(Debug, Clone)]
pub enum PlatformCheck {
    /// `expectTransferTo: <queue name>`.
    TransferTo(String),
    /// `expectNoTransfer: true`.
    NoTransfer,
    /// `expectParticipantData: {Key: value, Other: /regex/, Third: exists}`.
    ParticipantData(Vec<(String, DataMatch)>),
    /// `expectFlowOutcome: {<outcome name>: success|failure}`.
    FlowOutcome(Vec<(String, bool)>),
    /// `expectMilestone: <name>`.
    Milestone(String),
    /// `expectFlowExit: {flow: <name>, reason: TRANSFER|FLOW_EXIT|DISCONNECT|...}`.
    FlowExit {
        /// The flow's name.
        flow: String,
        /// The exit reason, as analytics writes it (compared ignoring case).
        reason: String,
    },
    /// `expectBotFlow: <name>`: the bot flow took part.
    BotFlow(String),
    /// `expectDisconnectType: <type>` of the customer participant.
    DisconnectType(String),
}

/// How one participant-data key must look.
#[derive(Debug, Clone)]
pub enum DataMatch {
    /// Exactly this value.
    Equals(String),
    /// A value matching `/pattern/flags` (JavaScript syntax).
    Matches(JsRegex),
    /// `exists`: any value.
    Exists,
}

impl fmt::Display for DataMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataMatch::Equals(v) => write!(f, "{v}"),
            DataMatch::Matches(r) => write!(f, "/{}/", r.source()),
            DataMatch::Exists => write!(f, "exists"),
        }
    }
}

/// Which data source answers a check: it sets the default timeout and the polling pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The live conversation (Conversations API): fast.
    Live,
    /// Analytics conversation details: seconds to tens of seconds behind.
    Analytics,
    /// Flows aggregates (milestones): possibly slower still.
    Aggregates,
}

impl PlatformCheck {
    /// The step's key.
    pub fn key(&self) -> &'static str {
        match self {
            PlatformCheck::TransferTo(_) => "expectTransferTo",
            PlatformCheck::NoTransfer => "expectNoTransfer",
            PlatformCheck::ParticipantData(_) => "expectParticipantData",
            PlatformCheck::FlowOutcome(_) => "expectFlowOutcome",
            PlatformCheck::Milestone(_) => "expectMilestone",
            PlatformCheck::FlowExit { .. } => "expectFlowExit",
            PlatformCheck::BotFlow(_) => "expectBotFlow",
            PlatformCheck::DisconnectType(_) => "expectDisconnectType",
        }
    }

    /// The slowest source the check reads.
    pub fn source(&self) -> Source {
        match self {
            PlatformCheck::ParticipantData(_) | PlatformCheck::DisconnectType(_) => Source::Live,
            // Live first, analytics for what the live view cannot show.
            PlatformCheck::TransferTo(_) | PlatformCheck::NoTransfer => Source::Live,
            PlatformCheck::FlowOutcome(_)
            | PlatformCheck::FlowExit { .. }
            | PlatformCheck::BotFlow(_) => Source::Analytics,
            PlatformCheck::Milestone(_) => Source::Aggregates,
        }
    }
}

impl fmt::Display for PlatformCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformCheck::TransferTo(q) => write!(f, "expectTransferTo: {q}"),
            PlatformCheck::NoTransfer => write!(f, "expectNoTransfer"),
            PlatformCheck::ParticipantData(pairs) => {
                let pairs: Vec<String> = pairs.iter().map(|(k, m)| format!("{k}: {m}")).collect();
                write!(f, "expectParticipantData: {{{}}}", pairs.join(", "))
            }
            PlatformCheck::FlowOutcome(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(k, s)| format!("{k}: {}", if *s { "success" } else { "failure" }))
                    .collect();
                write!(f, "expectFlowOutcome: {{{}}}", pairs.join(", "))
            }
            PlatformCheck::Milestone(m) => write!(f, "expectMilestone: {m}"),
            PlatformCheck::FlowExit { flow, reason } => {
                write!(f, "expectFlowExit: {{flow: {flow}, reason: {reason}}}")
            }
            PlatformCheck::BotFlow(b) => write!(f, "expectBotFlow: {b}"),
            PlatformCheck::DisconnectType(t) => write!(f, "expectDisconnectType: {t}"),
        }
    }
}

/// `expectFlowExit`'s mapping.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlowExit {
    flow: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
}

/// The raw values of the Platform step keys of one step.
#[derive(Default)]
pub struct RawChecks {
    /// `expectTransferTo`.
    pub transfer_to: Option<Spanned<Option<String>>>,
    /// `expectNoTransfer`.
    pub no_transfer: Option<Spanned<bool>>,
    /// `expectParticipantData`.
    pub participant_data: Option<Spanned<IndexMap<String, String>>>,
    /// `expectFlowOutcome`.
    pub flow_outcome: Option<Spanned<IndexMap<String, String>>>,
    /// `expectMilestone`.
    pub milestone: Option<Spanned<Option<String>>>,
    /// `expectFlowExit`.
    pub flow_exit: Option<Spanned<RawFlowExit>>,
    /// `expectBotFlow`.
    pub bot_flow: Option<Spanned<Option<String>>>,
    /// `expectDisconnectType`.
    pub disconnect_type: Option<Spanned<Option<String>>>,
}

impl RawChecks {
    /// The keys present, in [`KEYS`] order.
    pub fn present(&self) -> Vec<&'static str> {
        [
            self.transfer_to.is_some(),
            self.no_transfer.is_some(),
            self.participant_data.is_some(),
            self.flow_outcome.is_some(),
            self.milestone.is_some(),
            self.flow_exit.is_some(),
            self.bot_flow.is_some(),
            self.disconnect_type.is_some(),
        ]
        .iter()
        .zip(KEYS)
        .filter_map(|(set, key)| set.then_some(key))
        .collect()
    }

    /// The check, when one of the keys is present. `at` words an error at a location and key.
    pub fn convert(
        self,
        at: &dyn Fn(&Location, &str, String) -> InputError,
    ) -> Option<Result<PlatformCheck, InputError>> {
        let name = |value: Spanned<Option<String>>, key: &str| match value.value {
            Some(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
            _ => Err(at(
                &value.referenced,
                key,
                "is not allowed to be empty".into(),
            )),
        };
        if let Some(v) = self.transfer_to {
            return Some(name(v, "expectTransferTo").map(PlatformCheck::TransferTo));
        }
        if let Some(v) = self.no_transfer {
            return Some(if v.value {
                Ok(PlatformCheck::NoTransfer)
            } else {
                Err(at(&v.referenced, "expectNoTransfer", "must be true".into()))
            });
        }
        if let Some(v) = self.milestone {
            return Some(name(v, "expectMilestone").map(PlatformCheck::Milestone));
        }
        if let Some(v) = self.bot_flow {
            return Some(name(v, "expectBotFlow").map(PlatformCheck::BotFlow));
        }
        if let Some(v) = self.disconnect_type {
            return Some(name(v, "expectDisconnectType").map(PlatformCheck::DisconnectType));
        }
        if let Some(v) = self.participant_data {
            return Some(participant_data(v, at));
        }
        if let Some(v) = self.flow_outcome {
            return Some(flow_outcome(v, at));
        }
        if let Some(v) = self.flow_exit {
            return Some(flow_exit(v, at));
        }
        None
    }
}

fn participant_data(
    v: Spanned<IndexMap<String, String>>,
    at: &dyn Fn(&Location, &str, String) -> InputError,
) -> Result<PlatformCheck, InputError> {
    let key = "expectParticipantData";
    if v.value.is_empty() {
        return Err(at(
            &v.referenced,
            key,
            "must name at least one key: {Key: value, Other: /regex/, Third: exists}".into(),
        ));
    }
    let mut pairs = Vec::new();
    for (name, value) in v.value {
        if name.trim().is_empty() {
            return Err(at(&v.referenced, key, "has an empty key".into()));
        }
        let matcher = if value == "exists" {
            DataMatch::Exists
        } else if let Some(body) = value.strip_prefix('/')
            && let Some(end) = body.rfind('/')
        {
            let (pattern, flags) = (&body[..end], &body[end + 1..]);
            let regex = JsRegex::new(pattern, flags).map_err(|e| {
                at(
                    &v.referenced,
                    &format!("{key}.{name}"),
                    format!("is not a valid regular expression: {e}"),
                )
            })?;
            DataMatch::Matches(regex)
        } else {
            DataMatch::Equals(value)
        };
        pairs.push((name, matcher));
    }
    Ok(PlatformCheck::ParticipantData(pairs))
}

fn flow_outcome(
    v: Spanned<IndexMap<String, String>>,
    at: &dyn Fn(&Location, &str, String) -> InputError,
) -> Result<PlatformCheck, InputError> {
    let key = "expectFlowOutcome";
    if v.value.is_empty() {
        return Err(at(
            &v.referenced,
            key,
            "must name at least one outcome: {<outcome name>: success|failure}".into(),
        ));
    }
    let mut pairs = Vec::new();
    for (name, value) in v.value {
        let success = match value.trim().to_ascii_lowercase().as_str() {
            "success" => true,
            "failure" => false,
            _ => {
                return Err(at(
                    &v.referenced,
                    &format!("{key}.{name}"),
                    format!("must be success or failure (found '{value}')"),
                ));
            }
        };
        if name.trim().is_empty() {
            return Err(at(&v.referenced, key, "has an empty outcome name".into()));
        }
        pairs.push((name, success));
    }
    Ok(PlatformCheck::FlowOutcome(pairs))
}

fn flow_exit(
    v: Spanned<RawFlowExit>,
    at: &dyn Fn(&Location, &str, String) -> InputError,
) -> Result<PlatformCheck, InputError> {
    let key = "expectFlowExit";
    let field = |value: Option<Spanned<String>>, name: &str| match value {
        Some(s) if !s.value.trim().is_empty() => Ok(s.value.trim().to_string()),
        Some(s) => Err(at(
            &s.referenced,
            &format!("{key}.{name}"),
            "is not allowed to be empty".into(),
        )),
        None => Err(at(
            &v.referenced,
            key,
            format!("needs `{name}` (flow: <name>, reason: TRANSFER|FLOW_EXIT|DISCONNECT|...)"),
        )),
    };
    let flow = field(v.value.flow, "flow")?;
    let reason = field(v.value.reason, "reason")?;
    Ok(PlatformCheck::FlowExit { flow, reason })
}

#[cfg(test)]
mod tests {
    use crate::format::script::{Step, TestScript};
    use std::path::Path;

    fn parse(src: &str) -> Result<TestScript, String> {
        TestScript::parse(Path::new("t.yml"), src).map_err(|e| e.to_string())
    }

    #[test]
    fn every_platform_step_parses() {
        let script = parse(
            "scenarios:\n  s:\n    - say: hi\n    - expectTransferTo: Billing\n      timeout: 20s\n    - expectNoTransfer: true\n    - expectParticipantData: {Intent: Billing, Tier: /gold|silver/i, Verified: exists}\n    - expectFlowOutcome: {Identified: success}\n    - expectMilestone: Intent captured\n    - expectFlowExit: {flow: Support Bot, reason: FLOW_EXIT}\n    - expectBotFlow: Support Bot\n    - expectDisconnectType: client\n",
        )
        .unwrap();
        let steps = &script.scenarios[0].steps;
        assert_eq!(steps.len(), 9);
        let shown: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(shown[1], "expectTransferTo: Billing");
        assert_eq!(
            shown[3],
            "expectParticipantData: {Intent: Billing, Tier: /gold|silver/, Verified: exists}"
        );
        assert!(matches!(
            &steps[1],
            Step::Platform { timeout: Some(t), .. } if t.as_secs() == 20
        ));
        assert!(script.has_platform_steps());
    }

    #[test]
    fn mistakes_name_file_line_and_key() {
        for (src, wanted) in [
            (
                "scenarios:\n  s:\n    - expectFlowOutcome: {Identified: maybe}\n",
                "t.yml:3:",
            ),
            (
                "scenarios:\n  s:\n    - expectFlowOutcome: {Identified: maybe}\n",
                "expectFlowOutcome.Identified",
            ),
            (
                "scenarios:\n  s:\n    - expectTransferTo: ''\n",
                "is not allowed to be empty",
            ),
            (
                "scenarios:\n  s:\n    - expectNoTransfer: false\n",
                "must be true",
            ),
            (
                "scenarios:\n  s:\n    - expectFlowExit: {flow: Bot}\n",
                "needs `reason`",
            ),
            (
                "scenarios:\n  s:\n    - expectParticipantData: {A: /(/}\n",
                "expectParticipantData.A",
            ),
            (
                "scenarios:\n  s:\n    - expectMilestone: x\n      from: bot\n",
                "from",
            ),
            (
                "scenarios:\n  s:\n    - expectMilestone: x\n      say: y\n",
                "found say and expectMilestone",
            ),
        ] {
            let e = parse(src).unwrap_err();
            assert!(e.contains(wanted), "{src}: {e}");
        }
    }
}
