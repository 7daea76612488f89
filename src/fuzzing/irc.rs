//! Chat lines through what happens to them in a cycle: parsing and
//! scoring, the per-minute and per-day folds, bronze rows, and bronze read
//! back the way start-up repair and `rebuild` read it.
use chrono::DateTime;

use crate::chat::{Scorer, chat_minutes, parse_line};
use crate::ingest::chat::{ChatDays, lines_of, tables};
use crate::schema::Table;

/// At most this many lines per input.
const MAX_LINES: usize = 64;

/// Reads `data` as what the chat connection received: lines ending in
/// `\n` (a `\r` before it dropped, lossy UTF-8, as the reader keeps them).
/// Checks that every sentiment score is in [-1, 1] and that bronze rows read
/// back give the very lines the live cycle folded.
pub fn irc(data: &[u8]) {
    // Whole seconds: bronze keeps microseconds.
    let at = DateTime::from_timestamp(1_767_571_230, 0).unwrap_or_default();
    let scorer = Scorer::builtin();
    let mut lines = Vec::new();
    for raw in data.split(|&b| b == b'\n').take(MAX_LINES) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = String::from_utf8_lossy(raw);
        let (line, _control) = parse_line(&raw, at, scorer);
        if let Some(line) = line {
            if let Some(m) = line.message() {
                assert!(in_range(m.sentiment), "sentiment {}", m.sentiment);
            }
            let _ = line.approx_bytes();
            lines.push(line);
        }
    }
    let mut days = ChatDays::default();
    for day in days.add(&lines) {
        let (minutes, daily) = days.rows(day);
        drop((minutes, daily));
    }
    for minute in chat_minutes(&lines) {
        assert!(in_range(minute.sentiment_mean), "{minute:?}");
    }
    let bronze = tables::bronze(&Table::ChatMessages.schema(), 1, &lines)
        .expect("bronze rows of any chat lines");
    let back = lines_of(&[bronze]).expect("bronze chat rows read back");
    assert_eq!(back, lines, "bronze replay differs from the live lines");
}

fn in_range(score: f64) -> bool {
    (-1.0..=1.0).contains(&score)
}
