//! The file formats and value syntaxes: test-scripts, `ai` test files, durations and load
//! thresholds. This layer knows no command, no flag and no session: it turns text into checked
//! values (errors name file, line, column and key) and nothing more.

pub mod ai_script;
pub mod config;
pub mod duration;
pub mod platform_steps;
pub mod script;
pub mod threshold;
pub mod variables;
