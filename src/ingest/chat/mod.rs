//! Chat in the cycle: the lines the chat source buffered since the last
//! cycle land in `bronze.chat_messages` (raw, malformed ones too) and, folded
//! per channel and minute (`silver.chat_minutes`) and per channel and day
//! (`gold.chat_daily`), in the same exactly-once cycle commit as the Helix
//! tables ([`super::plan`]).
//!
//! A minute (or a day) of chat spans cycles, so each cycle rewrites the
//! partition of every day its messages fall in from [`ChatDays`], the running
//! fold of the days recent cycles touched. A day not open in this process
//! (after a restart, or a late line) is first loaded from bronze — the raw
//! lines of earlier cycles parsed again — so a live cycle, start-up repair
//! and `rebuild` derive the same rows from the same lines.
use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::TryStreamExt;

use super::Result;
use super::state::{Cols, time};
use crate::chat::minutes::minute_of;
use crate::chat::{ChatLine, ChatMinute, LineKind, MinuteFold, Scorer, parse_line};
use crate::lake::Lake;
use crate::schema::Table;

mod feed;
pub mod tables;

pub use feed::{ChatChannels, ChatFeed};

/// Days a fold stays open behind the newest day a message fell in: a line
/// arriving later than that for an older day reloads the day from bronze.
const OPEN_DAYS_BEHIND: i64 = 1;

/// The running chat fold of one day: its minutes, and the day as a whole.
#[derive(Debug, Clone)]
struct DayFold {
    minutes: MinuteFold,
    day: MinuteFold,
}

impl Default for DayFold {
    fn default() -> Self {
        Self {
            minutes: MinuteFold::new(),
            day: MinuteFold::daily(),
        }
    }
}

impl DayFold {
    /// Counts one message in its minute and its day, unless its id was
    /// counted before (a message's id and time travel together, so the
    /// minutes' fold alone keeps the ids).
    fn add(&mut self, channel: &str, m: &crate::chat::ChatMessage) {
        if self.minutes.add(channel, m) {
            self.day.count(channel, m);
        }
    }
}

/// The chat of the days recent cycles touched, folded so far.
#[derive(Debug, Clone, Default)]
pub struct ChatDays {
    days: BTreeMap<NaiveDate, DayFold>,
}

/// The day a chat message counts in: that of the time Twitch stamped it.
fn message_day(line: &ChatLine) -> Option<NaiveDate> {
    match (&line.kind, &line.channel) {
        (LineKind::Message(m), Some(_)) => Some(m.sent_at.date_naive()),
        _ => None,
    }
}

/// The (channel, minute) of every chat message among `lines`.
pub fn minutes_of(lines: &[ChatLine]) -> HashSet<(&str, DateTime<Utc>)> {
    lines
        .iter()
        .filter_map(|l| Some((l.channel.as_deref()?, minute_of(l.message()?.sent_at))))
        .collect()
}

/// The days the chat messages among `lines` fall in.
pub fn days_of(lines: &[ChatLine]) -> BTreeSet<NaiveDate> {
    lines.iter().filter_map(message_day).collect()
}

impl ChatDays {
    /// Whether day `day` is folded in memory.
    pub fn is_open(&self, day: NaiveDate) -> bool {
        self.days.contains_key(&day)
    }

    /// Folds the chat messages among `lines` into their days (opening days
    /// not open yet, empty) and returns the days they fell in. Then closes
    /// the days more than a day behind the newest open one.
    pub fn add(&mut self, lines: &[ChatLine]) -> BTreeSet<NaiveDate> {
        let mut touched = BTreeSet::new();
        // One order whatever order the lines came in (drained, or read back
        // from bronze), so sentiment sums agree to the last bit.
        let mut sorted: Vec<&ChatLine> = lines.iter().collect();
        sorted.sort_by(|a, b| (a.received_at, &a.raw).cmp(&(b.received_at, &b.raw)));
        for line in sorted {
            let (Some(day), Some(channel), Some(m)) =
                (message_day(line), &line.channel, line.message())
            else {
                continue;
            };
            let fold = self.days.entry(day).or_default();
            fold.add(channel, m);
            touched.insert(day);
        }
        if let Some(&newest) = self.days.keys().next_back() {
            let keep = newest - TimeDelta::days(OPEN_DAYS_BEHIND);
            self.days.retain(|d, _| *d >= keep || touched.contains(d));
        }
        touched
    }

    /// Day `day`'s `silver.chat_minutes` and `gold.chat_daily` rows so far.
    pub fn rows(&self, day: NaiveDate) -> (Vec<ChatMinute>, Vec<ChatMinute>) {
        self.days
            .get(&day)
            .map(|f| (f.minutes.rows(), f.day.rows()))
            .unwrap_or_default()
    }

    /// Opens the days of `lines` that are not open, from the lines bronze
    /// holds of cycles before `cycle_id` (a day's messages arrive on that day,
    /// the next one, or — with the clocks a little apart — the one before).
    pub async fn load(&mut self, lake: &Lake, cycle_id: i64, lines: &[ChatLine]) -> Result<()> {
        let missing: Vec<NaiveDate> = days_of(lines)
            .into_iter()
            .filter(|d| !self.is_open(*d))
            .collect();
        for day in missing {
            let (prev, next) = (day - TimeDelta::days(1), day + TimeDelta::days(1));
            // Cycle by cycle, each in the order `add` folds a cycle's lines.
            let sql = format!(
                "SELECT * FROM {} WHERE cycle_id < {cycle_id} AND kind = 'message' \
                 AND ingest_date IN (DATE '{prev}', DATE '{day}', DATE '{next}') \
                 ORDER BY cycle_id, received_at, raw",
                Table::ChatMessages.qualified_name()
            );
            let batches: Vec<_> = lake
                .stream(Table::ChatMessages, &sql)
                .await?
                .try_collect()
                .await?;
            let mut fold = DayFold::default();
            for line in lines_of(&batches)? {
                if let (Some(d), Some(channel), Some(m)) =
                    (message_day(&line), &line.channel, line.message())
                    && d == day
                {
                    fold.add(channel, m);
                }
            }
            self.days.insert(day, fold);
        }
        Ok(())
    }
}

/// Bronze rows of `bronze.chat_messages` back to chat lines: each raw line
/// parsed again (as it was when received), in the order given.
pub fn lines_of(batches: &[arrow::record_batch::RecordBatch]) -> Result<Vec<ChatLine>> {
    let scorer = Scorer::builtin();
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let (channel, raw, at) = (c.str("channel")?, c.str("raw")?, c.ts("received_at")?);
        for i in 0..b.num_rows() {
            let received_at = time(at, i).unwrap_or_default();
            let raw = raw.value(i);
            let line = match parse_line(raw, received_at, scorer).0 {
                Some(line) => line,
                // Protocol chatter is never buffered; kept as received if it was.
                None => ChatLine {
                    received_at,
                    channel: Some(channel.value(i))
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                    raw: raw.to_owned(),
                    kind: LineKind::Unparsable("protocol line".into()),
                },
            };
            out.push(line);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
