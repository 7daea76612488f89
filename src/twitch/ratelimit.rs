//! The client's view of the Helix token bucket, learned from the
//! `Ratelimit-Limit/Remaining/Reset` headers, so the client never sends a
//! request the bucket cannot pay for (waits go through the injected clock).
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;
use tokio::sync::Notify;

use crate::clock::Clock;

/// Wait after a 429 whose `Ratelimit-Reset` is missing or already past, so a
/// misbehaving server is not hammered.
pub(crate) const FALLBACK_429_WAIT: Duration = Duration::from_secs(1);
/// Longest wait for one reset: a bogus far-future header must not stall a cycle.
const MAX_RESET_WAIT: Duration = Duration::from_secs(300);

/// The rate-limit headers of one response (any may be missing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub(crate) limit: Option<u32>,
    pub(crate) remaining: Option<u32>,
    pub(crate) reset: Option<DateTime<Utc>>,
}

impl RateHeaders {
    /// Reads the headers; unparseable values count as missing.
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let num = |name: &str| h.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        Self {
            limit: num("ratelimit-limit").map(clamp_u32),
            remaining: num("ratelimit-remaining").map(clamp_u32),
            reset: num("ratelimit-reset")
                .and_then(|s| i64::try_from(s).ok())
                .and_then(|s| DateTime::from_timestamp(s, 0)),
        }
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// What the bucket allows right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Go,
    /// Wait for an in-flight response to tell us more.
    WaitForResponse,
    /// The bucket is spent: wait until it is full again.
    SleepUntil(DateTime<Utc>),
}

/// Pure bucket bookkeeping (unit-tested without I/O).
#[derive(Debug, Default)]
struct State {
    limit: Option<u32>,
    /// Our estimate of the points left: the lowest `Remaining` seen since the
    /// last reset (a late response carrying a stale, higher value never raises it).
    remaining: Option<u32>,
    /// Latest `Ratelimit-Reset` seen: once it passes, every request we made
    /// has been refilled and the bucket is full.
    reset: Option<DateTime<Utc>>,
    in_flight: u32,
    /// Whether any response arrived: until then a single request probes the
    /// limits, so a burst cannot overrun a bucket we know nothing about.
    probed: bool,
}

impl State {
    fn decide(&mut self, now: DateTime<Utc>) -> Decision {
        if !self.probed {
            return if self.in_flight == 0 {
                Decision::Go
            } else {
                Decision::WaitForResponse
            };
        }
        if self.reset.is_some_and(|reset| reset <= now) {
            // Every request we made has been refilled: the bucket is full
            // (or, if no limit was ever announced, there is none).
            self.remaining = self.limit;
        }
        match self.remaining {
            // The server sends no limits: nothing to respect.
            None => Decision::Go,
            Some(r) if r > self.in_flight => Decision::Go,
            Some(_) => match self.reset {
                Some(reset) if reset > now => Decision::SleepUntil(reset),
                _ if self.in_flight > 0 => Decision::WaitForResponse,
                // No reset known and nothing in flight: probe again.
                _ => Decision::Go,
            },
        }
    }

    fn observe(&mut self, h: &RateHeaders) {
        self.probed = true;
        if h.limit.is_some() {
            self.limit = h.limit;
        }
        if let Some(r) = h.remaining {
            self.remaining = Some(self.remaining.map_or(r, |cur| cur.min(r)));
        }
        if let Some(reset) = h.reset {
            self.reset = Some(self.reset.map_or(reset, |cur| cur.max(reset)));
        }
    }

    fn rate_limited(&mut self, h: &RateHeaders, now: DateTime<Utc>) {
        self.observe(h);
        self.remaining = Some(0);
        let cap = now + TimeDelta::from_std(MAX_RESET_WAIT).unwrap_or(TimeDelta::MAX);
        let fallback = now + TimeDelta::from_std(FALLBACK_429_WAIT).unwrap_or(TimeDelta::MAX);
        let until = match h.reset {
            Some(reset) if reset > now => reset.min(cap),
            _ => fallback,
        };
        // Replace (not max) so a bogus far-future reset seen earlier is capped too.
        self.reset = Some(until.max(self.reset.unwrap_or(until).min(cap)));
    }
}

/// Shared limiter: every request takes a [`Permit`] first.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    state: Mutex<State>,
    changed: Notify,
}

impl RateLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Bookkeeping only: a panic elsewhere cannot leave it inconsistent enough to matter.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the bucket can pay for one more request.
    pub(crate) async fn acquire(&self, clock: &dyn Clock) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before reading the state, so a response that lands in
            // between still wakes us.
            notified.as_mut().enable();
            let decision = {
                let mut s = self.lock();
                let d = s.decide(clock.now());
                if d == Decision::Go {
                    s.in_flight += 1;
                }
                d
            };
            match decision {
                Decision::Go => {
                    return Permit {
                        limiter: self,
                        open: true,
                    };
                }
                Decision::WaitForResponse => notified.await,
                Decision::SleepUntil(t) => clock.sleep_until(t).await,
            }
        }
    }
}

/// One request's claim on the bucket; dropping it without a response (an
/// error, a cancelled future) gives the claim back.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    open: bool,
}

impl Permit<'_> {
    /// The response arrived: learn from its headers.
    pub(crate) fn complete(mut self, h: &RateHeaders) {
        self.close(|s| s.observe(h));
    }

    /// The response was a 429: nobody sends until the reset.
    pub(crate) fn rate_limited(mut self, h: &RateHeaders, now: DateTime<Utc>) {
        self.close(|s| s.rate_limited(h, now));
    }

    fn close(&mut self, f: impl FnOnce(&mut State)) {
        if self.open {
            self.open = false;
            {
                let mut s = self.limiter.lock();
                s.in_flight = s.in_flight.saturating_sub(1);
                f(&mut s);
            }
            self.limiter.changed.notify_waiters();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.close(|_| {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn headers(limit: u32, remaining: u32, reset: i64) -> RateHeaders {
        RateHeaders {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(t(reset)),
        }
    }

    #[test]
    fn probes_once_then_spends_the_bucket_counting_requests_in_flight() {
        let mut s = State::default();
        assert_eq!(s.decide(t(0)), Decision::Go);
        s.in_flight = 1;
        assert_eq!(s.decide(t(0)), Decision::WaitForResponse);
        s.in_flight = 0;
        s.observe(&headers(10, 2, 2));
        s.in_flight = 1;
        assert_eq!(s.decide(t(0)), Decision::Go);
        s.in_flight = 2;
        assert_eq!(s.decide(t(0)), Decision::SleepUntil(t(2)));
        // Once the reset passes the bucket is full again.
        assert_eq!(s.decide(t(2)), Decision::Go);
        assert_eq!(s.remaining, Some(10));
    }

    #[test]
    fn a_stale_higher_remaining_never_raises_the_estimate() {
        let mut s = State::default();
        s.observe(&headers(10, 3, 5));
        s.observe(&headers(10, 7, 4));
        assert_eq!(s.remaining, Some(3));
        assert_eq!(s.reset, Some(t(5)));
    }

    #[test]
    fn a_429_blocks_until_its_reset_or_a_fallback_delay() {
        let mut s = State::default();
        s.rate_limited(&headers(10, 5, 3), t(0));
        assert_eq!(s.decide(t(0)), Decision::SleepUntil(t(3)));
        let mut s = State::default();
        s.rate_limited(&RateHeaders::default(), t(0));
        assert_eq!(s.decide(t(0)), Decision::SleepUntil(t(1)));
    }

    #[test]
    fn no_headers_means_no_limit() {
        let mut s = State::default();
        s.observe(&RateHeaders::default());
        s.in_flight = 50;
        assert_eq!(s.decide(t(0)), Decision::Go);
    }

    #[test]
    fn reads_headers_case_insensitively_and_ignores_garbage() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("Ratelimit-Limit", "800"),
            ("Ratelimit-Remaining", "x"),
            ("Ratelimit-Reset", "1700000002"),
        ] {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let r = RateHeaders::from_headers(&h);
        assert_eq!(
            r,
            RateHeaders {
                limit: Some(800),
                remaining: None,
                reset: Some(t(2))
            }
        );
    }
}
