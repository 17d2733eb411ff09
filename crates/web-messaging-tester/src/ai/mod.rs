//! The `ai` engine: a model plays the customer against the bot and a judge can read the
//! conversation. The command that drives it is [`crate::commands::ai`]; its output is written
//! by [`crate::reports::ai`].

pub mod conversation;
pub mod http;
pub mod judge;
pub mod placeholders;
pub mod provider;
pub mod result;
