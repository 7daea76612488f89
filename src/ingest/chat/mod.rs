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
//!
//! Minutes more than [`SEAL_AFTER`] behind the newest line received are
//! sealed: they keep their figures, not the ids, chatters and emotes that
//! counting another line needs (a day of a busy chat would otherwise hold
//! millions of them). A line that comes later than that for a sealed
//! minute reopens it from bronze first, like a closed day.
use std::collections::{BTreeMap, BTreeSet, HashSet};

use arrow::array::AsArray;
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

/// Days a fold stays open behind the newest day a message fell in, at
/// most: a line arriving later than that for an older day reloads the day
/// from bronze. A day closes earlier once all its minutes are sealed
/// ([`SEAL_AFTER`] past its end, by the newest line received).
const OPEN_DAYS_BEHIND: i64 = 1;

/// How far behind the newest line received a minute is sealed. Lines
/// arrive a second or so after Twitch stamped them; half an hour leaves room
/// for a reader that fell behind.
pub const SEAL_AFTER: TimeDelta = TimeDelta::minutes(30);

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
    /// The newest time a folded line was received.
    newest: Option<DateTime<Utc>>,
}

/// The day a chat message counts in: that of the time Twitch stamped it.
fn message_day(line: &ChatLine) -> Option<NaiveDate> {
    match (&line.kind, &line.channel) {
        (LineKind::Message(m), Some(_)) => Some(m.sent_at.date_naive()),
        _ => None,
    }
}

/// Midnight (UTC) at the start of `day`.
fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
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

    /// Whether the minute of `channel` starting at `minute` is folded and
    /// sealed (see [`SEAL_AFTER`]).
    pub fn is_sealed(&self, channel: &str, minute: DateTime<Utc>) -> bool {
        let day = self.days.get(&minute.date_naive());
        day.is_some_and(|f| f.minutes.is_sealed(channel, minute))
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
        let received = lines.iter().filter(|l| l.message().is_some());
        self.newest = received.map(|l| l.received_at).chain(self.newest).max();
        if let Some(newest) = self.newest {
            let before = minute_of(newest) - SEAL_AFTER;
            for fold in self.days.values_mut() {
                fold.minutes.seal_before(before);
            }
            // A day whose every minute is sealed is in the lake for good
            // (its rows were written by the cycles that touched it): its
            // fold goes, rather than a whole day of minutes held a day
            // longer. A line later still for it opens it again from bronze
            // ([`ChatDays::load`]), as for any closed day.
            self.days
                .retain(|d, _| touched.contains(d) || day_start(*d + TimeDelta::days(1)) > before);
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

    /// Opens the days of `lines` that are not open, and reopens the sealed
    /// minutes they fall in, from the lines bronze holds of cycles before
    /// `cycle_id`.
    pub async fn load(&mut self, lake: &Lake, cycle_id: i64, lines: &[ChatLine]) -> Result<()> {
        let missing: Vec<NaiveDate> = days_of(lines)
            .into_iter()
            .filter(|d| !self.is_open(*d))
            .collect();
        for day in missing {
            let mut fold = DayFold::default();
            // Only that day's messages: bronze parses each line again, and
            // the first cycle of a day would otherwise parse all of the day
            // before (7 s at the close of a day of 12,000 channels).
            let sent_that_day = format!(
                "AND sent_at >= TIMESTAMP '{day}T00:00:00Z' AND sent_at < TIMESTAMP '{}T00:00:00Z'",
                day + TimeDelta::days(1)
            );
            each_bronze_message(lake, cycle_id, day, &sent_that_day, |line| {
                if let (Some(d), Some(channel), Some(m)) =
                    (message_day(&line), &line.channel, line.message())
                    && d == day
                {
                    fold.add(channel, m);
                }
            })
            .await?;
            self.days.insert(day, fold);
        }
        let mut sealed: BTreeMap<NaiveDate, BTreeSet<(String, DateTime<Utc>)>> = BTreeMap::new();
        for (channel, minute) in minutes_of(lines) {
            if self.is_sealed(channel, minute) {
                let day = minute.date_naive();
                sealed
                    .entry(day)
                    .or_default()
                    .insert((channel.to_owned(), minute));
            }
        }
        for (day, minutes) in sealed {
            self.reopen(lake, cycle_id, day, &minutes).await?;
        }
        Ok(())
    }

    /// Reopens the sealed `minutes` (channel, minute) of open day `day` from
    /// the lines bronze holds of cycles before `cycle_id`.
    async fn reopen(
        &mut self,
        lake: &Lake,
        cycle_id: i64,
        day: NaiveDate,
        minutes: &BTreeSet<(String, DateTime<Utc>)>,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (
            minutes.iter().map(|k| k.1).min(),
            minutes.iter().map(|k| k.1).max(),
        ) else {
            return Ok(());
        };
        let channels: BTreeSet<String> = minutes
            .iter()
            .map(|(c, _)| format!("'{}'", c.replace('\'', "''")))
            .collect();
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let only = format!(
            "AND channel IN ({}) AND sent_at >= TIMESTAMP '{}' AND sent_at < TIMESTAMP '{}'",
            channels.into_iter().collect::<Vec<_>>().join(", "),
            at(first),
            at(last + TimeDelta::minutes(1)),
        );
        let mut again = MinuteFold::new();
        let mut counted = 0;
        each_bronze_message(lake, cycle_id, day, &only, |line| {
            if let (Some(channel), Some(m)) = (&line.channel, line.message())
                && minutes.contains(&(channel.clone(), minute_of(m.sent_at)))
            {
                again.add(channel, m);
                counted += 1;
            }
        })
        .await?;
        let Some(fold) = self.days.get_mut(&day) else {
            return Ok(());
        };
        for (channel, minute) in minutes {
            fold.minutes.reopen(channel, *minute, &mut again);
        }
        tracing::info!(
            cycle_id,
            %day,
            minutes = minutes.len(),
            lines = counted,
            "chat: lines came more than {} minutes late; their minutes were read again from bronze",
            SEAL_AFTER.num_minutes()
        );
        Ok(())
    }
}

/// How many cycles of bronze chat one read sorts: an hour at one cycle a
/// minute.
const CYCLES_PER_READ: i64 = 60;

/// Hands `f` the chat messages bronze holds of cycles before `cycle_id` that
/// may fall in day `day` (received that day, the next one, or — with the
/// clocks a little apart — the one before) and match `and` (SQL: `AND …`,
/// or ""). Cycle by cycle, each in the order [`ChatDays::add`] folds a
/// cycle's lines. Read and sorted an hour of cycles at a time and parsed
/// batch by batch: opening a day at 20,000 channels used to hold all of the
/// day's lines, parsed, at once (most of a 2 GB start-up peak).
async fn each_bronze_message(
    lake: &Lake,
    cycle_id: i64,
    day: NaiveDate,
    and: &str,
    mut f: impl FnMut(ChatLine),
) -> Result<()> {
    let (prev, next) = (day - TimeDelta::days(1), day + TimeDelta::days(1));
    let table = Table::ChatMessages.qualified_name();
    let filter = format!(
        "kind = 'message' AND ingest_date IN (DATE '{prev}', DATE '{day}', DATE '{next}') {and}"
    );
    let first: Vec<_> = lake
        .stream(
            Table::ChatMessages,
            &format!("SELECT min(cycle_id) FROM {table} WHERE cycle_id < {cycle_id} AND {filter}"),
        )
        .await?
        .try_collect()
        .await?;
    let first = first
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
        })
        .find_map(|a| a.iter().flatten().next());
    let Some(mut from) = first else {
        return Ok(());
    };
    while from < cycle_id {
        let to = from.saturating_add(CYCLES_PER_READ).min(cycle_id);
        let sql = format!(
            "SELECT cycle_id, channel, raw, received_at FROM {table} \
             WHERE cycle_id >= {from} AND cycle_id < {to} AND {filter} \
             ORDER BY cycle_id, received_at, raw"
        );
        let mut batches = lake.stream(Table::ChatMessages, &sql).await?;
        while let Some(b) = batches.try_next().await? {
            lines_of(std::slice::from_ref(&b))?
                .into_iter()
                .for_each(&mut f);
        }
        from = to;
    }
    Ok(())
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
