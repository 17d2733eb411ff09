//! A rule's `transfer`: the bot hands the conversation over to a queue, where an agent may
//! take it and write to the guest.

use super::raw::{RawAgent, RawDuration, RawItem, RawReplies, RawTransfer, at, source_text};
use super::{Context, FlowError, MAX_DELAY_MS, Reply, ReplyDefaults, compile_replies};
use serde_saphyr::{Location, Spanned};
use std::time::Duration;

/// A human agent as the guest sees it in `channel.from` of the agent's messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AgentProfile {
    /// `channel.from.nickname`: the name the Messenger shows.
    pub nickname: Option<String>,
    /// `channel.from.image`: the avatar URL.
    pub image: Option<String>,
    /// `channel.from.firstName`.
    pub first_name: Option<String>,
    /// `channel.from.lastName`.
    pub last_name: Option<String>,
}

impl AgentProfile {
    /// Whether no field is set: the agent's messages then carry no `channel.from`.
    pub fn is_empty(&self) -> bool {
        self.nickname.is_none()
            && self.image.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
    }
}

/// How the bot hands over.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    /// The queue transferred to.
    pub(crate) queue: String,
    /// From the transfer to the agent joining.
    pub(crate) after: Duration,
    /// `channel.from` of the agent's messages (`None`: no `channel.from`).
    pub(crate) agent: Option<AgentProfile>,
    /// Lines the agent writes on joining, in order.
    pub(crate) say: Vec<Reply>,
    /// Lines the agent writes in answer to the guest's messages, one per message, in order.
    pub(crate) answers: Vec<Reply>,
    /// After the agent's last line, a Presence Disconnect (the conversation turns read-only).
    pub(crate) disconnect: bool,
}

/// The Typing event duration of an agent, in ms, as captured (MT fixture `typingOn`).
pub(crate) const AGENT_TYPING_MS: u64 = 5000;

pub(super) fn compile_transfer(
    transfer: &Spanned<RawTransfer>,
    cx: &Context<'_>,
    key: &str,
) -> Result<Transfer, FlowError> {
    let raw = &transfer.value;
    let location = &transfer.referenced;
    if raw.queue.trim().is_empty() {
        return Err(at(
            cx.file,
            location,
            format!("{key}.queue"),
            "is empty: a transfer needs the name of a queue".into(),
        ));
    }
    let after = match &raw.after {
        None => Duration::ZERO,
        Some(after) => duration(after, cx.file, &format!("{key}.after"))?,
    };
    let agent = match &raw.agent {
        None => None,
        Some(agent) => Some(compile_agent(agent, cx, &format!("{key}.agent"))?),
    };
    // Agents type before they write, unless told otherwise; lines come as soon as typed.
    let defaults = ReplyDefaults {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        typing: raw.typing.unwrap_or(true),
    };
    let lines = |replies: &Option<Spanned<RawReplies>>, field: &str| {
        let Some(replies) = replies else {
            return Ok(Vec::new());
        };
        let key = format!("{key}.{field}");
        agent_lines_only(replies, cx, &key)?;
        compile_replies(replies, cx, &key, defaults)
    };
    let say = lines(&raw.say, "say")?;
    let answers = lines(&raw.answers, "answers")?;
    Ok(Transfer {
        queue: raw.queue.clone(),
        after,
        agent,
        say,
        answers,
        disconnect: raw.disconnect,
    })
}

/// Agents write text and attachments: quick replies, cards, carousels and DatePickers are
/// bot content in Genesys' Messenger.
fn agent_lines_only(
    replies: &Spanned<RawReplies>,
    cx: &Context<'_>,
    key: &str,
) -> Result<(), FlowError> {
    let items: Vec<(&RawItem, &Location, String)> = match &replies.value {
        RawReplies::One(item) => vec![(item, &replies.referenced, key.to_string())],
        RawReplies::Many(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (&item.value, &item.referenced, format!("{key}[{i}]")))
            .collect(),
    };
    for (item, location, key) in items {
        if let RawItem::Map(map) = item {
            let bot_only = [
                (map.quick_replies.is_some(), "quickReplies"),
                (map.card.is_some(), "card"),
                (map.carousel.is_some(), "carousel"),
                (map.date_picker.is_some(), "datePicker"),
            ];
            if let Some((_, field)) = bot_only.iter().find(|(has, _)| *has) {
                return Err(at(
                    cx.file,
                    location,
                    format!("{key}.{field}"),
                    "is bot content: an agent's line has a `text` and/or an `attachment`".into(),
                ));
            }
        }
    }
    Ok(())
}

fn compile_agent(
    agent: &Spanned<RawAgent>,
    cx: &Context<'_>,
    key: &str,
) -> Result<AgentProfile, FlowError> {
    let location = &agent.referenced;
    let profile = match &agent.value {
        RawAgent::Nickname(name) => AgentProfile {
            nickname: Some(name.clone()),
            ..AgentProfile::default()
        },
        RawAgent::Plain => AgentProfile {
            nickname: Some(source_text(cx.source, location)),
            ..AgentProfile::default()
        },
        RawAgent::Null => AgentProfile::default(),
        RawAgent::Map(map) => AgentProfile {
            nickname: map.nickname.clone(),
            image: map.image.clone(),
            first_name: map.first_name.clone(),
            last_name: map.last_name.clone(),
        },
    };
    let fields = [
        ("nickname", &profile.nickname),
        ("image", &profile.image),
        ("firstName", &profile.first_name),
        ("lastName", &profile.last_name),
    ];
    if let Some((field, _)) = fields
        .iter()
        .find(|(_, value)| value.as_ref().is_some_and(|v| v.trim().is_empty()))
    {
        return Err(at(
            cx.file,
            location,
            format!("{key}.{field}"),
            "is empty: leave it out instead".into(),
        ));
    }
    if profile.is_empty() {
        return Err(at(
            cx.file,
            location,
            key.to_string(),
            "is empty: give a nickname (`agent: Anna`), or leave `agent` out for messages \
             without `channel.from`"
                .into(),
        ));
    }
    if let Some(image) = &profile.image
        && !(image.starts_with("https://") || image.starts_with("http://"))
    {
        return Err(at(
            cx.file,
            location,
            format!("{key}.image"),
            format!("must be an http:// or https:// URL (got `{image}`)"),
        ));
    }
    Ok(profile)
}

/// A duration as written (`3s`, `1500ms`, `2m`, `1h`, or seconds), at most 24 hours.
fn duration(value: &Spanned<RawDuration>, file: &str, key: &str) -> Result<Duration, FlowError> {
    let bad = |got: String| {
        at(
            file,
            &value.referenced,
            key.to_string(),
            format!(
                "must be a duration such as `3s`, `1500ms`, `2m` or a number of seconds, \
                 from 0 to 24 hours (got {got})"
            ),
        )
    };
    let ms = match &value.value {
        RawDuration::Seconds(seconds) => seconds_to_ms(*seconds),
        RawDuration::Text(text) => parse_millis(text),
    };
    match ms {
        Some(ms) if ms <= MAX_DELAY_MS => Ok(Duration::from_millis(ms)),
        _ => Err(bad(match &value.value {
            RawDuration::Seconds(s) => s.to_string(),
            RawDuration::Text(t) => format!("`{t}`"),
        })),
    }
}

fn seconds_to_ms(seconds: f64) -> Option<u64> {
    let ms = seconds * 1000.0;
    if !ms.is_finite() || ms < 0.0 || ms > MAX_DELAY_MS as f64 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range-checked just above"
    )]
    Some(ms.round() as u64)
}

/// `1500ms`, `3s`, `2.5s`, `2m`, `1h`, or a bare number of seconds.
fn parse_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    seconds_to_ms(number * factor)
}

#[cfg(test)]
mod tests {
    use super::parse_millis;

    #[test]
    fn durations() {
        assert_eq!(parse_millis("1500ms"), Some(1500));
        assert_eq!(parse_millis("3s"), Some(3000));
        assert_eq!(parse_millis("2.5s"), Some(2500));
        assert_eq!(parse_millis(" 2m "), Some(120_000));
        assert_eq!(parse_millis("1h"), Some(3_600_000));
        assert_eq!(parse_millis("4"), Some(4000));
        assert_eq!(parse_millis("3 s"), Some(3000));
        assert_eq!(parse_millis("soon"), None);
        assert_eq!(parse_millis("3d"), None);
        assert_eq!(parse_millis("1e400"), None);
        assert_eq!(parse_millis("-1s"), None);
        assert_eq!(parse_millis(""), None);
    }
}
