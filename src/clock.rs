//! Time as a seam: the system clock in production, a scaled clock owned by the
//! simulator (so a demo fills days in minutes), and a manual clock for tests.
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where "now" comes from, and how long a wait in that time takes.
pub trait Clock: Send + Sync + Debug {
    /// The current instant, in UTC, truncated to microseconds (the lake's precision).
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `d` of this clock's time.
    fn sleep(&self, d: Duration) -> Sleep;
    /// Waits until this clock reads `t` (returns at once if it already does).
    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep {
        let d = (t - self.now()).to_std().unwrap_or_default();
        self.sleep(d)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_micros(Utc::now())
    }
    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Simulated time that starts at `origin` and runs `speed` times faster than
/// real time (60 = one simulated minute per real second).
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin: DateTime<Utc>,
    started: Instant,
    speed: f64,
}

impl ScaledClock {
    /// A clock reading `origin` now and advancing `speed`× real time.
    pub fn new(origin: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self {
            origin,
            started: Instant::now(),
            speed,
        }
    }
    /// How many simulated seconds pass per real second.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.started.elapsed().as_secs_f64();
        let sim = TimeDelta::microseconds((real * self.speed * 1e6) as i64);
        truncate_micros(self.origin + sim)
    }
    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d.div_f64(self.speed)))
    }
}

/// A clock that only moves when told to. `sleep` advances it by the slept
/// duration and returns at once, so code that waits (rate limits, backoff)
/// runs instantly in tests while still observing the passage of time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A manual clock reading `t`.
    pub fn new(t: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(truncate_micros(t))),
        }
    }
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
    }
    /// Sets the clock to `t` (which may be in the past).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = truncate_micros(t);
    }
}

impl Clock for ManualClock {
    /// Truncated like the other clocks' readings: the clock itself keeps
    /// what it was moved by to the nanosecond (a jittered backoff sleeps
    /// fractions of a microsecond), but a reading with them would differ
    /// from what the lake stores, and a cycle derived from it from the same
    /// cycle replayed from bronze.
    fn now(&self) -> DateTime<Utc> {
        truncate_micros(*self.now.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn sleep(&self, d: Duration) -> Sleep {
        self.advance(d);
        Box::pin(tokio::task::yield_now())
    }
    /// Moves the clock to `t` unless it already reads `t` or later, in one
    /// step: tasks that wait for the same instant at once (two chat
    /// connections sharing a JOIN limit) move it there once, not once each.
    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = (*now).max(truncate_micros(t));
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_moves_only_when_told_or_slept() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.sleep(Duration::from_secs(5)).await;
        assert_eq!(c.now(), t0 + TimeDelta::seconds(5));
        c.sleep_until(t0).await; // in the past: no change
        assert_eq!(c.now(), t0 + TimeDelta::seconds(5));
    }

    #[tokio::test]
    async fn a_manual_clock_reads_whole_microseconds_after_fractional_sleeps() {
        // What a jittered backoff sleeps: fractions of a microsecond too.
        // Readings must still be what the lake stores (a live cycle whose
        // times had nanoseconds derived other rows than its replay).
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let c = ManualClock::new(t0);
        for _ in 0..3 {
            c.sleep(Duration::from_nanos(1_400)).await;
            assert_eq!(c.now().timestamp_subsec_nanos() % 1_000, 0, "{}", c.now());
        }
        // Nothing slept is lost: 3 × 1.4 µs.
        assert_eq!(c.now(), t0 + TimeDelta::microseconds(4));
        c.advance(Duration::from_nanos(800));
        assert_eq!(c.now(), t0 + TimeDelta::microseconds(5));
    }

    #[test]
    fn waits_for_one_instant_move_a_manual_clock_there_once() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let at = t0 + TimeDelta::seconds(10);
        // Two threads reach the same deadline together, many times over: the
        // clock ends at the deadline every time, never 10 s past it.
        for _ in 0..2_000 {
            let c = ManualClock::new(t0);
            let ready = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        ready.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        while ready.load(std::sync::atomic::Ordering::SeqCst) < 2 {
                            std::hint::spin_loop();
                        }
                        drop(c.sleep_until(at));
                    });
                }
            });
            assert_eq!(c.now(), at);
        }
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let real = Instant::now();
        let c = ScaledClock::new(t0, 3600.0);
        let elapsed_sim = c.now() - t0;
        // Simulated time never runs ahead of 3600x the real time that has passed.
        let bound = real.elapsed().as_secs_f64() * 3600.0;
        assert!(elapsed_sim.as_seconds_f64() <= bound + 1e-3);
        assert_eq!(c.speed(), 3600.0);
        assert!(c.now() >= t0);
    }
}
