//! The rows gold folds (one silver sample each) and the rows it writes
//! (one per gold table row), as plain structs.
use chrono::{DateTime, Utc};

/// One `silver.stream_snapshots` row, as gold needs it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// When observed.
    pub observed_at: DateTime<Utc>,
    /// Cycle.
    pub cycle_id: i64,
    /// Broadcaster id.
    pub user_id: &'a str,
    /// Broadcaster login at the time.
    pub user_login: &'a str,
    /// Category id ('' when none).
    pub game_id: &'a str,
    /// Category name.
    pub game_name: &'a str,
    /// Stream language ('' when none).
    pub language: &'a str,
    /// Viewers.
    pub viewer_count: i64,
    /// The stream session.
    pub session_id: &'a str,
    /// Seconds the sample stands for.
    pub interval_seconds: f64,
}

/// One `silver.follower_snapshots` row, as gold needs it.
#[derive(Debug, Clone, Copy)]
pub struct FollowSample<'a> {
    /// When observed.
    pub observed_at: DateTime<Utc>,
    /// Cycle.
    pub cycle_id: i64,
    /// Broadcaster id.
    pub user_id: &'a str,
    /// Total followers.
    pub total: i64,
    /// Change since the previous snapshot.
    pub delta: Option<i64>,
}

/// A `gold.streamer_daily` row.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    /// Broadcaster id.
    pub user_id: String,
    /// Login (the last seen that day, else the profile's at the day's end).
    pub login: String,
    /// Minutes live.
    pub minutes_streamed: f64,
    /// Time-weighted average viewers.
    pub avg_viewers: f64,
    /// Highest sample.
    pub peak_viewers: i64,
    /// Σ viewers × interval, in hours.
    pub hours_watched: f64,
    /// Distinct sessions.
    pub sessions: i64,
    /// First follower total of the day.
    pub followers_start: Option<i64>,
    /// Last follower total of the day.
    pub followers_end: Option<i64>,
    /// Σ follower deltas.
    pub followers_gained: Option<i64>,
    /// The category streamed longest.
    pub main_game: Option<String>,
    /// The stream language streamed longest.
    pub language: Option<String>,
}

/// A `gold.category_daily` row.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    /// Category id.
    pub game_id: String,
    /// Its latest name.
    pub game_name: String,
    /// Distinct channels.
    pub channels: i64,
    /// Σ viewers × interval, in hours.
    pub hours_watched: f64,
    /// Hours watched over the part of the day observed.
    pub avg_viewers: f64,
    /// Highest viewers summed over one cycle.
    pub peak_viewers: i64,
    /// Average viewers over average concurrent channels.
    pub viewers_per_channel: f64,
}

/// A `gold.hourly_viewership` row.
#[derive(Debug, Clone, PartialEq)]
pub struct HourRow {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Category id.
    pub game_id: String,
    /// Its name in the hour's last cycle.
    pub game_name: String,
    /// Average concurrent streams over the hour's cycles.
    pub streams: i64,
    /// Average concurrent viewers over the hour's cycles.
    pub viewers: i64,
}
