//! `schema scripted|bot`: prints the JSON Schema (draft 2020-12) of a file format, for editors
//! (yaml-language-server) and other tools. The schemas are hand-written files in `schemas/`,
//! embedded in the binary.

use crate::Outcome;

/// The file formats with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// Test-scripts (`scripted`).
    Scripted,
    /// Bot flows (`--simulate`, `simulate`).
    Bot,
}

/// The test-script schema.
pub const TEST_SCRIPT: &str = include_str!("../../schemas/test-script.schema.json");
/// The bot-flow schema.
pub const BOT_FLOW: &str = include_str!("../../schemas/bot-flow.schema.json");

/// Runs `schema`.
pub fn run(kind: SchemaKind) -> Outcome {
    let text = match kind {
        SchemaKind::Scripted => TEST_SCRIPT,
        SchemaKind::Bot => BOT_FLOW,
    };
    print!("{text}");
    Outcome::Passed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_json_of_draft_2020_12() {
        for text in [TEST_SCRIPT, BOT_FLOW] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                value["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
        }
    }
}
