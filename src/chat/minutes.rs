//! Chat lines to `silver.chat_minutes` rows: per channel and minute (of the
//! time Twitch stamped each message), the messages, distinct chatters, mean
//! sentiment, positive and negative messages and the most used emotes. Pure:
//! the ingest cycle calls it on drained lines (or folds lines of several
//! drains into one [`MinuteFold`] when a minute spans cycles).
use std::borrow::Cow;
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

/// Running totals of one channel-minute (or day) while lines may still come.
#[derive(Debug, Clone, Default)]
struct Acc {
    /// The message ids counted here. A message's id and the time Twitch
    /// stamped it travel together, so a repeat falls in the same minute.
    ids: SeenIds,
    messages: u64,
    chatters: HashSet<String>,
    sentiment_sum: f64,
    positive: u64,
    negative: u64,
    emotes: HashMap<String, u64>,
}

impl Acc {
    fn count(&mut self, m: &ChatMessage) {
        self.messages += 1;
        if !self.chatters.contains(&m.user_id) {
            self.chatters.insert(m.user_id.clone());
        }
        self.sentiment_sum += m.sentiment;
        match polarity(m.sentiment) {
            1 => self.positive += 1,
            -1 => self.negative += 1,
            _ => {}
        }
        for e in &m.emotes {
            *self.emotes.entry(e.clone()).or_default() += 1;
        }
    }

    fn figures(&self) -> Figures {
        let mut emotes: Vec<(&String, u64)> = self.emotes.iter().map(|(e, n)| (e, *n)).collect();
        emotes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Figures {
            messages: self.messages,
            unique_chatters: self.chatters.len() as u64,
            sentiment_sum: self.sentiment_sum,
            positive: self.positive,
            negative: self.negative,
            top_emotes: emotes
                .into_iter()
                .take(TOP_EMOTES)
                .map(|(code, _)| code.clone())
                .collect(),
        }
    }
}

/// What a row of one channel-minute says: all a sealed minute keeps.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    messages: u64,
    unique_chatters: u64,
    sentiment_sum: f64,
    positive: u64,
    negative: u64,
    top_emotes: Vec<String>,
}

impl Figures {
    fn row(&self, channel: String, minute: DateTime<Utc>) -> ChatMinute {
        ChatMinute {
            channel,
            minute,
            messages: self.messages,
            unique_chatters: self.unique_chatters,
            sentiment_mean: if self.messages == 0 {
                0.0
            } else {
                self.sentiment_sum / self.messages as f64
            },
            positive: self.positive,
            negative: self.negative,
            top_emotes: self.top_emotes.clone(),
        }
    }
}

/// One bucket of a fold: open, with the ids, chatters and emotes it has
/// seen, or sealed to its figures once no more lines are expected (a day's
/// worth of open minutes of a busy chat is gigabytes of sets).
#[derive(Debug, Clone)]
enum Bucket {
    Open(Box<Acc>),
    Sealed(Figures),
}

impl Bucket {
    fn figures(&self) -> Cow<'_, Figures> {
        match self {
            Bucket::Open(acc) => Cow::Owned(acc.figures()),
            Bucket::Sealed(f) => Cow::Borrowed(f),
        }
    }
}

/// Chat minutes being added up; lines may come in any order and in any
/// number of batches, and a message id seen twice counts once. The same
/// fold counts whole days ([`MinuteFold::daily`]) for `gold.chat_daily`.
///
/// Minutes can be sealed ([`MinuteFold::seal_before`]): they keep only their
/// figures. A line for a sealed minute cannot be counted exactly (is its
/// sender new to the minute, its id a repeat?), so a caller that may get
/// one reopens the minute first ([`MinuteFold::reopen`], from the lines
/// kept elsewhere); otherwise the line counts in the figures it can
/// (messages, sentiment) and not in chatters or emotes.
#[derive(Debug, Clone, Default)]
pub struct MinuteFold {
    buckets: BTreeMap<(String, DateTime<Utc>), Bucket>,
    /// Buckets of whole UTC days instead of minutes.
    daily: bool,
}

/// The message ids a bucket has counted. Twitch's are UUIDs, kept as 16
/// bytes rather than a 36-character string (a busy chat has thousands of
/// them a minute); any other id is kept as it came.
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
        self.buckets
            .iter()
            .map(|((channel, minute), b)| b.figures().row(channel.clone(), *minute))
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
        match self.bucket(channel, m) {
            Bucket::Open(acc) => {
                if !m.id.is_empty() && !acc.ids.insert(&m.id) {
                    return false;
                }
                acc.count(m);
            }
            Bucket::Sealed(f) => count_sealed(f, channel, m),
        }
        true
    }

    /// Adds one message of `channel` without looking at its id: for a fold
    /// fed only what another fold's [`MinuteFold::add`] counted (a day's
    /// fold behind its minutes' fold), so the ids are kept once.
    pub fn count(&mut self, channel: &str, m: &ChatMessage) {
        match self.bucket(channel, m) {
            Bucket::Open(acc) => acc.count(m),
            Bucket::Sealed(f) => count_sealed(f, channel, m),
        }
    }

    fn bucket(&mut self, channel: &str, m: &ChatMessage) -> &mut Bucket {
        let bucket = if self.daily {
            day_of(m.sent_at)
        } else {
            minute_of(m.sent_at)
        };
        self.buckets
            .entry((channel.to_owned(), bucket))
            .or_insert_with(|| Bucket::Open(Box::default()))
    }

    /// Seals the open buckets that start before `t`: they keep their
    /// figures and drop their ids, chatters and emotes. Returns how many.
    pub fn seal_before(&mut self, t: DateTime<Utc>) -> usize {
        let mut sealed = 0;
        for ((_, start), bucket) in &mut self.buckets {
            if let Bucket::Open(acc) = bucket
                && *start < t
            {
                *bucket = Bucket::Sealed(acc.figures());
                sealed += 1;
            }
        }
        sealed
    }

    /// Whether the bucket of `channel` starting at `start` is sealed.
    pub fn is_sealed(&self, channel: &str, start: DateTime<Utc>) -> bool {
        matches!(
            self.buckets.get(&(channel.to_owned(), start)),
            Some(Bucket::Sealed(_))
        )
    }

    /// Puts back the bucket of `channel` starting at `start` as `from` holds
    /// it (a fold of every line the bucket counted, built again from where
    /// they are kept), or drops it if `from` has none.
    pub fn reopen(&mut self, channel: &str, start: DateTime<Utc>, from: &mut MinuteFold) {
        let key = (channel.to_owned(), start);
        self.buckets.remove(&key);
        if let Some(bucket) = from.buckets.remove(&key) {
            self.buckets.insert(key, bucket);
        }
    }

    /// Every minute, by channel then minute.
    pub fn finish(self) -> Vec<ChatMinute> {
        self.rows()
    }
}

/// A line for a sealed bucket, counted where its figures allow.
fn count_sealed(f: &mut Figures, channel: &str, m: &ChatMessage) {
    tracing::warn!(
        channel,
        id = m.id.as_str(),
        sent_at = %m.sent_at,
        "chat: a line for a sealed minute counted without its chatter and emotes"
    );
    f.messages += 1;
    f.sentiment_sum += m.sentiment;
    match polarity(m.sentiment) {
        1 => f.positive += 1,
        -1 => f.negative += 1,
        _ => {}
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
