//! The bot-flow file: what the simulated bot answers, and which faults the deployment injects.
//!
//! The YAML is read in two passes. Serde turns it into the `Raw*` types of [`raw`], which keep
//! the source position of every value a later check may complain about; `compile` then checks
//! what serde cannot (state names and reachability, regular expressions, capture names, empty
//! texts, probabilities) and builds the compact form the connections run. Every error carries
//! the file, line, column and key.

mod content;
mod deployment;
mod raw;
mod transfer;

pub(crate) use content::{DatePick, RenderedAttachment, RenderedDatePicker, parse_time};
pub(crate) use transfer::{AGENT_TYPING_MS, Transfer};

pub(crate) use deployment::{Auth, Messenger, RateLimit};

use crate::template::{Template, group_names};
use genesys_web_messaging::JsRegex;
use raw::{
    RawCard, RawFlow, RawItem, RawLabel, RawReplies, RawReplyMap, RawRule, RawWhen, at, source_text,
};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
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
    pub(crate) platform: crate::platform::PlatformConfig,
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
    pub(crate) platform: Option<std::sync::Arc<crate::platform::RulePlatform>>,
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

/// The longest one `matches` test may take. Patterns without a linear-time equivalent run
/// on a helper thread; one that overruns counts as not matching (and is logged), so one guest's
/// catastrophic pattern never stalls the simulator or another guest.
const MATCH_BUDGET: std::time::Duration = std::time::Duration::from_millis(50);

/// Waits for a bounded match without holding up the other tasks of a multi-threaded runtime.
fn bounded<T>(wait: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

/// The named groups of `regex`'s match in `text`, `None` when it does not match or could not
/// be decided within [`MATCH_BUDGET`] (logged).
fn bounded_groups(regex: &JsRegex, text: &str) -> Option<Vec<(String, String)>> {
    match bounded(|| regex.find_groups_within(text, MATCH_BUDGET)) {
        Ok(groups) => groups,
        Err(e) => {
            tracing::warn!(
                "{e} within {} ms: treated as no match",
                MATCH_BUDGET.as_millis()
            );
            None
        }
    }
}

/// What the guest said, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuestInput<'a> {
    /// The text, or the label of the button clicked.
    pub(crate) text: &'a str,
    /// The payload of the button clicked.
    pub(crate) payload: Option<&'a str>,
    /// The session's custom attributes.
    pub(crate) attributes: &'a BTreeMap<String, String>,
    /// The guest's answer to a DatePicker, if this message is one.
    pub(crate) date_pick: Option<DatePick>,
    /// Whether the message carries an attachment.
    pub(crate) has_attachment: bool,
}

impl Condition {
    /// The values captured by named groups when every condition holds; `None` otherwise.
    pub(crate) fn check(&self, input: GuestInput<'_>) -> Option<Vec<(String, String)>> {
        if let Some(needle) = &self.contains
            && !input.text.to_lowercase().contains(needle.as_str())
        {
            return None;
        }
        if let Some(payload) = &self.payload
            && input.payload != Some(payload.as_str())
        {
            return None;
        }
        if let Some(picked) = &self.date_picked
            && !picked.holds(input.date_pick)
        {
            return None;
        }
        if let Some(wanted) = self.attachment
            && wanted != input.has_attachment
        {
            return None;
        }
        if let Some(condition) = &self.attribute {
            let value = input.attributes.get(&condition.name)?;
            let ok = match &condition.test {
                AttributeTest::Present => true,
                AttributeTest::Equals(expected) => value == expected,
                AttributeTest::Matches(regex) => {
                    match bounded(|| regex.is_match_within(value, MATCH_BUDGET)) {
                        Ok(found) => found,
                        Err(e) => {
                            tracing::warn!(
                                "{e} within {} ms: treated as no match",
                                MATCH_BUDGET.as_millis()
                            );
                            false
                        }
                    }
                }
            };
            if !ok {
                return None;
            }
        }
        let mut captured = Vec::new();
        if let Some(regex) = &self.matches {
            captured.extend(bounded_groups(regex, input.text)?);
        }
        Some(captured)
    }

    #[cfg(test)]
    pub(crate) fn matches_text(&self, text: &str) -> bool {
        let attributes = BTreeMap::new();
        self.check(GuestInput {
            text,
            payload: None,
            attributes: &attributes,
            date_pick: None,
            has_attachment: false,
        })
        .is_some()
    }
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

/// Why a bot-flow file was refused: where (file, line, column), which key, and what is wrong.
/// The same type, and the same message shape, as every other input file of the project.
pub type FlowError = web_messaging_input::InputError;

/// Default `limits.maxMessageLength`.
const DEFAULT_MAX_MESSAGE_LENGTH: usize = 4096;
/// Default `limits.maxCustomAttributesBytes`, as Genesys documents it.
const DEFAULT_MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 2048;

impl BotFlow {
    /// Parses and validates a bot flow from YAML text. `file_name` is only used in errors.
    pub fn from_yaml_str(source: &str, file_name: &str) -> Result<BotFlow, FlowError> {
        let raw = raw::parse(source, file_name)?;
        compile(raw, source, file_name)
    }

    /// Reads, parses and validates a bot-flow file. A file that cannot be read gives a
    /// [`FlowError`] without a position.
    pub fn from_file(path: &Path) -> Result<BotFlow, FlowError> {
        let file = path.display().to_string();
        let source = web_messaging_input::read_file(path, "bot flow")?;
        BotFlow::from_yaml_str(&source, &file)
    }

    /// The deployment ID this flow insists on (`deploymentId`), if any.
    pub fn deployment_id(&self) -> Option<&str> {
        self.deployment_id.as_deref()
    }

    /// The flow's `seed`, if it sets one.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 2: checks serde cannot make, and the compact form.

/// What every compile step needs to know.
struct Context<'a> {
    source: &'a str,
    file: &'a str,
    /// Every group name a `matches` pattern defines.
    captures: HashSet<String>,
}

/// The delay, jitter and typing a reply has unless it says otherwise.
#[derive(Clone, Copy)]
struct ReplyDefaults {
    delay: Duration,
    jitter: Duration,
    typing: bool,
}

fn compile(raw: RawFlow, source: &str, file: &str) -> Result<BotFlow, FlowError> {
    let states_location = raw.states.referenced;
    let states_map = raw.states.value;
    if states_map.is_empty() {
        return Err(at(
            file,
            &states_location,
            "states".into(),
            "is empty: a bot flow needs at least one state".into(),
        ));
    }
    let names: Vec<String> = states_map.keys().cloned().collect();
    let known = names.join(", ");
    let find = |name: &str| names.iter().position(|n| n == name);
    let missing = |name: &str| format!("there is no state named `{name}` (states: {known})");

    let start = match &raw.start {
        None => 0,
        Some(start) => find(&start.value).ok_or_else(|| {
            at(
                file,
                &start.referenced,
                "start".into(),
                missing(&start.value),
            )
        })?,
    };

    let captures = states_map
        .values()
        .flat_map(|rules| rules.value.iter())
        .filter_map(|rule| match &rule.when {
            Some(RawWhen::Map(map)) => map.matches.as_ref(),
            _ => None,
        })
        .flat_map(|pattern| group_names(&pattern.value))
        .collect();
    let cx = Context {
        source,
        file,
        captures,
    };
    let defaults = ReplyDefaults {
        delay: millis(raw.reply_delay_ms.as_ref(), file, "replyDelayMs")?.unwrap_or_default(),
        jitter: millis(raw.reply_jitter_ms.as_ref(), file, "replyJitterMs")?.unwrap_or_default(),
        typing: false,
    };

    let mut states = Vec::with_capacity(states_map.len());
    let mut rule_lists = Vec::with_capacity(states_map.len());
    for (name, raw_rules) in states_map {
        let mut rules = Vec::with_capacity(raw_rules.value.len());
        for (index, rule) in raw_rules.value.into_iter().enumerate() {
            let key = format!("states.{name}[{index}]");
            rules.push(compile_rule(rule, &key, &cx, defaults, &find, &missing)?);
        }
        rule_lists.push(raw_rules.referenced);
        states.push(State { name, rules });
    }
    check_reachable(&states, start, &rule_lists, file)?;

    let session = match raw.session {
        None => SessionSettings {
            respond: true,
            respond_after: Duration::ZERO,
            ttl: None,
            autostart: false,
            welcome: Vec::new(),
        },
        Some(session) => {
            let welcome = match &session.welcome {
                None => Vec::new(),
                // Welcome messages go out right after the SessionResponse: no default delay.
                Some(welcome) => compile_replies(
                    welcome,
                    &cx,
                    "session.welcome",
                    ReplyDefaults {
                        delay: Duration::ZERO,
                        ..defaults
                    },
                )?,
            };
            let ttl = match session.ttl_seconds {
                None => None,
                Some(ttl) => {
                    let ttl = at_most(ttl, MAX_TTL_SECONDS, file, "session.ttlSeconds")?;
                    Some(Duration::from_secs(positive(
                        ttl,
                        file,
                        "session.ttlSeconds",
                    )?))
                }
            };
            SessionSettings {
                respond: session.respond.unwrap_or(true),
                respond_after: millis(
                    session.respond_after_ms.as_ref(),
                    file,
                    "session.respondAfterMs",
                )?
                .unwrap_or_default(),
                ttl,
                autostart: session.autostart.unwrap_or(false),
                welcome,
            }
        }
    };

    let limits = match raw.limits {
        None => Limits {
            max_message_length: DEFAULT_MAX_MESSAGE_LENGTH,
            max_custom_attributes_bytes: DEFAULT_MAX_CUSTOM_ATTRIBUTES_BYTES,
            rate_limit: RateLimit::default(),
        },
        Some(limits) => Limits {
            max_message_length: match limits.max_message_length {
                None => DEFAULT_MAX_MESSAGE_LENGTH,
                Some(n) => {
                    let key = "limits.maxMessageLength";
                    let n = at_most(n, MAX_MESSAGE_LENGTH, file, key)?;
                    to_usize(positive(n, file, key)?)
                }
            },
            max_custom_attributes_bytes: match limits.max_custom_attributes_bytes {
                None => DEFAULT_MAX_CUSTOM_ATTRIBUTES_BYTES,
                Some(n) => to_usize(
                    at_most(
                        n,
                        MAX_CUSTOM_ATTRIBUTES_BYTES,
                        file,
                        "limits.maxCustomAttributesBytes",
                    )?
                    .value,
                ),
            },
            rate_limit: deployment::compile_rate_limit(limits.rate_limit, file)?,
        },
    };

    let faults = match raw.faults {
        None => Faults {
            out_of_order: 0.0,
            latency: None,
            ignore_input_within: None,
            drop_after_messages: None,
            error_rate: 0.0,
            error: default_fault_error(),
        },
        Some(faults) => {
            let latency = match faults.latency_ms {
                None => None,
                Some(range) if range.value.min > range.value.max => {
                    return Err(at(
                        file,
                        &range.referenced,
                        "faults.latencyMs".into(),
                        format!(
                            "must have `min` ≤ `max` (got min {} and max {})",
                            range.value.min, range.value.max
                        ),
                    ));
                }
                Some(range) if range.value.max > MAX_DELAY_MS => {
                    return Err(at(
                        file,
                        &range.referenced,
                        "faults.latencyMs".into(),
                        too_large(range.value.max, MAX_DELAY_MS, " ms (24 hours)"),
                    ));
                }
                Some(range) => Some((
                    Duration::from_millis(range.value.min),
                    Duration::from_millis(range.value.max),
                )),
            };
            let drop_after_messages = match faults.drop_after_messages {
                None => None,
                Some(n) => Some(positive(n, file, "faults.dropAfterMessages")?),
            };
            Faults {
                out_of_order: probability(faults.out_of_order, file, "faults.outOfOrder")?,
                latency,
                ignore_input_within: millis(
                    faults.ignore_input_within_ms.as_ref(),
                    file,
                    "faults.ignoreInputWithinMs",
                )?,
                drop_after_messages,
                error_rate: probability(faults.error_rate, file, "faults.errorRate")?,
                error: faults
                    .error
                    .map_or_else(default_fault_error, |e| ErrorReply {
                        code: e.code,
                        body: e.body,
                    }),
            }
        }
    };

    let platform = crate::platform::config::compile_config(
        raw.platform,
        raw.bot_flow,
        crate::platform::config::used_names(&states),
        file,
    )?;
    Ok(BotFlow {
        platform,
        deployment_id: raw.deployment_id,
        allowed_origins: raw.allowed_origins,
        seed: raw.seed,
        limits,
        session,
        faults,
        messenger: deployment::compile_messenger(raw.messenger, file)?,
        auth: deployment::compile_auth(raw.auth),
        start,
        states,
    })
}

fn default_fault_error() -> ErrorReply {
    ErrorReply {
        code: 5000,
        body: "Request failed.".into(),
    }
}

/// The longest delay a flow may set, in ms (24 hours): delays, jitters, latency, response
/// times. Larger values are surely mistakes, and would overflow the simulator's clock.
pub(crate) const MAX_DELAY_MS: u64 = 24 * 60 * 60 * 1000;
/// The longest `session.ttlSeconds` (a year: Genesys' TTL is set in minutes to months).
const MAX_TTL_SECONDS: u64 = 365 * 24 * 60 * 60;
/// The largest `limits.maxMessageLength`, in characters.
const MAX_MESSAGE_LENGTH: u64 = 1 << 20;
/// The largest `limits.maxCustomAttributesBytes`.
const MAX_CUSTOM_ATTRIBUTES_BYTES: u64 = 1 << 20;

fn too_large(value: u64, max: u64, unit: &str) -> String {
    format!("is too large: at most {max}{unit} (got {value})")
}

/// Refuses a number over `max`.
fn at_most(n: Spanned<u64>, max: u64, file: &str, key: &str) -> Result<Spanned<u64>, FlowError> {
    if n.value > max {
        return Err(at(
            file,
            &n.referenced,
            key.into(),
            too_large(n.value, max, ""),
        ));
    }
    Ok(n)
}

/// A delay in ms, refused over [`MAX_DELAY_MS`].
fn millis(n: Option<&Spanned<u64>>, file: &str, key: &str) -> Result<Option<Duration>, FlowError> {
    match n {
        None => Ok(None),
        Some(n) if n.value > MAX_DELAY_MS => Err(at(
            file,
            &n.referenced,
            key.into(),
            too_large(n.value, MAX_DELAY_MS, " ms (24 hours)"),
        )),
        Some(n) => Ok(Some(Duration::from_millis(n.value))),
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn positive(n: Spanned<u64>, file: &str, key: &str) -> Result<u64, FlowError> {
    if n.value == 0 {
        return Err(at(
            file,
            &n.referenced,
            key.into(),
            "must be at least 1".into(),
        ));
    }
    Ok(n.value)
}

fn probability(p: Option<Spanned<f64>>, file: &str, key: &str) -> Result<f64, FlowError> {
    match p {
        None => Ok(0.0),
        Some(p) if (0.0..=1.0).contains(&p.value) => Ok(p.value),
        Some(p) => Err(at(
            file,
            &p.referenced,
            key.into(),
            format!("must be a probability from 0 to 1 (got {})", p.value),
        )),
    }
}

fn compile_rule(
    rule: RawRule,
    key: &str,
    cx: &Context<'_>,
    defaults: ReplyDefaults,
    find: &dyn Fn(&str) -> Option<usize>,
    missing: &dyn Fn(&str) -> String,
) -> Result<Rule, FlowError> {
    let file = cx.file;
    let regex = |pattern: &Spanned<String>, key: String| {
        JsRegex::new(&pattern.value, "i").map_err(|e| {
            at(
                file,
                &pattern.referenced,
                key,
                format!("invalid regular expression `{}`: {e}", pattern.value),
            )
        })
    };
    let when = match rule.when {
        None | Some(RawWhen::Any) => Condition::default(),
        Some(RawWhen::Map(map)) => {
            let map = *map;
            Condition {
                contains: map.contains.map(|needle| needle.to_lowercase()),
                matches: match &map.matches {
                    None => None,
                    Some(pattern) => Some(regex(pattern, format!("{key}.when.matches"))?),
                },
                payload: map.payload,
                date_picked: match &map.date_picked {
                    None => None,
                    Some(picked) => Some(content::compile_date_picked(
                        picked,
                        file,
                        &format!("{key}.when.datePicked"),
                    )?),
                },
                attachment: map.attachment,
                attribute: match map.attribute {
                    None => None,
                    Some(attribute) => Some(AttributeCondition {
                        name: attribute.name,
                        test: match (attribute.equals, &attribute.matches) {
                            (None, None) => AttributeTest::Present,
                            (Some(value), None) => AttributeTest::Equals(value),
                            (None, Some(pattern)) => AttributeTest::Matches(regex(
                                pattern,
                                format!("{key}.when.attribute.matches"),
                            )?),
                            (Some(_), Some(pattern)) => {
                                return Err(at(
                                    file,
                                    &pattern.referenced,
                                    format!("{key}.when.attribute"),
                                    "has both `equals` and `matches`: give one of them".into(),
                                ));
                            }
                        },
                    }),
                },
            }
        }
    };
    let defaults = ReplyDefaults {
        typing: rule.typing.unwrap_or(defaults.typing),
        ..defaults
    };
    let replies = match &rule.reply {
        None => Vec::new(),
        Some(reply) => compile_replies(reply, cx, &format!("{key}.reply"), defaults)?,
    };
    let goto = match &rule.goto {
        None => None,
        Some(goto) => Some(find(&goto.value).ok_or_else(|| {
            at(
                file,
                &goto.referenced,
                format!("{key}.goto"),
                missing(&goto.value),
            )
        })?),
    };
    let transfer = match &rule.transfer {
        None => None,
        Some(transfer) if rule.disconnect => {
            return Err(at(
                file,
                &transfer.referenced,
                format!("{key}.transfer"),
                "cannot follow `disconnect: true`: the bot either ends the conversation or \
                 transfers it (use `transfer.disconnect` for the agent to end it)"
                    .into(),
            ));
        }
        Some(transfer) => Some(std::sync::Arc::new(transfer::compile_transfer(
            transfer,
            cx,
            &format!("{key}.transfer"),
        )?)),
    };
    let platform = crate::platform::config::compile_rule(
        crate::platform::config::RawRulePlatform {
            set_participant_data: rule.set_participant_data.as_ref(),
            outcome: rule.outcome.as_ref(),
            milestone: rule.milestone.as_ref(),
            exit_flow: rule.exit_flow,
        },
        file,
        key,
    )?;
    Ok(Rule {
        when,
        platform,
        replies,
        goto,
        disconnect: rule.disconnect,
        error: rule.error.map(|e| ErrorReply {
            code: e.code,
            body: e.body,
        }),
        raw: rule.raw,
        close_socket: rule.close_socket,
        drop_socket: rule.drop_socket,
        out_of_order: rule.out_of_order,
        transfer,
    })
}

/// Every state must be reachable from `start` through `goto`s.
fn check_reachable(
    states: &[State],
    start: usize,
    locations: &[Location],
    file: &str,
) -> Result<(), FlowError> {
    let mut reached = vec![false; states.len()];
    let mut todo = vec![start];
    while let Some(index) = todo.pop() {
        if std::mem::replace(&mut reached[index], true) {
            continue;
        }
        todo.extend(states[index].rules.iter().filter_map(|rule| rule.goto));
    }
    match reached.iter().position(|r| !r) {
        None => Ok(()),
        Some(index) => Err(at(
            file,
            &locations[index],
            format!("states.{}", states[index].name),
            format!(
                "is unreachable: no `goto` from the start state `{}` leads to it (remove it, \
                 or add a `goto: {}` to a rule)",
                states[start].name, states[index].name
            ),
        )),
    }
}

fn compile_replies(
    replies: &Spanned<RawReplies>,
    cx: &Context<'_>,
    key: &str,
    defaults: ReplyDefaults,
) -> Result<Vec<Reply>, FlowError> {
    match &replies.value {
        RawReplies::One(item) => Ok(vec![compile_item(
            item,
            &replies.referenced,
            cx,
            key.to_string(),
            defaults,
        )?]),
        RawReplies::Many(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                compile_item(
                    &item.value,
                    &item.referenced,
                    cx,
                    format!("{key}[{i}]"),
                    defaults,
                )
            })
            .collect(),
    }
}

fn compile_item(
    item: &RawItem,
    location: &Location,
    cx: &Context<'_>,
    key: String,
    defaults: ReplyDefaults,
) -> Result<Reply, FlowError> {
    let empty = |key: String, location: &Location| {
        Err(at(cx.file, location, key, "the reply text is empty".into()))
    };
    let text_only = |text: String| -> Result<Reply, FlowError> {
        if text.is_empty() {
            return empty(key.clone(), location);
        }
        Ok(Reply {
            text: Some(template(&text, location, &key, cx)?),
            quick_replies: Vec::new(),
            card: None,
            carousel: Vec::new(),
            attachment: None,
            date_picker: None,
            delay: defaults.delay,
            jitter: defaults.jitter,
            typing: defaults.typing,
        })
    };
    match item {
        RawItem::Text(text) => text_only(text.clone()),
        RawItem::Plain => text_only(source_text(cx.source, location)),
        RawItem::Null => empty(key, location),
        RawItem::Map(map) => compile_reply_map(map, location, cx, &key, defaults),
    }
}

fn compile_reply_map(
    map: &RawReplyMap,
    location: &Location,
    cx: &Context<'_>,
    key: &str,
    defaults: ReplyDefaults,
) -> Result<Reply, FlowError> {
    let text = match &map.text {
        None => None,
        Some(text) if text.value.is_empty() => {
            return Err(at(
                cx.file,
                &text.referenced,
                format!("{key}.text"),
                "the reply text is empty".into(),
            ));
        }
        Some(text) => Some(template(
            &text.value,
            &text.referenced,
            &format!("{key}.text"),
            cx,
        )?),
    };
    if text.is_none()
        && map.card.is_none()
        && map.carousel.is_none()
        && map.date_picker.is_none()
        && map.attachment.is_none()
    {
        return Err(at(
            cx.file,
            location,
            key.to_string(),
            "needs a `text`, a `card`, a `carousel`, a `datePicker` or an `attachment`".into(),
        ));
    }
    let other_content = map.quick_replies.is_some() || map.card.is_some() || map.carousel.is_some();
    let date_picker = match &map.date_picker {
        None => None,
        Some(picker) => {
            content::check_alone(
                other_content || map.attachment.is_some(),
                "datePicker",
                &picker.referenced,
                cx,
                key,
            )?;
            Some(content::compile_date_picker(
                picker,
                cx,
                &format!("{key}.datePicker"),
            )?)
        }
    };
    let attachment = match &map.attachment {
        None => None,
        Some(attachment) => {
            content::check_alone(other_content, "attachment", &attachment.referenced, cx, key)?;
            Some(content::compile_attachment(
                attachment,
                cx,
                &format!("{key}.attachment"),
            )?)
        }
    };
    let mut quick_replies = Vec::new();
    for (i, label) in map.quick_replies.iter().flatten().enumerate() {
        let key = format!("{key}.quickReplies[{i}]");
        let (text, payload) = match &label.value {
            RawLabel::Text(text) => (text.clone(), None),
            RawLabel::Plain => (source_text(cx.source, &label.referenced), None),
            RawLabel::Null => (String::new(), None),
            RawLabel::Map(map) => (map.text.clone(), map.payload.clone()),
        };
        if text.is_empty() {
            return Err(at(
                cx.file,
                &label.referenced,
                key,
                "the quick reply's label is empty".into(),
            ));
        }
        let payload = payload.unwrap_or_else(|| text.clone());
        quick_replies.push(QuickReplyTemplate {
            text: template(&text, &label.referenced, &key, cx)?,
            payload: template(&payload, &label.referenced, &key, cx)?,
        });
    }
    let card = match &map.card {
        None => None,
        Some(card) => Some(compile_card(card, cx, &format!("{key}.card"))?),
    };
    let mut carousel = Vec::new();
    if let Some(cards) = &map.carousel {
        if cards.is_empty() {
            return Err(at(
                cx.file,
                location,
                format!("{key}.carousel"),
                "is empty: a carousel needs at least one card".into(),
            ));
        }
        for (i, card) in cards.iter().enumerate() {
            carousel.push(compile_card(card, cx, &format!("{key}.carousel[{i}]"))?);
        }
    }
    Ok(Reply {
        text,
        quick_replies,
        card,
        carousel,
        attachment,
        date_picker,
        delay: millis(map.delay_ms.as_ref(), cx.file, &format!("{key}.delayMs"))?
            .unwrap_or(defaults.delay),
        jitter: millis(map.jitter_ms.as_ref(), cx.file, &format!("{key}.jitterMs"))?
            .unwrap_or(defaults.jitter),
        typing: map.typing.unwrap_or(defaults.typing),
    })
}

fn compile_card(
    card: &Spanned<RawCard>,
    cx: &Context<'_>,
    key: &str,
) -> Result<CardTemplate, FlowError> {
    let location = &card.referenced;
    let raw = &card.value;
    if raw.title.is_empty() {
        return Err(at(
            cx.file,
            location,
            format!("{key}.title"),
            "is empty: a card needs a title".into(),
        ));
    }
    let optional = |text: &Option<String>, field: &str| -> Result<Option<Template>, FlowError> {
        text.as_ref()
            .map(|t| template(t, location, &format!("{key}.{field}"), cx))
            .transpose()
    };
    let mut actions = Vec::new();
    for (i, action) in raw.actions.iter().enumerate() {
        let key = format!("{key}.actions[{i}]");
        let a = &action.value;
        let problem = if a.text.is_empty() {
            Some("has an empty `text`: a button needs a label")
        } else {
            match (&a.payload, &a.url) {
                (Some(_), Some(_)) => Some("has both `payload` and `url`: give one of them"),
                (None, None) => {
                    Some("needs a `payload` (a postback button) or a `url` (a link button)")
                }
                _ => None,
            }
        };
        if let Some(problem) = problem {
            return Err(at(cx.file, &action.referenced, key, problem.into()));
        }
        let field = |text: &Option<String>| {
            text.as_ref()
                .map(|t| template(t, &action.referenced, &key, cx))
                .transpose()
        };
        actions.push(CardActionTemplate {
            text: template(&a.text, &action.referenced, &key, cx)?,
            payload: field(&a.payload)?,
            url: field(&a.url)?,
        });
    }
    Ok(CardTemplate {
        title: template(&raw.title, location, &format!("{key}.title"), cx)?,
        description: optional(&raw.description, "description")?,
        image: optional(&raw.image, "image")?,
        actions,
    })
}

/// Parses a text's placeholders; each must name a group some `matches` pattern captures.
fn template(
    text: &str,
    location: &Location,
    key: &str,
    cx: &Context<'_>,
) -> Result<Template, FlowError> {
    let parsed = Template::parse(text);
    if let Some(name) = parsed.captures().find(|name| !cx.captures.contains(*name)) {
        let defined = if cx.captures.is_empty() {
            "no `matches` pattern has a named group".to_string()
        } else {
            let mut names: Vec<&str> = cx.captures.iter().map(String::as_str).collect();
            names.sort_unstable();
            format!("captured names: {}", names.join(", "))
        };
        return Err(at(
            cx.file,
            location,
            key.to_string(),
            format!(
                "uses `{{{name}}}`, but no `when.matches` pattern captures a group named `{name}` \
                 ({defined}; capture it with `(?<{name}>...)`, or write `{{{{{name}}}}}` for \
                 literal braces)"
            ),
        ));
    }
    Ok(parsed)
}

/// The captured values of a session, by name.
pub(crate) type Captures = HashMap<String, String>;

#[cfg(test)]
mod tests;
