//! What one committed cycle tells alert evaluation: the live set and
//! follower totals (as the live views get them), plus what other sources
//! add when they have it — `gold.rising_stars`, chat rates, SQL rule rows.
//! A source that has nothing this cycle is `None`, and its rules stay idle
//! (neither firing nor ending episodes).
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use arrow::array::{Array, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::Float64Type;

use crate::live::{CycleUpdate, FollowerSample, LiveStream, Snapshot, View};

/// One row of `gold.rising_stars` (the latest day).
#[derive(Debug, Clone, PartialEq)]
pub struct RisingStar {
    /// Broadcaster id.
    pub user_id: String,
    /// Login.
    pub login: String,
    /// Rank of the day (1 = best).
    pub rank: i64,
    /// Growth score.
    pub score: f64,
    /// Followers gained over 7 days, if known.
    pub followers_gained_7d: Option<i64>,
    /// 7-day average viewers, if known.
    pub avg_viewers_7d: Option<f64>,
}

/// Chat activity of one channel: `live.chat`'s figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatActivity {
    /// Broadcaster id, when known (chat is keyed by channel login).
    pub user_id: Option<String>,
    /// Channel login.
    pub login: String,
    /// Messages per minute over the last 5 minutes.
    pub rate_5m: f64,
    /// Messages per minute over the last hour.
    pub rate_1h: f64,
    /// Mean sentiment over the last 5 minutes, in [-1, 1].
    pub sentiment_5m: Option<f64>,
    /// Mean sentiment over the last hour, in [-1, 1].
    pub sentiment_1h: Option<f64>,
}

impl ChatActivity {
    /// Every channel of `live.chat` in `snapshot` (the cycle's view), with
    /// its user id when it is live; `None` while the view is empty (no chat
    /// is read), so chat rules stay idle rather than clear.
    pub fn from_live(snapshot: &Snapshot) -> Option<Vec<ChatActivity>> {
        let chat = snapshot.batch(View::Chat);
        if chat.num_rows() == 0 {
            return None;
        }
        let streams = snapshot.batch(View::Streams);
        let mut ids = HashMap::new();
        if let (Some(login), Some(id)) = (text(streams, "login"), text(streams, "user_id")) {
            for i in 0..streams.num_rows() {
                ids.insert(login.value(i).to_ascii_lowercase(), id.value(i).to_owned());
            }
        }
        let channel = text(chat, "channel")?;
        let (rate_5m, rate_1h) = (
            float(chat, "messages_per_minute_5m")?,
            float(chat, "messages_per_minute_1h")?,
        );
        let (sent_5m, sent_1h) = (float(chat, "sentiment_5m")?, float(chat, "sentiment_1h")?);
        let opt = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        Some(
            (0..chat.num_rows())
                .map(|i| {
                    let login = channel.value(i).to_owned();
                    ChatActivity {
                        user_id: ids.get(&login.to_ascii_lowercase()).cloned(),
                        login,
                        rate_5m: rate_5m.value(i),
                        rate_1h: rate_1h.value(i),
                        sentiment_5m: opt(sent_5m, i),
                        sentiment_1h: opt(sent_1h, i),
                    }
                })
                .collect(),
        )
    }
}

fn text<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    b.column_by_name(name)?.as_string_opt::<i32>()
}

fn float<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Float64Array> {
    b.column_by_name(name)?.as_primitive_opt::<Float64Type>()
}

/// One row of a SQL rule's result.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlRow {
    /// What identifies the episode: the `key` column, else `user_id`.
    pub key: String,
    /// The `user_id` column, if any.
    pub user_id: Option<String>,
    /// The `login` column, if any.
    pub login: Option<String>,
    /// Every column, as JSON (the alert's figures).
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Everything evaluation reads for one cycle.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The cycle.
    pub cycle_id: i64,
    /// When the cycle observed the streams: "now" for every window.
    pub observed_at: DateTime<Utc>,
    /// The live set. Streams missing here are offline now, if `complete`.
    pub streams: Vec<LiveStream>,
    /// False when the stream listing failed in part: then a missing channel
    /// is taken as offline only once it has been missing for
    /// [`super::ENDED_WHEN_UNLISTED_FOR`].
    pub complete: bool,
    /// Follower totals observed this cycle.
    pub followers: Vec<FollowerSample>,
    /// Logins of channels that are not live (user id → login), so follower
    /// rules scoped by login know offline channels; may be empty.
    pub logins: HashMap<String, String>,
    /// The latest day of `gold.rising_stars`, when read this cycle.
    pub rising_stars: Option<Vec<RisingStar>>,
    /// Chat activity per channel, when chat is ingested.
    pub chat: Option<Vec<ChatActivity>>,
    /// Rows of each SQL rule that ran this cycle, by rule name (a rule that
    /// failed or did not run is absent).
    pub sql: HashMap<String, Vec<SqlRow>>,
}

impl Observation {
    /// The live part of a committed cycle, as the live views receive it
    /// (taken, not copied: 100,000 streams are 700,000 strings). The other
    /// sources start empty (`None`).
    pub fn from_cycle(update: CycleUpdate, complete: bool) -> Self {
        Self {
            cycle_id: update.status.cycle_id,
            observed_at: update.observed_at,
            streams: update.streams,
            complete,
            followers: update.followers,
            ..Self::default()
        }
    }
}
