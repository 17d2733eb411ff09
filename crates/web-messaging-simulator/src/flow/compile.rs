//! Pass 2: the checks serde cannot make (state names and reachability, regular expressions,
//! capture names, empty texts, probabilities, bounds), and the compact [`super::model`].

use super::model::*;
use super::raw::{
    RawCard, RawFaults, RawFlow, RawItem, RawLabel, RawLimits, RawReplies, RawReplyMap, RawRule,
    RawSession, RawWhen, at, source_text,
};
use super::{FlowError, RateLimit, content, deployment, transfer};
use crate::template::{Template, group_names};
use genesys_web_messaging::JsRegex;
use serde_saphyr::{Location, Spanned};
use std::collections::HashSet;
use std::time::Duration;

/// Default `limits.maxMessageLength`.
const DEFAULT_MAX_MESSAGE_LENGTH: usize = 4096;
/// Default `limits.maxCustomAttributesBytes`, as Genesys documents it.
const DEFAULT_MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 2048;

/// What every compile step needs to know.
pub(super) struct Context<'a> {
    pub(super) source: &'a str,
    pub(super) file: &'a str,
    /// Every group name a `matches` pattern defines.
    pub(super) captures: HashSet<String>,
}

/// The delay, jitter and typing a reply has unless it says otherwise.
#[derive(Clone, Copy)]
pub(super) struct ReplyDefaults {
    pub(super) delay: Duration,
    pub(super) jitter: Duration,
    pub(super) typing: bool,
}

pub(super) fn compile(raw: RawFlow, source: &str, file: &str) -> Result<BotFlow, FlowError> {
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

    let session = compile_session(raw.session, &cx, defaults)?;
    let limits = compile_limits(raw.limits, file)?;
    let faults = compile_faults(raw.faults, file)?;

    let platform = super::platform::compile_config(
        raw.platform,
        raw.bot_flow,
        super::platform::used_names(&states),
        file,
    )?;

    Ok(BotFlow {
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
        platform,
    })
}

/// `session`: how the deployment answers `configureSession`, the TTL, the welcome messages.
fn compile_session(
    session: Option<RawSession>,
    cx: &Context<'_>,
    defaults: ReplyDefaults,
) -> Result<SessionSettings, FlowError> {
    let file = cx.file;
    Ok(match session {
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
                    cx,
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
                        &ttl,
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
    })
}

/// `limits`: what the deployment refuses.
fn compile_limits(limits: Option<RawLimits>, file: &str) -> Result<Limits, FlowError> {
    Ok(match limits {
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
                    to_usize(positive(&n, file, key)?)
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
    })
}

/// `faults`: what goes wrong on purpose.
fn compile_faults(faults: Option<RawFaults>, file: &str) -> Result<Faults, FlowError> {
    Ok(match faults {
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
                Some(n) => Some(positive(&n, file, "faults.dropAfterMessages")?),
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

fn positive(n: &Spanned<u64>, file: &str, key: &str) -> Result<u64, FlowError> {
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
    let when = compile_when(rule.when, key, cx)?;
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
    let platform = super::platform::compile_rule(
        super::platform::RawRulePlatform {
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
        platform,
    })
}

/// A rule's `when`: which guest messages it answers.
fn compile_when(
    when: Option<RawWhen>,
    key: &str,
    cx: &Context<'_>,
) -> Result<Condition, FlowError> {
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
    Ok(match when {
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

pub(super) fn compile_replies(
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
    let quick_replies = compile_quick_replies(map, cx, key)?;
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

/// A reply's `quickReplies`: each a label, and a payload (the label unless given).
fn compile_quick_replies(
    map: &RawReplyMap,
    cx: &Context<'_>,
    key: &str,
) -> Result<Vec<QuickReplyTemplate>, FlowError> {
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
    Ok(quick_replies)
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
pub(super) fn template(
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
