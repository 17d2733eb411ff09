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

/// Files the process keeps for everything but its guests (runtime, logs, reports).
const OTHER_FILES: u64 = 64;

/// Open files one guest holds: its socket, and the simulator's end when it runs in-process.
fn files_per_guest(in_process_simulator: bool) -> u64 {
    if in_process_simulator { 2 } else { 1 }
}

/// Files the process needs for `guests` at once (two each when the simulator runs in-process),
/// plus room for everything else it has open.
/// Saturates rather than overflowing (`--users 9223372036854775808` needs "more than there are").
pub fn files_needed(guests: usize, in_process_simulator: bool) -> u64 {
    u64::try_from(guests)
        .unwrap_or(u64::MAX)
        .saturating_mul(files_per_guest(in_process_simulator))
        .saturating_add(OTHER_FILES)
}

/// The most guests a process may hold at once under an open-files `limit`: the inverse of
/// [`files_needed`].
pub fn guests_within(limit: u64, in_process_simulator: bool) -> u64 {
    limit.saturating_sub(OTHER_FILES) / files_per_guest(in_process_simulator)
}

/// Refuses `guests` at once when the open-files limit (raised to the hard limit first) cannot
/// give each its socket, saying how many guests this process can hold and `remedy`; `asked`
/// is what was asked for (`--users 50000`).
pub fn check_open_files(
    asked: &str,
    guests: usize,
    in_process_simulator: bool,
    remedy: &str,
) -> Result<(), String> {
    let Some(limit) = raise_open_files_limit() else {
        return Ok(());
    };
    let needed = files_needed(guests, in_process_simulator);
    if needed <= limit {
        return Ok(());
    }
    Err(format!(
        "{asked} needs about {needed} open files{}, but this process may open {limit} files, \
         {} guests at most (ulimit -n); {remedy}",
        if in_process_simulator {
            " (two per guest: the simulator runs in this process)"
        } else {
            ""
        },
        guests_within(limit, in_process_simulator)
    ))
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
    check_open_files(
        &format!("-p {parallel}"),
        parallel,
        in_process_simulator,
        "raise the limit or lower -p",
    )?;
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
    fn guests_within_is_the_inverse_of_files_needed() {
        for in_process in [false, true] {
            let guests = guests_within(20_000, in_process);
            let fits = usize::try_from(guests).expect("fits");
            assert!(files_needed(fits, in_process) <= 20_000);
            assert!(files_needed(fits + 1, in_process) > 20_000);
        }
        assert_eq!(guests_within(20_000, false), 19_936);
        assert_eq!(guests_within(10, true), 0);
    }

    #[test]
    fn parallel_is_clamped_to_the_scenarios() {
        assert_eq!(check_parallel(100, 3, false), Ok(3));
        assert_eq!(check_parallel(4, 0, false), Ok(1));
        assert!(check_parallel(usize::MAX, 1, true).is_err());
    }
}
