//! What a run will do, resolved before anything starts: where the sessions go (the command
//! line merged over the file's `config`, the deployment configuration), with which pacing,
//! which files and which shard of their scenarios. Knows no flags: the binary maps them to
//! these plain settings.

pub mod deployment_config;
pub mod files;
pub mod guest;
pub mod region;
pub mod select;
pub mod shard;
pub mod target;
