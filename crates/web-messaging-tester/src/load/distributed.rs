//! Load beyond one machine: `--shard K/N` gives this process every N-th guest (and every N-th
//! arrival) of the whole profile, and `--start-at` makes every shard follow the same timeline.
//!
//! The split is by index, not by hashing: guest `g` (closed model) and arrival `k` (open
//! model) belong to shard `g mod N + 1`. Each keeps its place in the whole profile (its
//! start in the ramp-up, its scenario), so N shards together run exactly the conversations
//! one process would have run, and the shards' guest counts add up to `--users`.

use crate::plan::shard::Shard;
use std::time::Duration;

/// The part of the profile this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// This shard's index, from 0.
    pub index: u64,
    /// How many shards.
    pub total: u64,
}

/// How far ahead `--start-at` may be: farther is more likely a typo than a plan.
pub const MAX_START_AHEAD: Duration = Duration::from_secs(24 * 3600);

impl Slice {
    /// The whole profile (no `--shard`).
    pub const WHOLE: Slice = Slice { index: 0, total: 1 };

    /// The slice of `--shard K/N`.
    pub fn of(shard: Option<Shard>) -> Slice {
        match shard {
            Some(s) => Slice {
                index: u64::from(s.index) - 1,
                total: u64::from(s.total).max(1),
            },
            None => Slice::WHOLE,
        }
    }

    /// Whether guest (or arrival) `n` of the whole profile is this shard's.
    pub fn owns(&self, n: u64) -> bool {
        n % self.total == self.index
    }

    /// How many of `users` guests (numbered from 0) are this shard's: `users / N`, plus one
    /// for the first `users mod N` shards. The shards' counts add up to `users` exactly.
    pub fn users(&self, users: usize) -> usize {
        let users = users as u64;
        let share = users / self.total + u64::from(self.index < users % self.total);
        usize::try_from(share).unwrap_or(usize::MAX)
    }

    /// Refuses a split that leaves this shard without a guest.
    pub fn check(&self, users: usize) -> Result<(), String> {
        if self.users(users) == 0 {
            return Err(format!(
                "--shard {}/{}: --users {users} cannot be split into {} shards (each needs at least one guest); use at most {users} shards",
                self.index + 1,
                self.total,
                self.total
            ));
        }
        Ok(())
    }
}

/// Parses `--start-at`: an RFC 3339 time with its offset, e.g. `2026-11-26T18:00:00Z`.
pub fn parse_start_at(value: &str) -> Result<jiff::Timestamp, String> {
    value.trim().parse::<jiff::Timestamp>().map_err(|_| {
        format!("'{value}' is not an RFC 3339 time with an offset, like 2026-11-26T18:00:00Z")
    })
}

/// Checks `--start-at` against the clock: at most [`MAX_START_AHEAD`] ahead, and not in the
/// past by more than the ramp-up (a shard that late could no longer keep to the common
/// timeline; a little late, the shard catches up on it).
pub fn check_start_at(
    at: jiff::Timestamp,
    ramp_up: Duration,
    now: jiff::Timestamp,
) -> Result<(), String> {
    let ahead = at.duration_since(now);
    if ahead.is_negative() {
        let late = Duration::try_from(ahead.abs()).unwrap_or(Duration::MAX);
        if late > ramp_up {
            return Err(format!(
                "--start-at {at} is {} in the past, more than the ramp-up ({}): the shards could no longer start together. Give a time ahead of every shard's start",
                crate::format::duration::compact(Duration::from_secs(late.as_secs())),
                crate::format::duration::compact(ramp_up)
            ));
        }
    } else if Duration::try_from(ahead).unwrap_or(Duration::MAX) > MAX_START_AHEAD {
        return Err(format!(
            "--start-at {at} is more than 24 hours ahead ({}): is the date right?",
            crate::format::duration::compact(Duration::try_from(ahead).unwrap_or(Duration::MAX))
        ));
    }
    Ok(())
}

/// Where the run's timeline starts, as an instant of this process's clock: `at` (past or
/// future) when given, else now. A start in the past by more than `ramp_up` (a slow smoke
/// test) starts now instead; the second value is then how late it started.
pub fn timeline_start(
    at: Option<jiff::Timestamp>,
    ramp_up: Duration,
) -> (tokio::time::Instant, Option<Duration>) {
    let now = tokio::time::Instant::now();
    let Some(at) = at else {
        return (now, None);
    };
    let ahead = at.duration_since(jiff::Timestamp::now());
    if !ahead.is_negative() {
        let wait = Duration::try_from(ahead).unwrap_or(MAX_START_AHEAD);
        return (now + wait.min(MAX_START_AHEAD), None);
    }
    let late = Duration::try_from(ahead.abs()).unwrap_or(Duration::MAX);
    match now.checked_sub(late) {
        Some(start) if late <= ramp_up => (start, None),
        _ => (now, Some(late)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::shard::parse_shard;

    #[test]
    fn shards_split_guests_exactly() {
        for total in 1..=7u32 {
            for users in [1usize, 2, 6, 7, 100, 1001] {
                let mut sum = 0;
                let mut owned = vec![0; users];
                for index in 1..=total {
                    let slice = Slice::of(Some(Shard { index, total }));
                    sum += slice.users(users);
                    let mine = (0..users as u64).filter(|g| slice.owns(*g)).count();
                    assert_eq!(mine, slice.users(users), "{index}/{total} of {users}");
                    for (g, n) in owned.iter_mut().enumerate() {
                        *n += usize::from(slice.owns(g as u64));
                    }
                }
                assert_eq!(sum, users, "N={total}");
                assert!(owned.iter().all(|n| *n == 1));
            }
        }
        assert_eq!(Slice::of(None).users(9), 9);
        let e = Slice::of(Some(parse_shard("4/4").unwrap()))
            .check(3)
            .unwrap_err();
        assert!(e.contains("--users 3 cannot be split into 4 shards"), "{e}");
    }

    #[test]
    fn start_at_must_be_near_and_not_too_late() {
        let now: jiff::Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let ramp = Duration::from_secs(30);
        let at = |s: &str| parse_start_at(s).unwrap();
        assert!(check_start_at(at("2026-11-26T12:05:00Z"), ramp, now).is_ok());
        assert!(check_start_at(at("2026-11-26T13:00:00+01:00"), ramp, now).is_ok());
        assert!(check_start_at(at("2026-11-26T11:59:40Z"), ramp, now).is_ok());
        let e = check_start_at(at("2026-11-26T11:59:00Z"), ramp, now).unwrap_err();
        assert!(
            e.contains("1m in the past, more than the ramp-up (30s)"),
            "{e}"
        );
        let e = check_start_at(at("2026-11-28T12:00:00Z"), ramp, now).unwrap_err();
        assert!(e.contains("more than 24 hours ahead"), "{e}");
        assert!(parse_start_at("2026-11-26 12:00").is_err());
        assert!(parse_start_at("tomorrow").is_err());
    }

    #[test]
    fn the_timeline_starts_at_the_given_time() {
        let (start, late) = timeline_start(None, Duration::ZERO);
        assert!(late.is_none() && start <= tokio::time::Instant::now());
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(500);
        let (start, late) = timeline_start(Some(soon), Duration::ZERO);
        assert!(late.is_none());
        assert!(start > tokio::time::Instant::now() + Duration::from_millis(300));
        let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
        let (start, late) = timeline_start(Some(past), Duration::from_secs(10));
        assert!(late.is_none());
        assert!(start + Duration::from_secs(4) < tokio::time::Instant::now());
        let (_, late) = timeline_start(Some(past), Duration::from_secs(1));
        assert!(late.is_some_and(|l| l >= Duration::from_secs(5)));
    }
}
