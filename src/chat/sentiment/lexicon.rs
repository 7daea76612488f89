//! The scorer's data: VADER's word and emoji lexicons (MIT, vendored as
//! published) and our Twitch emote lexicon, compiled into the binary and
//! parsed once.
use std::collections::HashMap;

/// VADER 3.3.2's word lexicon: `word TAB mean TAB sd TAB ratings`, ratings in [-4, 4].
pub(super) const VADER_LEXICON: &str = include_str!("data/vader_lexicon.txt");
/// VADER 3.3.2's emoji lexicon: `emoji TAB description`.
pub(super) const EMOJI_LEXICON: &str = include_str!("data/emoji_utf8_lexicon.txt");
/// Our emote lexicon: `emote TAB valence TAB source TAB gloss TAB meaning`, valence in [-1, 1].
pub(super) const EMOTE_LEXICON: &str = include_str!("data/emotes.tsv");

/// One emote of the emote lexicon.
#[derive(Debug, Clone, PartialEq)]
pub struct Emote {
    /// Valence in [-1, 1].
    pub valence: f64,
    /// `twitch`, `bttv`, `ffz` or `7tv`.
    pub source: String,
    /// The VADER words the valence was derived from (empty: neutral by definition).
    pub gloss: Vec<String>,
}

/// The three lexicons, parsed.
#[derive(Debug, Default)]
pub(super) struct Lexicons {
    /// Lowercase word → VADER rating in [-4, 4] (a later duplicate wins, as in VADER).
    pub(super) words: HashMap<Box<str>, f64>,
    /// Single-code-point emoji → description (VADER reads text a code point at a time,
    /// so longer sequences never match there either).
    pub(super) emoji: HashMap<char, Box<str>>,
    /// Emote code (case-sensitive) → emote.
    pub(super) emotes: HashMap<Box<str>, Emote>,
    /// Lines that did not parse (a unit test keeps this at zero for the built-in data).
    pub(super) skipped: usize,
}

impl Lexicons {
    /// Parses the three files; malformed lines are skipped and counted.
    pub(super) fn parse(words: &str, emoji: &str, emotes: &str) -> Self {
        let mut lex = Self::default();
        for line in words.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut cols = line.split('\t');
            match (
                cols.next(),
                cols.next().and_then(|m| m.trim().parse::<f64>().ok()),
            ) {
                (Some(w), Some(m)) => {
                    lex.words.insert(w.into(), m);
                }
                _ => lex.skipped += 1,
            }
        }
        for line in emoji.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut cols = line.split('\t');
            let (Some(e), Some(desc)) = (cols.next(), cols.next()) else {
                lex.skipped += 1;
                continue;
            };
            let mut chars = e.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                lex.emoji.insert(c, desc.into());
            }
        }
        for line in emotes.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let valence = cols.get(1).and_then(|v| v.trim().parse::<f64>().ok());
            match (cols.first(), valence, cols.get(2), cols.get(3)) {
                (Some(code), Some(v), Some(source), Some(gloss))
                    if !code.is_empty() && (-1.0..=1.0).contains(&v) =>
                {
                    let gloss = match gloss.trim() {
                        "-" => Vec::new(),
                        g => g.split_whitespace().map(str::to_owned).collect(),
                    };
                    lex.emotes.insert(
                        (*code).into(),
                        Emote {
                            valence: v,
                            source: source.trim().to_owned(),
                            gloss,
                        },
                    );
                }
                _ => lex.skipped += 1,
            }
        }
        lex
    }

    /// The built-in lexicons.
    pub(super) fn builtin() -> Self {
        Self::parse(VADER_LEXICON, EMOJI_LEXICON, EMOTE_LEXICON)
    }
}
