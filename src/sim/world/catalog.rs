//! Static tables of the simulated world: categories, languages with their
//! regions, tags and title templates. Twitch-like values, not Twitch's data.
use rand::Rng;

use crate::twitch::models::Game;

/// A category: Twitch-style numeric id, name, IGDB id ("" for non-games) and a
/// relative weight (how many channels pick it as their main category).
pub(super) struct GameSpec {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) igdb: &'static str,
    pub(super) weight: f64,
}

const fn g(id: &'static str, name: &'static str, igdb: &'static str, weight: f64) -> GameSpec {
    GameSpec {
        id,
        name,
        igdb,
        weight,
    }
}

/// Index of "Just Chatting" in [`GAMES`]: streams often open there before
/// switching to their game.
pub(super) const JUST_CHATTING: usize = 0;

/// The category pool (names unique).
pub(super) const GAMES: &[GameSpec] = &[
    g("509658", "Just Chatting", "", 20.0),
    g("21779", "League of Legends", "115", 8.0),
    g("32982", "Grand Theft Auto V", "1020", 7.0),
    g("516575", "VALORANT", "126459", 6.0),
    g("32399", "Counter-Strike", "242408", 6.0),
    g("27471", "Minecraft", "121", 5.0),
    g("33214", "Fortnite", "1905", 5.0),
    g("29595", "Dota 2", "2963", 3.0),
    g("18122", "World of Warcraft", "123", 3.0),
    g("511224", "Apex Legends", "114795", 3.0),
    g("512710", "Call of Duty: Warzone", "131800", 2.5),
    g("515025", "Overwatch 2", "125174", 2.0),
    g("138585", "Hearthstone", "1279", 1.5),
    g("491487", "Dead by Daylight", "18866", 1.5),
    g("30921", "Rocket League", "11198", 1.5),
    g("513143", "Teamfight Tactics", "120176", 1.5),
    g("491931", "Escape from Tarkov", "19560", 1.5),
    g("263490", "Rust", "3277", 1.5),
    g("512953", "Elden Ring", "119133", 1.5),
    g("26936", "Music", "", 1.5),
    g("509660", "Art", "", 1.0),
    g("518203", "Sports", "", 1.0),
    g("498566", "Slots", "", 1.5),
    g("743", "Chess", "", 1.0),
    g("509663", "Special Events", "", 0.3),
    g("513181", "Genshin Impact", "119277", 1.0),
    g("29307", "Path of Exile", "1911", 1.0),
    g("55453844", "Street Fighter 6", "191692", 0.8),
    g("460630", "Tom Clancy's Rainbow Six Siege", "7360", 1.0),
    g("1469308723", "Software and Game Development", "", 0.5),
    g("509659", "ASMR", "", 0.5),
    g("417752", "Talk Shows & Podcasts", "", 0.5),
    g("27284", "Retro", "", 0.5),
    g("490744", "Stardew Valley", "17000", 0.7),
    g("369252", "The Sims 4", "3491", 0.6),
    g("66082", "Games + Demos", "", 0.4),
    g("509670", "Science & Technology", "", 0.3),
    g("116747788", "Pools, Hot Tubs, and Beaches", "", 0.3),
];

/// The catalog as Helix `Game`s, in [`GAMES`] order.
pub(super) fn games() -> Vec<Game> {
    GAMES
        .iter()
        .map(|s| Game {
            id: s.id.to_owned(),
            name: s.name.to_owned(),
            box_art_url: format!(
                "https://static-cdn.jtvnw.net/ttv-boxart/{}-{{width}}x{{height}}.jpg",
                s.id
            ),
            igdb_id: s.igdb.to_owned(),
        })
        .collect()
}

/// Picks a category index by weight.
pub(super) fn pick_game(rng: &mut impl Rng) -> usize {
    let total: f64 = GAMES.iter().map(|s| s.weight).sum();
    let mut x = rng.random::<f64>() * total;
    for (i, s) in GAMES.iter().enumerate() {
        x -= s.weight;
        if x < 0.0 {
            return i;
        }
    }
    GAMES.len() - 1
}

/// A broadcast language: ISO 639-1 code (or "other"), share of channels, the
/// tag streams in it carry, and the UTC offsets (hours) of its audiences.
pub(super) struct Lang {
    pub(super) code: &'static str,
    pub(super) weight: f64,
    pub(super) tag: &'static str,
    pub(super) offsets: &'static [i32],
}

/// Languages by share of channels (English dominant, as on Twitch).
pub(super) const LANGS: &[Lang] = &[
    Lang {
        code: "en",
        weight: 45.0,
        tag: "English",
        offsets: &[-6, -5, -5, -8, 0, 0, 1],
    },
    Lang {
        code: "es",
        weight: 10.0,
        tag: "Español",
        offsets: &[1, -5, -6, -3, -5],
    },
    Lang {
        code: "de",
        weight: 6.0,
        tag: "Deutsch",
        offsets: &[1],
    },
    Lang {
        code: "pt",
        weight: 6.0,
        tag: "Português",
        offsets: &[-3],
    },
    Lang {
        code: "fr",
        weight: 5.0,
        tag: "Français",
        offsets: &[1],
    },
    Lang {
        code: "ru",
        weight: 5.0,
        tag: "Русский",
        offsets: &[3],
    },
    Lang {
        code: "ja",
        weight: 5.0,
        tag: "日本語",
        offsets: &[9],
    },
    Lang {
        code: "ko",
        weight: 4.0,
        tag: "한국어",
        offsets: &[9],
    },
    Lang {
        code: "it",
        weight: 3.0,
        tag: "Italiano",
        offsets: &[1],
    },
    Lang {
        code: "pl",
        weight: 2.0,
        tag: "Polski",
        offsets: &[1],
    },
    Lang {
        code: "tr",
        weight: 2.0,
        tag: "Türkçe",
        offsets: &[3],
    },
    Lang {
        code: "zh",
        weight: 2.0,
        tag: "中文",
        offsets: &[8],
    },
    Lang {
        code: "other",
        weight: 5.0,
        tag: "Other",
        offsets: &[-4, 2, 4, 5, 7],
    },
];

/// Picks a language index by share.
pub(super) fn pick_lang(rng: &mut impl Rng) -> usize {
    let total: f64 = LANGS.iter().map(|l| l.weight).sum();
    let mut x = rng.random::<f64>() * total;
    for (i, l) in LANGS.iter().enumerate() {
        x -= l.weight;
        if x < 0.0 {
            return i;
        }
    }
    LANGS.len() - 1
}

/// Style tags a channel may carry besides its language tag.
const STYLE_TAGS: &[&str] = &[
    "Chill",
    "Competitive",
    "FPS",
    "RPG",
    "Speedrun",
    "NoBackseating",
    "Variety",
    "Casual",
    "Esports",
    "Funny",
    "Educational",
    "LGBTQIAPlus",
    "DropsEnabled",
    "Roleplay",
];

/// A channel's tags: its language tag plus one or two style tags.
pub(super) fn tags(rng: &mut impl Rng, lang: usize) -> Vec<String> {
    let mut tags = vec![LANGS[lang].tag.to_owned()];
    let n = rng.random_range(1..=2);
    for _ in 0..n {
        let t = STYLE_TAGS[rng.random_range(0..STYLE_TAGS.len())];
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_owned());
        }
    }
    tags
}

/// Title templates by language code; `{g}` is the category name, `{n}` a number.
fn title_templates(code: &str) -> &'static [&'static str] {
    match code {
        "de" => &[
            "{g} mit Zuschauern | !discord",
            "Entspannter Abend – {g}",
            "Tag {n}: {g}",
        ],
        "es" => &[
            "{g} con subs 🔴",
            "¡Directo de {g}! !redes",
            "Día {n} de {g}",
        ],
        "pt" => &[
            "{g} ao vivo | !pix",
            "Jogando {g} com vocês",
            "Dia {n} de {g}",
        ],
        "fr" => &[
            "{g} en détente | !discord",
            "Soirée {g} avec vous",
            "Jour {n} sur {g}",
        ],
        "ru" => &["{g} стрим | !tg", "Вечерний {g}", "День {n}: {g}"],
        "ja" => &["{g} 配信 #{n}", "まったり{g}", "【{g}】参加型"],
        "ko" => &["{g} 방송 {n}일차", "오늘도 {g}", "【{g}】 시청자 참여"],
        _ => &[
            "{g} ranked grind | !socials",
            "chill {g} stream, come hang",
            "day {n} of {g} 🔴 !drops",
            "late night {g} | !discord",
            "road to top 500 in {g}",
            "BIG {g} DAY !sub",
        ],
    }
}

/// A fresh stream title in the channel's language.
pub(super) fn title(rng: &mut impl Rng, lang: &str, game: &str) -> String {
    let t = title_templates(lang);
    let tpl = t[rng.random_range(0..t.len())];
    let n: u32 = rng.random_range(1..400);
    tpl.replace("{g}", if game.is_empty() { "stuff" } else { game })
        .replace("{n}", &n.to_string())
}
