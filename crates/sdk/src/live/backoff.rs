//! Reconnect delays: exponential backoff with jitter.

use std::time::Duration;

/// Exponential backoff: the base delay starts at `min`, doubles after every
/// failure up to `max`, and returns to `min` after a success. Each delay
/// actually waited is drawn uniformly from `[base/2, base]` ("equal
/// jitter"), so that many clients dropped at once by a restarting server do
/// not reconnect in lockstep, yet none retries sooner than half the base.
#[derive(Clone, Debug)]
pub struct Backoff {
    /// First delay after a success.
    min: Duration,
    /// Cap on the base delay.
    max: Duration,
    /// The base delay of the next failure.
    next: Duration,
}

impl Backoff {
    /// A backoff from `min` doubling to `max` (`max` is raised to `min` if
    /// smaller).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The base delay for the next failure, and advances the schedule.
    pub fn next_base(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(self.max);
        base
    }

    /// The delay to wait after a failure: the next base delay with jitter.
    pub fn next_delay(&mut self) -> Duration {
        jitter(self.next_base(), random_unit())
    }

    /// Back to the start of the schedule, after a success.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// `base` scaled into `[base/2, base]` by `unit` in `[0, 1)`.
pub(crate) fn jitter(base: Duration, unit: f64) -> Duration {
    base.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// A uniformly random number in `[0, 1)`. Drawn from a v4 UUID's random
/// bits, which saves a dependency on a random-number crate.
pub(crate) fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let schedule: Vec<u128> = (0..10).map(|_| b.next_base().as_millis()).collect();
        assert_eq!(
            schedule,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        b.reset();
        assert_eq!(b.next_base(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_between_half_and_full() {
        let base = Duration::from_millis(800);
        assert_eq!(jitter(base, 0.0), Duration::from_millis(400));
        assert_eq!(jitter(base, 1.0), base);
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_secs(10));
        }
    }
}
