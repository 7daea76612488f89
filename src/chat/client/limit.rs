//! Pacing on the client's clock: Twitch's JOIN rate limit (a sliding window
//! shared by all connections) and the reconnect backoff.
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// JOINs allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinLimit {
    /// JOINs per window (Twitch: 20 for a normal account).
    pub joins: u32,
    /// The window (Twitch: 10 s).
    pub per: Duration,
}

impl Default for JoinLimit {
    fn default() -> Self {
        Self {
            joins: 20,
            per: Duration::from_secs(10),
        }
    }
}

/// Twitch's JOIN limit kept exactly: a JOIN may go when fewer than `joins`
/// went in the last `per` (a sliding window over the last `joins` send
/// times). A token bucket refilling `joins` per `per` would let up to
/// 2·`joins` − 1 through in one window.
#[derive(Debug)]
pub struct JoinLimiter {
    limit: JoinLimit,
    sent: Mutex<VecDeque<DateTime<Utc>>>,
}

impl JoinLimiter {
    /// A limiter with no JOIN sent yet.
    pub fn new(limit: JoinLimit) -> Self {
        Self {
            limit,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes a place for a JOIN at `now`, or says how long until one is free.
    pub fn try_take(&self, now: DateTime<Utc>) -> Result<(), Duration> {
        let max = self.limit.joins.max(1) as usize;
        let per = TimeDelta::from_std(self.limit.per).unwrap_or(TimeDelta::MAX);
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        while sent.front().is_some_and(|t| now - *t >= per) {
            sent.pop_front();
        }
        if sent.len() < max {
            sent.push_back(now);
            return Ok(());
        }
        let oldest = sent.front().copied().unwrap_or(now);
        Err((oldest + per - now).to_std().unwrap_or_default())
    }
}

/// First reconnect delay after a failure; doubles per failure.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest reconnect delay.
const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// Delay before reconnect attempt `failures` (1, 2, …): 1 s doubling up to
/// 60 s, each drawn between half and all of that (so many clients that lost
/// the server together do not come back together).
pub fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    exp.min(BACKOFF_CAP)
        .mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn twenty_joins_then_wait_for_the_window() {
        let l = JoinLimiter::new(JoinLimit::default());
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        for i in 0..20 {
            assert_eq!(l.try_take(t0 + TimeDelta::milliseconds(i * 100)), Ok(()));
        }
        let t = t0 + TimeDelta::seconds(3);
        assert_eq!(l.try_take(t), Err(Duration::from_secs(7)));
        assert!(l.try_take(t0 + TimeDelta::milliseconds(9_999)).is_err());
        // The first JOIN leaves the window after 10 s, the second 100 ms later.
        assert_eq!(l.try_take(t0 + TimeDelta::seconds(10)), Ok(()));
        assert_eq!(
            l.try_take(t0 + TimeDelta::seconds(10)),
            Err(Duration::from_millis(100))
        );
        // A long pause frees the whole window, no more.
        let t = t0 + TimeDelta::seconds(60);
        for _ in 0..20 {
            assert_eq!(l.try_take(t), Ok(()));
        }
        assert!(l.try_take(t).is_err());
    }

    #[test]
    fn no_ten_second_window_holds_more_than_twenty_joins() {
        let l = JoinLimiter::new(JoinLimit::default());
        let mut now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let mut sent = Vec::new();
        while sent.len() < 200 {
            match l.try_take(now) {
                Ok(()) => sent.push(now),
                Err(wait) => now += TimeDelta::from_std(wait).unwrap(),
            }
        }
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|u| **u - *t < TimeDelta::seconds(10))
                .count();
            assert!(in_window <= 20, "{in_window} JOINs in the 10 s from {t}");
        }
        // And no slower than it must be: 200 JOINs in 90 s (20 every 10 s).
        assert_eq!(*sent.last().unwrap() - sent[0], TimeDelta::seconds(90));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for failures in 1..40 {
            let d = backoff(failures);
            let full = BACKOFF_BASE
                .saturating_mul(1u32 << (failures - 1).min(16))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "failure {failures}: {d:?}");
        }
    }
}
