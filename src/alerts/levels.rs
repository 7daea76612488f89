//! Levels: what one rule makes of one key this cycle — fire, hold or clear
//! — from the figures that matter. One definition per rule kind, used both
//! by the per-cycle scan over every channel (`frame`) and by the look-up of
//! a single key (an open episode that may have cleared).
use super::figures::Fig;
use super::input::ChatActivity;
use super::rules::{Change, Condition, Direction};
use super::state::{Chan, Micros, micros_of};

/// The level of one key under one rule this cycle.
pub(crate) enum Level {
    Fire(Fig),
    Hold,
    Clear,
}

/// (lowest, highest) viewers in a window, if it holds samples.
pub(crate) type ViewerSpan = Option<(i64, i64)>;
/// (lowest, highest, newest) follower totals in a window, if it holds samples.
pub(crate) type FollowerSpan = Option<(i64, i64, i64)>;

/// The lowest and highest viewer counts of the live stream of `c` since
/// `now - window` (and past `min_uptime`), if it has samples there.
pub(crate) fn viewer_span(c: &Chan, now: Micros, window: Micros, min_uptime: Micros) -> ViewerSpan {
    let l = c.live.as_ref()?;
    let from = (now - window).max(l.started_at + min_uptime);
    let mut span: ViewerSpan = None;
    // Samples are oldest first: walk back from the newest.
    for &(t, v) in c.viewers.iter().rev() {
        if t < from {
            break;
        }
        span = Some(span.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
    }
    span
}

/// A viewer-change rule given the window's span and the viewers now.
pub(crate) fn viewers_level(condition: &Condition, span: ViewerSpan, viewers: i64) -> Level {
    let Condition::Viewers {
        direction,
        change,
        window,
        min_viewers,
        ..
    } = condition
    else {
        return Level::Clear;
    };
    let Some((lo, hi)) = span else {
        return Level::Clear;
    };
    let (base, edge) = if *direction == Direction::Down {
        (hi, hi)
    } else {
        (lo, viewers)
    };
    if edge.max(viewers) < *min_viewers {
        return Level::Clear;
    }
    change_level(*change, *direction, base, viewers, window.as_secs())
}

/// The lowest, highest and newest follower totals of `c` since `now - window`.
pub(crate) fn follower_span(c: &Chan, now: Micros, window: Micros) -> FollowerSpan {
    let from = now - window;
    let mut span: FollowerSpan = None;
    for &(t, v) in c.followers.iter().rev() {
        if t < from {
            break;
        }
        span = Some(span.map_or((v, v, v), |(lo, hi, last)| (lo.min(v), hi.max(v), last)));
    }
    span
}

/// A follower-change rule given the window's span.
pub(crate) fn followers_level(condition: &Condition, span: FollowerSpan) -> Level {
    let Condition::Followers {
        direction,
        change,
        window,
    } = condition
    else {
        return Level::Clear;
    };
    let Some((lo, hi, last)) = span else {
        return Level::Clear;
    };
    let base = if *direction == Direction::Down {
        hi
    } else {
        lo
    };
    change_level(*change, *direction, base, last, window.as_secs())
}

/// The went-live level of a live stream that started at `started_at`.
pub(crate) fn live_level(max_uptime: Micros, now: Micros, started_at: Micros) -> Level {
    if now - started_at <= max_uptime {
        Level::Fire(Fig::Live)
    } else {
        Level::Clear
    }
}

/// The level of a channel under a channel-state rule (scope aside).
pub(crate) fn chan_level(condition: &Condition, c: &Chan, now: Micros) -> Level {
    match condition {
        // Past `max_uptime` the episode may end: only a new stream (a
        // new start time) can fire again, and the cooldown covers restarts.
        Condition::WentLive { max_uptime } => match &c.live {
            Some(l) => live_level(micros_of(*max_uptime), now, l.started_at),
            None => Level::Clear,
        },
        Condition::WentOffline { grace } => match c.offline_since {
            _ if c.live.is_some() => Level::Clear,
            Some(t) if now - t >= micros_of(*grace) => Level::Fire(Fig::Offline { since: t }),
            _ => Level::Hold,
        },
        Condition::Viewers {
            window, min_uptime, ..
        } => match &c.live {
            Some(l) => viewers_level(
                condition,
                viewer_span(c, now, micros_of(*window), micros_of(*min_uptime)),
                l.viewers,
            ),
            None => Level::Clear,
        },
        Condition::Followers { window, .. } => {
            followers_level(condition, follower_span(c, now, micros_of(*window)))
        }
        _ => Level::Clear,
    }
}

/// Fire when the change from `base` to `now` meets every threshold set;
/// clear when it is below half of each; hold in between.
pub(crate) fn change_level(
    change: Change,
    direction: Direction,
    base: i64,
    now: i64,
    window_s: u64,
) -> Level {
    let delta = match direction {
        Direction::Down => base - now,
        _ => now - base,
    };
    if delta <= 0 {
        return Level::Clear;
    }
    let pct = (base > 0).then(|| 100.0 * delta as f64 / base as f64);
    let meets = |factor: f64| {
        change.by.is_none_or(|b| delta as f64 >= b as f64 * factor)
            && change
                .percent
                .is_none_or(|p| pct.is_some_and(|x| x >= p * factor) || (base == 0 && delta > 0))
    };
    if meets(1.0) {
        Level::Fire(Fig::Change {
            from: base,
            to: now,
            pct,
            window_s,
        })
    } else if meets(0.5) {
        Level::Hold
    } else {
        Level::Clear
    }
}

/// A chat rule over one channel's chat figures.
pub(crate) fn chat_level(condition: &Condition, a: &ChatActivity) -> Level {
    match condition {
        Condition::ChatSentiment {
            below,
            drop,
            min_messages,
        } => {
            let Some(s5) = a.sentiment_5m else {
                return Level::Clear;
            };
            if a.rate_5m < *min_messages {
                return Level::Clear;
            }
            let fell = a.sentiment_1h.map(|h| h - s5);
            let low = below.is_none_or(|b| s5 <= b);
            let dropped = drop.is_none_or(|d| fell.is_some_and(|f| f >= d));
            if low && dropped {
                Level::Fire(Fig::Chat)
            } else if below.is_none_or(|b| s5 <= b + 0.1)
                && drop.is_none_or(|d| fell.is_some_and(|f| f >= d / 2.0))
            {
                Level::Hold
            } else {
                Level::Clear
            }
        }
        Condition::ChatRate {
            direction,
            percent,
            min_messages,
        } => {
            if a.rate_5m.max(a.rate_1h) < *min_messages || a.rate_1h <= 0.0 {
                return Level::Clear;
            }
            let pct = 100.0 * (a.rate_5m - a.rate_1h) / a.rate_1h;
            let moved = match direction {
                Direction::Up => pct,
                Direction::Down => -pct,
                Direction::Any => pct.abs(),
            };
            if moved >= *percent {
                Level::Fire(Fig::Chat)
            } else if moved >= percent / 2.0 {
                Level::Hold
            } else {
                Level::Clear
            }
        }
        _ => Level::Clear,
    }
}
