//! `--shard K/N`: splits a run's scenarios across N CI jobs, deterministically.
//!
//! Each scenario is keyed by `<file>\0<scenario name>` and hashed with 64-bit FNV-1a (written
//! out here, so the split never depends on the Rust version or the machine). The scenarios are
//! ordered by that hash and dealt round-robin: shard 1 gets the 1st, (N+1)th, ... So every
//! scenario lands in exactly one shard and the shards' sizes differ by at most one. Every job
//! must be given the same files (the same command line, bar `--shard`).

use std::fmt;

/// One shard of N, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1..=total.
    pub index: u32,
    /// How many shards.
    pub total: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// Parses `K/N` (1 <= K <= N).
pub fn parse_shard(value: &str) -> Result<Shard, String> {
    // clap shows the value itself; the message says what is wrong with it.
    let usage = "expected K/N: this job's number K (from 1) of N jobs, e.g. 2/4";
    let Some((k, n)) = value.trim().split_once('/') else {
        return Err(usage.into());
    };
    let number = |text: &str| text.trim().parse::<u32>().ok();
    match (number(k), number(n)) {
        (Some(k), Some(n)) if n >= 1 && (1..=n).contains(&k) => Ok(Shard { index: k, total: n }),
        (Some(_), Some(0)) => Err(format!("N must be at least 1 ({usage})")),
        (Some(_), Some(n)) => Err(format!("K must be between 1 and {n} ({usage})")),
        _ => Err(usage.into()),
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

/// The key a scenario is hashed by. Path separators are normalised to `/`, so a job on
/// Windows and one on Linux agree.
pub fn scenario_key(file: &str, scenario: &str) -> String {
    format!("{}\u{0}{scenario}", file.replace('\\', "/"))
}

/// For each key (in run order), whether it belongs to `shard`.
pub fn select(keys: &[String], shard: Shard) -> Vec<bool> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    // Ties (equal hashes) are broken by the key itself, then by position: still deterministic.
    order.sort_by(|&a, &b| {
        fnv1a64(keys[a].as_bytes())
            .cmp(&fnv1a64(keys[b].as_bytes()))
            .then_with(|| keys[a].cmp(&keys[b]))
            .then_with(|| a.cmp(&b))
    });
    let mut chosen = vec![false; keys.len()];
    for (rank, index) in order.into_iter().enumerate() {
        chosen[index] = rank as u64 % u64::from(shard.total) == u64::from(shard.index - 1);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse_shard("2/4"), Ok(Shard { index: 2, total: 4 }));
        assert_eq!(parse_shard("1/1"), Ok(Shard { index: 1, total: 1 }));
        for bad in ["3/2", "0/2", "a/b", "1", "1/0", "-1/2", "", "1/2/3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_key_lands_in_exactly_one_shard_and_sizes_are_even() {
        let keys: Vec<String> = (0..37)
            .map(|i| scenario_key(&format!("tests/f{}.yml", i % 4), &format!("scenario {i}")))
            .collect();
        for total in 1..=8 {
            let mut counts = vec![0usize; keys.len()];
            let mut sizes = Vec::new();
            for index in 1..=total {
                let chosen = select(&keys, Shard { index, total });
                sizes.push(chosen.iter().filter(|c| **c).count());
                for (i, c) in chosen.iter().enumerate() {
                    counts[i] += usize::from(*c);
                }
            }
            assert!(counts.iter().all(|c| *c == 1), "N={total}: {counts:?}");
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.unwrap() - min.unwrap() <= 1, "N={total}: {sizes:?}");
        }
    }

    #[test]
    fn separators_do_not_change_the_key() {
        assert_eq!(scenario_key("a\\b.yml", "x"), scenario_key("a/b.yml", "x"));
    }
}
