//! One minute of generated chat for a live channel: messages in proportion
//! to its viewers from a heavy-tailed crowd of chatters (a few talk a lot),
//! emotes, copypasta spam and multi-line bursts, Unicode, "moments" that
//! multiply the rate (hype, fails, sad turns, raids, drops), subs, timeouts
//! and deleted messages. Drawn from (seed, channel, minute): the same inputs
//! give the same lines.
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::format::{self, Chatter, Notice};
use super::{OutLine, mix};

/// Messages per viewer per minute (a 1,000-viewer channel: about 25 a minute).
const RATE_PER_VIEWER: f64 = 0.025;
/// Most messages one channel gets in a minute (keeps huge channels cheap).
const MAX_PER_MINUTE: f64 = 3_000.0;

const POSITIVE: &[&str] = &[
    "lets go",
    "this is amazing",
    "gg",
    "so good",
    "love this stream",
    "what a play",
    "best streamer",
    "nice",
    "huge",
    "clean",
    "wow",
    "that was awesome",
    "great job",
];
const NEGATIVE: &[&str] = &[
    "this is boring",
    "so bad",
    "terrible",
    "worst run ever",
    "not good",
    "throwing",
    "that was awful",
    "sad",
    "ugh",
    "this game sucks",
    "boring",
    "rip",
];
const NEUTRAL: &[&str] = &[
    "what rank is he",
    "first time here",
    "!drops",
    "what game is this",
    "hi chat",
    "which server",
    "is this live",
    "brb",
    "what did i miss",
    "how long has he been live",
];
const UNICODE: &[&str] = &[
    "ㅋㅋㅋㅋㅋ",
    "草",
    "давай давай",
    "😂😂😂",
    "¡qué jugada!",
    "やばい",
    "🔥🔥",
    "c'est énorme",
    "ez clap 💪",
    "👀",
];
const EMOTES_UP: &[&str] = &[
    "PogChamp", "KEKW", "LUL", "POGGERS", "Clap", "catJAM", "<3", "Kreygasm",
];
const EMOTES_DOWN: &[&str] = &[
    "BibleThump",
    "NotLikeThis",
    "ResidentSleeper",
    "PepeHands",
    "monkaS",
    "FailFish",
];
const EMOTES_ANY: &[&str] = &[
    "Kappa",
    "LUL",
    "KEKW",
    "OMEGALUL",
    "monkaS",
    "PepeLaugh",
    "Sadge",
];
const COPYPASTA: &[&str] = &[
    "I am once again asking chat to calm down, it is just a game Kappa",
    "This is the best stream on Twitch and nobody can tell me otherwise PogChamp PogChamp",
    "Every time he dies a kitten cries BibleThump BibleThump BibleThump",
];
const NAME_A: &[&str] = &[
    "xx", "the", "mr", "its", "lil", "big", "pro", "real", "sir", "old",
];
const NAME_B: &[&str] = &[
    "gamer", "viewer", "lurker", "fan", "chatter", "goblin", "potato", "ninja", "toast", "noodle",
];

/// What dominates a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    Calm,
    Hype,
    Fail,
    Sad,
    Raid,
    Drops,
}

/// The chatter ranked `k` in a channel's crowd.
fn chatter(channel_hash: u64, k: u64) -> Chatter {
    let h = mix(channel_hash, k);
    let login = format!(
        "{}{}{}",
        NAME_A[(h % NAME_A.len() as u64) as usize],
        NAME_B[((h >> 8) % NAME_B.len() as u64) as usize],
        k
    );
    Chatter::named(&login)
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn text(rng: &mut ChaCha8Rng, moment: Moment) -> String {
    let (up, down) = match moment {
        Moment::Hype | Moment::Raid => (0.75, 0.05),
        Moment::Sad => (0.1, 0.6),
        Moment::Fail => (0.3, 0.4),
        Moment::Calm | Moment::Drops => (0.35, 0.2),
    };
    let r: f64 = rng.random();
    let base = if moment == Moment::Drops && rng.random_bool(0.5) {
        "!drops".to_owned()
    } else if r < up {
        match rng.random_range(0..3) {
            0 => pick(rng, POSITIVE).to_owned(),
            1 => format!("{} {}", pick(rng, POSITIVE), pick(rng, EMOTES_UP)),
            _ => vec![pick(rng, EMOTES_UP); rng.random_range(1..=4)].join(" "),
        }
    } else if r < up + down {
        match rng.random_range(0..3) {
            0 => pick(rng, NEGATIVE).to_owned(),
            1 => format!("{} {}", pick(rng, NEGATIVE), pick(rng, EMOTES_DOWN)),
            _ => vec![pick(rng, EMOTES_DOWN); rng.random_range(1..=3)].join(" "),
        }
    } else {
        match rng.random_range(0..4) {
            0 => pick(rng, UNICODE).to_owned(),
            1 => pick(rng, EMOTES_ANY).to_owned(),
            _ => pick(rng, NEUTRAL).to_owned(),
        }
    };
    if moment != Moment::Calm && rng.random_bool(0.2) {
        base.to_uppercase()
    } else {
        base
    }
}

/// Inputs of one generated minute.
#[derive(Debug, Clone, Copy)]
pub(super) struct MinuteSpec<'a> {
    pub(super) seed: u64,
    pub(super) channel: &'a str,
    pub(super) room_id: &'a str,
    pub(super) viewers: u64,
    pub(super) minute: DateTime<Utc>,
    /// Extra rate factor (a scripted event in this minute: 3).
    pub(super) boost: f64,
}

/// The lines of one minute, in time order.
pub(super) fn minute(spec: MinuteSpec<'_>) -> Vec<OutLine> {
    let ch = spec
        .channel
        .bytes()
        .fold(spec.seed, |h, b| mix(h, u64::from(b)));
    let m = spec.minute.timestamp().div_euclid(60) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(mix(ch, m));
    let moment = match rng.random_range(0..100) {
        0..=2 => Moment::Hype,
        3..=4 => Moment::Fail,
        5 => Moment::Sad,
        6 => Moment::Raid,
        7 => Moment::Drops,
        _ => Moment::Calm,
    };
    let mult = match moment {
        Moment::Calm => 1.0,
        Moment::Hype | Moment::Raid => 4.0,
        Moment::Fail => 3.0,
        Moment::Sad | Moment::Drops => 2.0,
    } * spec.boost.max(1.0);
    let rate = (spec.viewers as f64 * RATE_PER_VIEWER * mult).min(MAX_PER_MINUTE);
    let n = (rate * rng.random_range(0.7..1.3)).round() as usize;
    let crowd = ((spec.viewers as f64).sqrt() * 8.0).max(5.0);
    let at =
        |rng: &mut ChaCha8Rng| spec.minute + TimeDelta::milliseconds(rng.random_range(0..60_000));
    let mut out: Vec<OutLine> = Vec::with_capacity(n + 4);
    let mut seq = 0u64;
    let mut next_id = |rng: &mut ChaCha8Rng| {
        seq += 1;
        format::message_id(mix(mix(ch, m), seq ^ rng.random::<u64>()))
    };
    let room = spec.room_id;
    if moment == Moment::Raid {
        let who = chatter(ch, 10_000 + m % 97);
        let viewers = (spec.viewers / 10).max(3) + rng.random_range(0..50);
        let id = next_id(&mut rng);
        let t = spec.minute + TimeDelta::milliseconds(rng.random_range(0..5_000));
        let notice = Notice::Raid {
            from: who.login.clone(),
            viewers,
        };
        out.push(OutLine::new(
            t,
            format::usernotice(spec.channel, room, &who, &id, t, &notice),
        ));
    }
    let subs = ((spec.viewers as f64 / 2_000.0).min(0.9) * 10.0) as u32;
    for _ in 0..rng.random_range(0..=subs) {
        let who = chatter(ch, (crowd * rng.random::<f64>()) as u64);
        let (id, t) = (next_id(&mut rng), at(&mut rng));
        out.push(OutLine::new(
            t,
            format::usernotice(spec.channel, room, &who, &id, t, &Notice::Sub),
        ));
    }
    let mut i = 0;
    while i < n {
        // Heavy tail: u³ puts most messages on the first few chatters.
        let k = (crowd * rng.random::<f64>().powi(3)) as u64;
        let who = chatter(ch, k);
        let t = at(&mut rng);
        let roll: f64 = rng.random();
        if roll < 0.03 {
            // Copypasta: several chatters paste the same text within seconds.
            let pasta = pick(&mut rng, COPYPASTA);
            let copies = rng.random_range(2..=6).min(n - i);
            for c in 0..copies {
                let who = chatter(ch, (crowd * rng.random::<f64>()) as u64);
                let t = t + TimeDelta::milliseconds(300 * c as i64);
                let id = next_id(&mut rng);
                out.push(OutLine::new(
                    t,
                    format::privmsg(spec.channel, room, &who, &id, t, pasta),
                ));
            }
            if copies > 2 && rng.random_bool(0.5) {
                out.push(OutLine::new(
                    t + TimeDelta::seconds(2),
                    format::clearchat(spec.channel, room, &who, t + TimeDelta::seconds(2)),
                ));
            }
            i += copies;
            continue;
        }
        if roll < 0.05 {
            // One chatter's thought in several lines.
            let lines = rng.random_range(2..=3).min(n - i);
            for l in 0..lines {
                let t = t + TimeDelta::milliseconds(800 * l as i64);
                let id = next_id(&mut rng);
                let body = text(&mut rng, moment);
                out.push(OutLine::new(
                    t,
                    format::privmsg(spec.channel, room, &who, &id, t, &body),
                ));
            }
            i += lines;
            continue;
        }
        let id = next_id(&mut rng);
        let body = text(&mut rng, moment);
        out.push(OutLine::new(
            t,
            format::privmsg(spec.channel, room, &who, &id, t, &body),
        ));
        if rng.random_bool(0.004) {
            let t2 = t + TimeDelta::seconds(3);
            out.push(OutLine::new(
                t2,
                format::clearmsg(spec.channel, room, &who, &id, t2, &body),
            ));
        }
        i += 1;
    }
    out.sort_by_key(|l| l.at);
    out
}
