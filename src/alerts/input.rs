//! What one committed cycle tells alert evaluation: the live set and
//! follower totals (as the live views get them), plus what other sources
//! add when they have it — `gold.rising_stars`, chat rates, SQL rule rows.
//! A source that has nothing this cycle is `None`, and its rules stay idle
//! (neither firing nor ending episodes).
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::live::{CycleUpdate, FollowerSample, LiveStream};

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
    /// is not taken as offline.
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
    /// The live part of a committed cycle, as the live views receive it.
    /// The other sources start empty (`None`).
    pub fn from_cycle(update: &CycleUpdate, complete: bool) -> Self {
        Self {
            cycle_id: update.status.cycle_id,
            observed_at: update.observed_at,
            streams: update.streams.clone(),
            complete,
            followers: update.followers.clone(),
            ..Self::default()
        }
    }
}
