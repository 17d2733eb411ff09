//! The open-files limit: every guest (and every simulated connection) holds a socket.

/// Raises the soft limit on open files to the hard limit, and returns the limit now in force
/// (`None` where it cannot be known). Called at the start of `load` and `simulate`.
pub fn raise_open_files_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::debug!("cannot raise the open-files limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// Files the process needs for `guests` at once (two each when the simulator runs in-process),
/// plus room for everything else it has open.
pub fn files_needed(guests: usize, in_process_simulator: bool) -> u64 {
    let per_guest = if in_process_simulator { 2 } else { 1 };
    guests as u64 * per_guest + 64
}
