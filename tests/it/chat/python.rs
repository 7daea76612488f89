//! Our scorer against the reference: on plain English (no emotes) it gives
//! the compound scores of Python's vaderSentiment 3.3.2, which rounds them
//! to 4 decimals.
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use twitch_monitor::chat::Scorer;

const SENTENCES: &[&str] = &[
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "The book was good.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as such as 💘 and 💋 and 😁",
    "Not bad at all",
    "this stream is the bomb",
    "yeah right, great play",
    "never so good",
    "without doubt the best",
    "no problem at all",
    "no good, no fun",
    "that was the kiss of death",
    "I do not like this game at all",
    "least favorite streamer",
    "at least he is happy",
    "this is sort of boring",
    "what a terrible, horrible, no good, very bad day???",
    "why would you do that??",
    "I love it I love it I LOVE IT",
    "he is kinda bad but really really funny",
    "cant stop laughing",
    "wasn't that good tbh",
    "😂😂😂",
    "",
    "ok",
    "hmm...",
];

#[tokio::test]
async fn english_scores_match_python_vader() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/vader_scores.py");
    let mut child = tokio::process::Command::new(crate::python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run scripts/venv first",
                crate::python().display()
            )
        });
    let input = serde_json::to_vec(SENTENCES).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    let scorer = Scorer::builtin();
    let mut wrong = Vec::new();
    for (text, want) in SENTENCES.iter().zip(&want) {
        let got = scorer.score_text(text);
        if (got - want).abs() > 5.1e-5 {
            wrong.push(format!("{text:?}: ours {got:.4}, VADER {want:.4}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(want.len(), SENTENCES.len());
}
