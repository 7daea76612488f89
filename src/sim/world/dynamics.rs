//! The generated channels and their minute-by-minute dynamics: daily schedule,
//! sessions and restarts, viewer random walk around popularity × time of day,
//! raids and crashes, category/title changes, follower growth, renames, bans.
use chrono::{Duration, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::catalog::{self, GAMES, JUST_CHATTING, LANGS};
use super::{World, WorldConfig, minute_time, names};
use crate::twitch::models::User;

/// Per live minute: the stream drops and comes back under a new id.
const P_RESTART: f64 = 1.0 / 1200.0;
/// Per live minute: another channel raids this one.
const P_RAID: f64 = 1.0 / 1500.0;
/// Per live minute: a sudden drop (technical trouble, a rival event).
const P_CRASH: f64 = 1.0 / 3000.0;
/// Per live minute: the streamer switches category.
const P_GAME: f64 = 1.0 / 400.0;
/// Per live minute: the streamer edits the title.
const P_TITLE: f64 = 1.0 / 300.0;
/// Mean time between renames of one channel, in days.
const RENAME_DAYS: f64 = 200.0;
/// Mean time until a channel is banned, in days.
const BAN_DAYS: f64 = 1500.0;
/// Followers gained per minute per unit of popularity, live or not.
const ORGANIC_FOLLOWS: f64 = 1.5e-5;

/// One channel's state. Scripted channels use only the first block.
#[derive(Debug, Clone, Default)]
pub(super) struct Chan {
    /// Scripted (or banned) channels never change by themselves.
    pub(super) scripted: bool,
    pub(super) banned: bool,
    pub(super) language: String,
    /// Category index into the catalog (None: no category).
    pub(super) game: Option<usize>,
    pub(super) title: String,
    pub(super) tags: Vec<String>,
    pub(super) followers: u64,
    /// Position of the live stream in `World::live`, None when offline.
    pub(super) slot: Option<usize>,
    pub(super) d: Dyn,
}

/// The random dynamics of a generated channel.
#[derive(Debug, Clone, Default)]
pub(super) struct Dyn {
    /// Typical viewers at the audience's prime time.
    pub(super) pop: f64,
    /// Rising newcomers: popularity grows by e^(rate × days since start).
    pub(super) growth_per_day: f64,
    pub(super) growth_origin: i64,
    /// UTC hours: the audience's evening peak; the usual start of a session.
    pub(super) peak_hour: f64,
    pub(super) start_hour: f64,
    /// Chance to stream on a given day.
    pub(super) p_day: f64,
    pub(super) mean_len: f64,
    /// Follows per viewer-minute.
    pub(super) follow_rate: f64,
    pub(super) follow_frac: f64,
    pub(super) main_game: usize,
    pub(super) alt_games: [usize; 2],
    pub(super) session_start: i64,
    pub(super) planned_end: i64,
    pub(super) next_start: i64,
    pub(super) next_end: i64,
    /// After a restart: the minute the stream comes back.
    pub(super) resume_at: Option<i64>,
    /// Log-space AR(1) noise and a decaying shock (raids +, crashes -).
    pub(super) noise: f64,
    pub(super) shock: f64,
    /// Opened in Just Chatting, will switch to the main game soon.
    pub(super) jc_intro: bool,
    pub(super) rename_at: i64,
    pub(super) ban_at: i64,
}

/// Structural changes found during a step, applied after the channel loop.
enum Event {
    Ban(usize),
    Rename(usize),
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes two words into one (order matters).
pub(super) fn mix(a: u64, b: u64) -> u64 {
    splitmix(splitmix(a) ^ b.rotate_left(17))
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Minutes until an event with the given mean (in days) happens.
fn exp_minutes(rng: &mut impl Rng, mean_days: f64) -> i64 {
    let u: f64 = rng.random();
    (-(1.0 - u).ln() * mean_days * 1440.0) as i64 + 1
}

impl Dyn {
    /// The scheduled session of `day` (Unix day) for channel `i`, if any.
    /// A pure hash of (seed, channel, day): no generator state involved.
    fn session(&self, seed: u64, i: usize, day: i64) -> Option<(i64, i64)> {
        let h = mix(mix(seed, i as u64), day as u64);
        if unit(h) >= self.p_day {
            return None;
        }
        let h2 = splitmix(h);
        let jitter = (unit(h2) - 0.5) * 90.0;
        let len = (self.mean_len * (0.7 + 0.6 * unit(splitmix(h2)))).clamp(120.0, 480.0);
        let start = day * 1440 + (self.start_hour * 60.0 + jitter) as i64;
        Some((start, start + len as i64))
    }

    /// The first scheduled session starting after minute `m`.
    fn next_session(&self, seed: u64, i: usize, m: i64) -> (i64, i64) {
        let day = m.div_euclid(1440);
        (day - 1..day + 30)
            .filter_map(|d| self.session(seed, i, d))
            .find(|&(s, _)| s > m)
            .unwrap_or((m + 30 * 1440, m + 30 * 1440 + 240))
    }

    /// The scheduled session covering minute `m`, if any.
    fn session_at(&self, seed: u64, i: usize, m: i64) -> Option<(i64, i64)> {
        let day = m.div_euclid(1440);
        (day - 1..=day)
            .filter_map(|d| self.session(seed, i, d))
            .find(|&(s, e)| s <= m && m < e)
    }

    /// Popularity at minute `m` (rising newcomers grow day over day, up to e^5).
    pub(super) fn popularity(&self, m: i64) -> f64 {
        if self.growth_per_day > 0.0 {
            let days = (m - self.growth_origin).max(0) as f64 / 1440.0;
            self.pop * (self.growth_per_day * days).min(5.0).exp()
        } else {
            self.pop
        }
    }

    /// Expected viewers at minute `m` before noise.
    fn level(&self, m: i64) -> f64 {
        let hour = m.rem_euclid(1440) as f64 / 60.0;
        let tod = 0.55 + 0.45 * (std::f64::consts::TAU * (hour - self.peak_hour) / 24.0).cos();
        let since = (m - self.session_start).max(0) as f64;
        let ramp = 1.0 - 0.7 * (-since / 10.0).exp();
        self.popularity(m) * tod * ramp
    }

    /// Current viewers (stochastic rounding keeps small channels moving).
    fn viewers(&self, m: i64, rng: &mut impl Rng) -> u64 {
        let v = self.level(m) * (self.noise + self.shock).exp();
        (v + rng.random::<f64>()).floor().max(0.0) as u64
    }

    fn add_follows(&mut self, x: f64) -> u64 {
        self.follow_frac += x;
        let whole = self.follow_frac.floor();
        self.follow_frac -= whole;
        whole as u64
    }
}

impl World {
    /// Generates `cfg.channels` channels and opens the streams live at start.
    pub(super) fn generate(&mut self, cfg: &WorldConfig) {
        let n = cfg.channels;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let m0 = self.minute;
        // Zipf-like popularity by rank: a few giants, a long tail near zero.
        let mut ranks: Vec<usize> = (1..=n).collect();
        ranks.shuffle(&mut rng);
        // Before every account (ages reach 15 years), so ids stay spread out.
        let epoch = Utc
            .with_ymd_and_hms(2007, 5, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        for (i, &rank) in ranks.iter().enumerate() {
            let rising = i % 100 == 37;
            let lang = catalog::pick_lang(&mut rng);
            let l = &LANGS[lang];
            let offset = f64::from(l.offsets[rng.random_range(0..l.offsets.len())]);
            let pop = if rising {
                rng.random_range(3.0..20.0)
            } else {
                60_000.0 * (rank as f64).powf(-1.05) * (0.35 * normal(&mut rng)).exp()
            };
            let age_days = if rising {
                rng.random_range(3.0..60.0)
            } else {
                let a = 20.0 + rng.random::<f64>().powf(0.8) * 5400.0;
                if pop > 500.0 { a.max(700.0) } else { a }
            };
            let created = cfg.start
                - Duration::seconds((age_days * 86_400.0) as i64 + rng.random_range(0..86_400));
            let main_game = catalog::pick_game(&mut rng);
            let alt_games = [catalog::pick_game(&mut rng), catalog::pick_game(&mut rng)];
            let local_start = (17.0 + 2.5 * normal(&mut rng)).clamp(7.0, 23.5);
            let d = Dyn {
                pop,
                growth_per_day: if rising {
                    rng.random_range(0.2..0.4)
                } else {
                    0.0
                },
                growth_origin: m0,
                peak_hour: (20.0 - offset).rem_euclid(24.0),
                start_hour: (local_start - offset).rem_euclid(24.0),
                p_day: (0.35 + 0.5 * rng.random::<f64>() + if pop > 1000.0 { 0.1 } else { 0.0 })
                    .min(0.95),
                mean_len: 150.0 + 240.0 * rng.random::<f64>().powf(1.3),
                follow_rate: rng.random_range(0.0002..0.001) * if rising { 4.0 } else { 1.0 },
                main_game,
                alt_games,
                noise: 0.2 * normal(&mut rng),
                rename_at: m0 + exp_minutes(&mut rng, RENAME_DAYS),
                ban_at: m0 + exp_minutes(&mut rng, BAN_DAYS),
                ..Dyn::default()
            };
            let followers = if rising {
                rng.random_range(10..400)
            } else {
                let age = (age_days / 5400.0).min(1.0);
                (pop * rng.random_range(40.0..300.0) * (0.3 + age)) as u64 + rng.random_range(0..50)
            };
            let broadcaster_type = if rising {
                "affiliate"
            } else if pop >= 300.0 {
                if rng.random_bool(0.9) {
                    "partner"
                } else {
                    "affiliate"
                }
            } else if rng.random_bool(if pop >= 2.0 { 0.85 } else { 0.25 }) {
                "affiliate"
            } else {
                ""
            };
            let (login, display_name) = names::identity(&mut rng, l.code, &mut self.taken);
            // Twitch ids grow with account creation time (roughly quadratically).
            let days = (created - epoch).num_days().max(0) as u64;
            let mut uid = 10_000_000 + days * days * 30 + rng.random_range(0..1000);
            while self.by_id.contains_key(&uid.to_string()) {
                uid += 1;
            }
            let main_name = GAMES[main_game].name;
            let user = User {
                id: uid.to_string(),
                login,
                display_name,
                user_type: String::new(),
                broadcaster_type: broadcaster_type.into(),
                description: names::description(&mut rng, main_name),
                profile_image_url: names::profile_image(&mut rng),
                offline_image_url: String::new(),
                view_count: 0,
                created_at: super::rfc3339(created),
            };
            let chan = Chan {
                scripted: false,
                banned: false,
                language: l.code.into(),
                game: Some(main_game),
                title: catalog::title(&mut rng, l.code, main_name),
                tags: catalog::tags(&mut rng, lang),
                followers,
                slot: None,
                d,
            };
            self.by_id.insert(user.id.clone(), i);
            self.by_login.insert(user.login.clone(), i);
            self.users.push(user);
            self.chans.push(chan);
            self.place_at_start(i, cfg.all_live, &mut rng);
        }
    }

    /// Puts a freshly generated channel into its state at the start minute:
    /// live mid-session (started in the past) or waiting for its next session.
    fn place_at_start(&mut self, i: usize, all_live: bool, rng: &mut impl Rng) {
        let (seed, m) = (self.seed, self.minute);
        let d = &mut self.chans[i].d;
        let session = if all_live {
            Some((m - rng.random_range(0..240), m + rng.random_range(30..400)))
        } else {
            d.session_at(seed, i, m)
        };
        match session {
            Some((s, e)) => {
                d.session_start = s;
                d.planned_end = e;
                let viewers = d.viewers(m, rng);
                self.open_stream(i, minute_time(s), viewers);
            }
            None => (d.next_start, d.next_end) = d.next_session(seed, i, m),
        }
    }

    /// Applies one simulated minute `m` to every generated channel.
    pub(super) fn step(&mut self, m: i64) {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, m as u64));
        let mut events = Vec::new();
        let mut changed = false;
        for i in 0..self.chans.len() {
            if self.chans[i].scripted {
                continue;
            }
            changed = true;
            self.step_channel(i, m, &mut rng, &mut events);
        }
        for e in events {
            match e {
                Event::Ban(i) => self.ban_index(i),
                Event::Rename(i) => {
                    // A generator of its own, so a rename draws nothing from the step's.
                    let mut r = ChaCha8Rng::seed_from_u64(mix(mix(self.seed, i as u64), m as u64));
                    let login = names::rename(&mut r, &self.users[i].login, &mut self.taken);
                    self.chans[i].d.rename_at = m + exp_minutes(&mut r, RENAME_DAYS);
                    self.rename_index(i, login.clone(), login);
                }
            }
        }
        if changed {
            self.resort();
        }
    }

    fn step_channel(&mut self, i: usize, m: i64, rng: &mut ChaCha8Rng, events: &mut Vec<Event>) {
        let (seed, keep_live) = (self.seed, self.keep_live);
        // The channel's next session: the first of its rhythm to start after
        // minute `at`, or (keep_live) one starting at `at`.
        let next = move |d: &Dyn, at: i64, rng: &mut ChaCha8Rng| {
            if keep_live {
                (at, at + rng.random_range(30..400))
            } else {
                d.next_session(seed, i, at)
            }
        };
        let c = &mut self.chans[i];
        if m >= c.d.ban_at {
            events.push(Event::Ban(i));
            return;
        }
        if m >= c.d.rename_at {
            events.push(Event::Rename(i));
        }
        let organic = c.d.popularity(m) * ORGANIC_FOLLOWS;
        let mut gained = c.d.add_follows(organic);
        if let Some(slot) = c.slot {
            let d = &mut c.d;
            if m >= d.planned_end {
                let after = if keep_live { m + 1 } else { m + 30 };
                (d.next_start, d.next_end) = next(d, after, rng);
                c.followers += gained;
                self.close_stream(i);
                return;
            }
            let u: f64 = rng.random();
            let mut edited = false;
            if u < P_RESTART {
                d.resume_at = Some(m + rng.random_range(1..=5));
                c.followers += gained;
                self.close_stream(i);
                return;
            } else if u < P_RESTART + P_RAID {
                d.shock += rng.random_range(1.5f64..6.0).ln();
            } else if u < P_RESTART + P_RAID + P_CRASH {
                d.shock += rng.random_range(0.2f64..0.6).ln();
            } else if u < P_RESTART + P_RAID + P_CRASH + P_GAME {
                let pick = [d.main_game, d.alt_games[0], d.alt_games[1], JUST_CHATTING];
                let g = pick[rng.random_range(0..pick.len())];
                c.game = Some(g);
                d.jc_intro = false;
                if rng.random_bool(0.5) {
                    c.title = catalog::title(rng, &c.language, GAMES[g].name);
                }
                edited = true;
            } else if u < P_RESTART + P_RAID + P_CRASH + P_GAME + P_TITLE {
                let g = c.game.map_or("", |g| GAMES[g].name);
                c.title = catalog::title(rng, &c.language, g);
                edited = true;
            }
            if d.jc_intro && rng.random_bool(1.0 / 25.0) {
                d.jc_intro = false;
                c.game = Some(d.main_game);
                edited = true;
            }
            d.noise = 0.97 * d.noise + 0.045 * normal(rng);
            d.shock *= 0.95;
            let viewers = d.viewers(m, rng);
            gained += d.add_follows(viewers as f64 * d.follow_rate);
            c.followers += gained;
            self.live[slot].viewer_count = viewers;
            if edited {
                self.sync_stream(i);
            }
            return;
        }
        c.followers += gained;
        let d = &mut c.d;
        if let Some(r) = d.resume_at {
            if m < r {
                return;
            }
            d.resume_at = None;
            if m < d.planned_end {
                let viewers = d.viewers(m, rng);
                self.open_stream(i, minute_time(m), viewers);
                return;
            }
            (d.next_start, d.next_end) = next(d, m, rng);
        }
        if m >= d.next_start {
            d.session_start = m;
            d.planned_end = d.next_end.max(m + 60);
            d.shock = 0.0;
            let main = d.main_game;
            d.jc_intro = main != JUST_CHATTING && rng.random_bool(0.2);
            c.game = Some(if d.jc_intro { JUST_CHATTING } else { main });
            if rng.random_bool(0.6) {
                c.title = catalog::title(rng, &c.language, GAMES[main].name);
            }
            let viewers = c.d.viewers(m, rng);
            self.open_stream(i, minute_time(m), viewers);
        }
    }
}
