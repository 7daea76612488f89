use chrono::TimeDelta;

use super::harness::{Run, rules, wobble};
use crate::alerts::{
    AlertState, ChatActivity, ENDED_WHEN_UNLISTED_FOR, Observation, RisingStar, RuleKind, SqlRow,
    alert_id, evaluate,
};

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn went_live_fires_once_per_stream_and_not_for_what_was_live_at_start() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"live\"\nkind = \"went_live\"\ncooldown = \"30m\"",
    ));
    run.add("already", Some(500), 60).add("bob", None, 0);
    run.tick(); // primes: `already` was live before we looked
    run.go_live("bob", 40);
    let fired = run.tick();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].kind, RuleKind::WentLive);
    assert_eq!(fired[0].details["url"], "https://www.twitch.tv/bob");
    run.ticks(5, |_, _| {});
    // A quick restart (off one minute, back with a new stream) within the cooldown: quiet.
    run.go_offline("bob");
    run.tick();
    run.go_live("bob", 40);
    run.ticks(10, |_, _| {});
    assert_eq!(run.fired_pairs(), pairs(&[("live", "bob")]));
    // After the cooldown a new stream is news again.
    run.go_offline("bob");
    run.ticks(30, |_, _| {});
    run.go_live("bob", 40);
    run.tick();
    assert_eq!(run.fired.len(), 2);
    assert_ne!(run.fired[0].alert_id, run.fired[1].alert_id);
}

#[test]
fn went_live_ignores_channels_first_seen_mid_stream() {
    let mut run = Run::new(rules("[[rules]]\nname = \"live\"\nkind = \"went_live\""));
    run.add("a", Some(10), 0);
    run.tick();
    // Climbs into the watched set after three hours on air.
    run.add("late", Some(900), 180);
    run.tick();
    assert!(run.fired.is_empty());
}

#[test]
fn went_offline_waits_out_the_grace_and_fires_once() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"off\"\nkind = \"went_offline\"\ngrace = \"3m\"",
    ));
    run.add("crashy", Some(300), 30).add("steady", Some(50), 30);
    run.tick();
    // A two-minute crash and restart: not offline.
    run.go_offline("crashy");
    run.ticks(2, |_, _| {});
    run.go_live("crashy", 300);
    run.ticks(3, |_, _| {});
    assert!(run.fired.is_empty());
    run.go_offline("crashy");
    run.ticks(10, |_, _| {});
    assert_eq!(run.fired_pairs(), pairs(&[("off", "crashy")]));
    let d = &run.fired[0].details;
    assert_eq!(d["viewers"], 300);
    assert_eq!(d["summary"], "crashy went offline");
}

#[test]
fn viewers_drop_fires_once_for_a_crash_and_never_for_noise() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"drop\"\nkind = \"viewers_drop\"\npercent = 40\nwindow = \"10m\"",
    ));
    run.add("crash", Some(1000), 60)
        .add("noisy", Some(1000), 60)
        .add("tiny", Some(20), 60);
    run.ticks(30, |r, i| {
        r.set_viewers("crash", 1000);
        r.set_viewers("noisy", wobble(1000, 20, i));
        r.set_viewers("tiny", if i % 2 == 0 { 20 } else { 5 }); // -75%, but tiny
    });
    assert!(run.fired.is_empty(), "{:?}", run.fired_pairs());
    run.set_viewers("crash", 450);
    let fired = run.tick();
    assert_eq!(fired.len(), 1);
    let d = &fired[0].details;
    assert_eq!(d["from"], 1000);
    assert_eq!(d["to"], 450);
    assert_eq!(d["change_pct"], -55.0);
    assert_eq!(d["summary"], "crash lost 550 viewers (55%) within 10m");
    // It stays down, recovers, wobbles: one episode, one alert.
    run.ticks(40, |r, i| {
        let v = if i < 20 { 450 } else { wobble(1000, 10, i) };
        r.set_viewers("crash", v);
        r.set_viewers("noisy", wobble(1000, 20, i));
    });
    assert_eq!(run.fired_pairs(), pairs(&[("drop", "crash")]));
}

#[test]
fn a_channel_flapping_across_the_threshold_fires_once_per_cooldown() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"drop\"\nkind = \"viewers_drop\"\npercent = 30\ncooldown = \"30m\"",
    ));
    run.add("flappy", Some(1000), 60);
    run.tick();
    run.ticks(29, |r, i| {
        r.set_viewers("flappy", if i % 2 == 0 { 1000 } else { 600 })
    });
    assert_eq!(run.fired.len(), 1);
    run.ticks(10, |r, i| {
        r.set_viewers("flappy", if i % 2 == 0 { 1000 } else { 600 })
    });
    assert_eq!(run.fired.len(), 2, "once more after the cooldown");
}

#[test]
fn viewers_gain_fires_for_a_raid_but_not_for_a_stream_warming_up() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"raid\"\nkind = \"viewers_gain\"\npercent = 100\nby = 300",
    ));
    run.add("target", Some(200), 60).add("fresh", None, 0);
    run.tick();
    // `fresh` starts at 30 and ramps to 300 over its first minutes.
    run.go_live("fresh", 30);
    run.ticks(12, |r, i| {
        r.set_viewers("fresh", 30 + 30 * (i as i64).min(9))
    });
    assert!(run.fired.is_empty(), "{:?}", run.fired_pairs());
    run.set_viewers("target", 900);
    run.ticks(15, |_, _| {});
    assert_eq!(run.fired_pairs(), pairs(&[("raid", "target")]));
    assert_eq!(run.fired[0].details["change"], 700);
}

#[test]
fn follower_spike_and_loss_fire_once() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"spike\"\nkind = \"followers_gain\"\nby = 5000\nwindow = \"1h\"
         [[rules]]\nname = \"loss\"\nkind = \"followers_loss\"\npercent = 10\nwindow = \"1h\"",
    ));
    run.add("star", Some(100), 60).add("slow", None, 0);
    run.chan("star").followers = Some(10_000);
    run.chan("slow").followers = Some(50_000);
    run.ticks(30, |r, i| {
        r.chan("star").followers = Some(10_000 + 20 * i as i64);
        r.chan("slow").followers = Some(50_000 + 3 * i as i64);
    });
    assert!(run.fired.is_empty());
    // 6,000 followers within half an hour.
    run.ticks(30, |r, i| {
        r.chan("star").followers = Some(10_600 + 200 * i as i64)
    });
    assert_eq!(run.fired_pairs(), pairs(&[("spike", "star")]));
    // A ban wave: `slow` loses 20%.
    run.chan("slow").followers = Some(40_000);
    run.ticks(90, |_, _| {});
    assert_eq!(
        run.fired_pairs(),
        pairs(&[("spike", "star"), ("loss", "slow")])
    );
    // An offline channel's follower rule knows its login from `logins`.
    assert_eq!(run.fired[1].details["followers_total"], 40_000);
}

#[test]
fn a_newcomer_entering_the_top_n_fires_once_despite_jostling_at_the_edge() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"top\"\nkind = \"top_n\"\nn = 3\nmargin = 1",
    ));
    for (login, v) in [
        ("a", 5000),
        ("b", 4000),
        ("c", 3000),
        ("d", 2000),
        ("new", 100),
    ] {
        run.add(login, Some(v), 60);
    }
    run.ticks(5, |_, _| {});
    assert!(run.fired.is_empty(), "the first top 3 is not news");
    run.set_viewers("new", 3500);
    run.tick();
    assert_eq!(run.fired_pairs(), pairs(&[("top", "new")]));
    assert_eq!(run.fired[0].details["rank"], 3);
    // `new` and `c` swap ranks 3 and 4 (inside the margin) for a while.
    run.ticks(20, |r, i| {
        r.set_viewers("new", if i % 2 == 0 { 2900 } else { 3100 });
    });
    assert_eq!(run.fired.len(), 1, "{:?}", run.fired_pairs());
}

#[test]
fn rising_star_fires_when_a_channel_qualifies_and_holds_without_data() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"star\"\nkind = \"rising_star\"\nmax_rank = 3",
    ));
    run.add("nova", None, 0);
    let id = run.user_id("nova");
    let star = move |rank| RisingStar {
        user_id: id.clone(),
        login: "nova".into(),
        rank,
        score: 250.0,
        followers_gained_7d: Some(1200),
        avg_viewers_7d: Some(80.0),
    };
    let day = std::rc::Rc::new(std::cell::Cell::new(Some(7)));
    let d = day.clone();
    run.extra = Box::new(move |o: &mut Observation| {
        // Rising stars are read once per cycle only some of the time.
        o.rising_stars = d.get().map(|rank| vec![star(rank)]);
    });
    run.ticks(3, |_, _| {});
    day.set(Some(2));
    run.tick();
    day.set(None); // not read this cycle: neither fires nor clears
    run.ticks(3, |_, _| {});
    day.set(Some(1));
    run.ticks(3, |_, _| {});
    assert_eq!(run.fired_pairs(), pairs(&[("star", "nova")]));
    assert_eq!(run.fired[0].details["rank"], 2);
}

#[test]
fn chat_rules_stay_idle_without_chat_and_fire_once_with_it() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"sour\"\nkind = \"chat_sentiment\"\nbelow = -0.3
         [[rules]]\nname = \"surge\"\nkind = \"chat_rate\"\npercent = 200\ndirection = \"up\"",
    ));
    run.add("loud", Some(500), 60);
    run.ticks(5, |_, _| {});
    assert!(run.fired.is_empty());
    let id = run.user_id("loud");
    let chat = std::rc::Rc::new(std::cell::Cell::new((10.0, 10.0, 0.2)));
    let c = chat.clone();
    run.extra = Box::new(move |o: &mut Observation| {
        let (r5, r1, s5) = c.get();
        o.chat = Some(vec![ChatActivity {
            user_id: Some(id.clone()),
            login: "loud".into(),
            rate_5m: r5,
            rate_1h: r1,
            sentiment_5m: Some(s5),
            sentiment_1h: Some(0.2),
        }]);
    });
    run.ticks(3, |_, _| {});
    chat.set((45.0, 10.0, -0.5));
    run.ticks(5, |_, _| {});
    let mut got = run.fired_pairs();
    got.sort();
    assert_eq!(got, pairs(&[("sour", "loud"), ("surge", "loud")]));
}

#[test]
fn sql_rows_fire_once_per_key_and_episode() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"big\"\nkind = \"sql\"\nquery = \"SELECT user_id FROM live.streams\"\ncooldown = \"10m\"",
    ));
    let rows = std::rc::Rc::new(std::cell::RefCell::new(Some(vec!["k1"])));
    let r = rows.clone();
    run.extra = Box::new(move |o: &mut Observation| {
        if let Some(keys) = r.borrow().as_ref() {
            let rows = keys
                .iter()
                .map(|k| SqlRow {
                    key: k.to_string(),
                    user_id: Some(k.to_string()),
                    login: Some(format!("login_{k}")),
                    details: serde_json::json!({"user_id": k, "n": 1})
                        .as_object()
                        .unwrap()
                        .clone(),
                })
                .collect();
            o.sql.insert("big".into(), rows);
        }
    });
    run.tick(); // primes with k1
    *rows.borrow_mut() = Some(vec!["k1", "k2"]);
    run.ticks(3, |_, _| {});
    *rows.borrow_mut() = None; // the query failed: nothing changes
    run.ticks(3, |_, _| {});
    *rows.borrow_mut() = Some(vec![]);
    run.tick(); // both episodes end
    *rows.borrow_mut() = Some(vec!["k2"]);
    run.tick(); // k2 again, within its cooldown: quiet
    run.ticks(6, |_, _| {});
    *rows.borrow_mut() = Some(vec![]);
    run.tick();
    *rows.borrow_mut() = Some(vec!["k2"]);
    run.tick(); // after the cooldown: fires
    assert_eq!(
        run.fired_pairs(),
        pairs(&[("big", "login_k2"), ("big", "login_k2")])
    );
    assert_eq!(run.fired[0].details["n"], 1);
    assert_eq!(run.fired[0].details["summary"], "big: login_k2");
}

#[test]
fn replaying_the_same_cycles_gives_the_same_alert_ids() {
    let script = |run: &mut Run| {
        run.add("a", Some(1000), 60).add("b", None, 0);
        run.ticks(12, |_, _| {});
        run.go_live("b", 100);
        run.set_viewers("a", 100);
        run.ticks(3, |_, _| {});
    };
    let text = "[[rules]]\nname = \"live\"\nkind = \"went_live\"
                [[rules]]\nname = \"drop\"\nkind = \"viewers_drop\"\npercent = 50";
    let mut first = Run::new(rules(text));
    script(&mut first);
    let mut again = Run::new(rules(text));
    script(&mut again);
    let ids = |r: &Run| {
        r.fired
            .iter()
            .map(|a| a.alert_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first).len(), 2);
    assert_eq!(ids(&first), ids(&again));
    let a = &first.fired[1];
    assert_eq!(
        a.alert_id,
        alert_id(&a.rule, &a.key, a.fired_at.timestamp_micros())
    );
}

#[test]
fn a_restored_state_keeps_cooldowns_of_recorded_alerts() {
    let text = "[[rules]]\nname = \"live\"\nkind = \"went_live\"";
    let mut run = Run::new(rules(text));
    run.add("b", None, 0);
    run.tick();
    run.go_live("b", 100);
    run.tick();
    assert_eq!(run.fired.len(), 1);
    run.go_offline("b");
    run.ticks(3, |_, _| {});
    // A restart while `b` is offline, then `b` back within the hour.
    let restart = |restored: bool, run: &mut Run| {
        let mut state = AlertState::default();
        if restored {
            state.restore(&run.rules, &run.fired);
        }
        let offline = run.observation(run.minute + 1);
        let state = evaluate(&run.rules, state, &offline).state;
        run.go_live("b", 100);
        let back = Observation {
            cycle_id: offline.cycle_id + 1,
            observed_at: offline.observed_at + TimeDelta::minutes(1),
            ..run.observation(run.minute + 2)
        };
        evaluate(&run.rules, state, &back).alerts.len()
    };
    assert_eq!(restart(true, &mut run.clone_script()), 0);
    // Without the record it would fire again: the restore is what stops it.
    assert_eq!(restart(false, &mut run.clone_script()), 1);
}

#[test]
fn an_incomplete_live_set_does_not_take_missing_channels_offline() {
    let mut run = Run::new(rules("[[rules]]\nname = \"off\"\nkind = \"went_offline\""));
    run.add("a", Some(100), 30);
    run.tick();
    run.go_offline("a");
    run.extra = Box::new(|o: &mut Observation| o.complete = false);
    run.ticks(3, |_, _| {});
    assert!(run.fired.is_empty());
    run.extra = Box::new(|_| {});
    run.tick();
    assert_eq!(run.fired.len(), 1);
}

#[test]
fn a_channel_missing_from_incomplete_listings_for_a_session_gap_has_ended() {
    let mut run = Run::new(rules("[[rules]]\nname = \"off\"\nkind = \"went_offline\""));
    run.add("a", Some(100), 30).add("b", Some(50), 30);
    run.tick();
    run.go_offline("a");
    // A page fails in every cycle from now on.
    run.extra = Box::new(|o: &mut Observation| o.complete = false);
    let gap = (ENDED_WHEN_UNLISTED_FOR.as_secs() / 60) as usize;
    run.ticks(gap, |_, _| {});
    assert!(run.fired.is_empty(), "{:?}", run.fired_pairs());
    run.tick();
    assert_eq!(run.fired_pairs(), pairs(&[("off", "a")]));
}

#[test]
fn the_configured_session_gap_decides_when_an_unlisted_channel_has_ended() {
    let mut run = Run::new(rules("[[rules]]\nname = \"off\"\nkind = \"went_offline\""));
    run.state = AlertState::default().with_session_gap(std::time::Duration::from_secs(30 * 60));
    run.add("a", Some(100), 30).add("b", Some(50), 30);
    run.tick();
    run.go_offline("a");
    run.extra = Box::new(|o: &mut Observation| o.complete = false);
    // Past the default gap, within the configured one: still on air.
    run.ticks(30, |_, _| {});
    assert!(run.fired.is_empty(), "{:?}", run.fired_pairs());
    run.tick();
    assert_eq!(run.fired_pairs(), pairs(&[("off", "a")]));
}

#[test]
fn a_listing_that_fails_whole_for_long_ends_no_channel() {
    let mut run = Run::new(rules("[[rules]]\nname = \"off\"\nkind = \"went_offline\""));
    run.add("a", Some(100), 30).add("b", Some(50), 30);
    run.tick();
    // Twitch down: every cycle's listing fails, no stream comes back.
    run.extra = Box::new(|o: &mut Observation| {
        o.complete = false;
        o.streams.clear();
    });
    let gap = (ENDED_WHEN_UNLISTED_FOR.as_secs() / 60) as usize;
    run.ticks(3 * gap, |_, _| {});
    run.extra = Box::new(|_| {});
    run.tick();
    assert!(run.fired.is_empty(), "{:?}", run.fired_pairs());
}

#[test]
fn scope_limits_rules_to_channels_categories_and_languages() {
    let mut run = Run::new(rules(
        "[[rules]]\nname = \"de\"\nkind = \"went_live\"\ncategories = [\"just chatting\"]\nlanguages = [\"de\"]
         [[rules]]\nname = \"one\"\nkind = \"went_live\"\nchannels = [\"Anna\"]",
    ));
    run.add("anna", None, 0)
        .add("bert", None, 0)
        .add("carl", None, 0);
    run.chan("bert").language = "de".into();
    run.chan("carl").language = "de".into();
    run.chan("carl").game = "Chess".into();
    run.tick();
    for c in ["anna", "bert", "carl"] {
        run.go_live(c, 10);
    }
    run.tick();
    let mut got = run.fired_pairs();
    got.sort();
    assert_eq!(got, pairs(&[("de", "bert"), ("one", "anna")]));
}
