//! How every guest session of a run opens and paces itself: the one settings type that
//! `scripted`'s runner, the `ai` conversations and the `load` guests share.

use genesys_web_messaging::SessionConfig;
use std::time::Duration;

/// Where a guest's session goes and how it paces itself.
#[derive(Debug, Clone)]
pub struct GuestSettings {
    /// The session every scenario or conversation opens (each with a fresh token).
    pub session: SessionConfig,
    /// How long each wait (and the session start) may take, unless a step sets its own.
    pub timeout: Duration,
    /// Quiet time before each `say` (the library also keeps to Genesys' message rate).
    pub say_delay: Duration,
}
