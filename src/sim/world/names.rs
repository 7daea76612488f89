//! Generated identities: logins, display names, descriptions, profile images,
//! all drawn from the world's seeded generator so a seed names the same people.
use std::collections::HashSet;

use rand::Rng;

const PREFIXES: &[&str] = &[
    "shadow", "pixel", "lunar", "frost", "night", "iron", "neon", "silent", "crimson", "cosmic",
    "lazy", "happy", "mad", "tiny", "big", "dark", "wild", "cyber", "retro", "golden", "toxic",
    "swift", "sneaky", "salty", "cozy", "storm", "turbo", "mega", "hyper", "sir", "lord",
    "captain", "doc", "its", "the", "real", "just", "not", "el", "der", "la", "mister", "lil",
    "king", "queen",
];

const NOUNS: &[&str] = &[
    "fox", "wolf", "raven", "gamer", "panda", "ninja", "tiger", "dragon", "knight", "wizard",
    "potato", "noodle", "pepper", "falcon", "otter", "badger", "ghost", "viper", "bear", "cat",
    "duck", "sniper", "pilot", "monk", "bard", "goblin", "yeti", "kraken", "phoenix", "moose",
    "toast", "cactus", "comet", "pirate", "samurai", "llama", "mango", "waffle", "hawk", "owl",
];

const SYLLABLES: &[&str] = &[
    "ka", "zen", "ryu", "lex", "mor", "vik", "to", "shi", "ra", "no", "xa", "qui", "lo", "mi",
    "dra", "ve", "sto", "pa", "ju", "ne", "ko", "ari", "el", "tha", "bo", "gus", "fi", "yu",
];

const SUFFIXES: &[&str] = &["tv", "ttv", "live", "gg", "yt", "hd", "plays", "irl"];

/// Localized display names (Twitch allows non-Latin display names whose login
/// stays ASCII), so the pipeline sees real Unicode.
const JA_NAMES: &[&str] = &[
    "ゆうき",
    "さくら",
    "はると",
    "みく",
    "そら",
    "たろう",
    "ひなた",
];
const KO_NAMES: &[&str] = &["하늘", "민수", "지우", "서연", "도윤", "하준", "유나"];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Name parts; the login is their lowercase concatenation, the display name
/// their capitalized one.
fn parts(rng: &mut impl Rng) -> Vec<String> {
    let mut parts: Vec<String> = match rng.random_range(0..4) {
        0 | 1 => vec![
            PREFIXES[rng.random_range(0..PREFIXES.len())].into(),
            NOUNS[rng.random_range(0..NOUNS.len())].into(),
        ],
        2 => vec![NOUNS[rng.random_range(0..NOUNS.len())].into()],
        _ => {
            let n = rng.random_range(2..=3);
            vec![
                (0..n)
                    .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
                    .collect(),
            ]
        }
    };
    match rng.random_range(0..5) {
        0 => parts.push(SUFFIXES[rng.random_range(0..SUFFIXES.len())].into()),
        1 | 2 => parts.push(rng.random_range(1..10_000u32).to_string()),
        _ => {}
    }
    parts
}

/// A fresh (login, display name) pair not in `taken`; the login is added to it.
pub(super) fn identity(
    rng: &mut impl Rng,
    lang: &str,
    taken: &mut HashSet<String>,
) -> (String, String) {
    loop {
        let mut p = parts(rng);
        let underscore = rng.random_bool(0.15) && p.len() > 1;
        let mut login: String = p.join(if underscore { "_" } else { "" });
        if login.len() < 4 {
            p.push(rng.random_range(10..1000u32).to_string());
            login = p.concat();
        }
        login.truncate(25);
        if taken.contains(&login) {
            // Short names run out in big worlds: number the name, as people do.
            p.push(rng.random_range(1..100_000u32).to_string());
            login = p.join(if underscore { "_" } else { "" });
            login.truncate(25);
            if taken.contains(&login) {
                continue;
            }
        }
        let display = match lang {
            "ja" if rng.random_bool(0.3) => JA_NAMES[rng.random_range(0..JA_NAMES.len())].into(),
            "ko" if rng.random_bool(0.3) => KO_NAMES[rng.random_range(0..KO_NAMES.len())].into(),
            _ => {
                let d: Vec<String> = p.iter().map(|s| capitalize(s)).collect();
                let d = d.join(if underscore { "_" } else { "" });
                if d.to_lowercase() == login {
                    d
                } else {
                    login.clone()
                }
            }
        };
        taken.insert(login.clone());
        return (login, display);
    }
}

/// A new login for a channel that renames itself: a variant of the old one
/// (as streamers do), or a fresh name when every variant is taken.
pub(super) fn rename(rng: &mut impl Rng, old: &str, taken: &mut HashSet<String>) -> String {
    for _ in 0..8 {
        let stem: String = old
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
            .into();
        let stem = if stem.len() < 3 { old.to_owned() } else { stem };
        let mut login = match rng.random_range(0..3) {
            0 => format!("{stem}{}", SUFFIXES[rng.random_range(0..SUFFIXES.len())]),
            1 => format!("{stem}_{}", rng.random_range(1..100u32)),
            _ => format!("real{stem}"),
        };
        login.truncate(25);
        if taken.insert(login.clone()) {
            return login;
        }
    }
    identity(rng, "en", taken).0
}

/// A profile image URL shaped like Twitch's (uuid-like path).
pub(super) fn profile_image(rng: &mut impl Rng) -> String {
    let a: u128 = rng.random();
    let h = format!("{a:032x}");
    format!(
        "https://static-cdn.jtvnw.net/jtv_user_pictures/{}-{}-{}-{}-{}-profile_image-300x300.png",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A channel description mentioning the main category.
pub(super) fn description(rng: &mut impl Rng, game: &str) -> String {
    const TPL: &[&str] = &[
        "Variety streamer, mostly {g}. Be nice in chat!",
        "{g} every evening. Business: see panels.",
        "Just a person who loves {g}.",
        "",
        "Ex-pro, now streaming {g} full time.",
        "Streaming {g} and good vibes since forever.",
    ];
    TPL[rng.random_range(0..TPL.len())].replace("{g}", game)
}

/// Whether `login` is shaped like a Twitch login (a-z, 0-9, `_`; 1-25 chars).
pub(super) fn valid_login(login: &str) -> bool {
    (1..=25).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
