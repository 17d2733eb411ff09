//! How a rule's `when` is tested against what the guest said.

use super::DatePick;
use super::model::{AttributeTest, Condition};
use genesys_web_messaging::JsRegex;
use std::collections::BTreeMap;

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
