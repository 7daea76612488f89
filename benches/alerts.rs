//! Benchmark: alert rule evaluation per cycle with 100,000 live streams and
//! 50 rules of every built-in kind, against what a user could write instead:
//! the same viewer-drop check as one SQL rule over `live.streams` (run by the
//! query engine, as SQL rules are). Run with `cargo bench --bench alerts`
//! (`BENCH_STREAMS` and `BENCH_CYCLES` to resize).
//!
//! Goal (issue 13): evaluation under 50 ms per cycle on a 2-core machine
//! (evaluation splits its work over the cores it finds).
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use twitch_monitor::alerts::{
    AlertState, AlertsConfig, ChatActivity, Observation, RisingStar, evaluate, run_sql,
};
use twitch_monitor::live::{CycleStatus, CycleUpdate, FollowerSample, LiveStream, LiveViews};
use twitch_monitor::query::{EngineOptions, QueryEngine, SourceError, SourceTable, TableSource};

/// Only the live views: what a SQL rule over `live.streams` reads.
#[derive(Debug)]
struct LiveOnly(LiveViews);

#[async_trait]
impl TableSource for LiveOnly {
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError> {
        Ok(self
            .0
            .views()
            .into_iter()
            .map(|(name, p)| SourceTable::new("live", name, p))
            .collect())
    }
}

/// 50 rules: every built-in kind, several windows and scopes.
fn rules_toml() -> String {
    let mut out = String::new();
    let mut rule = |name: String, body: &str| {
        out.push_str(&format!("[[rules]]\nname = \"{name}\"\n{body}\n"));
    };
    for i in 0..8 {
        rule(format!("live{i}"), "kind = \"went_live\"");
    }
    for i in 0..4 {
        rule(format!("off{i}"), "kind = \"went_offline\"\ngrace = \"2m\"");
    }
    for (i, w) in ["5m", "10m", "15m", "10m", "10m", "5m", "10m", "15m"]
        .iter()
        .enumerate()
    {
        rule(
            format!("drop{i}"),
            &format!(
                "kind = \"viewers_drop\"\npercent = {}\nwindow = \"{w}\"",
                30 + 5 * i
            ),
        );
        rule(
            format!("gain{i}"),
            &format!(
                "kind = \"viewers_gain\"\npercent = {}\nby = 200\nwindow = \"{w}\"",
                100 + 20 * i
            ),
        );
    }
    for i in 0..4 {
        rule(
            format!("follows{i}"),
            &format!("kind = \"followers_gain\"\nby = {}", 500 * (i + 1)),
        );
        rule(
            format!("unfollows{i}"),
            &format!("kind = \"followers_loss\"\npercent = {}", 5 + i),
        );
    }
    for (i, n) in [10, 25, 50, 100].iter().enumerate() {
        rule(format!("top{i}"), &format!("kind = \"top_n\"\nn = {n}"));
    }
    rule(
        "top_de".into(),
        "kind = \"top_n\"\nn = 10\nlanguages = [\"de\"]",
    );
    rule(
        "jc_drop".into(),
        "kind = \"viewers_drop\"\npercent = 40\ncategories = [\"Game 3\", \"game 7\"]",
    );
    rule("star".into(), "kind = \"rising_star\"\nmax_rank = 5");
    rule("sour".into(), "kind = \"chat_sentiment\"\nbelow = -0.3");
    rule("surge".into(), "kind = \"chat_rate\"\npercent = 200");
    rule(
        "few".into(),
        "kind = \"went_live\"\nchannels = [\"channel_1\", \"channel_2\", \"channel_3\"]",
    );
    for (i, lang) in ["de", "en", "fr", "es"].iter().enumerate() {
        rule(
            format!("drop_{lang}{i}"),
            &format!("kind = \"viewers_drop\"\npercent = 50\nlanguages = [\"{lang}\"]"),
        );
    }
    out
}

/// A world of `n` live streams: heavy-tailed audiences that wander, with
/// streams ending and starting, raids and crashes, follower totals
/// refreshed round-robin (a fifteenth per cycle).
struct Synth {
    rng: ChaCha8Rng,
    streams: Vec<LiveStream>,
    followers: Vec<i64>,
    next_id: usize,
}

impl Synth {
    fn new(n: usize, at: DateTime<Utc>) -> Self {
        let mut s = Self {
            rng: ChaCha8Rng::seed_from_u64(13),
            streams: Vec::with_capacity(n),
            followers: Vec::with_capacity(n),
            next_id: 0,
        };
        for _ in 0..n {
            let started = at - TimeDelta::minutes(s.rng.random_range(20..240));
            s.push(started);
        }
        s
    }

    fn push(&mut self, started: DateTime<Utc>) {
        let i = self.next_id;
        self.next_id += 1;
        self.streams.push(LiveStream {
            user_id: format!("{}", 10_000_000 + i),
            login: format!("channel_{i}"),
            stream_id: format!("{}", 90_000_000 + i),
            game_id: format!("{}", i % 40),
            game_name: format!("Game {}", i % 40),
            title: "a stream title of ordinary length".into(),
            language: if i.is_multiple_of(9) { "de" } else { "en" }.into(),
            viewer_count: (200_000 / (i % 100_000 + 1)) as i64 + 3,
            started_at: started,
            observed_at: started,
        });
        self.followers.push(1000 + (i as i64 % 5000) * 10);
    }

    fn cycle(&mut self, cycle: i64, at: DateTime<Utc>) -> Observation {
        // 0.3% end, as many start.
        let ends = self.streams.len() * 3 / 1000;
        for _ in 0..ends {
            let k = self.rng.random_range(0..self.streams.len());
            self.streams.swap_remove(k);
            self.followers.swap_remove(k);
            self.push(at);
        }
        for s in &mut self.streams {
            let u: f64 = self.rng.random();
            let factor = if u < 0.0005 {
                3.0 // a raid
            } else if u < 0.001 {
                0.3 // a crash
            } else {
                1.0 + self.rng.random_range(-0.05..0.05)
            };
            s.viewer_count = ((s.viewer_count as f64 * factor) as i64).max(0);
            s.observed_at = at;
        }
        let followers = (0..self.streams.len())
            .filter(|i| (*i as i64 + cycle) % 15 == 0)
            .map(|i| {
                self.followers[i] += self.rng.random_range(0..20);
                FollowerSample {
                    user_id: self.streams[i].user_id.clone(),
                    followers_total: self.followers[i],
                    observed_at: at,
                }
            })
            .collect();
        let chat = (0..2000.min(self.streams.len()))
            .map(|i| ChatActivity {
                user_id: Some(self.streams[i].user_id.clone()),
                login: self.streams[i].login.clone(),
                rate_5m: 10.0 + self.rng.random_range(0.0..30.0),
                rate_1h: 12.0,
                sentiment_5m: Some(self.rng.random_range(-0.5..0.8)),
                sentiment_1h: Some(0.2),
            })
            .collect();
        let rising_stars = (0..100.min(self.streams.len() / 7))
            .map(|i| RisingStar {
                user_id: self.streams[i * 7].user_id.clone(),
                login: self.streams[i * 7].login.clone(),
                rank: i as i64 + 1,
                score: 500.0 - i as f64,
                followers_gained_7d: Some(100),
                avg_viewers_7d: Some(20.0),
            })
            .collect();
        Observation {
            cycle_id: cycle,
            observed_at: at,
            streams: self.streams.clone(),
            complete: true,
            followers,
            chat: Some(chat),
            rising_stars: Some(rising_stars),
            ..Observation::default()
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let n = env("BENCH_STREAMS", 100_000);
    let cycles = env("BENCH_CYCLES", 30).max(2) as i64;
    let warm_up = 15.min(cycles / 2);
    let config = AlertsConfig::from_table(toml::from_str(&rules_toml()).expect("toml"), &|_| None)
        .expect("rules");
    let rules = config.rules;
    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 5, 18, 0, 0)
        .single()
        .expect("time");
    let mut synth = Synth::new(n, t0);
    let live = LiveViews::new();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let engine = runtime
        .block_on(QueryEngine::new(
            Arc::new(LiveOnly(live.clone())),
            EngineOptions::default(),
        ))
        .expect("engine");
    let sql_rule = AlertsConfig::from_table(
        toml::from_str(
            "[[rules]]\nname = \"drop_sql\"\nkind = \"sql\"\nquery = \"SELECT user_id, login, viewer_count, viewer_change_5m FROM live.streams WHERE viewer_change_5m IS NOT NULL AND viewer_count - viewer_change_5m >= 50 AND -viewer_change_5m >= 0.3 * (viewer_count - viewer_change_5m)\"",
        )
        .expect("toml"),
        &|_| None,
    )
    .expect("sql rule")
    .rules;

    let mut state = AlertState::default();
    let (mut eval_times, mut sql_times, mut fired) = (Vec::new(), Vec::new(), 0usize);
    for c in 1..=cycles {
        let at = t0 + TimeDelta::minutes(c);
        let obs = synth.cycle(c, at);
        let update = CycleUpdate {
            observed_at: at,
            streams: obs.streams.clone(),
            followers: obs.followers.clone(),
            chat: Vec::new(),
            status: CycleStatus {
                cycle_id: c,
                started_at: at,
                finished_at: at,
                streams_seen: n as i64,
                requests: 0,
                rate_limit_remaining: None,
                errors: 0,
                bronze_rows: 0,
                silver_rows: 0,
                gold_rows: 0,
                last_error: None,
            },
        };
        live.apply_cycle(update).expect("live views");
        let start = Instant::now();
        let out = evaluate(&rules, state, &obs);
        let took = start.elapsed();
        state = out.state;
        let start = Instant::now();
        let sql = runtime.block_on(run_sql(&sql_rule, &engine));
        let sql_took = start.elapsed();
        assert!(sql.failures.is_empty(), "{:?}", sql.failures);
        // The first cycles fill the longest windows (15 minutes); measure after.
        if c > warm_up {
            eval_times.push(took);
            sql_times.push(sql_took);
            fired += out.alerts.len();
        }
    }
    eval_times.sort();
    sql_times.sort();
    let pick = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let measured = eval_times.len();
    println!(
        "alerts: {n} live streams, {} rules, {measured} measured cycles, {:.0} alerts per cycle, {} channels tracked, {} cores",
        rules.len(),
        fired as f64 / measured as f64,
        state.channels(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  built-in evaluation, all {} rules:   median {:7.2} ms   max {:7.2} ms   (goal < 50 ms)",
        rules.len(),
        ms(pick(&eval_times, 0.5)),
        ms(pick(&eval_times, 1.0))
    );
    println!(
        "  one viewer-drop rule written as SQL:  median {:7.2} ms   max {:7.2} ms   (query engine over live.streams)",
        ms(pick(&sql_times, 0.5)),
        ms(pick(&sql_times, 1.0))
    );
}
