//! Hand-computed scores. VADER ratings used: good 1.9, bad -2.5, amazing 2.8;
//! boosters ±0.293, caps +0.733, negation ×-0.74, `!` +0.292 each; the
//! compound is s / sqrt(s² + 15). Emotes weigh 4 × their lexicon valence.
use super::*;

fn score(text: &str) -> f64 {
    Scorer::builtin().score_text(text)
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-5, "got {got}, want {want}");
}

#[test]
fn builtin_lexicons_parse_completely() {
    let s = Scorer::builtin();
    assert_eq!(s.lex.skipped, 0);
    // VADER 3.3.2 has 7,520 entries of which 14 repeat an earlier word (the later one wins).
    assert_eq!(s.lex.words.len(), 7_520 - 14);
    assert_eq!(s.word_rating("lol"), Some(1.8));
    // 1,212 of its 3,570 emoji are one code point, the only ones VADER can match.
    assert_eq!(s.lex.emoji.len(), 1_212);
    assert!(s.lex.emotes.len() >= 70);
}

#[test]
fn plain_words() {
    close(score("good"), 0.440434); // 1.9 / sqrt(1.9² + 15)
    close(score("bad"), -0.542326); // -2.5 / sqrt(2.5² + 15)
    close(score(""), 0.0);
    close(score("   "), 0.0);
}

#[test]
fn negation() {
    close(score("not good"), -0.341238); // 1.9 × -0.74 = -1.406
    close(score("isnt bad"), 0.431020); // -2.5 × -0.74 = 1.85
    close(score("not PogChamp"), -0.451996); // 4 × 0.663 × -0.74 = -1.96248
}

#[test]
fn intensifiers_and_dampeners() {
    close(score("very good"), 0.492725); // 1.9 + 0.293
    close(score("kinda good"), 0.383245); // 1.9 - 0.293
    close(score("LUL so bad"), -0.200590); // 2.0 + (-2.5 - 0.293)
}

#[test]
fn caps_emphasis_needs_some_words_not_shouting() {
    close(score("very GOOD"), 0.602800); // 1.9 + 0.733 + 0.293
    close(score("GOOD"), 0.440434); // everything shouts: no emphasis
    // Emote codes do not count as shouting: "GOOD" is the only word, so no emphasis.
    close(score("LUL GOOD"), 0.709560); // 2.0 + 1.9
    close(score("KEKW that was AMAZING"), 0.843457); // 2.548 + 2.8 + 0.733
}

#[test]
fn repeated_punctuation() {
    close(score("good!!!"), 0.582569); // 1.9 + 3 × 0.292
    close(score("good!!!!!!!!"), 0.620938); // at most 4 × 0.292
}

#[test]
fn emotes_alone() {
    close(score("PogChamp"), 0.564983); // 4 × 0.663
    close(score("BibleThump"), -0.476658); // 4 × -0.525
    close(score("Kappa"), 0.0); // irony: neutral by definition
    close(score("kekw"), 0.0); // emotes are case-sensitive; "kekw" is no word either
}

#[test]
fn twitch_emotes_from_the_tag() {
    let s = Scorer::builtin();
    // An emote we do not rate is neutral, even when it reads like a word.
    close(s.score("xqcL", &["xqcL"]), 0.0);
    close(s.score("good xqcL", &["xqcL"]), 0.440434);
    // A smiley the tag marks keeps VADER's rating (":)" = 2.0).
    close(s.score(":)", &[":)"]), 0.458831);
}

#[test]
fn unknown_tokens_are_neutral() {
    close(score("asdf qwerty 1234"), 0.0);
    close(score("asdf good qwerty"), 0.440434);
}

#[test]
fn emoji_read_as_their_descriptions() {
    // 😂 is "face with tears of joy": joy 2.8 (tears -0.9 is a word before it).
    let s = score("😂");
    assert!(s > 0.0, "{s}");
}

#[test]
fn polarity_thresholds() {
    assert_eq!(polarity(0.05), 1);
    assert_eq!(polarity(0.049), 0);
    assert_eq!(polarity(-0.05), -1);
    assert_eq!(polarity(0.0), 0);
}

#[test]
fn scores_stay_in_range_on_odd_input() {
    for text in [
        "!!!!!!!!!!!!!!!!!",
        "?? ?? ??",
        "no no no no no",
        "not not not good",
        "the bomb the bomb",
        "kind of kind of",
        "least",
        "at least good",
        "\u{1}ACTION waves\u{1}",
        "ÄÖÜ ß ǅ 😀😀😀 🇩🇪",
        "LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE LOVE",
    ] {
        let s = score(text);
        assert!((-1.0..=1.0).contains(&s), "{text:?}: {s}");
    }
}

#[test]
fn emote_valences_follow_the_documented_method() {
    // valence = mean VADER rating of the gloss words / 4, to 3 decimals;
    // no gloss means neutral.
    let s = Scorer::builtin();
    for (code, e) in s.emotes() {
        let want = if e.gloss.is_empty() {
            0.0
        } else {
            let ratings: Vec<f64> = e
                .gloss
                .iter()
                .map(|w| {
                    s.word_rating(w)
                        .unwrap_or_else(|| panic!("{code}: gloss word {w:?} is not in VADER"))
                })
                .collect();
            ratings.iter().sum::<f64>() / ratings.len() as f64 / 4.0
        };
        assert!(
            (e.valence - want).abs() <= 0.0005 + 1e-9,
            "{code}: {} but the gloss gives {want:.4}",
            e.valence
        );
        assert!(
            matches!(e.source.as_str(), "twitch" | "bttv" | "ffz" | "7tv"),
            "{code}: source {}",
            e.source
        );
    }
}

#[test]
fn malformed_lexicon_lines_are_skipped_and_counted() {
    let lex = Lexicons::parse(
        "good\t1.9\nbroken\nbad\tx\n",
        "😀\tgrinning face\nnotab\n",
        "# comment\nPog\t0.5\tffz\texcited\tm\nHuge\t7\tffz\t-\tm\nShort\t0.1\n",
    );
    assert_eq!(lex.words.len(), 1);
    assert_eq!(lex.emoji.len(), 1);
    assert_eq!(lex.emotes.len(), 1);
    assert_eq!(lex.skipped, 5);
}
