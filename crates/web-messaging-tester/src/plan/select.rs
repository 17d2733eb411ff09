//! `--filter <regex>` and `--skip <regex>`: which scenarios run. Each scenario is matched by
//! its full name, `file › scenario` (the file's name as the output shows it when a run has
//! several files, else its name as given). A scenario runs when any filter matches it (or there
//! is none) and no skip does. A selection that leaves nothing is refused with every name, so
//! the next try can be right.

use regress::Regex;

/// A checked `--filter` or `--skip` pattern (JavaScript syntax, as test-scripts' regexes).
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a pattern; the error says why it is not one.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        Regex::new(text)
            .map(|regex| Pattern {
                text: text.to_string(),
                regex,
            })
            .map_err(|e| format!("'{text}' is not a valid regular expression: {e}"))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn matches(&self, name: &str) -> bool {
        self.regex.find(name).is_some()
    }
}

/// The scenarios asked for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--filter`: any match selects (none: every scenario).
    pub filters: Vec<Pattern>,
    /// `--skip`: any match leaves the scenario out.
    pub skips: Vec<Pattern>,
}

/// The name a scenario is matched by: `file › scenario`.
pub fn full_name(file: &str, scenario: &str) -> String {
    format!("{file} › {scenario}")
}

impl Selection {
    /// Whether anything is asked for at all.
    pub fn is_everything(&self) -> bool {
        self.filters.is_empty() && self.skips.is_empty()
    }

    /// Which of `names` (full names) run. Nothing selected is an error listing every name.
    pub fn select(&self, names: &[String]) -> Result<Vec<bool>, String> {
        let chosen: Vec<bool> = names
            .iter()
            .map(|name| {
                (self.filters.is_empty() || self.filters.iter().any(|f| f.matches(name)))
                    && !self.skips.iter().any(|s| s.matches(name))
            })
            .collect();
        if self.is_everything() || chosen.iter().any(|&c| c) || names.is_empty() {
            return Ok(chosen);
        }
        let asked: Vec<String> = self
            .filters
            .iter()
            .map(|f| format!("--filter '{}'", f.as_str()))
            .chain(
                self.skips
                    .iter()
                    .map(|s| format!("--skip '{}'", s.as_str())),
            )
            .collect();
        let mut message = format!(
            "{} selects none of the {} scenarios; their names are:",
            asked.join(" "),
            names.len()
        );
        for name in names {
            message.push_str("\n  ");
            message.push_str(name);
        }
        Err(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "a.yml › Accept Survey",
            "a.yml › Decline Survey",
            "b.yml › Greeting",
        ]
        .map(String::from)
        .to_vec()
    }

    fn selection(filters: &[&str], skips: &[&str]) -> Selection {
        Selection {
            filters: filters.iter().map(|f| Pattern::parse(f).unwrap()).collect(),
            skips: skips.iter().map(|s| Pattern::parse(s).unwrap()).collect(),
        }
    }

    #[test]
    fn any_filter_selects_and_any_skip_leaves_out() {
        let chosen = selection(&["Survey", "^b\\.yml"], &["Decline"]).select(&names());
        assert_eq!(chosen.unwrap(), [true, false, true]);
        assert_eq!(
            Selection::default().select(&names()).unwrap(),
            [true, true, true]
        );
    }

    #[test]
    fn selecting_nothing_lists_the_names() {
        let e = selection(&["nothing"], &[]).select(&names()).unwrap_err();
        assert!(
            e.starts_with("--filter 'nothing' selects none of the 3 scenarios"),
            "{e}"
        );
        assert!(e.ends_with("\n  b.yml › Greeting"), "{e}");
        assert!(Pattern::parse("(").is_err());
    }
}
