//! Unit tests of the world: determinism, dynamics, scripting, scale.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::*;

fn start() -> DateTime<Utc> {
    WorldConfig::default().start
}

fn world(seed: u64, channels: usize) -> World {
    World::new(WorldConfig {
        seed,
        channels,
        ..Default::default()
    })
}

/// Everything a Helix client can observe, for equality checks.
type Snapshot = (
    Vec<Stream>,
    Vec<User>,
    Vec<Option<Channel>>,
    Vec<Option<u64>>,
);

fn snapshot(w: &World) -> Snapshot {
    let users: Vec<User> = w.users().cloned().collect();
    let channels = users.iter().map(|u| w.channel(&u.id)).collect();
    let followers = users.iter().map(|u| w.followers(&u.id)).collect();
    (w.live_streams().to_vec(), users, channels, followers)
}

fn assert_sorted(w: &World) {
    for pair in w.live_streams().windows(2) {
        assert!(
            pair[0].viewer_count >= pair[1].viewer_count,
            "not sorted by viewers"
        );
    }
    for (slot, s) in w.live_streams().iter().enumerate() {
        let i = w.by_id[&s.user_id];
        assert_eq!(w.chans[i].slot, Some(slot), "slot index out of date");
    }
}

#[test]
fn same_seed_same_world_and_same_streams_after_the_same_advances() {
    let (mut a, mut b) = (world(7, 200), world(7, 200));
    assert_eq!(snapshot(&a), snapshot(&b));
    for h in [1, 5, 13] {
        a.advance_to(start() + Duration::hours(h));
        b.advance_to(start() + Duration::hours(h));
        assert_eq!(snapshot(&a), snapshot(&b));
    }
}

#[test]
fn different_seeds_differ() {
    let (a, b) = (world(1, 100), world(2, 100));
    assert_ne!(a.logins(), b.logins());
}

#[test]
fn grouping_of_advances_does_not_matter() {
    let end = start() + Duration::hours(30) + Duration::seconds(17);
    let mut direct = world(3, 150);
    direct.advance_to(end);
    let mut stepped = world(3, 150);
    let mut t = start();
    for secs in [1, 59, 61, 3600, 7 * 3600 + 13, 30, 90_000] {
        t = (t + Duration::seconds(secs)).min(end);
        stepped.advance_to(t);
    }
    stepped.advance_to(end);
    stepped.advance_to(start()); // the past is a no-op
    assert_eq!(direct.now(), stepped.now());
    assert_eq!(snapshot(&direct), snapshot(&stepped));
}

#[test]
fn streams_start_end_and_restart_under_a_new_id_within_minutes() {
    let mut w = world(11, 300);
    let mut seen_ids = HashSet::new();
    // user -> (stream id, minute it was last seen live)
    let mut last: HashMap<String, (String, i64)> = HashMap::new();
    let (mut restarts, mut min_live, mut max_live) = (0, usize::MAX, 0);
    for m in 1..=2 * 1440 {
        w.advance_to(start() + Duration::minutes(m));
        assert_sorted(&w);
        min_live = min_live.min(w.live_streams().len());
        max_live = max_live.max(w.live_streams().len());
        for s in w.live_streams() {
            if let Some((old, seen)) = last.get(&s.user_id)
                && *old != s.id
                && m - seen <= 6
            {
                restarts += 1;
            }
            if !seen_ids.contains(&s.id) {
                assert!(seen_ids.insert(s.id.clone()));
                let started = DateTime::parse_from_rfc3339(&s.started_at).unwrap();
                assert!(s.started_at.ends_with('Z'));
                assert!(started <= w.now());
            }
            last.insert(s.user_id.clone(), (s.id.clone(), m));
        }
    }
    assert!(restarts > 0, "no restart in two days");
    assert!(
        max_live > 2 * min_live.max(1),
        "no daily rhythm: {min_live}..{max_live}"
    );
    // A stream id is never reused by another user.
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for s in w.live_streams() {
        assert_eq!(*owner.entry(&s.id).or_insert(&s.user_id), s.user_id);
    }
}

#[test]
fn stream_fields_look_like_helix() {
    let w = world(5, 300);
    assert!(!w.live_streams().is_empty());
    for s in w.live_streams() {
        assert!(s.id.parse::<u64>().is_ok() && s.user_id.parse::<u64>().is_ok());
        assert_eq!(s.stream_type, "live");
        assert!(
            s.thumbnail_url
                .contains(&format!("live_user_{}-{{width}}x{{height}}", s.user_login))
        );
        assert!(w.game(&s.game_id).is_some_and(|g| g.name == s.game_name));
        assert!(!s.tags.is_empty() && s.tag_ids.is_empty() && !s.is_mature);
        let u = w.user(&s.user_id).unwrap();
        assert_eq!((&u.login, &u.display_name), (&s.user_login, &s.user_name));
        assert!(DateTime::parse_from_rfc3339(&u.created_at).is_ok());
    }
    let types: HashSet<&str> = w.users().map(|u| u.broadcaster_type.as_str()).collect();
    assert!(types.contains("partner") && types.contains("affiliate"));
    let g = w.game_by_name("Just Chatting").unwrap();
    assert_eq!(
        g.box_art_url,
        "https://static-cdn.jtvnw.net/ttv-boxart/509658-{width}x{height}.jpg"
    );
    assert_eq!(w.game(&g.id), Some(g));
}

#[test]
fn top_games_follow_live_viewers() {
    let mut w = world(9, 300);
    w.advance_to(start() + Duration::hours(20));
    let top = w.top_games();
    assert_eq!(top.len(), w.games().len());
    let v: Vec<u64> = top.iter().map(|g| w.game_viewers(&g.id).unwrap()).collect();
    assert!(v.windows(2).all(|p| p[0] >= p[1]));
    let total: u64 = w.live_streams().iter().map(|s| s.viewer_count).sum();
    assert_eq!(v.iter().sum::<u64>(), total);
}

#[test]
fn followers_grow_and_newcomers_rise() {
    let mut w = world(13, 300);
    let before: Vec<(String, u64)> = w
        .users()
        .map(|u| (u.id.clone(), w.followers(&u.id).unwrap()))
        .collect();
    let rising: Vec<usize> = (0..w.chans.len())
        .filter(|&i| w.chans[i].d.growth_per_day > 0.0)
        .collect();
    assert!(!rising.is_empty());
    for &i in &rising {
        let d = &w.chans[i].d;
        assert!(d.popularity(w.minute + 7 * 1440) > 3.0 * d.popularity(w.minute));
    }
    w.advance_to(start() + Duration::days(1));
    let mut grew = 0;
    for (id, b) in &before {
        // Banned users (rare) have no total any more.
        let Some(a) = w.followers(id) else { continue };
        assert!(a >= *b, "followers shrank");
        grew += usize::from(a > *b);
    }
    assert!(
        grew > 100,
        "only {grew} of 300 channels gained followers in a day"
    );
}

#[test]
fn channel_keeps_last_values_when_offline() {
    let mut w = world(17, 0);
    let id = w
        .add_scripted_channel(ScriptedChannel {
            login: "ann".into(),
            ..Default::default()
        })
        .unwrap();
    w.go_live(&id, "21779", "ranked", 10).unwrap();
    w.set_game(&id, "32982").unwrap();
    w.set_title(&id, "rp night").unwrap();
    w.go_offline(&id).unwrap();
    let c = w.channel(&id).unwrap();
    assert_eq!(
        (c.game_id.as_str(), c.game_name.as_str()),
        ("32982", "Grand Theft Auto V")
    );
    assert_eq!(c.title, "rp night");
    assert_eq!(c.broadcaster_language, "en");
    assert!(w.live_streams().is_empty());
}

#[test]
fn scripted_channels_stay_exactly_as_scripted() {
    let mut w = world(19, 100);
    let id = w
        .add_scripted_channel(ScriptedChannel {
            login: "alice".into(),
            display_name: "Alice".into(),
            followers: 1234,
            language: "de".into(),
            tags: vec!["Deutsch".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(id, "1000001");
    let sid = w.go_live(&id, "509658", "hello", 777).unwrap();
    let stream = w.stream_of(&id).unwrap().clone();
    assert_eq!(stream.started_at, "2026-01-05T00:00:00Z");
    assert_eq!(
        (
            stream.id.as_str(),
            stream.viewer_count,
            stream.language.as_str()
        ),
        (sid.as_str(), 777, "de")
    );
    w.advance_to(start() + Duration::days(2));
    assert_eq!(w.stream_of(&id), Some(&stream));
    assert_eq!(w.followers(&id), Some(1234));
    assert_eq!(w.user(&id).unwrap().login, "alice");
    assert_sorted(&w);
}

#[test]
fn scripted_events_restart_rename_ban() {
    let mut w = world(23, 0);
    let a = w
        .add_scripted_channel(ScriptedChannel {
            login: "a1".into(),
            ..Default::default()
        })
        .unwrap();
    let b = w
        .add_scripted_channel(ScriptedChannel {
            login: "b2".into(),
            ..Default::default()
        })
        .unwrap();
    let s1 = w.go_live(&a, "", "t", 5).unwrap();
    w.go_live(&b, "", "t", 5).unwrap();
    // Ties keep creation order.
    assert_eq!(w.live_streams()[0].user_id, a);
    w.set_viewers(&b, 6).unwrap();
    assert_eq!(w.live_streams()[0].user_id, b);

    w.advance_to(start() + Duration::minutes(3) + Duration::seconds(20));
    let s2 = w.restart(&a).unwrap();
    assert_ne!(s1, s2);
    let st = w.stream_of(&a).unwrap();
    assert_eq!(
        (st.id.as_str(), st.started_at.as_str()),
        (s2.as_str(), "2026-01-05T00:03:20Z")
    );

    w.rename(&a, "a1_new").unwrap();
    assert!(w.user_by_login("a1").is_none());
    assert_eq!(w.user_by_login("a1_new").unwrap().id, a);
    assert_eq!(w.stream_of(&a).unwrap().user_login, "a1_new");
    assert!(matches!(w.rename(&b, "a1"), Err(Error::LoginTaken(_))));

    let g = w.generation();
    w.ban(&b).unwrap();
    assert!(w.generation() > g);
    assert!(w.user(&b).is_none() && w.user_by_login("b2").is_none());
    assert!(w.channel(&b).is_none() && w.followers(&b).is_none() && w.stream_of(&b).is_none());
    assert!(w.live_streams().iter().all(|s| s.user_id != b));
    assert_eq!(w.logins(), vec!["a1_new".to_string()]);
    assert!(matches!(w.set_viewers(&b, 1), Err(Error::UnknownUser(_))));
}

#[test]
fn scripting_errors_are_reported() {
    let mut w = world(29, 0);
    let a = w
        .add_scripted_channel(ScriptedChannel {
            login: "x".into(),
            ..Default::default()
        })
        .unwrap();
    let dup = ScriptedChannel {
        login: "x".into(),
        ..Default::default()
    };
    assert!(matches!(
        w.add_scripted_channel(dup),
        Err(Error::LoginTaken(_))
    ));
    let bad = ScriptedChannel {
        login: "Bad Name".into(),
        ..Default::default()
    };
    assert!(matches!(
        w.add_scripted_channel(bad),
        Err(Error::InvalidLogin(_))
    ));
    let same_id = ScriptedChannel {
        login: "y".into(),
        user_id: Some(a.clone()),
        ..Default::default()
    };
    assert!(matches!(
        w.add_scripted_channel(same_id),
        Err(Error::UserIdTaken(_))
    ));
    assert!(matches!(w.set_viewers(&a, 1), Err(Error::NotLive(_))));
    assert!(matches!(
        w.go_live(&a, "nope", "t", 1),
        Err(Error::UnknownGame(_))
    ));
    w.go_live(&a, "", "t", 1).unwrap();
    assert!(matches!(
        w.go_live(&a, "", "t", 1),
        Err(Error::AlreadyLive(_))
    ));
    assert!(matches!(w.go_offline("404"), Err(Error::UnknownUser(_))));
}

#[test]
fn generated_renames_keep_the_user_id_and_bans_remove_the_user() {
    let mut w = world(31, 300);
    // Force one rename and one ban at the next minute.
    let (r, b) = (w.users[3].id.clone(), w.users[4].id.clone());
    let old_login = w.users[3].login.clone();
    w.chans[3].d.rename_at = w.minute + 1;
    w.chans[4].d.ban_at = w.minute + 1;
    w.advance_to(start() + Duration::minutes(1));
    let u = w.user(&r).unwrap();
    assert_ne!(u.login, old_login);
    assert_eq!(w.user_by_login(&u.login).unwrap().id, r);
    assert!(w.user_by_login(&old_login).is_none());
    assert!(w.user(&b).is_none() && w.followers(&b).is_none());
    assert_eq!(w.logins().len(), 299);
}

#[test]
fn empty_world_is_fine() {
    let mut w = world(37, 0);
    w.advance_to(start() + Duration::hours(3));
    assert!(w.live_streams().is_empty() && w.logins().is_empty());
    assert_eq!(w.top_games().len(), w.games().len());
}

#[test]
fn scale_100k_live_streams_build_and_advance_one_minute() {
    let mut w = World::with_live_streams(41, 100_000, start());
    assert_eq!(w.live_streams().len(), 100_000);
    // Ids and logins are unique.
    assert_eq!((w.by_id.len(), w.by_login.len()), (100_000, 100_000));
    assert_sorted(&w);
    w.advance_to(start() + Duration::minutes(1));
    let live = w.live_streams().len();
    assert!(
        (99_000..=100_000).contains(&live),
        "{live} live after a minute"
    );
    assert_sorted(&w);
    let ids: HashSet<&str> = w.live_streams().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), live);
}

#[test]
fn kept_live_channels_start_new_streams_as_theirs_end() {
    // Eight hours: every session live at the start (at most 400 minutes
    // left) has ended by then.
    let later = start() + Duration::hours(8);
    let live_after = |keep_live| {
        let mut w = World::new(WorldConfig {
            seed: 5,
            channels: 1_000,
            start: start(),
            all_live: true,
            keep_live,
        });
        let first: HashSet<String> = w.live_streams().iter().map(|s| s.id.clone()).collect();
        w.advance_to(later);
        assert_sorted(&w);
        let now: Vec<&str> = w.live_streams().iter().map(|s| s.id.as_str()).collect();
        let new = now.iter().filter(|id| !first.contains(**id)).count();
        (now.len(), new)
    };
    let (kept, new) = live_after(true);
    assert!(kept >= 970, "{kept} of 1,000 live after 8 hours");
    assert!(new >= 900, "{new} of them new streams");
    // Without it, channels fall back to their daily rhythm.
    let (rhythm, _) = live_after(false);
    assert!(rhythm < 500, "{rhythm} of 1,000 live after 8 hours");
}

#[test]
fn raids_crashes_and_follower_spikes_move_the_numbers_they_say() {
    let mut w = world(31, 0);
    let mut add = |login: &str| {
        w.add_scripted_channel(ScriptedChannel {
            login: login.into(),
            followers: 100,
            ..Default::default()
        })
        .unwrap()
    };
    let (raider, target, idle) = (add("raider"), add("target"), add("idle"));
    w.go_live(&raider, "", "r", 700).unwrap();
    w.go_live(&target, "", "t", 300).unwrap();
    assert_eq!(w.raid(&raider, &target).unwrap(), 700);
    assert!(w.stream_of(&raider).is_none());
    assert_eq!(w.stream_of(&target).unwrap().viewer_count, 1000);
    assert_eq!(w.live_streams()[0].user_id, target);
    assert!(matches!(w.raid(&idle, &target), Err(Error::NotLive(_))));
    assert_eq!(w.crash(&target, 0.25).unwrap(), 250);
    assert_eq!(w.stream_of(&target).unwrap().viewer_count, 250);
    assert_eq!(w.gain_followers(&idle, 5000).unwrap(), 5100);
    assert_eq!(w.followers(&idle), Some(5100));
}
