//! The load profile: how many guests, how they start, and when the run ends. Checked in one
//! place, so every impossible profile is refused with a clear message before anything connects.

use std::time::Duration;

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Guests start new conversations until this long after the start (conversations under
    /// way then are finished).
    Duration(Duration),
    /// Each guest holds this many conversations, one after the other.
    Iterations(u64),
}

/// How guests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// A fixed set of `users` guests, each holding its conversations one after the other
    /// (started evenly over the ramp-up).
    Closed,
    /// New conversations start at this rate (per second) whatever the others are doing, at
    /// most `users` at once; the rate climbs linearly from 0 over the ramp-up.
    Open {
        /// Conversations started per second once the ramp-up is over.
        per_second: f64,
    },
}

/// A checked load profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Concurrent guests (closed model), or the most at once (open model).
    pub users: usize,
    /// Time over which guests (or the arrival rate) build up.
    pub ramp_up: Duration,
    /// When the run ends.
    pub stop: Stop,
    /// Closed or open.
    pub model: Model,
}

/// The profile as given on the command line, unchecked.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// `--users`.
    pub users: Option<usize>,
    /// `--ramp-up`.
    pub ramp_up: Option<Duration>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--iterations`.
    pub iterations: Option<u64>,
    /// `--arrival-rate`.
    pub arrival_rate: Option<f64>,
}

impl Profile {
    /// Checks a profile; the error is the message to print.
    pub fn new(input: &ProfileInput) -> Result<Profile, String> {
        let users = match input.users {
            None => {
                return Err(match input.arrival_rate {
                    Some(_) => "--users is required: the most guests talking at once".into(),
                    None => "--users is required: how many guests talk to the bot at once".into(),
                });
            }
            Some(0) => return Err("--users must be at least 1".into()),
            Some(n) => n,
        };
        let model = match input.arrival_rate {
            Some(rate) if !(rate.is_finite() && rate > 0.0) => {
                return Err(format!(
                    "--arrival-rate must be a number of conversations per second above 0, not {rate}"
                ));
            }
            Some(per_second) => Model::Open { per_second },
            None => Model::Closed,
        };
        let stop = match (input.duration, input.iterations) {
            (Some(_), Some(_)) => {
                return Err("--duration and --iterations cannot be used together: run for a time, or for a number of conversations per guest".into());
            }
            (None, None) => {
                return Err(match model {
                    Model::Open { .. } => "--duration is required with --arrival-rate: how long new conversations keep arriving (e.g. --duration 1m)".into(),
                    Model::Closed => "say when the run ends: --duration <time> (e.g. 1m) or --iterations <conversations per guest>".into(),
                });
            }
            (Some(d), None) if d.is_zero() => return Err("--duration must be above 0".into()),
            (Some(d), None) => Stop::Duration(d),
            (None, Some(0)) => return Err("--iterations must be at least 1".into()),
            (None, Some(_)) if matches!(model, Model::Open { .. }) => {
                return Err("--iterations counts conversations per guest, which the open model (--arrival-rate) has not: give --duration instead".into());
            }
            (None, Some(n)) => Stop::Iterations(n),
        };
        let ramp_up = input.ramp_up.unwrap_or(Duration::ZERO);
        if let Stop::Duration(duration) = stop
            && ramp_up > duration
        {
            return Err(format!(
                "--ramp-up ({}) is longer than --duration ({}): the last guests would never start",
                crate::format::duration::compact(ramp_up),
                crate::format::duration::compact(duration)
            ));
        }
        Ok(Profile {
            users,
            ramp_up,
            stop,
            model,
        })
    }

    /// When guest `index` (of `users`) starts, after the run's start (closed model).
    pub fn guest_start(&self, index: usize) -> Duration {
        if self.users <= 1 || self.ramp_up.is_zero() {
            return Duration::ZERO;
        }
        self.ramp_up.mul_f64(index as f64 / self.users as f64)
    }

    /// When arrival `k` (from 0) is due, after the run's start (open model): the rate climbs
    /// linearly from 0 to `per_second` over the ramp-up, then stays.
    pub fn arrival_at(&self, k: u64) -> Duration {
        let Model::Open { per_second } = self.model else {
            return Duration::ZERO;
        };
        let ramp = self.ramp_up.as_secs_f64();
        // Arrivals during the ramp: rate(t) = R t / T, so the count by t is R t² / 2T.
        let during_ramp = per_second * ramp / 2.0;
        let k = k as f64;
        let seconds = if k < during_ramp {
            (2.0 * ramp * k / per_second).sqrt()
        } else {
            ramp + (k - during_ramp) / per_second
        };
        Duration::from_secs_f64(seconds.min(1e9))
    }

    /// A one-line description, e.g. `1000 guests, ramp-up 10s, 5 conversations each`.
    pub fn describe(&self) -> String {
        let ramp = if self.ramp_up.is_zero() {
            String::new()
        } else {
            format!(
                ", ramp-up {}",
                crate::format::duration::compact(self.ramp_up)
            )
        };
        match (self.model, self.stop) {
            (Model::Closed, Stop::Iterations(n)) => format!(
                "{} {}{ramp}, {n} conversation{} each",
                self.users,
                plural(self.users as u64, "guest", "guests"),
                if n == 1 { "" } else { "s" }
            ),
            (Model::Closed, Stop::Duration(d)) => format!(
                "{} {}{ramp}, for {}",
                self.users,
                plural(self.users as u64, "guest", "guests"),
                crate::format::duration::compact(d)
            ),
            (Model::Open { per_second }, Stop::Duration(d)) => format!(
                "{per_second} new conversations/s{ramp}, for {}, at most {} at once",
                crate::format::duration::compact(d),
                self.users
            ),
            (Model::Open { .. }, Stop::Iterations(_)) => unreachable!("refused by Profile::new"),
        }
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(users: Option<usize>) -> ProfileInput {
        ProfileInput {
            users,
            ..ProfileInput::default()
        }
    }

    #[test]
    fn refuses_impossible_profiles() {
        let secs = Duration::from_secs;
        let cases: Vec<(ProfileInput, &str)> = vec![
            (
                ProfileInput {
                    iterations: Some(1),
                    ..input(Some(0))
                },
                "--users must be at least 1",
            ),
            (
                ProfileInput {
                    iterations: Some(1),
                    ..input(None)
                },
                "--users is required",
            ),
            (input(Some(5)), "--duration <time>"),
            (
                ProfileInput {
                    duration: Some(secs(5)),
                    iterations: Some(2),
                    ..input(Some(5))
                },
                "cannot be used together",
            ),
            (
                ProfileInput {
                    duration: Some(secs(5)),
                    ramp_up: Some(secs(6)),
                    ..input(Some(5))
                },
                "--ramp-up (6s) is longer than --duration (5s)",
            ),
            (
                ProfileInput {
                    iterations: Some(0),
                    ..input(Some(5))
                },
                "--iterations must be at least 1",
            ),
            (
                ProfileInput {
                    duration: Some(Duration::ZERO),
                    ..input(Some(5))
                },
                "--duration must be above 0",
            ),
            (
                ProfileInput {
                    arrival_rate: Some(0.0),
                    duration: Some(secs(5)),
                    ..input(Some(5))
                },
                "--arrival-rate must be",
            ),
            (
                ProfileInput {
                    arrival_rate: Some(3.0),
                    iterations: Some(2),
                    ..input(Some(5))
                },
                "give --duration instead",
            ),
            (
                ProfileInput {
                    arrival_rate: Some(3.0),
                    ..input(Some(5))
                },
                "--duration is required with --arrival-rate",
            ),
        ];
        for (input, fragment) in cases {
            let e = Profile::new(&input).unwrap_err();
            assert!(e.contains(fragment), "{input:?}: {e}");
        }
    }

    #[test]
    fn spreads_guests_and_arrivals_over_the_ramp_up() {
        let profile = Profile::new(&ProfileInput {
            ramp_up: Some(Duration::from_secs(10)),
            iterations: Some(1),
            ..input(Some(10))
        })
        .unwrap();
        assert_eq!(profile.guest_start(0), Duration::ZERO);
        assert_eq!(profile.guest_start(5), Duration::from_secs(5));
        assert_eq!(
            profile.describe(),
            "10 guests, ramp-up 10s, 1 conversation each"
        );

        let open = Profile::new(&ProfileInput {
            ramp_up: Some(Duration::from_secs(10)),
            duration: Some(Duration::from_secs(60)),
            arrival_rate: Some(4.0),
            ..input(Some(100))
        })
        .unwrap();
        // 20 arrivals during the ramp (4/s × 10 s / 2), then one every 250 ms.
        assert_eq!(open.arrival_at(0), Duration::ZERO);
        assert!((open.arrival_at(5).as_secs_f64() - 5.0).abs() < 1e-9);
        assert!((open.arrival_at(20).as_secs_f64() - 10.0).abs() < 1e-9);
        assert!((open.arrival_at(24).as_secs_f64() - 11.0).abs() < 1e-9);
        let no_ramp = Profile {
            ramp_up: Duration::ZERO,
            ..open
        };
        assert!((no_ramp.arrival_at(8).as_secs_f64() - 2.0).abs() < 1e-9);
    }
}
