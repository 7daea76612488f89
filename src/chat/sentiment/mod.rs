//! Chat sentiment: a lexicon scorer that reads English the way VADER does
//! and reads Twitch emotes from our own emote lexicon; every chat message gets
//! one score in [-1, 1] as it arrives, and `silver.chat_minutes` averages them.
//!
//! The rules are VADER 3.3.2's (Hutto & Gilbert, ICWSM 2014; MIT): word
//! ratings in [-4, 4] from its lexicon, boosters and dampeners ("very",
//! "kinda"), negation within three words ("not", "isn't", "never"), ALL-CAPS
//! emphasis when only some words shout, "but" shifting weight to what follows,
//! "least", a few idioms, `!` and `?` emphasis, emoji read as their
//! descriptions, and the sum normalised to the compound score
//! `s / sqrt(s² + 15)`. The VADER crate on crates.io (0.1, 2019) is not used:
//! it cannot add an emote lexicon beside VADER's, panics on odd input and
//! allocates a map per call; the rules are short and a test holds them to
//! the Python reference.
//!
//! Twitch on top: a token that is an emote — in the message's `emotes` tag
//! (Twitch's own emotes) or, matched case-sensitively, in the emote lexicon
//! (BTTV, FFZ and 7TV emotes arrive as plain text) — is scored by the emote
//! lexicon (valence v in [-1, 1] weighs like a word rated 4·v), never by the
//! English lexicon ("LUL" is not "lul"), takes part in negation and
//! boosting like a word, but neither shouts nor counts when deciding whether
//! the message shouts (emote codes are often upper-case). Emotes the lexicon
//! lacks are neutral; Twitch smilies such as `:)` and `<3` keep VADER's
//! ratings.
use std::borrow::Cow;
use std::sync::LazyLock;

mod lexicon;
#[cfg(test)]
mod tests;

pub use lexicon::Emote;
use lexicon::Lexicons;

/// Rating added by a booster ("very"), from VADER.
const B_INCR: f64 = 0.293;
/// Rating removed by a dampener ("kinda"), from VADER.
const B_DECR: f64 = -0.293;
/// Rating added by ALL-CAPS emphasis, from VADER.
const C_INCR: f64 = 0.733;
/// Factor of a negated rating, from VADER.
const N_SCALAR: f64 = -0.74;
/// Normalisation constant of the compound score, from VADER.
const ALPHA: f64 = 15.0;
/// A message scoring at least this is positive, at most its negative is
/// negative (VADER's usual thresholds).
pub const POLARITY_THRESHOLD: f64 = 0.05;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

fn booster(lower: &str) -> Option<f64> {
    if BOOSTERS_UP.contains(&lower) {
        Some(B_INCR)
    } else if BOOSTERS_DOWN.contains(&lower) {
        Some(B_DECR)
    } else {
        None
    }
}

fn special_case(seq: &str) -> Option<f64> {
    SPECIAL_CASES
        .iter()
        .find(|(k, _)| *k == seq)
        .map(|&(_, v)| v)
}

fn negated(lower: &str) -> bool {
    NEGATE.contains(&lower) || lower.contains("n't")
}

/// Python's `str.isupper()`: some cased character, none lower-case.
fn is_upper(s: &str) -> bool {
    s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)
}

fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// One whitespace-separated token, with what the rules ask of it precomputed.
#[derive(Debug)]
struct Tok<'a> {
    /// The token, punctuation stripped as VADER strips it.
    text: &'a str,
    lower: Cow<'a, str>,
    /// Rating in [-4, 4] if the token is a lexicon item (word or emote).
    rating: Option<f64>,
    emote: bool,
}

/// Scores chat messages. Cheap to share: build once ([`Scorer::builtin`]).
#[derive(Debug)]
pub struct Scorer {
    lex: Lexicons,
}

static BUILTIN: LazyLock<Scorer> = LazyLock::new(|| Scorer {
    lex: Lexicons::builtin(),
});

impl Scorer {
    /// The scorer over the built-in lexicons (parsed on first use).
    pub fn builtin() -> &'static Scorer {
        &BUILTIN
    }

    /// The emote lexicon's entry for `code` (case-sensitive).
    pub fn emote(&self, code: &str) -> Option<&Emote> {
        self.lex.emotes.get(code)
    }

    /// Every emote of the emote lexicon.
    pub fn emotes(&self) -> impl Iterator<Item = (&str, &Emote)> {
        self.lex.emotes.iter().map(|(k, v)| (&**k, v))
    }

    /// VADER's rating of a (lower-case) word, if it has one.
    pub fn word_rating(&self, lower: &str) -> Option<f64> {
        self.lex.words.get(lower).copied()
    }

    /// The compound score in [-1, 1] of a message with no emote tag: only
    /// emotes of the emote lexicon are recognised.
    pub fn score_text(&self, text: &str) -> f64 {
        self.score(text, &[])
    }

    /// The compound score in [-1, 1] of a chat message; `emotes` are the
    /// codes of the Twitch emotes its `emotes` tag marks (any order,
    /// repeats allowed).
    pub fn score(&self, text: &str, emotes: &[&str]) -> f64 {
        let text = self.replace_emoji(text);
        let text = text.trim();
        let toks: Vec<Tok<'_>> = text
            .split_whitespace()
            .map(|raw| self.token(raw, emotes))
            .collect();
        if toks.is_empty() {
            return 0.0;
        }
        let words: Vec<&Tok<'_>> = toks.iter().filter(|t| !t.emote).collect();
        let upper = words.iter().filter(|t| is_upper(t.text)).count();
        let cap_diff = upper > 0 && upper < words.len();
        let mut sentiments: Vec<f64> = (0..toks.len())
            .map(|i| self.valence(&toks, i, cap_diff))
            .collect();
        if let Some(bi) = toks.iter().position(|t| t.lower == "but") {
            // VADER 3.3.2 finds each score's position by value, which goes
            // wrong when two scores are equal; positions are what it means.
            for (k, s) in sentiments.iter_mut().enumerate() {
                if k < bi {
                    *s *= 0.5;
                } else if k > bi {
                    *s *= 1.5;
                }
            }
        }
        let mut sum: f64 = sentiments.iter().sum();
        let emphasis = punctuation_emphasis(text);
        if sum > 0.0 {
            sum += emphasis;
        } else if sum < 0.0 {
            sum -= emphasis;
        }
        (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
    }

    /// VADER replaces each emoji by its description (`😂` → "face with tears of joy").
    fn replace_emoji<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if text.is_ascii() || !text.chars().any(|c| self.lex.emoji.contains_key(&c)) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() * 2);
        let mut prev_space = true;
        for c in text.chars() {
            match self.lex.emoji.get(&c) {
                Some(desc) => {
                    if !prev_space {
                        out.push(' ');
                    }
                    out.push_str(desc);
                    prev_space = false;
                }
                None => {
                    out.push(c);
                    prev_space = c == ' ';
                }
            }
        }
        Cow::Owned(out)
    }

    fn token<'t>(&self, raw: &'t str, emotes: &[&str]) -> Tok<'t> {
        if let Some(e) = self.lex.emotes.get(raw) {
            return emote_tok(raw, e.valence);
        }
        if emotes.contains(&raw) {
            // A Twitch emote we do not rate: VADER's rating for smilies like `<3`.
            let rating = self.lex.words.get(raw).copied().unwrap_or(0.0);
            return emote_tok(raw, rating / 4.0);
        }
        let stripped = raw.trim_matches(is_ascii_punct);
        if let Some(e) = self.lex.emotes.get(stripped) {
            return emote_tok(stripped, e.valence);
        }
        // VADER keeps a token whose stripped form has 2 characters or fewer
        // (":)" would vanish).
        let text = if stripped.chars().nth(2).is_none() {
            raw
        } else {
            stripped
        };
        let lower = if text.chars().any(char::is_uppercase) {
            Cow::Owned(text.to_lowercase())
        } else {
            Cow::Borrowed(text)
        };
        let rating = self.lex.words.get(&*lower).copied();
        Tok {
            text,
            lower,
            rating,
            emote: false,
        }
    }

    /// The score of token `i` in context (VADER's `sentiment_valence`).
    fn valence(&self, toks: &[Tok<'_>], i: usize, cap_diff: bool) -> f64 {
        let t = &toks[i];
        if !t.emote {
            if booster(&t.lower).is_some() {
                return 0.0;
            }
            if t.lower == "kind" && toks.get(i + 1).is_some_and(|n| n.lower == "of") {
                return 0.0;
            }
        }
        let Some(base) = t.rating else {
            return 0.0;
        };
        let lower = |k: usize| low(toks, k);
        let known = |k: usize| toks[k].rating.is_some();
        let mut v = base;
        if !t.emote && t.lower == "no" && i + 1 < toks.len() && known(i + 1) {
            // "no" before a rated word negates it instead of counting itself.
            v = 0.0;
        }
        if (i > 0 && lower(i - 1) == "no")
            || (i > 1 && lower(i - 2) == "no")
            || (i > 2 && lower(i - 3) == "no" && matches!(lower(i - 1), "or" | "nor"))
        {
            v = base * N_SCALAR;
        }
        if !t.emote && cap_diff && is_upper(t.text) {
            v += if v > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i <= start || known(i - start - 1) {
                continue;
            }
            let mut s = scalar(&toks[i - start - 1], v, cap_diff);
            if start == 1 {
                s *= 0.95;
            } else if start == 2 {
                s *= 0.9;
            }
            v += s;
            v = negation_check(v, toks, start, i);
            if start == 2 {
                v = idioms_check(v, toks, i);
            }
        }
        least_check(v, toks, i)
    }
}

/// Token `k`, lower-cased.
fn low<'a>(toks: &'a [Tok<'_>], k: usize) -> &'a str {
    &toks[k].lower
}

/// An emote token; a neutral one is no lexicon item (nothing boosts or negates it).
fn emote_tok(code: &str, valence: f64) -> Tok<'_> {
    Tok {
        text: code,
        lower: Cow::Borrowed(code),
        rating: (valence != 0.0).then_some(4.0 * valence),
        emote: true,
    }
}

/// How a preceding booster or dampener changes a rating.
fn scalar(t: &Tok<'_>, valence: f64, cap_diff: bool) -> f64 {
    if t.emote {
        return 0.0;
    }
    let Some(mut s) = booster(&t.lower) else {
        return 0.0;
    };
    if valence < 0.0 {
        s = -s;
    }
    if cap_diff && is_upper(t.text) {
        s += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    s
}

/// VADER's `_negation_check`, its operator precedence included.
fn negation_check(v: f64, toks: &[Tok<'_>], start: usize, i: usize) -> f64 {
    let w = |k: usize| low(toks, k);
    match start {
        0 if negated(w(i - 1)) => v * N_SCALAR,
        1 if w(i - 2) == "never" && matches!(w(i - 1), "so" | "this") => v * 1.25,
        1 if w(i - 2) == "without" && w(i - 1) == "doubt" => v,
        1 if negated(w(i - 2)) => v * N_SCALAR,
        2 if (w(i - 3) == "never" && matches!(w(i - 2), "so" | "this"))
            || matches!(w(i - 1), "so" | "this") =>
        {
            v * 1.25
        }
        2 if w(i - 3) == "without" && (w(i - 2) == "doubt" || w(i - 1) == "doubt") => v,
        2 if negated(w(i - 3)) => v * N_SCALAR,
        _ => v,
    }
}

/// VADER's `_special_idioms_check` ("the bomb", "kind of" before a word…); `i >= 3`.
fn idioms_check(mut v: f64, toks: &[Tok<'_>], i: usize) -> f64 {
    let w = |k: usize| low(toks, k);
    let onezero = format!("{} {}", w(i - 1), w(i));
    let twoonezero = format!("{} {} {}", w(i - 2), w(i - 1), w(i));
    let twoone = format!("{} {}", w(i - 2), w(i - 1));
    let threetwoone = format!("{} {} {}", w(i - 3), w(i - 2), w(i - 1));
    let threetwo = format!("{} {}", w(i - 3), w(i - 2));
    if let Some(s) = [&onezero, &twoonezero, &twoone, &threetwoone, &threetwo]
        .into_iter()
        .find_map(|seq| special_case(seq))
    {
        v = s;
    }
    if i + 1 < toks.len()
        && let Some(s) = special_case(&format!("{} {}", w(i), w(i + 1)))
    {
        v = s;
    }
    if i + 2 < toks.len()
        && let Some(s) = special_case(&format!("{} {} {}", w(i), w(i + 1), w(i + 2)))
    {
        v = s;
    }
    for gram in [&threetwoone, &threetwo, &twoone] {
        if let Some(b) = booster(gram) {
            v += b;
        }
    }
    v
}

/// "least good" negates; "at least good" and "very least" do not.
fn least_check(v: f64, toks: &[Tok<'_>], i: usize) -> f64 {
    let prev_least = |k: usize| toks[k].rating.is_none() && toks[k].lower == "least";
    if i > 1 && prev_least(i - 1) {
        if toks[i - 2].lower != "at" && toks[i - 2].lower != "very" {
            return v * N_SCALAR;
        }
        v
    } else if i > 0 && prev_least(i - 1) {
        v * N_SCALAR
    } else {
        v
    }
}

/// Emphasis of `!` (up to four) and of two or more `?`.
fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.bytes().filter(|&b| b == b'!').count().min(4) as f64 * 0.292;
    let qm = match text.bytes().filter(|&b| b == b'?').count() {
        n @ 2..=3 => n as f64 * 0.18,
        n if n > 3 => 0.96,
        _ => 0.0,
    };
    ep + qm
}

/// Whether a score counts as positive (+1), negative (-1) or neutral (0).
pub fn polarity(score: f64) -> i8 {
    if score >= POLARITY_THRESHOLD {
        1
    } else if score <= -POLARITY_THRESHOLD {
        -1
    } else {
        0
    }
}
