//! The compiled bot flow: what the connections run. Built only by [`super::compile`].

use super::content;
use super::{Auth, Messenger, RateLimit, Transfer};
use crate::template::Template;
use genesys_web_messaging::JsRegex;
use std::collections::HashMap;
use std::time::Duration;

/// A parsed and validated bot flow: the behaviour of one simulated Web Messenger deployment.
///
/// Build it with [`BotFlow::from_yaml_str`] or [`BotFlow::from_file`] and hand it to
/// [`crate::Simulator::start`]. The format is described in the crate's README.
#[derive(Debug, Clone)]
pub struct BotFlow {
    pub(crate) deployment_id: Option<String>,
    pub(crate) allowed_origins: Option<Vec<String>>,
    pub(crate) seed: Option<u64>,
    pub(crate) limits: Limits,
    pub(crate) session: SessionSettings,
    pub(crate) faults: Faults,
    /// `messenger`: the Messenger configuration `config.json` publishes.
    pub(crate) messenger: Messenger,
    /// `auth`: authenticated sessions.
    pub(crate) auth: Auth,
    pub(crate) start: usize,
    pub(crate) states: Vec<State>,
    /// The simulated Platform API (`botFlow`, `platform`).
    pub(crate) platform: super::platform::PlatformConfig,
}

/// What the deployment refuses.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Longest guest text, in characters (longer: 4011).
    pub(crate) max_message_length: usize,
    /// Largest custom-attributes map, as serialised JSON, in bytes (larger: 4013).
    pub(crate) max_custom_attributes_bytes: usize,
    /// The `onMessage` rate limit (429).
    pub(crate) rate_limit: RateLimit,
}

/// How the deployment answers `configureSession`.
#[derive(Debug, Clone)]
pub(crate) struct SessionSettings {
    /// `false`: the deployment goes silent once asked to configure a session.
    pub(crate) respond: bool,
    /// How long the SessionResponse takes.
    pub(crate) respond_after: Duration,
    /// Inactivity after which the session expires.
    pub(crate) ttl: Option<Duration>,
    /// The welcome waits for the guest's Presence Join (or first message).
    pub(crate) autostart: bool,
    /// Bot messages that open a new conversation.
    pub(crate) welcome: Vec<Reply>,
}

/// Faults the whole deployment injects, drawn from the seeded random generator.
#[derive(Debug, Clone)]
pub(crate) struct Faults {
    /// Probability that two adjacent bot replies of one answer are written swapped.
    pub(crate) out_of_order: f64,
    /// Extra delay of every frame the bot sends, drawn from `min..=max`.
    pub(crate) latency: Option<(Duration, Duration)>,
    /// Guest messages this soon after the bot's last message are echoed but not answered.
    pub(crate) ignore_input_within: Option<Duration>,
    /// The TCP connection is dropped after this many guest messages.
    pub(crate) drop_after_messages: Option<u64>,
    /// Probability that a guest message is refused with `error`.
    pub(crate) error_rate: f64,
    /// The refusal `error_rate` sends.
    pub(crate) error: ErrorReply,
}

/// One named state of the bot.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) rules: Vec<Rule>,
}

/// One `when` → actions rule.
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per action key of a rule (`disconnect`, `closeSocket`, `dropSocket`, `outOfOrder`), any of which may be combined"
)]
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) when: Condition,
    pub(crate) replies: Vec<Reply>,
    pub(crate) goto: Option<usize>,
    pub(crate) disconnect: bool,
    pub(crate) error: Option<ErrorReply>,
    pub(crate) raw: Vec<String>,
    pub(crate) close_socket: bool,
    pub(crate) drop_socket: bool,
    pub(crate) out_of_order: bool,
    /// After the replies, the bot hands the conversation over to a queue (and an agent).
    pub(crate) transfer: Option<std::sync::Arc<Transfer>>,
    /// What the rule does inside Genesys Cloud (participant data, outcomes, milestones).
    pub(crate) platform: Option<std::sync::Arc<super::platform::RulePlatform>>,
}

/// Which guest messages a rule answers: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    /// Lower-cased needle.
    pub(crate) contains: Option<String>,
    pub(crate) matches: Option<JsRegex>,
    pub(crate) payload: Option<String>,
    pub(crate) attribute: Option<AttributeCondition>,
    /// The guest answered a DatePicker the bot offered (with this time).
    pub(crate) date_picked: Option<content::DatePicked>,
    /// `attachment: true|false`: the guest's message carries (or does not carry) an attachment.
    pub(crate) attachment: Option<bool>,
}

/// A condition on one of the guest's custom attributes.
#[derive(Debug, Clone)]
pub(crate) struct AttributeCondition {
    pub(crate) name: String,
    pub(crate) test: AttributeTest,
}

/// What the attribute's value must be.
#[derive(Debug, Clone)]
pub(crate) enum AttributeTest {
    Present,
    Equals(String),
    Matches(JsRegex),
}

/// One bot message and the delay before it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) text: Option<Template>,
    pub(crate) quick_replies: Vec<QuickReplyTemplate>,
    pub(crate) card: Option<CardTemplate>,
    pub(crate) carousel: Vec<CardTemplate>,
    /// An attachment (`content[].attachment`).
    pub(crate) attachment: Option<content::AttachmentTemplate>,
    /// A DatePicker offer (`content[].datePicker`).
    pub(crate) date_picker: Option<content::DatePickerTemplate>,
    pub(crate) delay: Duration,
    /// Up to this much more delay, drawn at random.
    pub(crate) jitter: Duration,
    /// An Outbound Typing On event precedes the message.
    pub(crate) typing: bool,
}

/// A quick reply offered by the bot.
#[derive(Debug, Clone)]
pub(crate) struct QuickReplyTemplate {
    pub(crate) text: Template,
    pub(crate) payload: Template,
}

/// A card of a reply.
#[derive(Debug, Clone)]
pub(crate) struct CardTemplate {
    pub(crate) title: Template,
    pub(crate) description: Option<Template>,
    pub(crate) image: Option<Template>,
    pub(crate) actions: Vec<CardActionTemplate>,
}

/// A button of a card: a postback (payload) or a link (url).
#[derive(Debug, Clone)]
pub(crate) struct CardActionTemplate {
    pub(crate) text: Template,
    pub(crate) payload: Option<Template>,
    pub(crate) url: Option<Template>,
}

/// A `class: "string"` error response.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReply {
    pub(crate) code: i64,
    pub(crate) body: String,
}

/// The captured values of a session, by name.
pub(crate) type Captures = HashMap<String, String>;
