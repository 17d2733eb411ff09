//! The bot-flow file: what the simulated bot answers.
//!
//! The YAML is read in two passes. Serde turns it into the `Raw*` types below, which keep the
//! source position of every value a later check may complain about; `compile` then
//! checks what serde cannot (state names, regular expressions, empty texts) and builds the
//! compact form the connections run. Every error carries the file, line, column and key.
//!
//! Scalars that must stay text (`reply: Yes`, `contains: 0755`) are never routed through an
//! untyped value: typed fields are read as strings directly, and the two "text or list" shapes
//! have their own visitors that recover a plain scalar's source text when the YAML parser has
//! already read it as a boolean or number.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;
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
    pub(crate) session: SessionSettings,
    pub(crate) start: usize,
    pub(crate) states: Vec<State>,
}

/// How the deployment answers `configureSession`.
#[derive(Debug, Clone)]
pub(crate) struct SessionSettings {
    /// `false`: the deployment goes silent once asked to configure a session.
    pub(crate) respond: bool,
    /// Bot messages sent right after the SessionResponse of a new session.
    pub(crate) welcome: Vec<Reply>,
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
    pub(crate) when: Matcher,
    pub(crate) replies: Vec<Reply>,
    pub(crate) goto: Option<usize>,
    pub(crate) disconnect: bool,
    pub(crate) error: Option<ErrorReply>,
    pub(crate) raw: Vec<String>,
    pub(crate) close_socket: bool,
    pub(crate) out_of_order: bool,
}

/// Which guest messages a rule answers.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Any,
    /// Lower-cased needle.
    Contains(String),
    Matches(regress::Regex),
}

impl Matcher {
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Contains(needle) => text.to_lowercase().contains(needle.as_str()),
            Matcher::Matches(regex) => regex.find(text).is_some(),
        }
    }
}

/// One bot message and the delay before it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) text: String,
    pub(crate) delay: Duration,
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

impl BotFlow {
    /// Parses and validates a bot flow from YAML text. `file_name` is only used in errors.
    pub fn from_yaml_str(source: &str, file_name: &str) -> Result<BotFlow, FlowError> {
        let raw = parse(source, file_name)?;
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
}

// ---------------------------------------------------------------------------------------------
// Pass 1: serde.

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFlow {
    #[serde(default)]
    deployment_id: Option<String>,
    #[serde(default)]
    allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    reply_delay_ms: Option<u64>,
    #[serde(default)]
    session: Option<RawSession>,
    #[serde(default)]
    start: Option<Spanned<String>>,
    states: Spanned<IndexMap<String, Vec<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSession {
    #[serde(default)]
    respond: Option<bool>,
    #[serde(default)]
    welcome: Option<Spanned<RawReplies>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule {
    #[serde(default)]
    when: Option<RawWhen>,
    #[serde(default)]
    reply: Option<Spanned<RawReplies>>,
    #[serde(default)]
    goto: Option<Spanned<String>>,
    #[serde(default)]
    disconnect: bool,
    #[serde(default)]
    error: Option<RawError>,
    #[serde(default)]
    raw: Vec<String>,
    #[serde(default)]
    close_socket: bool,
    #[serde(default)]
    out_of_order: bool,
}

/// `when: any`, `when: { contains: .. }` or `when: { matches: .. }` (externally tagged, so
/// the strings are read as typed strings).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum RawWhen {
    Any,
    Contains(String),
    Matches(Spanned<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawError {
    code: i64,
    #[serde(default = "default_error_body")]
    body: String,
}

fn default_error_body() -> String {
    "Request failed.".to_string()
}

/// `{ text: .., delayMs: .. }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawReplyMap {
    text: Spanned<String>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

/// One reply as written: a string, a scalar YAML typed as something else, or a map.
enum RawItem {
    /// A string scalar (quoted, block, or plain text that is not a bool/number/null).
    Text(String),
    /// A plain scalar the parser read as a boolean or number: its source text is the reply.
    Plain,
    /// `~`, `null` or nothing.
    Null,
    Map(RawReplyMap),
}

/// `reply:` / `welcome:` as written: one item, or a list of items.
enum RawReplies {
    One(RawItem),
    Many(Vec<Spanned<RawItem>>),
}

/// The scalar and map cases shared by [`RawItem`] and [`RawReplies`].
macro_rules! scalar_and_map_visits {
    ($wrap:expr) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Text(v.to_string())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Text(v)))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Plain))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Null))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(RawItem::Null))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let map = RawReplyMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok($wrap(RawItem::Map(map)))
        }
    };
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a reply text or a map with `text` and `delayMs`")
            }
            scalar_and_map_visits!(|item| item);
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
                f.write_str("a reply text, a map with `text` and `delayMs`, or a list of these")
            }
            scalar_and_map_visits!(RawReplies::One);
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

/// Fields whose value is wrapped in [`Spanned`], which adds a `value` step to serde paths.
const SPANNED_FIELDS: &[&str] = &[
    "start", "states", "reply", "welcome", "goto", "matches", "text",
];

fn parse(source: &str, file: &str) -> Result<RawFlow, FlowError> {
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
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                expect_value = matches!(last_key, Some("reply" | "welcome"));
                last_key = None;
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
                expect_value = SPANNED_FIELDS.contains(&key.as_str());
                last_key = Some(key.as_str());
            }
            Segment::Unknown => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Pass 2: checks serde cannot make, and the compact form.

fn at(file: &str, location: &Location, key: String, message: String) -> FlowError {
    FlowError::at(file, location, &key, message)
}

fn compile(raw: RawFlow, source: &str, file: &str) -> Result<BotFlow, FlowError> {
    let default_delay = Duration::from_millis(raw.reply_delay_ms.unwrap_or(0));
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

    let start = match &raw.start {
        None => 0,
        Some(start) => find(&start.value).ok_or_else(|| {
            at(
                file,
                &start.referenced,
                "start".into(),
                format!(
                    "there is no state named `{}` (states: {known})",
                    start.value
                ),
            )
        })?,
    };

    let mut states = Vec::with_capacity(states_map.len());
    for (name, raw_rules) in states_map {
        let mut rules = Vec::with_capacity(raw_rules.len());
        for (index, rule) in raw_rules.into_iter().enumerate() {
            let key = format!("states.{name}[{index}]");
            let when = match rule.when {
                None | Some(RawWhen::Any) => Matcher::Any,
                Some(RawWhen::Contains(needle)) => Matcher::Contains(needle.to_lowercase()),
                Some(RawWhen::Matches(pattern)) => {
                    match regress::Regex::with_flags(&pattern.value, "i") {
                        Ok(regex) => Matcher::Matches(regex),
                        Err(e) => {
                            return Err(at(
                                file,
                                &pattern.referenced,
                                format!("{key}.when.matches"),
                                format!("invalid regular expression `{}`: {e}", pattern.value),
                            ));
                        }
                    }
                }
            };
            let replies = match &rule.reply {
                None => Vec::new(),
                Some(reply) => {
                    compile_replies(reply, source, file, &format!("{key}.reply"), default_delay)?
                }
            };
            let goto = match &rule.goto {
                None => None,
                Some(goto) => Some(find(&goto.value).ok_or_else(|| {
                    at(
                        file,
                        &goto.referenced,
                        format!("{key}.goto"),
                        format!("there is no state named `{}` (states: {known})", goto.value),
                    )
                })?),
            };
            rules.push(Rule {
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
                out_of_order: rule.out_of_order,
            });
        }
        states.push(State { name, rules });
    }

    let (respond, welcome) = match raw.session {
        None => (true, Vec::new()),
        Some(session) => {
            let welcome = match &session.welcome {
                None => Vec::new(),
                // Welcome messages go out right after the SessionResponse: no default delay.
                Some(welcome) => {
                    compile_replies(welcome, source, file, "session.welcome", Duration::ZERO)?
                }
            };
            (session.respond.unwrap_or(true), welcome)
        }
    };

    Ok(BotFlow {
        deployment_id: raw.deployment_id,
        allowed_origins: raw.allowed_origins,
        session: SessionSettings { respond, welcome },
        start,
        states,
    })
}

fn compile_replies(
    replies: &Spanned<RawReplies>,
    source: &str,
    file: &str,
    key: &str,
    default_delay: Duration,
) -> Result<Vec<Reply>, FlowError> {
    match &replies.value {
        RawReplies::One(item) => Ok(vec![compile_item(
            item,
            &replies.referenced,
            source,
            file,
            key.to_string(),
            default_delay,
        )?]),
        RawReplies::Many(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                compile_item(
                    &item.value,
                    &item.referenced,
                    source,
                    file,
                    format!("{key}[{i}]"),
                    default_delay,
                )
            })
            .collect(),
    }
}

fn compile_item(
    item: &RawItem,
    location: &Location,
    source: &str,
    file: &str,
    key: String,
    default_delay: Duration,
) -> Result<Reply, FlowError> {
    let (text, delay, text_location) = match item {
        RawItem::Text(text) => (text.clone(), default_delay, *location),
        RawItem::Plain => (source_text(source, location), default_delay, *location),
        RawItem::Null => (String::new(), default_delay, *location),
        RawItem::Map(map) => (
            map.text.value.clone(),
            map.delay_ms.map_or(default_delay, Duration::from_millis),
            map.text.referenced,
        ),
    };
    if text.is_empty() {
        let key = match item {
            RawItem::Map(_) => format!("{key}.text"),
            _ => key,
        };
        return Err(at(
            file,
            &text_location,
            key,
            "the reply text is empty".into(),
        ));
    }
    Ok(Reply { text, delay })
}

/// The source text of a plain scalar (one the parser typed as a boolean or number).
fn source_text(source: &str, location: &Location) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(yaml: &str) -> BotFlow {
        BotFlow::from_yaml_str(yaml, "bot.yml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(yaml: &str) -> FlowError {
        match BotFlow::from_yaml_str(yaml, "bot.yml") {
            Ok(_) => panic!("expected an error for:\n{yaml}"),
            Err(e) => e,
        }
    }

    fn texts(rule: &Rule) -> Vec<&str> {
        rule.replies.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn reads_every_key() {
        let f = flow(
            "deploymentId: abc\n\
             allowedOrigins: [https://example.com]\n\
             replyDelayMs: 25\n\
             session:\n  respond: true\n  welcome: [\"Hello!\", { text: Later, delayMs: 5 }]\n\
             start: second\n\
             states:\n\
             \x20 first:\n\
             \x20   - when: { contains: HI }\n\
             \x20     reply: \"one\"\n\
             \x20     goto: second\n\
             \x20 second:\n\
             \x20   - when: { matches: \"^yes$\" }\n\
             \x20     reply: [\"a\", { text: \"b\", delayMs: 7 }]\n\
             \x20     disconnect: true\n\
             \x20     error: { code: 5000, body: \"Request failed.\" }\n\
             \x20     raw: [\"garbage\"]\n\
             \x20     closeSocket: true\n\
             \x20     outOfOrder: true\n\
             \x20   - when: any\n\
             \x20   - reply: fallback\n",
        );
        assert_eq!(f.deployment_id(), Some("abc"));
        assert_eq!(
            f.allowed_origins.as_deref(),
            Some(&["https://example.com".to_string()][..])
        );
        assert_eq!(f.start, 1);
        assert_eq!(f.states[0].name, "first");
        assert!(f.session.respond);
        assert_eq!(f.session.welcome[0].text, "Hello!");
        assert_eq!(f.session.welcome[0].delay, Duration::ZERO);
        assert_eq!(f.session.welcome[1].delay, Duration::from_millis(5));
        let first = &f.states[0].rules[0];
        assert!(first.when.matches("oh hi there"));
        assert!(!first.when.matches("hello"));
        assert_eq!(first.goto, Some(1));
        assert_eq!(first.replies[0].delay, Duration::from_millis(25));
        let second = &f.states[1].rules[0];
        assert!(second.when.matches("YES"));
        assert!(!second.when.matches("yes please"));
        assert_eq!(texts(second), ["a", "b"]);
        assert_eq!(second.replies[0].delay, Duration::from_millis(25));
        assert_eq!(second.replies[1].delay, Duration::from_millis(7));
        assert!(second.disconnect && second.close_socket && second.out_of_order);
        let error = second.error.as_ref().unwrap();
        assert_eq!((error.code, error.body.as_str()), (5000, "Request failed."));
        assert_eq!(second.raw, ["garbage"]);
        assert!(matches!(f.states[1].rules[1].when, Matcher::Any));
        assert!(f.states[1].rules[1].replies.is_empty());
        assert!(matches!(f.states[1].rules[2].when, Matcher::Any));
    }

    #[test]
    fn defaults() {
        let f = flow("states:\n  only:\n    - reply: x\n");
        assert_eq!(f.deployment_id(), None);
        assert!(f.allowed_origins.is_none());
        assert!(f.session.respond);
        assert!(f.session.welcome.is_empty());
        assert_eq!(f.start, 0);
        assert_eq!(f.states[0].rules[0].replies[0].delay, Duration::ZERO);
        let silent = flow("session:\n  respond: false\nstates:\n  only: []\n");
        assert!(!silent.session.respond);
    }

    #[test]
    fn yaml_1_1_scalars_stay_text() {
        let f = flow(
            "states:\n  s:\n    - when: { contains: 0755 }\n      reply: Yes\n      raw: [No, 0x1F]\n\
             \x20   - when: { matches: 010 }\n      reply: [Yes, off, 0755, 1.50, 1e3, ~x, { text: On }]\n\
             \x20   - reply: 1_000\n",
        );
        let rules = &f.states[0].rules;
        assert!(matches!(&rules[0].when, Matcher::Contains(n) if n == "0755"));
        assert_eq!(texts(&rules[0]), ["Yes"]);
        assert_eq!(rules[0].raw, ["No", "0x1F"]);
        assert!(rules[1].when.matches("010"));
        assert_eq!(
            texts(&rules[1]),
            ["Yes", "off", "0755", "1.50", "1e3", "~x", "On"]
        );
        assert_eq!(texts(&rules[2]), ["1_000"]);
    }

    #[test]
    fn multi_line_and_quoted_replies_keep_their_meaning() {
        let f = flow(
            "states:\n  s:\n    - reply: \"a\\r\\nb\"\n    - reply: |\n        block\n        text\n    - reply: 'it''s'\n",
        );
        let rules = &f.states[0].rules;
        assert_eq!(texts(&rules[0]), ["a\r\nb"]);
        assert_eq!(texts(&rules[1]), ["block\ntext\n"]);
        assert_eq!(texts(&rules[2]), ["it's"]);
    }

    fn assert_error(e: &FlowError, line: usize, column: usize, key: &str, fragment: &str) {
        assert_eq!(e.file.as_deref(), Some("bot.yml"));
        assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.message.contains(fragment), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("bot.yml:{line}:{column}: \"{key}\"")),
            "{e}"
        );
    }

    #[test]
    fn unknown_key() {
        let e = error("states:\n  a:\n    - replly: x\n");
        assert_error(&e, 3, 7, "states.a[0].replly", "unknown key `replly`");
        let e = error("stats: {}\nstates:\n  a: []\n");
        assert_error(&e, 1, 1, "stats", "unknown key `stats`");
        let e = error("states:\n  a:\n    - reply: { text: x, delay: 3 }\n");
        assert_error(&e, 3, 25, "states.a[0].reply.delay", "unknown key `delay`");
        let e = error("states:\n  a:\n    - when: { contain: x }\n");
        assert_error(
            &e,
            3,
            15,
            "states.a[0].when.contain",
            "unknown key `contain`",
        );
        // A state may be called `value` (the word Spanned adds to serde paths).
        let e = error("states:\n  value:\n    - rply: x\n");
        assert_error(&e, 3, 7, "states.value[0].rply", "unknown key `rply`");
        let e = error("session:\n  welcom: [hi]\nstates:\n  a: []\n");
        assert_error(&e, 2, 3, "session.welcom", "unknown key `welcom`");
    }

    #[test]
    fn wrong_type() {
        let e = error("replyDelayMs: soon\nstates:\n  a: []\n");
        assert_error(&e, 1, 15, "replyDelayMs", "must be a whole number");
        let e = error("states:\n  a:\n    - goto: [b]\n");
        assert_error(&e, 3, 13, "states.a[0].goto", "must be a text");
        let e = error("states:\n  a:\n    - reply: [[x]]\n");
        assert_error(&e, 3, 15, "states.a[0].reply[0]", "reply text");
        let e = error("states:\n  a:\n    - error: { code: oops }\n");
        assert_error(
            &e,
            3,
            22,
            "states.a[0].error.code",
            "must be a whole number",
        );
    }

    #[test]
    fn goto_to_a_missing_state() {
        let e = error(
            "states:\n  a:\n    - when: { contains: hi }\n      reply: Hello\n      goto: nowhere\n",
        );
        assert_error(
            &e,
            5,
            13,
            "states.a[0].goto",
            "there is no state named `nowhere` (states: a)",
        );
    }

    #[test]
    fn start_naming_a_missing_state() {
        let e = error("start: b\nstates:\n  a: []\n");
        assert_error(&e, 1, 8, "start", "there is no state named `b` (states: a)");
    }

    #[test]
    fn invalid_regex() {
        let e = error("states:\n  a:\n    - when: { matches: \"(unclosed\" }\n");
        assert_error(
            &e,
            3,
            24,
            "states.a[0].when.matches",
            "invalid regular expression `(unclosed`",
        );
    }

    #[test]
    fn empty_states() {
        let e = error("states: {}\n");
        assert_error(&e, 1, 9, "states", "is empty");
        let e = error("replyDelayMs: 1\n");
        assert_eq!(e.key.as_deref(), Some("states"));
        assert_eq!(e.message, "is required");
        let e = error("\n");
        assert!(e.message.contains("the file is empty"), "{e}");
    }

    #[test]
    fn empty_reply_text() {
        let e = error("states:\n  a:\n    - reply: \"\"\n");
        assert_error(&e, 3, 14, "states.a[0].reply", "reply text is empty");
        let e = error("states:\n  a:\n    - reply: [ok, '']\n");
        assert_error(&e, 3, 19, "states.a[0].reply[1]", "reply text is empty");
        let e = error(
            "states:\n  a:\n    - reply:\n        - ok\n        - { text: '', delayMs: 1 }\n",
        );
        assert_error(
            &e,
            5,
            19,
            "states.a[0].reply[1].text",
            "reply text is empty",
        );
        let e = error("session:\n  welcome: [~]\nstates:\n  a: []\n");
        assert_error(&e, 2, 13, "session.welcome[0]", "reply text is empty");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = error("states:\n  a: [\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.column.is_some(), "{e}");
    }

    #[test]
    fn duplicate_states_are_refused() {
        let e = error("states:\n  a: []\n  a: []\n");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn unreadable_file_has_no_position() {
        let e = BotFlow::from_file(Path::new("/definitely/not/here.yml")).unwrap_err();
        assert_eq!(e.file.as_deref(), Some("/definitely/not/here.yml"));
        assert_eq!((e.line, e.column, e.key.as_deref()), (None, None, None));
        assert!(
            e.to_string()
                .starts_with("/definitely/not/here.yml: cannot read the bot flow:")
        );
    }
}
