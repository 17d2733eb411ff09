//! Pass 1 of reading a bot flow: serde, into types that keep source positions.
//!
//! Scalars that must stay text (`reply: Yes`, `contains: 0755`, `quickReplies: [Yes, No]`) are
//! never routed through an untyped value: typed fields are read as strings directly, and the
//! "text or map" shapes have their own visitors that recover a plain scalar's source text when
//! the YAML parser has already read it as a boolean or number.

use super::FlowError;
use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawFlow {
    #[serde(default)]
    pub(super) seed: Option<u64>,
    #[serde(default)]
    pub(super) deployment_id: Option<String>,
    #[serde(default)]
    pub(super) allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub(super) reply_delay_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) reply_jitter_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) limits: Option<RawLimits>,
    #[serde(default)]
    pub(super) session: Option<RawSession>,
    #[serde(default)]
    pub(super) faults: Option<RawFaults>,
    #[serde(default)]
    pub(super) messenger: Option<RawMessenger>,
    #[serde(default)]
    pub(super) auth: Option<RawAuth>,
    #[serde(default)]
    pub(super) start: Option<Spanned<String>>,
    /// The bot flow's name (simulated Platform API).
    #[serde(default)]
    pub(super) bot_flow: Option<Spanned<String>>,
    /// The simulated Platform API.
    #[serde(default)]
    pub(super) platform: Option<super::platform::RawPlatform>,
    pub(super) states: Spanned<IndexMap<String, Spanned<Vec<RawRule>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawLimits {
    #[serde(default)]
    pub(super) max_message_length: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) max_custom_attributes_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) rate_limit: Option<RawRateLimit>,
}

/// `limits.rateLimit`: the `onMessage` rate limit and its 429.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRateLimit {
    #[serde(default)]
    pub(super) messages_per_second: Option<u32>,
    #[serde(default)]
    pub(super) retry_after_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) tracing_id: Option<bool>,
}

/// `messenger`: the deployment's Messenger configuration (what `config.json` publishes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawMessenger {
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) status: Option<RawStatus>,
    #[serde(default)]
    pub(super) conversation_disconnect: Option<RawDisconnect>,
    #[serde(default)]
    pub(super) conversation_clear: Option<RawEnabled>,
    #[serde(default)]
    pub(super) file_upload: Option<RawFileUpload>,
}

/// `messenger.status`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawStatus {
    Active,
    Inactive,
}

/// `messenger.conversationDisconnect`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawDisconnect {
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<RawDisconnectType>,
}

/// `messenger.conversationDisconnect.type`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawDisconnectType {
    ReadOnly,
    Send,
}

/// `{ enabled: bool }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawEnabled {
    pub(super) enabled: bool,
}

/// `messenger.fileUpload`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawFileUpload {
    #[serde(default)]
    pub(super) modes: Vec<RawUploadMode>,
    #[serde(default)]
    pub(super) blocked_extensions: Option<Vec<String>>,
}

/// One `messenger.fileUpload.modes` item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawUploadMode {
    pub(super) file_types: Spanned<Vec<String>>,
    #[serde(rename = "maxFileSizeKB")]
    pub(super) max_file_size_kb: Spanned<u64>,
}

/// `auth`: authenticated sessions (`configureAuthenticatedSession`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAuth {
    #[serde(default)]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) valid_codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawSession {
    #[serde(default)]
    pub(super) respond: Option<bool>,
    #[serde(default)]
    pub(super) respond_after_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) ttl_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) autostart: Option<bool>,
    #[serde(default)]
    pub(super) welcome: Option<Spanned<RawReplies>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawFaults {
    #[serde(default)]
    pub(super) out_of_order: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) latency_ms: Option<Spanned<RawRange>>,
    #[serde(default)]
    pub(super) ignore_input_within_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) drop_after_messages: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) error_rate: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) error: Option<RawError>,
}

/// `{ min: .., max: .. }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRange {
    pub(super) min: u64,
    pub(super) max: u64,
}

#[allow(
    clippy::struct_excessive_bools,
    reason = "one field per YAML key, as serde reads it"
)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRule {
    #[serde(default)]
    pub(super) when: Option<RawWhen>,
    #[serde(default)]
    pub(super) reply: Option<Spanned<RawReplies>>,
    #[serde(default)]
    pub(super) typing: Option<bool>,
    #[serde(default)]
    pub(super) goto: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) disconnect: bool,
    #[serde(default)]
    pub(super) error: Option<RawError>,
    #[serde(default)]
    pub(super) raw: Vec<String>,
    #[serde(default)]
    pub(super) close_socket: bool,
    #[serde(default)]
    pub(super) drop_socket: bool,
    #[serde(default)]
    pub(super) out_of_order: bool,
    #[serde(default)]
    pub(super) transfer: Option<Spanned<RawTransfer>>,
    /// Simulated Platform API: participant data, outcomes, milestones, bot flow exit.
    #[serde(default)]
    pub(super) set_participant_data: Option<Spanned<IndexMap<String, String>>>,
    #[serde(default)]
    pub(super) outcome: Option<Spanned<IndexMap<String, super::platform::RawOutcomeValue>>>,
    #[serde(default)]
    pub(super) milestone: Option<Spanned<super::platform::RawNames>>,
    #[serde(default)]
    pub(super) exit_flow: bool,
}

/// `transfer:` of a rule: a handover to a queue and, optionally, an agent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawTransfer {
    pub(super) queue: String,
    #[serde(default)]
    pub(super) after: Option<Spanned<RawDuration>>,
    #[serde(default)]
    pub(super) agent: Option<Spanned<RawAgent>>,
    #[serde(default)]
    pub(super) typing: Option<bool>,
    #[serde(default)]
    pub(super) say: Option<Spanned<RawReplies>>,
    #[serde(default)]
    pub(super) answers: Option<Spanned<RawReplies>>,
    #[serde(default)]
    pub(super) disconnect: bool,
}

/// A duration as written: `3s`, `1500ms`, `2m`, `1h`, or a number of seconds.
pub(super) enum RawDuration {
    Text(String),
    Seconds(f64),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `3s`, `1500ms`, `2m`, or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawDuration::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                #[expect(clippy::cast_precision_loss, reason = "range-checked later")]
                Ok(RawDuration::Seconds(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                #[expect(clippy::cast_precision_loss, reason = "range-checked later")]
                Ok(RawDuration::Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(RawDuration::Seconds(v))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// `agent:` of a transfer: a nickname, or a map with `nickname`, `image`, `firstName`,
/// `lastName`.
pub(super) enum RawAgent {
    Nickname(String),
    Plain,
    Null,
    Map(RawAgentMap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAgentMap {
    #[serde(default)]
    pub(super) nickname: Option<String>,
    #[serde(default)]
    pub(super) image: Option<String>,
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) last_name: Option<String>,
}

/// `datePicker:` of a reply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawDatePicker {
    pub(super) title: String,
    #[serde(default)]
    pub(super) subtitle: Option<String>,
    #[serde(default)]
    pub(super) image_url: Option<String>,
    pub(super) available_times: Spanned<Vec<Spanned<RawSlot>>>,
}

/// One offered time of a DatePicker.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawSlot {
    pub(super) date_time: String,
    pub(super) duration: Spanned<u64>,
}

/// `attachment:` of a reply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAttachment {
    pub(super) filename: String,
    pub(super) media_type: Spanned<String>,
    #[serde(default)]
    pub(super) mime: Option<String>,
    #[serde(default)]
    pub(super) file_size: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) url: Option<String>,
}

/// `when: any`, or a map of conditions.
pub(super) enum RawWhen {
    Any,
    Map(Box<RawWhenMap>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawWhenMap {
    #[serde(default)]
    pub(super) contains: Option<String>,
    #[serde(default)]
    pub(super) matches: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) payload: Option<String>,
    #[serde(default)]
    pub(super) attribute: Option<RawAttribute>,
    #[serde(default)]
    pub(super) date_picked: Option<Spanned<String>>,
    pub(super) attachment: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAttribute {
    pub(super) name: String,
    #[serde(default)]
    pub(super) equals: Option<String>,
    #[serde(default)]
    pub(super) matches: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawWhen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WhenVisitor;
        impl<'de> Visitor<'de> for WhenVisitor {
            type Value = RawWhen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "`any`, or a map with `contains`, `matches`, `payload`, `attribute` and/or \
                     `datePicked`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v == "any" {
                    Ok(RawWhen::Any)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let map = RawWhenMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawWhen::Map(Box::new(map)))
            }
        }
        deserializer.deserialize_any(WhenVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawError {
    pub(super) code: i64,
    #[serde(default = "default_error_body")]
    pub(super) body: String,
}

fn default_error_body() -> String {
    "Request failed.".to_string()
}

/// A reply written as a map.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawReplyMap {
    #[serde(default)]
    pub(super) text: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) delay_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) jitter_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) typing: Option<bool>,
    #[serde(default)]
    pub(super) quick_replies: Option<Vec<Spanned<RawLabel>>>,
    #[serde(default)]
    pub(super) card: Option<Spanned<RawCard>>,
    #[serde(default)]
    pub(super) carousel: Option<Vec<Spanned<RawCard>>>,
    #[serde(default)]
    pub(super) date_picker: Option<Spanned<RawDatePicker>>,
    #[serde(default)]
    pub(super) attachment: Option<Spanned<RawAttachment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCard {
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) image: Option<String>,
    #[serde(default)]
    pub(super) actions: Vec<Spanned<RawCardAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCardAction {
    pub(super) text: String,
    #[serde(default)]
    pub(super) payload: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
}

/// One reply as written: a string, a scalar YAML typed as something else, or a map.
pub(super) enum RawItem {
    /// A string scalar (quoted, block, or plain text that is not a bool/number/null).
    Text(String),
    /// A plain scalar the parser read as a boolean or number: its source text is the reply.
    Plain,
    /// `~`, `null` or nothing.
    Null,
    Map(Box<RawReplyMap>),
}

/// `reply:` / `welcome:` as written: one item, or a list of items.
pub(super) enum RawReplies {
    One(RawItem),
    Many(Vec<Spanned<RawItem>>),
}

/// A quick reply as written: a label (its own payload), or `{ text, payload }`.
pub(super) enum RawLabel {
    Text(String),
    Plain,
    Null,
    Map(RawLabelMap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawLabelMap {
    pub(super) text: String,
    #[serde(default)]
    pub(super) payload: Option<String>,
}

/// The scalar and map cases shared by the "text or map" visitors: `$text`, `$plain`, `$null`
/// build the scalar cases and `$map` deserialises the map case.
macro_rules! scalar_and_map_visits {
    ($text:expr, $plain:expr, $null:expr, $map:ty, $wrap_map:expr) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($text(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($text(v))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($plain)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($null)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($null)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let map = <$map>::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok($wrap_map(map))
        }
    };
}

const REPLY_EXPECTED: &str = "a reply text or a map with `text`, `delayMs`, `jitterMs`, \
     `typing`, `quickReplies`, `card`, `carousel`, `datePicker` or `attachment`";

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REPLY_EXPECTED)
            }
            scalar_and_map_visits!(
                RawItem::Text,
                RawItem::Plain,
                RawItem::Null,
                RawReplyMap,
                |map| RawItem::Map(Box::new(map))
            );
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

impl<'de> Deserialize<'de> for RawReplies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RepliesVisitor;
        impl<'de> Visitor<'de> for RepliesVisitor {
            type Value = RawReplies;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{REPLY_EXPECTED}, or a list of these")
            }
            scalar_and_map_visits!(
                |text| RawReplies::One(RawItem::Text(text)),
                RawReplies::One(RawItem::Plain),
                RawReplies::One(RawItem::Null),
                RawReplyMap,
                |map| RawReplies::One(RawItem::Map(Box::new(map)))
            );
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<RawItem>>()? {
                    items.push(item);
                }
                Ok(RawReplies::Many(items))
            }
        }
        deserializer.deserialize_any(RepliesVisitor)
    }
}

impl<'de> Deserialize<'de> for RawLabel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelVisitor;
        impl<'de> Visitor<'de> for LabelVisitor {
            type Value = RawLabel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quick reply label, or a map with `text` and `payload`")
            }
            scalar_and_map_visits!(
                RawLabel::Text,
                RawLabel::Plain,
                RawLabel::Null,
                RawLabelMap,
                RawLabel::Map
            );
        }
        deserializer.deserialize_any(LabelVisitor)
    }
}

impl<'de> Deserialize<'de> for RawAgent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AgentVisitor;
        impl<'de> Visitor<'de> for AgentVisitor {
            type Value = RawAgent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an agent's nickname, or a map with `nickname`, `image`, `firstName` and \
                     `lastName`",
                )
            }
            scalar_and_map_visits!(
                RawAgent::Nickname,
                RawAgent::Plain,
                RawAgent::Null,
                RawAgentMap,
                RawAgent::Map
            );
        }
        deserializer.deserialize_any(AgentVisitor)
    }
}

/// Fields whose value is wrapped in [`Spanned`], which adds a `value` step to serde paths.
const SPANNED_FIELDS: &[&str] = &[
    "start",
    "states",
    "reply",
    "welcome",
    "goto",
    "matches",
    "text",
    "card",
    "maxMessageLength",
    "maxCustomAttributesBytes",
    "ttlSeconds",
    "outOfOrder",
    "latencyMs",
    "dropAfterMessages",
    "errorRate",
    "replyDelayMs",
    "replyJitterMs",
    "respondAfterMs",
    "ignoreInputWithinMs",
    "delayMs",
    "jitterMs",
    "transfer",
    "after",
    "agent",
    "say",
    "answers",
    "datePicked",
    "datePicker",
    "availableTimes",
    "duration",
    "attachment",
    "mediaType",
    "fileSize",
    "retryAfterSeconds",
    "fileTypes",
    "maxFileSizeKB",
];

/// Lists whose items are wrapped in [`Spanned`].
const SPANNED_ITEMS: &[&str] = &[
    "reply",
    "welcome",
    "quickReplies",
    "carousel",
    "actions",
    "say",
    "answers",
    "availableTimes",
];

pub(super) fn parse(source: &str, file: &str) -> Result<RawFlow, FlowError> {
    web_messaging_input::from_yaml(file, source, clean_path)
}

/// Renders a serde path in the file's own terms: `states.ask[0].reply[1]`, without the
/// `value` steps that [`Spanned`] wrappers add.
fn clean_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    // Whether the step before was a spanned field (or an item of a spanned list), so that a
    // `value` step now comes from the wrapper rather than from the file.
    let mut expect_value = false;
    let mut last_key: Option<&str> = None;
    // Whether the last key written was `states`: the next one is a state name, whose rule
    // list is spanned.
    let mut after_states = false;
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                expect_value = last_key.is_some_and(|k| SPANNED_ITEMS.contains(&k));
                last_key = None;
                after_states = false;
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if expect_value && key == "value" {
                    expect_value = false;
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
                expect_value = after_states || SPANNED_FIELDS.contains(&key.as_str());
                after_states = !after_states && out == "states";
                last_key = Some(key.as_str());
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// A flow error at `location` naming `key`.
#[allow(
    clippy::needless_pass_by_value,
    reason = "callers build the key with `format!` as often as with `.into()`: one owned type for both"
)]
pub(super) fn at(file: &str, location: &Location, key: String, message: String) -> FlowError {
    FlowError::at(file, location, &key, message)
}

/// The source text of a plain scalar (one the parser typed as a boolean or number).
pub(super) fn source_text(source: &str, location: &Location) -> String {
    let span = location.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) => {
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            let end = start.saturating_add(usize::try_from(len).unwrap_or(0));
            source
                .get(start..end)
                .unwrap_or_default()
                .trim()
                .to_string()
        }
        _ => String::new(),
    }
}
