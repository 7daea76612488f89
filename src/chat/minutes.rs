//! Chat lines to `silver.chat_minutes` rows: per channel and minute (of the
//! time Twitch stamped each message), the messages, distinct chatters, mean
//! sentiment, positive and negative messages and the most used emotes. Pure:
//! the ingest cycle calls it on drained lines (or folds lines of several
//! drains into one [`MinuteFold`] when a minute spans cycles).
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::line::{ChatLine, ChatMessage};
use super::sentiment::polarity;

/// Emotes listed per minute in `top_emotes`.
pub const TOP_EMOTES: usize = 5;

/// One `silver.chat_minutes` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMinute {
    /// Channel login.
    pub channel: String,
    /// Start of the minute (UTC).
    pub minute: DateTime<Utc>,
    /// Chat messages sent in the minute.
    pub messages: u64,
    /// Distinct senders (by user id).
    pub unique_chatters: u64,
    /// Mean message sentiment, in [-1, 1].
    pub sentiment_mean: f64,
    /// Messages scoring at least +0.05.
    pub positive: u64,
    /// Messages scoring at most -0.05.
    pub negative: u64,
    /// Up to [`TOP_EMOTES`] emote codes, most used first (ties by code).
    pub top_emotes: Vec<String>,
}

/// Running totals of one channel-minute.
#[derive(Debug, Clone, Default)]
struct Acc {
    messages: u64,
    chatters: HashSet<String>,
    sentiment_sum: f64,
    positive: u64,
    negative: u64,
    emotes: HashMap<String, u64>,
}

/// Chat minutes being added up; lines may come in any order and in any
/// number of batches, and a message id seen twice counts once. The same
/// fold counts whole days ([`MinuteFold::daily`]) for `gold.chat_daily`.
#[derive(Debug, Clone, Default)]
pub struct MinuteFold {
    minutes: BTreeMap<(String, DateTime<Utc>), Acc>,
    seen: SeenIds,
    /// Buckets of whole UTC days instead of minutes.
    daily: bool,
}

/// The message ids a fold has counted. Twitch's are UUIDs, kept as 16 bytes
/// rather than a 36-character string (a day of a busy chat is millions of
/// them); any other id is kept as it came.
#[derive(Debug, Clone, Default)]
struct SeenIds {
    uuids: HashSet<u128>,
    other: HashSet<String>,
}

impl SeenIds {
    /// Whether `id` is new (and from now on seen).
    fn insert(&mut self, id: &str) -> bool {
        let mut canonical = [0u8; uuid::fmt::Hyphenated::LENGTH];
        match uuid::Uuid::try_parse(id) {
            Ok(u) if u.hyphenated().encode_lower(&mut canonical) == id => {
                self.uuids.insert(u.as_u128())
            }
            _ => !self.other.contains(id) && self.other.insert(id.to_owned()),
        }
    }
}

/// The minute a message counts in.
pub fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

/// Midnight (UTC) of the day `t` falls in.
pub fn day_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::days(1)).unwrap_or(t)
}

impl MinuteFold {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty fold whose buckets are whole UTC days (a row's `minute` is
    /// then the day's midnight).
    pub fn daily() -> Self {
        Self {
            daily: true,
            ..Self::default()
        }
    }

    /// The rows so far, by channel then bucket, leaving the fold as it is.
    pub fn rows(&self) -> Vec<ChatMinute> {
        self.minutes
            .iter()
            .map(|((channel, minute), acc)| row(channel.clone(), *minute, acc))
            .collect()
    }

    /// Adds the chat messages among `lines` (other lines are ignored).
    pub fn add_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a ChatLine>) {
        for line in lines {
            if let (Some(m), Some(channel)) = (line.message(), &line.channel) {
                self.add(channel, m);
            }
        }
    }

    /// Adds one message of `channel`; false when its id was counted before
    /// (then nothing changes).
    pub fn add(&mut self, channel: &str, m: &ChatMessage) -> bool {
        if !m.id.is_empty() && !self.seen.insert(&m.id) {
            return false;
        }
        self.count(channel, m);
        true
    }

    /// Adds one message of `channel` without looking at its id: for a fold
    /// fed only what another fold's [`MinuteFold::add`] counted (a day's
    /// fold behind its minutes' fold), so the ids are kept once.
    pub fn count(&mut self, channel: &str, m: &ChatMessage) {
        let bucket = if self.daily {
            day_of(m.sent_at)
        } else {
            minute_of(m.sent_at)
        };
        let acc = self
            .minutes
            .entry((channel.to_owned(), bucket))
            .or_default();
        acc.messages += 1;
        if !acc.chatters.contains(&m.user_id) {
            acc.chatters.insert(m.user_id.clone());
        }
        acc.sentiment_sum += m.sentiment;
        match polarity(m.sentiment) {
            1 => acc.positive += 1,
            -1 => acc.negative += 1,
            _ => {}
        }
        for e in &m.emotes {
            *acc.emotes.entry(e.clone()).or_default() += 1;
        }
    }

    /// Removes and returns the minutes that start before `t` (closed
    /// minutes), leaving later ones to fill up.
    pub fn take_before(&mut self, t: DateTime<Utc>) -> Vec<ChatMinute> {
        let (done, open): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(&mut self.minutes)
            .into_iter()
            .partition(|((_, m), _)| *m < t);
        self.minutes = open;
        rows(done)
    }

    /// Every minute, by channel then minute.
    pub fn finish(self) -> Vec<ChatMinute> {
        rows(self.minutes)
    }
}

fn rows(minutes: impl IntoIterator<Item = ((String, DateTime<Utc>), Acc)>) -> Vec<ChatMinute> {
    minutes
        .into_iter()
        .map(|((channel, minute), acc)| row(channel, minute, &acc))
        .collect()
}

/// The row of one channel-minute (or day).
fn row(channel: String, minute: DateTime<Utc>, acc: &Acc) -> ChatMinute {
    let mut emotes: Vec<(&String, u64)> = acc.emotes.iter().map(|(e, n)| (e, *n)).collect();
    emotes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ChatMinute {
        channel,
        minute,
        messages: acc.messages,
        unique_chatters: acc.chatters.len() as u64,
        sentiment_mean: if acc.messages == 0 {
            0.0
        } else {
            acc.sentiment_sum / acc.messages as f64
        },
        positive: acc.positive,
        negative: acc.negative,
        top_emotes: emotes
            .into_iter()
            .take(TOP_EMOTES)
            .map(|(code, _)| code.clone())
            .collect(),
    }
}

/// `silver.chat_minutes` rows of the chat messages among `lines`, by channel
/// then minute.
pub fn chat_minutes(lines: &[ChatLine]) -> Vec<ChatMinute> {
    let mut fold = MinuteFold::new();
    fold.add_lines(lines);
    fold.finish()
}

#[cfg(test)]
mod tests;
