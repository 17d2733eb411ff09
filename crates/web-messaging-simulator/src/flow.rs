//! The bot-flow file: what the simulated bot answers, and which faults the deployment injects.
//!
//! The YAML is read in two passes. Serde turns it into the `Raw*` types of [`raw`], which keep
//! the source position of every value a later check may complain about; [`compile`] then
//! checks what serde cannot (state names and reachability, regular expressions, capture names,
//! empty texts, probabilities) and builds the [`model`] the connections run. Every error
//! carries the file, line, column and key.
//!
//! - [`model`]: the compiled flow (states, rules, conditions, replies, faults, limits).
//! - [`matching`]: how a rule's `when` is tested against what the guest said.
//! - [`compile`]: raw → model, and every check.
//! - [`content`], [`deployment`], [`transfer`]: one concept each (attachments and
//!   DatePickers; the messenger, auth and rate limit; the handover to an agent), type and
//!   compile step together.
//!
//! A new flow key: add it to the `Raw*` type, to the model, and to the compile step; the
//! schema test lists every accepted key.

mod compile;
mod content;
mod deployment;
mod matching;
mod model;
pub(crate) mod platform;
mod raw;
mod transfer;

pub(crate) use content::{DatePick, RenderedAttachment, RenderedDatePicker, parse_time};
pub(crate) use deployment::{Auth, Messenger, RateLimit};
pub(crate) use matching::GuestInput;
pub use model::BotFlow;
pub(crate) use model::{Captures, CardTemplate, Reply, Rule};
pub use transfer::AgentProfile;
pub(crate) use transfer::{AGENT_TYPING_MS, Transfer};

use compile::{Context, MAX_DELAY_MS, ReplyDefaults, compile_replies, template};
use std::path::Path;

/// Why a bot-flow file was refused: where (file, line, column), which key, and what is wrong.
/// The same type, and the same message shape, as every other input file of the project.
pub type FlowError = web_messaging_input::InputError;

impl BotFlow {
    /// Parses and validates a bot flow from YAML text. `file_name` is only used in errors.
    pub fn from_yaml_str(source: &str, file_name: &str) -> Result<BotFlow, FlowError> {
        let raw = raw::parse(source, file_name)?;
        compile::compile(raw, source, file_name)
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

#[cfg(test)]
mod tests;
