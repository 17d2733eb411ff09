//! Running scenarios: the runner (`run_step` is the one meaning of every step), the one result
//! model ([`ScenarioResult`] with its one [`Failure`] enum), the progress events, and the
//! Platform API lookup of each scenario's conversation (`associate`). The `ai` and `load`
//! engines sit beside this layer and use it.

pub mod activity;
pub mod associate;
pub mod cause;
pub mod platform;
pub mod runner;

pub use activity::Activity;
pub use cause::outcome;
pub use runner::{
    Failure, Progress, RunSettings, ScenarioResult, StepError, StepRecord, run_in_order,
    run_scenarios, run_step,
};
