//! One day's gold, folded from silver rows as cycles commit: per-streamer,
//! per-category and per-hour accumulators whose cost is the cycle's rows,
//! not the day's. The figures are those of `docs/data-contract.md`: hours
//! watched = Σ viewers × interval; average viewers = hours watched / hours
//! live; peak = highest sample.
//!
//! Folding is order-independent: time-weighted sums are kept in integer
//! microseconds (exact, so no float rounding depends on the order samples
//! arrive in) and per-cycle figures are sealed in cycle order. A day folded
//! cycle by cycle (live cycles, `rebuild`) and the same day loaded from its
//! silver partition in one scan (after a restart) give bit-identical rows.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

pub use super::rows::{CategoryRow, DailyRow, FollowSample, HourRow, Sample};

/// The newest value seen, by observation time (ties: the greater value, so
/// the result never depends on fold order).
#[derive(Debug, Clone)]
struct Latest {
    at: i64,
    value: Box<str>,
}

impl Latest {
    fn new(at: DateTime<Utc>, value: &str) -> Self {
        Self {
            at: at.timestamp_micros(),
            value: value.into(),
        }
    }

    fn offer(&mut self, at: DateTime<Utc>, value: &str) {
        let at = at.timestamp_micros();
        if (at, value) > (self.at, &*self.value) {
            *self = Self {
                at,
                value: value.into(),
            };
        }
    }
}

#[derive(Debug, Clone)]
struct UserDay {
    id: Box<str>,
    /// `None` until the user's first stream sample of the day.
    login: Option<Latest>,
    micros: i64,
    viewer_micros: i128,
    peak: i64,
    /// Sessions are few per day: a list beats a set.
    sessions: Vec<Box<str>>,
    /// Microseconds per category name ('' excluded).
    games: Vec<(Box<str>, i64)>,
    /// Microseconds per stream language ('' excluded).
    languages: Vec<(Box<str>, i64)>,
    followers: Option<Follows>,
}

#[derive(Debug, Clone, Copy)]
struct Follows {
    first: (i64, i64),
    last: (i64, i64),
    gained: Option<i64>,
}

#[derive(Debug, Clone)]
struct GameDay {
    id: Box<str>,
    name: Option<Latest>,
    viewer_micros: i128,
    /// Highest Σ viewers of one cycle.
    peak: i64,
    /// Σ over cycles of the channels in the category, and those cycles.
    channel_sum: i64,
    cycles: i64,
}

/// What one cycle contributes per category and per hour, folded when sealed.
#[derive(Debug, Clone, Default)]
struct Partial {
    /// Category → (Σ viewers, channels) — categories with an id only.
    games: HashMap<u32, (i64, i64)>,
    /// (hour, category) → streams, Σ viewers, latest name — every category.
    hours: HashMap<(i64, u32), (i64, i64, Latest)>,
}

#[derive(Debug, Clone)]
struct HourGame {
    streams: i64,
    viewers: i64,
    name: Box<str>,
}

/// The running gold of one UTC day.
#[derive(Debug, Clone)]
pub struct Day {
    day: NaiveDate,
    last_cycle: Option<i64>,
    users: HashMap<Box<str>, u32>,
    user_days: Vec<UserDay>,
    games: HashMap<Box<str>, u32>,
    game_days: Vec<GameDay>,
    /// (category, user) pairs seen, categories with an id only.
    game_users: HashSet<(u32, u32)>,
    /// Earliest and latest sample, whole Unix seconds.
    span: Option<(i64, i64)>,
    hours: BTreeMap<(i64, u32), HourGame>,
    /// Cycles seen per hour (µs of the hour's start).
    hour_cycles: BTreeMap<i64, i64>,
    pending: BTreeMap<i64, Partial>,
}

const HOUR_MICROS: i64 = 3_600_000_000;

/// Whole microseconds of a sample's interval (silver keeps seconds as a
/// float; intervals come from timestamps, so this is exact).
fn micros(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64
}

/// Seconds of an exact microsecond sum, rounded once.
fn seconds(micros: impl Into<i128>) -> f64 {
    micros.into() as f64 / 1e6
}

/// Adds `micros` to `key`'s time ('' is not counted): few keys per
/// streamer-day, so a list beats a map.
fn add_time(times: &mut Vec<(Box<str>, i64)>, key: &str, micros: i64) {
    if key.is_empty() {
        return;
    }
    match times.iter_mut().find(|(k, _)| **k == *key) {
        Some((_, t)) => *t += micros,
        None => times.push((key.into(), micros)),
    }
}

/// The key with the most time (ties: the smaller key, so the result never
/// depends on fold order).
fn longest(times: &[(Box<str>, i64)]) -> Option<String> {
    times
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(k, _)| k.to_string())
}

impl Day {
    /// An empty day.
    pub fn new(day: NaiveDate) -> Self {
        Self {
            day,
            last_cycle: None,
            users: HashMap::new(),
            user_days: Vec::new(),
            games: HashMap::new(),
            game_days: Vec::new(),
            game_users: HashSet::new(),
            span: None,
            hours: BTreeMap::new(),
            hour_cycles: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The day.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// The newest cycle folded in, if any: a cycle at or before it is
    /// already counted and must not be folded again.
    pub fn last_cycle(&self) -> Option<i64> {
        self.last_cycle
    }

    /// Streamers with a row today.
    pub fn streamers(&self) -> usize {
        self.user_days.len()
    }

    fn user(&mut self, id: &str) -> &mut UserDay {
        let next = self.user_days.len() as u32;
        let i = *self.users.entry(id.into()).or_insert(next);
        if i == next {
            self.user_days.push(UserDay {
                id: id.into(),
                login: None,
                micros: 0,
                viewer_micros: 0,
                peak: 0,
                sessions: Vec::new(),
                games: Vec::new(),
                languages: Vec::new(),
                followers: None,
            });
        }
        &mut self.user_days[i as usize]
    }

    fn game(&mut self, id: &str) -> u32 {
        let next = self.game_days.len() as u32;
        let i = *self.games.entry(id.into()).or_insert(next);
        if i == next {
            self.game_days.push(GameDay {
                id: id.into(),
                name: None,
                viewer_micros: 0,
                peak: 0,
                channel_sum: 0,
                cycles: 0,
            });
        }
        i
    }

    fn saw_cycle(&mut self, cycle_id: i64) {
        self.last_cycle = Some(self.last_cycle.map_or(cycle_id, |c| c.max(cycle_id)));
    }

    /// Folds in one stream sample of this day. Call [`Day::seal`] once the
    /// cycle's samples are all in.
    pub fn add_sample(&mut self, s: &Sample<'_>) {
        debug_assert_eq!(s.observed_at.date_naive(), self.day);
        self.saw_cycle(s.cycle_id);
        let secs = s.observed_at.timestamp();
        self.span = Some(
            self.span
                .map_or((secs, secs), |(lo, hi)| (lo.min(secs), hi.max(secs))),
        );
        let interval = micros(s.interval_seconds);
        let weighted = i128::from(s.viewer_count) * i128::from(interval);

        let u = self.user(s.user_id);
        match &mut u.login {
            Some(l) => l.offer(s.observed_at, s.user_login),
            None => u.login = Some(Latest::new(s.observed_at, s.user_login)),
        }
        u.micros += interval;
        u.viewer_micros += weighted;
        u.peak = u.peak.max(s.viewer_count);
        if !u.sessions.iter().any(|x| **x == *s.session_id) {
            u.sessions.push(s.session_id.into());
        }
        add_time(&mut u.games, s.game_name, interval);
        add_time(&mut u.languages, s.language, interval);
        let user = self.users[s.user_id];

        let game = self.game(s.game_id);
        let hour = s.observed_at.timestamp_micros().div_euclid(HOUR_MICROS) * HOUR_MICROS;
        let part = self.pending.entry(s.cycle_id).or_default();
        match part.hours.get_mut(&(hour, game)) {
            Some((streams, viewers, name)) => {
                *streams += 1;
                *viewers += s.viewer_count;
                name.offer(s.observed_at, s.game_name);
            }
            None => {
                let name = Latest::new(s.observed_at, s.game_name);
                part.hours.insert((hour, game), (1, s.viewer_count, name));
            }
        }
        if s.game_id.is_empty() {
            return;
        }
        let e = part.games.entry(game).or_default();
        e.0 += s.viewer_count;
        e.1 += 1;
        self.game_users.insert((game, user));
        let g = &mut self.game_days[game as usize];
        g.viewer_micros += weighted;
        match &mut g.name {
            Some(n) => n.offer(s.observed_at, s.game_name),
            None => g.name = Some(Latest::new(s.observed_at, s.game_name)),
        }
    }

    /// Folds in one follower sample of this day.
    pub fn add_follow(&mut self, f: &FollowSample<'_>) {
        debug_assert_eq!(f.observed_at.date_naive(), self.day);
        self.saw_cycle(f.cycle_id);
        let at = f.observed_at.timestamp_micros();
        let u = self.user(f.user_id);
        let point = (at, f.total);
        u.followers = Some(match u.followers {
            None => Follows {
                first: point,
                last: point,
                gained: f.delta,
            },
            Some(mut x) => {
                x.first = x.first.min(point);
                x.last = x.last.max(point);
                x.gained = match (x.gained, f.delta) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                x
            }
        });
    }

    /// Folds the per-cycle figures (category peaks and channel averages,
    /// hourly averages) of the cycles added since the last seal, in cycle order.
    pub fn seal(&mut self) {
        for (_, part) in std::mem::take(&mut self.pending) {
            for (game, (viewers, channels)) in part.games {
                let g = &mut self.game_days[game as usize];
                g.peak = g.peak.max(viewers);
                g.channel_sum += channels;
                g.cycles += 1;
            }
            let mut hours: Vec<i64> = part.hours.keys().map(|(h, _)| *h).collect();
            hours.sort_unstable();
            hours.dedup();
            for h in hours {
                *self.hour_cycles.entry(h).or_default() += 1;
            }
            for (key, (streams, viewers, name)) in part.hours {
                let e = self.hours.entry(key).or_insert_with(|| HourGame {
                    streams: 0,
                    viewers: 0,
                    name: Box::default(),
                });
                e.streams += streams;
                e.viewers += viewers;
                e.name = name.value;
            }
        }
    }

    /// The day's `gold.streamer_daily` rows; `login_at_end` gives the
    /// profile login valid at the day's end, for streamers not seen live.
    pub fn streamer_rows<'a>(
        &self,
        login_at_end: impl Fn(&str) -> Option<&'a str>,
    ) -> Vec<DailyRow> {
        self.user_days
            .iter()
            .map(|u| {
                let minutes = seconds(u.micros) / 60.0;
                let hours_watched = seconds(u.viewer_micros) / 3600.0;
                let login = match &u.login {
                    Some(l) => l.value.to_string(),
                    None => login_at_end(&u.id).unwrap_or_default().to_owned(),
                };
                let main_game = longest(&u.games);
                let language = longest(&u.languages);
                DailyRow {
                    user_id: u.id.to_string(),
                    login,
                    minutes_streamed: minutes,
                    avg_viewers: if minutes > 0.0 {
                        hours_watched / (minutes / 60.0)
                    } else {
                        0.0
                    },
                    peak_viewers: u.peak,
                    hours_watched,
                    sessions: u.sessions.len() as i64,
                    followers_start: u.followers.map(|f| f.first.1),
                    followers_end: u.followers.map(|f| f.last.1),
                    followers_gained: u.followers.and_then(|f| f.gained),
                    main_game,
                    language,
                }
            })
            .collect()
    }

    /// The day's `gold.category_daily` rows; `poll_secs` (the cycle interval)
    /// completes the observed part of the day.
    pub fn category_rows(&self, poll_secs: f64) -> Vec<CategoryRow> {
        let Some((lo, hi)) = self.span else {
            return Vec::new();
        };
        let covered = ((hi - lo) as f64 + poll_secs).min(86_400.0);
        let mut channels: HashMap<u32, i64> = HashMap::new();
        for (g, _) in &self.game_users {
            *channels.entry(*g).or_default() += 1;
        }
        self.game_days
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.id.is_empty() && g.cycles > 0)
            .map(|(i, g)| {
                let hours_watched = seconds(g.viewer_micros) / 3600.0;
                let avg_viewers = hours_watched * 3600.0 / covered;
                let avg_channels = g.channel_sum as f64 / g.cycles as f64;
                CategoryRow {
                    game_id: g.id.to_string(),
                    game_name: g
                        .name
                        .as_ref()
                        .map(|n| n.value.to_string())
                        .unwrap_or_default(),
                    channels: channels.get(&(i as u32)).copied().unwrap_or(0),
                    hours_watched,
                    avg_viewers,
                    peak_viewers: g.peak,
                    viewers_per_channel: avg_viewers / avg_channels,
                }
            })
            .collect()
    }

    /// The day's `gold.hourly_viewership` rows, by hour then category.
    pub fn hourly_rows(&self) -> Vec<HourRow> {
        let mut rows: Vec<HourRow> = self
            .hours
            .iter()
            .map(|(&(hour, game), h)| {
                let n = self.hour_cycles.get(&hour).copied().unwrap_or(1).max(1) as f64;
                HourRow {
                    hour: DateTime::from_timestamp_micros(hour).unwrap_or_default(),
                    game_id: self.game_days[game as usize].id.to_string(),
                    game_name: h.name.to_string(),
                    streams: (h.streams as f64 / n).round() as i64,
                    viewers: (h.viewers as f64 / n).round() as i64,
                }
            })
            .collect();
        rows.sort_by(|a, b| (a.hour, &a.game_id).cmp(&(b.hour, &b.game_id)));
        rows
    }
}
