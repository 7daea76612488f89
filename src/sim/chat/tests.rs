use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::sim::world::{ScriptedChannel, WorldConfig};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 20, 0, 0).unwrap()
}

fn world(seed: u64) -> Arc<Mutex<World>> {
    Arc::new(Mutex::new(World::with_live_streams(seed, 50, t0())))
}

#[test]
fn generated_chat_is_deterministic_for_a_seed_and_follows_viewers() {
    let (a, b) = (
        SimChat::new(world(7), 7, 1.0),
        SimChat::new(world(7), 7, 1.0),
    );
    let w = a.world.lock().unwrap();
    let top = w.live_streams()[0].user_login.clone();
    let low = w.live_streams().last().unwrap().user_login.clone();
    drop(w);
    let end = t0() + TimeDelta::minutes(3);
    let la = a.lines(&top, t0(), end);
    assert_eq!(la, b.lines(&top, t0(), end));
    assert!(!la.is_empty());
    assert!(la.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(la.iter().all(|l| l.at > t0() && l.at <= end));
    // Asked for in two halves: the same lines.
    let mid = t0() + TimeDelta::seconds(90);
    let mut halves = a.lines(&top, t0(), mid);
    halves.extend(a.lines(&top, mid, end));
    assert_eq!(halves, la);
    let ll = a.lines(&low, t0(), end);
    assert!(ll.len() < la.len(), "{} vs {}", ll.len(), la.len());
    // Another seed, another chat.
    let c = SimChat::new(world(8), 8, 1.0);
    let top8 = c.world.lock().unwrap().live_streams()[0].user_login.clone();
    assert_ne!(c.lines(&top8, t0(), end), la);
}

#[test]
fn scripted_channels_say_only_what_is_scripted() {
    let w = Arc::new(Mutex::new(World::new(WorldConfig {
        channels: 0,
        start: t0(),
        ..Default::default()
    })));
    let id = {
        let mut w = w.lock().unwrap();
        let id = w
            .add_scripted_channel(ScriptedChannel {
                login: "alpha".into(),
                ..Default::default()
            })
            .unwrap();
        w.go_live(&id, "", "t", 100_000).unwrap();
        id
    };
    let chat = SimChat::new(w, 1, 1.0);
    assert_eq!(chat.room_id("alpha"), Some(id));
    chat.say("alpha", t0() + TimeDelta::seconds(5), "bob", "good")
        .unwrap();
    chat.say("alpha", t0() + TimeDelta::seconds(1), "amy", "bad")
        .unwrap();
    chat.notice("alpha", t0() + TimeDelta::seconds(2), "cat", Notice::Sub)
        .unwrap();
    chat.raw("alpha", t0() + TimeDelta::seconds(3), "@broken");
    assert!(chat.say("nobody", t0(), "x", "y").is_err());
    let lines = chat.lines("alpha", t0(), t0() + TimeDelta::minutes(5));
    let texts: Vec<&str> = lines
        .iter()
        .map(|l| l.line.rsplit(" :").next().unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].line.ends_with(":bad"));
    assert!(lines[1].line.contains("USERNOTICE"));
    assert_eq!(lines[2].line, "@broken");
    assert_eq!(texts[3], "good");
    // The range is (from, to]: a line at exactly `from` was sent before.
    assert_eq!(
        chat.lines(
            "alpha",
            t0() + TimeDelta::seconds(5),
            t0() + TimeDelta::minutes(1)
        )
        .len(),
        0
    );
    assert_eq!(
        chat.lines("alpha", t0(), t0() + TimeDelta::seconds(1))
            .len(),
        1
    );
}
