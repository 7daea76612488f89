//! Alert rules over a simulated world: scripted events (a raid, a crash, a
//! follower spike, a newcomer climbing the ranks) among noisy channels and
//! the generated world's own traffic, each built-in rule firing exactly once
//! for its event; SQL rules planned and run by the real query engine.
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twitch_monitor::alerts::{
    AlertState, AlertsConfig, Observation, RuleSet, evaluate, run_sql, validate_sql,
};
use twitch_monitor::live::{FollowerSample, LiveStream};
use twitch_monitor::query::{EngineOptions, MemTableSource, QueryEngine};
use twitch_monitor::sim::World;
use twitch_monitor::sim::world::{ScriptedChannel, WorldConfig};

fn rules(text: &str) -> RuleSet {
    AlertsConfig::from_table(toml::from_str(text).unwrap(), &|_| None)
        .unwrap()
        .rules
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 18, 0, 0).unwrap()
}

/// What the ingest would observe of `world` now: the live set and the
/// follower totals of `followed`.
fn observe(world: &World, cycle: i64, followed: &[String]) -> Observation {
    let now = world.now();
    let streams = world
        .live_streams()
        .iter()
        .map(|s| LiveStream {
            user_id: s.user_id.clone(),
            login: s.user_login.clone(),
            stream_id: s.id.clone(),
            game_id: s.game_id.clone(),
            game_name: s.game_name.clone(),
            title: s.title.clone(),
            language: s.language.clone(),
            viewer_count: s.viewer_count as i64,
            started_at: DateTime::parse_from_rfc3339(&s.started_at).unwrap().into(),
            observed_at: now,
        })
        .collect();
    let followers = followed
        .iter()
        .filter_map(|id| {
            Some(FollowerSample {
                user_id: id.clone(),
                followers_total: world.followers(id)? as i64,
                observed_at: now,
            })
        })
        .collect();
    let logins = followed
        .iter()
        .filter_map(|id| Some((id.clone(), world.user(id)?.login.clone())))
        .collect();
    Observation {
        cycle_id: cycle,
        observed_at: now,
        streams,
        complete: true,
        followers,
        logins,
        ..Observation::default()
    }
}

fn wobble(base: u64, minute: i64) -> u64 {
    // ±8%, deterministic.
    let steps = [0i64, 4, -3, 8, -8, 2, -5, 6];
    (base as i64 + base as i64 * steps[minute as usize % steps.len()] / 100) as u64
}

#[test]
fn each_scripted_event_fires_its_rule_exactly_once() {
    // The generated world is background traffic (its own raids and crashes
    // are real events too, but outside the rules' scope).
    let mut world = World::new(WorldConfig {
        seed: 7,
        channels: 300,
        start: start(),
        ..WorldConfig::default()
    });
    let mut ids = BTreeMap::new();
    for (login, followers) in [
        ("steady1", 1000),
        ("steady2", 1000),
        ("steady3", 1000),
        ("steady4", 1000),
        ("raider", 1000),
        ("target", 1000),
        ("crasher", 1000),
        ("spiker", 10_000),
        ("newcomer", 50),
    ] {
        let id = world
            .add_scripted_channel(ScriptedChannel {
                login: login.into(),
                followers,
                ..Default::default()
            })
            .unwrap();
        ids.insert(login, id);
    }
    let game = world.games()[0].id.clone();
    for (login, v) in [
        ("steady1", 6000),
        ("steady2", 5000),
        ("steady3", 4000),
        ("steady4", 3000),
        ("raider", 1500),
        ("target", 300),
        ("crasher", 1200),
    ] {
        world.go_live(&ids[login], &game, "live", v).unwrap();
    }
    let scripted: Vec<String> = ids.keys().map(|l| format!("{l:?}")).collect();
    let scope = format!("channels = [{}]", scripted.join(", "));
    let rules = rules(&format!(
        "[[rules]]\nname = \"live\"\nkind = \"went_live\"\n{scope}
         [[rules]]\nname = \"off\"\nkind = \"went_offline\"\ngrace = \"2m\"\n{scope}
         [[rules]]\nname = \"drop\"\nkind = \"viewers_drop\"\npercent = 50\n{scope}
         [[rules]]\nname = \"raid\"\nkind = \"viewers_gain\"\npercent = 150\nby = 500\n{scope}
         [[rules]]\nname = \"follows\"\nkind = \"followers_gain\"\nby = 5000\n{scope}
         [[rules]]\nname = \"top\"\nkind = \"top_n\"\nn = 3\n{scope}"
    ));
    let followed: Vec<String> = ids.values().cloned().collect();
    let steady = [
        ("steady1", 6000),
        ("steady2", 5000),
        ("steady3", 4000),
        ("steady4", 3000),
    ];
    let mut state = AlertState::default();
    let mut fired = Vec::new();
    for minute in 1..=70i64 {
        world.advance_to(start() + TimeDelta::minutes(minute));
        let id = |l: &str| ids[l].clone();
        for (login, base) in steady {
            world.set_viewers(&id(login), wobble(base, minute)).unwrap();
        }
        match minute {
            5 => {
                world
                    .go_live(&id("newcomer"), &game, "first stream!", 100)
                    .unwrap();
            }
            20 => {
                world.raid(&id("raider"), &id("target")).unwrap();
            }
            25 => {
                world.gain_followers(&id("spiker"), 6000).unwrap();
            }
            30 => {
                world.crash(&id("crasher"), 0.3).unwrap();
            }
            40 => world.go_offline(&id("crasher")).unwrap(),
            _ => {}
        }
        if (6..=55).contains(&minute) {
            // The newcomer's audience grows by ~100 a minute.
            world
                .set_viewers(&id("newcomer"), 100 + 98 * (minute - 5) as u64)
                .unwrap();
        }
        world.gain_followers(&id("spiker"), 5).unwrap();
        let obs = observe(&world, minute, &followed);
        let out = evaluate(&rules, state, &obs);
        state = out.state;
        fired.extend(out.alerts);
    }
    let mut got: Vec<(String, String)> = fired
        .iter()
        .map(|a| (a.rule.clone(), a.login.clone()))
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("drop", "crasher"),
        ("follows", "spiker"),
        ("live", "newcomer"),
        ("off", "crasher"),
        ("off", "raider"),
        ("raid", "target"),
        ("top", "newcomer"),
    ]
    .iter()
    .map(|(r, l)| (r.to_string(), l.to_string()))
    .collect();
    assert_eq!(got, want);
    let when = |rule: &str| {
        let a = fired.iter().find(|a| a.rule == rule).unwrap();
        (a.fired_at - start()).num_minutes()
    };
    assert_eq!(when("live"), 5);
    assert_eq!(when("raid"), 20);
    assert_eq!(when("follows"), 25);
    assert_eq!(when("drop"), 30);
    let raid = fired.iter().find(|a| a.rule == "raid").unwrap();
    assert_eq!(raid.details["from"], 300);
    assert_eq!(raid.details["to"], 1800);
    // The generated world's live channels are tracked too (outside the rules' scope).
    assert!(state.channels() > ids.len(), "{}", state.channels());
}

fn engine_source() -> Arc<MemTableSource> {
    let source = Arc::new(MemTableSource::new());
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("login", DataType::Utf8, false),
        Field::new("viewer_count", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["1", "2", "3"])),
            Arc::new(StringArray::from(vec!["big", "mid", "small"])),
            Arc::new(Int64Array::from(vec![150_000, 20_000, 5])),
        ],
    )
    .unwrap();
    source.put("live", "streams", schema, vec![batch]).unwrap();
    source
}

#[tokio::test]
async fn sql_rules_are_planned_read_only_and_their_rows_become_alerts() {
    let engine = QueryEngine::new(engine_source(), EngineOptions::default())
        .await
        .unwrap();
    let good = rules(
        "[[rules]]\nname = \"huge\"\nkind = \"sql\"
         query = \"SELECT user_id, login, viewer_count FROM live.streams WHERE viewer_count > 100000\"
         [[rules]]\nname = \"broken_at_run_time\"\nkind = \"sql\"
         query = \"SELECT user_id, CAST(login AS BIGINT) AS n FROM live.streams\"",
    );
    validate_sql(&good, &engine).await.unwrap();
    for (query, problem) in [
        ("SELEC 1", "the query does not plan"),
        ("DROP TABLE live.streams", "the query does not plan"),
        ("SELECT * FROM live.nope", "the query does not plan"),
        (
            "SELECT login FROM live.streams",
            "must return a `user_id` or a `key` column",
        ),
        (
            "SELECT user_id FROM live.streams WHERE login = ?",
            "takes parameters",
        ),
    ] {
        let bad = rules(&format!(
            "[[rules]]\nname = \"bad\"\nkind = \"sql\"\nquery = \"{query}\""
        ));
        let e = validate_sql(&bad, &engine).await.unwrap_err().to_string();
        assert!(
            e.starts_with("alert rule \"bad\": ") && e.contains(problem),
            "{query}: {e}"
        );
    }

    let run = run_sql(&good, &engine).await;
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].0, "broken_at_run_time");
    let rows = &run.rows["huge"];
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "1");
    // Two cycles: the first primes, the second fires for a row that appears.
    let mut obs = Observation {
        cycle_id: 1,
        observed_at: start(),
        complete: true,
        ..Observation::default()
    };
    let first = evaluate(&good, AlertState::default(), &obs);
    obs.cycle_id = 2;
    obs.observed_at += TimeDelta::minutes(1);
    obs.sql = run.rows;
    let second = evaluate(&good, first.state, &obs);
    assert_eq!(second.alerts.len(), 1);
    let a = &second.alerts[0];
    assert_eq!(
        (a.rule.as_str(), a.user_id.as_str(), a.login.as_str()),
        ("huge", "1", "big")
    );
    assert_eq!(a.details["viewer_count"], 150_000);
}
