//! The Helix rate-limit bucket as Twitch runs it: N points refilling
//! continuously over a window, one point per request, on the simulated clock.
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Bucket size and refill window; `points == 0` switches limiting off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Bucket size (and points refilled per window); 0 = unlimited.
    pub points: u32,
    /// Time to refill an empty bucket.
    pub window: Duration,
}

impl Default for RateLimit {
    /// Twitch's app-token bucket: 800 points per minute.
    fn default() -> Self {
        Self {
            points: 800,
            window: Duration::from_secs(60),
        }
    }
}

impl RateLimit {
    /// No limit at all (benchmarks).
    pub fn off() -> Self {
        Self {
            points: 0,
            window: Duration::from_secs(60),
        }
    }
}

/// What the `Ratelimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateState {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Unix seconds when the bucket is full again.
    pub(crate) reset: i64,
}

/// A continuously refilling token bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    limit: u32,
    tokens: f64,
    per_sec: f64,
    last: DateTime<Utc>,
    /// Requests refused in a row, and the worst run ever: a client that
    /// respects the headers never gets refused, so this stays 0.
    over: u64,
    max_over: u64,
    refused: u64,
}

impl Bucket {
    /// A full bucket, or `None` when limiting is off.
    pub(crate) fn new(cfg: RateLimit, now: DateTime<Utc>) -> Option<Self> {
        if cfg.points == 0 {
            return None;
        }
        let window = cfg.window.as_secs_f64().max(1e-3);
        Some(Self {
            limit: cfg.points,
            tokens: f64::from(cfg.points),
            per_sec: f64::from(cfg.points) / window,
            last: now,
            over: 0,
            max_over: 0,
            refused: 0,
        })
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        let dt = (now - self.last).as_seconds_f64();
        if dt > 0.0 {
            self.tokens = (self.tokens + dt * self.per_sec).min(f64::from(self.limit));
            self.last = now;
        }
    }

    /// Takes one point; false (a 429) when the bucket is empty.
    pub(crate) fn take(&mut self, now: DateTime<Utc>) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.over = 0;
            true
        } else {
            self.over += 1;
            self.refused += 1;
            self.max_over = self.max_over.max(self.over);
            false
        }
    }

    /// The header values now.
    pub(crate) fn state(&mut self, now: DateTime<Utc>) -> RateState {
        self.refill(now);
        let missing = f64::from(self.limit) - self.tokens;
        let full_at = now.timestamp_micros() as f64 / 1e6 + missing / self.per_sec;
        RateState {
            limit: self.limit,
            remaining: self.tokens.floor() as u32,
            reset: full_at.ceil() as i64,
        }
    }

    /// Worst run of refused requests ever.
    pub(crate) fn max_over(&self) -> u64 {
        self.max_over
    }

    /// Requests refused in total.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_continuously_and_reports_when_full() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let cfg = RateLimit {
            points: 10,
            window: Duration::from_secs(2),
        };
        let mut b = Bucket::new(cfg, t0).unwrap();
        for _ in 0..10 {
            assert!(b.take(t0));
        }
        assert!(!b.take(t0));
        assert!(!b.take(t0));
        assert_eq!(
            b.state(t0),
            RateState {
                limit: 10,
                remaining: 0,
                reset: 1_700_000_002
            }
        );
        // 0.5 s refills 2.5 points.
        let t1 = t0 + chrono::TimeDelta::milliseconds(500);
        assert!(b.take(t1));
        assert!(b.take(t1));
        assert!(!b.take(t1));
        assert_eq!((b.max_over(), b.refused()), (2, 3));
        assert!(Bucket::new(RateLimit::off(), t0).is_none());
    }
}
