//! Fault knobs of the local Helix server: everything a real Twitch has been
//! seen doing to clients, switchable at runtime and deterministic from a seed.
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::helix::PageFaults;

/// What to break. `Default` breaks nothing. Rates are fractions of Helix
/// requests (0.0–1.0) drawn from a generator seeded with `seed`; `*_next`
/// counters hit the next N Helix requests and count down as they fire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Seed of the draws behind every rate (same seed, same faults).
    pub seed: u64,
    /// Fraction of requests answered `500`.
    pub error_rate: f64,
    /// The next N requests are answered `500`.
    pub error_next: u32,
    /// The next N requests get `429` whatever the bucket says (a storm).
    pub storm_next: u32,
    /// Real-time delay before answering (to provoke client timeouts).
    pub latency: Duration,
    /// `None`: every request is delayed by `latency`; `Some(n)`: only the next n.
    pub latency_next: Option<u32>,
    /// Revoke every token on every N-th Helix request (0 = never).
    pub revoke_every: u64,
    /// Revoke every token just before the next N `/channels/followers`
    /// requests (a token change while follower requests are in flight).
    pub revoke_before_followers_next: u32,
    /// Fraction of `200` responses whose body is not JSON.
    pub malformed_rate: f64,
    /// The next N `200` responses have a body that is not JSON.
    pub malformed_next: u32,
    /// Fraction of `200` responses whose body is cut in half.
    pub truncated_rate: f64,
    /// The next N `200` responses have their body cut in half.
    pub truncated_next: u32,
    /// Each `/streams` page after the first starts this many items early,
    /// repeating the end of the previous page (clamped below the page size).
    pub duplicate_overlap: usize,
    /// Each `/streams` page after the first goes on this many items late
    /// (after the items `duplicate_overlap` repeats): those streams moved
    /// up between two requests and are on no page.
    pub skip_between_pages: usize,
    /// After K `/streams` pages the cursor points back to the start of the
    /// sweep (the first cursor ever returned): 0 = never.
    pub loop_after_pages: u32,
    /// Fraction of `/channels/followers` answers without `total`.
    pub missing_total_rate: f64,
    /// The next N `/channels/followers` answers have no `total`.
    pub missing_total_next: u32,
}

/// How a `200` body gets broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFault {
    Malformed,
    Truncated,
}

/// The knobs plus the generator behind their rates.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    rng: ChaCha8Rng,
}

/// Counts a `*_next` knob down; true when it fired.
fn take(n: &mut u32) -> bool {
    let fire = *n > 0;
    *n = n.saturating_sub(1);
    fire
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(faults.seed);
        Self { faults, rng }
    }

    /// The knobs as they stand (counters already spent are lower).
    pub(crate) fn get(&self) -> Faults {
        self.faults.clone()
    }

    /// Replaces every knob and reseeds.
    pub(crate) fn set(&mut self, faults: Faults) {
        *self = Self::new(faults);
    }

    /// Edits knobs in place (keeps the generator's position).
    pub(crate) fn update(&mut self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.faults);
    }

    /// Draws only for a non-zero rate, so unrelated knobs do not shift the sequence.
    fn chance(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random::<f64>() < rate
    }

    pub(crate) fn latency(&mut self) -> Duration {
        let f = &mut self.faults;
        if f.latency.is_zero() {
            return Duration::ZERO;
        }
        match &mut f.latency_next {
            None => f.latency,
            Some(n) => {
                if take(n) {
                    f.latency
                } else {
                    Duration::ZERO
                }
            }
        }
    }

    pub(crate) fn revoke_now(&mut self, helix_requests: u64, endpoint: &str) -> bool {
        let every = self.faults.revoke_every;
        let periodic = every > 0 && helix_requests.is_multiple_of(every);
        periodic
            || (endpoint == "channels/followers"
                && take(&mut self.faults.revoke_before_followers_next))
    }

    pub(crate) fn storm(&mut self) -> bool {
        take(&mut self.faults.storm_next)
    }

    pub(crate) fn server_error(&mut self) -> bool {
        take(&mut self.faults.error_next) || self.chance(self.faults.error_rate)
    }

    pub(crate) fn body_fault(&mut self) -> Option<BodyFault> {
        if take(&mut self.faults.malformed_next) || self.chance(self.faults.malformed_rate) {
            Some(BodyFault::Malformed)
        } else if take(&mut self.faults.truncated_next) || self.chance(self.faults.truncated_rate) {
            Some(BodyFault::Truncated)
        } else {
            None
        }
    }

    pub(crate) fn missing_total(&mut self) -> bool {
        take(&mut self.faults.missing_total_next) || self.chance(self.faults.missing_total_rate)
    }

    /// The paging faults of a request (`drop_total` is decided apart).
    pub(crate) fn paging(&self) -> PageFaults {
        PageFaults {
            overlap: self.faults.duplicate_overlap,
            skip: self.faults.skip_between_pages,
            loop_after: self.faults.loop_after_pages,
            drop_total: false,
        }
    }
}

impl BodyFault {
    /// Breaks `body` the way this fault says.
    pub(crate) fn apply(self, body: Vec<u8>) -> Vec<u8> {
        match self {
            // What a proxy in trouble sends with a 200: not JSON at all.
            BodyFault::Malformed => b"{\"data\":[{\"id\":<html>upstream hiccup</html>".to_vec(),
            BodyFault::Truncated => {
                let mut body = body;
                body.truncate(body.len() / 2);
                body
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_fire_n_times_and_rates_are_seeded() {
        let mut s = FaultState::new(Faults {
            error_next: 2,
            ..Faults::default()
        });
        assert!(s.server_error());
        assert!(s.server_error());
        assert!(!s.server_error());
        assert_eq!(s.get().error_next, 0);

        let draws = |seed| {
            let mut s = FaultState::new(Faults {
                seed,
                error_rate: 0.5,
                ..Faults::default()
            });
            (0..64).map(|_| s.server_error()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn latency_applies_to_all_or_the_next_n() {
        let d = Duration::from_millis(5);
        let mut s = FaultState::new(Faults {
            latency: d,
            ..Faults::default()
        });
        assert_eq!((s.latency(), s.latency()), (d, d));
        s.set(Faults {
            latency: d,
            latency_next: Some(1),
            ..Faults::default()
        });
        assert_eq!((s.latency(), s.latency()), (d, Duration::ZERO));
    }

    #[test]
    fn broken_bodies_do_not_parse() {
        let body = br#"{"data":[],"pagination":{}}"#.to_vec();
        for f in [BodyFault::Malformed, BodyFault::Truncated] {
            assert!(serde_json::from_slice::<serde_json::Value>(&f.apply(body.clone())).is_err());
        }
    }
}
