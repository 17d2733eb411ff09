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
/// Saturates rather than overflowing (`--users 9223372036854775808` needs "more than there are").
pub fn files_needed(guests: usize, in_process_simulator: bool) -> u64 {
    let per_guest = if in_process_simulator { 2 } else { 1 };
    u64::try_from(guests)
        .unwrap_or(u64::MAX)
        .saturating_mul(per_guest)
        .saturating_add(64)
}

/// The number of scenarios `scripted` and `ai` run at once for `-p parallel`: refused, before
/// anything connects, when that many guests cannot have a socket each under the open-files
/// limit (raised to the hard limit first), since such a `-p` cannot mean what it says on this
/// machine; then at most one per scenario (more would only idle).
pub fn check_parallel(
    parallel: usize,
    scenarios: usize,
    in_process_simulator: bool,
) -> Result<usize, String> {
    if let Some(limit) = raise_open_files_limit() {
        let needed = files_needed(parallel, in_process_simulator);
        if needed > limit {
            return Err(format!(
                "-p {parallel} needs about {needed} open files{}, but this process may open \
                 {limit} (ulimit -n); raise the limit or lower -p",
                if in_process_simulator {
                    " (two per guest: the simulator runs in this process)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(parallel.min(scenarios).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_needed_never_overflows() {
        assert_eq!(files_needed(9_223_372_036_854_775_808, true), u64::MAX);
        assert_eq!(files_needed(usize::MAX, false), u64::MAX);
        assert_eq!(files_needed(10, true), 84);
    }

    #[test]
    fn parallel_is_clamped_to_the_scenarios() {
        assert_eq!(check_parallel(100, 3, false), Ok(3));
        assert_eq!(check_parallel(4, 0, false), Ok(1));
        assert!(check_parallel(usize::MAX, 1, true).is_err());
    }
}
