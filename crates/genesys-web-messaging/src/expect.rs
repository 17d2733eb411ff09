//! What a step waits for in a reply.

use crate::protocol::StructuredMessage;
use std::fmt;

/// A regular expression with ECMAScript (JavaScript `RegExp`) syntax and semantics, as
/// upstream's `waitForReplyMatching` uses: lookbehind, backreferences, `[^]`, ASCII `\d`, and
/// with the `m` flag `^`/`$` at every JavaScript line terminator.
#[derive(Clone)]
pub struct JsRegex {
    regex: regress::Regex,
    source: String,
    flags: String,
}

impl JsRegex {
    /// Compiles `pattern` with JavaScript `flags` (e.g. `"im"`).
    pub fn new(pattern: &str, flags: &str) -> Result<JsRegex, regress::Error> {
        Ok(JsRegex {
            regex: regress::Regex::with_flags(pattern, flags)?,
            source: pattern.to_string(),
            flags: flags.to_string(),
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches anywhere in `text` (JavaScript's `RegExp.test`).
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.find(text).is_some()
    }

    /// The pattern as JavaScript prints a `RegExp`: `/source/flags`, with `/` escaped.
    pub fn to_js_string(&self) -> String {
        let mut escaped = String::with_capacity(self.source.len());
        let mut chars = self.source.chars();
        let mut in_class = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    escaped.push('\\');
                    if let Some(next) = chars.next() {
                        escaped.push(next);
                    }
                }
                '[' => {
                    in_class = true;
                    escaped.push(c);
                }
                ']' => {
                    in_class = false;
                    escaped.push(c);
                }
                '/' if !in_class => escaped.push_str("\\/"),
                _ => escaped.push(c),
            }
        }
        format!("/{escaped}/{}", self.flags)
    }
}

/// Two patterns are equal when written the same, with the same flags.
impl PartialEq for JsRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl fmt::Debug for JsRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_js_string())
    }
}

/// What a reply must look like for a wait to be satisfied.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Any reply.
    Any,
    /// A reply containing this text.
    Containing {
        /// The text to find.
        text: String,
        /// Compare case-insensitively (the default, as upstream).
        case_insensitive: bool,
    },
    /// A reply matching this regular expression.
    Matching(JsRegex),
    /// A reply offering at least these quick replies (labels compared ignoring case).
    QuickReplies(Vec<String>),
    /// A reply whose cards or carousel offer at least these buttons (labels ignoring case).
    Buttons(Vec<String>),
}

impl Expectation {
    /// A reply containing `text`, ignoring case.
    pub fn containing(text: impl Into<String>) -> Self {
        Expectation::Containing {
            text: text.into(),
            case_insensitive: true,
        }
    }

    /// Whether a bot message satisfies this expectation.
    pub fn is_met_by_message(&self, message: &StructuredMessage) -> bool {
        let offers = |labels: &[String], offered: Vec<&str>| {
            labels
                .iter()
                .all(|l| offered.iter().any(|o| o.to_lowercase() == l.to_lowercase()))
        };
        match self {
            Expectation::QuickReplies(labels) => offers(
                labels,
                message.quick_replies().map(|q| q.text.as_str()).collect(),
            ),
            Expectation::Buttons(labels) => {
                offers(labels, message.buttons().map(|b| b.text.as_str()).collect())
            }
            _ => self.is_met_by(message.text.as_deref().unwrap_or_default()),
        }
    }

    /// Whether a reply's text satisfies this expectation (option expectations need the whole
    /// message: see [`Expectation::is_met_by_message`]).
    pub fn is_met_by(&self, reply: &str) -> bool {
        match self {
            Expectation::QuickReplies(_) | Expectation::Buttons(_) => false,
            Expectation::Any => true,
            Expectation::Containing {
                text,
                case_insensitive: true,
            } => reply.to_lowercase().contains(&text.to_lowercase()),
            Expectation::Containing { text, .. } => reply.contains(text.as_str()),
            Expectation::Matching(regex) => regex.is_match(reply),
        }
    }

    /// How the expectation is shown in failures: the text as written, or `/pattern/flags`.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Any => "any reply".to_string(),
            Expectation::Containing { text, .. } => text.clone(),
            Expectation::Matching(regex) => regex.to_js_string(),
            Expectation::QuickReplies(labels) => format!("quick replies: {}", labels.join(", ")),
            Expectation::Buttons(labels) => format!("buttons: {}", labels.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_semantics() {
        let r = JsRegex::new(r"^second line$", "im").unwrap();
        assert!(r.is_match("first\r\nsecond line\r\nthird"));
        let r = JsRegex::new(r"\d+", "im").unwrap();
        assert!(!r.is_match("٣"));
        let r = JsRegex::new(r"(?<=order )\d+", "im").unwrap();
        assert!(r.is_match("your ORDER 42"));
        assert!(JsRegex::new("(", "im").is_err());
    }

    #[test]
    fn describes_like_javascript() {
        let r = JsRegex::new("a/b[/]", "im").unwrap();
        assert_eq!(r.to_js_string(), r"/a\/b[/]/im");
        assert_eq!(Expectation::containing("Hello").describe(), "Hello");
    }

    #[test]
    fn containing_ignores_case_by_default() {
        assert!(
            Expectation::containing("EXAMPLE question").is_met_by("This is an example question")
        );
        let exact = Expectation::Containing {
            text: "EXAMPLE".into(),
            case_insensitive: false,
        };
        assert!(!exact.is_met_by("example"));
    }
}
