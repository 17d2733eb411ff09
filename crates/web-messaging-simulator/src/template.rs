//! Reply texts with `{name}` placeholders, filled from values captured from the guest's text.
//!
//! A placeholder is `{` + an ECMAScript identifier + `}`. `{{` and `}}` stand for literal
//! braces; any other brace is literal as written (`{"a": 1}` stays as it is).

use std::collections::HashMap;

/// A text split into literal parts and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Capture(String),
}

impl Template {
    /// Splits `text` into literals and placeholders.
    pub(crate) fn parse(text: &str) -> Template {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if (c == '{' || c == '}') && chars.get(i + 1) == Some(&c) {
                literal.push(c);
                i += 2;
                continue;
            }
            if c == '{'
                && let Some(len) = identifier_len(&chars[i + 1..])
                && chars.get(i + 1 + len) == Some(&'}')
            {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Capture(chars[i + 1..i + 1 + len].iter().collect()));
                i += len + 2;
                continue;
            }
            literal.push(c);
            i += 1;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Template { parts }
    }

    /// The placeholder names, in order.
    pub(crate) fn captures(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Capture(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether the text is empty (no literal text and no placeholder).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The text with every placeholder replaced by its value (empty when not captured yet).
    pub(crate) fn render(&self, values: &HashMap<String, String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Capture(name) => out.push_str(values.get(name).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// Length of the ECMAScript identifier at the start of `chars`, if there is one.
fn identifier_len(chars: &[char]) -> Option<usize> {
    let first = chars.first()?;
    if !(first.is_alphabetic() || *first == '_' || *first == '$') {
        return None;
    }
    Some(
        chars
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_' || **c == '$')
            .count(),
    )
}

/// The names of the named groups (`(?<name>...)`) of an ECMAScript pattern, in order.
pub(crate) fn group_names(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut names = Vec::new();
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class
                && chars.get(i + 1) == Some(&'?')
                && chars.get(i + 2) == Some(&'<')
                && !matches!(chars.get(i + 3), Some('=' | '!')) =>
            {
                if let Some(len) = identifier_len(&chars[i + 3..])
                    && chars.get(i + 3 + len) == Some(&'>')
                {
                    names.push(chars[i + 3..i + 3 + len].iter().collect());
                }
            }
            _ => {}
        }
        i += 1;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, values: &[(&str, &str)]) -> String {
        let values = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Template::parse(text).render(&values)
    }

    #[test]
    fn fills_placeholders_and_keeps_other_braces() {
        assert_eq!(render("Hi {name}!", &[("name", "Ann")]), "Hi Ann!");
        assert_eq!(render("{a}{b}", &[("a", "1"), ("b", "2")]), "12");
        assert_eq!(render("Hi {name}", &[]), "Hi ");
        assert_eq!(
            render("{\"a\": 1} { x } {1x}", &[]),
            "{\"a\": 1} { x } {1x}"
        );
        assert_eq!(render("{{name}} }} {{", &[("name", "x")]), "{name} } {");
        assert_eq!(render("{ünïcode_1$}", &[("ünïcode_1$", "ok")]), "ok");
        assert_eq!(render("{open", &[]), "{open");
        let t = Template::parse("a {x} b {y} {x}");
        assert_eq!(t.captures().collect::<Vec<_>>(), ["x", "y", "x"]);
        assert!(Template::parse("").is_empty());
        assert!(!Template::parse("{x}").is_empty());
    }

    #[test]
    fn finds_named_groups() {
        assert_eq!(
            group_names(r"my name is (?<name>\w+) and I am (?<age>\d+)"),
            ["name", "age"]
        );
        assert!(group_names(r"(?<=a)b(?<!c)").is_empty());
        assert!(group_names(r"\(?<x>\)").is_empty());
        assert!(group_names(r"[(?<x>)]").is_empty());
        assert_eq!(group_names(r"[\]](?<y>.)"), ["y"]);
    }
}
