//! Every random draw of one socket: reply jitter, the error-rate and out-of-order faults,
//! and latency. Reproducible from the simulator's seed and the socket's number.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// The random generators of one socket, one per purpose, so that (for instance) a reply's
/// jitter does not change which guest message the error-rate fault hits.
pub(super) struct Dice {
    /// `jitterMs`.
    delay: SmallRng,
    /// `faults.errorRate` and `faults.outOfOrder`.
    faults: SmallRng,
    /// `faults.latencyMs`.
    latency: SmallRng,
}

impl Dice {
    /// The generators of socket number `connection` of a simulator seeded with `seed`.
    pub(super) fn new(seed: u64, connection: u64) -> Dice {
        let stream = |n: u64| SmallRng::seed_from_u64(mix(mix(seed) ^ connection) ^ n);
        Dice {
            delay: stream(1),
            faults: stream(2),
            latency: stream(3),
        }
    }

    /// `delay` plus a uniform draw in `0..=jitter` (no draw for no jitter).
    pub(super) fn jittered(&mut self, delay: Duration, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return delay;
        }
        let jitter = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
        delay.saturating_add(Duration::from_millis(self.delay.random_range(0..=jitter)))
    }

    /// Whether a fault of this probability strikes (no draw for 0).
    pub(super) fn fault(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.faults.random_bool(probability)
    }

    /// A latency in `min..=max`, by the millisecond.
    pub(super) fn latency(&mut self, min: Duration, max: Duration) -> Duration {
        let (min, max) = (
            u64::try_from(min.as_millis()).unwrap_or(u64::MAX),
            u64::try_from(max.as_millis()).unwrap_or(u64::MAX),
        );
        Duration::from_millis(self.latency.random_range(min..=max))
    }
}

/// SplitMix64's finaliser: spreads nearby seeds far apart.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_socket_draw_the_same_and_neighbours_differ() {
        let draws = |seed, socket| {
            let mut dice = Dice::new(seed, socket);
            (0..8)
                .map(|_| dice.jittered(Duration::ZERO, Duration::from_secs(60)))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7, 0), draws(7, 0));
        assert_ne!(draws(7, 0), draws(7, 1));
        assert_ne!(draws(7, 0), draws(8, 0));
        let mut dice = Dice::new(7, 0);
        assert_eq!(
            dice.jittered(Duration::from_millis(5), Duration::ZERO),
            Duration::from_millis(5)
        );
        assert!(!dice.fault(0.0));
        assert!(dice.fault(1.0));
    }
}
