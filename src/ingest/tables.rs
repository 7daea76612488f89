//! The rows of bronze, silver and gold as Arrow batches of the contract schemas.
use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use chrono::NaiveDate;

use super::gold::span::StarRow;
use super::gold::{CategoryRow, DailyRow, HourRow, RankRow};
use super::rows::{
    bools, build, date32, dates, day_number, f64s, i64s, string_lists, ts, utf8, utf8_opt,
};
use super::sessions::Session;
use super::silver::{FollowerRow, SnapshotRow, StreamerRow};
use crate::twitch::RawResponse;
use crate::twitch::models::Game;

/// `bronze.helix_responses` rows of one cycle.
pub fn bronze(
    schema: &SchemaRef,
    cycle_id: i64,
    rs: &[RawResponse],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "cycle_id" => i64s(rs.iter().map(|_| Some(cycle_id))),
            "endpoint" => utf8(rs.iter().map(|r| r.endpoint.as_str())),
            "request_query" => utf8(rs.iter().map(|r| r.request_query.as_str())),
            "page" => i64s(rs.iter().map(|r| Some(i64::from(r.page)))),
            "http_status" => i64s(rs.iter().map(|r| Some(i64::from(r.http_status)))),
            "fetched_at" => ts(rs.iter().map(|r| Some(r.fetched_at))),
            "payload" => utf8(rs.iter().map(|r| r.payload.as_str())),
            "ingest_date" => dates(rs.iter().map(|r| date32(r.fetched_at))),
            _ => return None,
        })
    })
}

/// `silver.stream_snapshots` rows.
pub fn snapshots(schema: &SchemaRef, rs: &[SnapshotRow]) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "observed_at" => ts(rs.iter().map(|r| Some(r.observed_at))),
            "cycle_id" => i64s(rs.iter().map(|r| Some(r.cycle_id))),
            "stream_id" => utf8(rs.iter().map(|r| r.stream.id.as_str())),
            "user_id" => utf8(rs.iter().map(|r| r.stream.user_id.as_str())),
            "user_login" => utf8(rs.iter().map(|r| r.stream.user_login.as_str())),
            "game_id" => utf8(rs.iter().map(|r| r.stream.game_id.as_str())),
            "game_name" => utf8(rs.iter().map(|r| r.stream.game_name.as_str())),
            "title" => utf8(rs.iter().map(|r| r.stream.title.as_str())),
            "language" => utf8(rs.iter().map(|r| r.stream.language.as_str())),
            "tags" => string_lists(rs.iter().map(|r| r.stream.tags.iter())),
            "viewer_count" => i64s(rs.iter().map(|r| Some(r.stream.viewer_count as i64))),
            "started_at" => ts(rs.iter().map(|r| Some(r.started_at))),
            "session_id" => utf8(rs.iter().map(|r| r.session_id.as_str())),
            "interval_seconds" => f64s(rs.iter().map(|r| Some(r.interval_seconds))),
            "observed_date" => dates(rs.iter().map(|r| date32(r.observed_at))),
            _ => return None,
        })
    })
}

/// `silver.follower_snapshots` rows.
pub fn followers(schema: &SchemaRef, rs: &[FollowerRow]) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "observed_at" => ts(rs.iter().map(|r| Some(r.observed_at))),
            "cycle_id" => i64s(rs.iter().map(|r| Some(r.cycle_id))),
            "user_id" => utf8(rs.iter().map(|r| r.user_id.as_str())),
            "followers_total" => i64s(rs.iter().map(|r| Some(r.followers_total))),
            "followers_delta" => i64s(rs.iter().map(|r| r.followers_delta)),
            "observed_date" => dates(rs.iter().map(|r| date32(r.observed_at))),
            _ => return None,
        })
    })
}

/// `silver.streamers`: the whole history.
pub fn streamers<'a>(
    schema: &SchemaRef,
    rows: impl Iterator<Item = &'a StreamerRow>,
) -> Result<RecordBatch, ArrowError> {
    let rs: Vec<&StreamerRow> = rows.collect();
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "user_id" => utf8(rs.iter().map(|r| r.user.id.as_str())),
            "login" => utf8(rs.iter().map(|r| r.user.login.as_str())),
            "display_name" => utf8(rs.iter().map(|r| r.user.display_name.as_str())),
            "broadcaster_type" => utf8(rs.iter().map(|r| r.user.broadcaster_type.as_str())),
            "user_type" => utf8(rs.iter().map(|r| r.user.user_type.as_str())),
            "description" => utf8(rs.iter().map(|r| r.user.description.as_str())),
            "profile_image_url" => utf8(rs.iter().map(|r| r.user.profile_image_url.as_str())),
            "created_at" => ts(rs.iter().map(|r| r.created_at)),
            "valid_from" => ts(rs.iter().map(|r| Some(r.valid_from))),
            "valid_to" => ts(rs.iter().map(|r| r.valid_to)),
            "is_current" => bools(rs.iter().map(|r| r.is_current)),
            "cycle_id" => i64s(rs.iter().map(|r| Some(r.cycle_id))),
            _ => return None,
        })
    })
}

/// `silver.stream_sessions` rows with partition `status`.
pub fn sessions(
    schema: &SchemaRef,
    rs: &[Session],
    cycle_id: i64,
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "session_id" => utf8(rs.iter().map(|r| r.session_id.as_str())),
            "user_id" => utf8(rs.iter().map(|r| r.user_id.as_str())),
            "user_login" => utf8(rs.iter().map(|r| r.user_login.as_str())),
            "started_at" => ts(rs.iter().map(|r| Some(r.started_at))),
            "ended_at" => ts(rs.iter().map(|r| r.ended_at)),
            "duration_minutes" => f64s(rs.iter().map(|r| Some(r.duration_minutes()))),
            "avg_viewers" => f64s(rs.iter().map(|r| Some(r.avg_viewers()))),
            "peak_viewers" => i64s(rs.iter().map(|r| Some(r.peak_viewers))),
            "hours_watched" => f64s(rs.iter().map(|r| Some(r.hours_watched()))),
            "snapshots" => i64s(rs.iter().map(|r| Some(r.snapshots))),
            "games" => string_lists(rs.iter().map(|r| r.games.iter())),
            "last_stream_id" => utf8(rs.iter().map(|r| r.last_stream_id.as_str())),
            "last_observed_at" => ts(rs.iter().map(|r| Some(r.last_observed_at))),
            "live_seconds" => f64s(rs.iter().map(|r| Some(r.live_seconds))),
            "viewer_seconds" => f64s(rs.iter().map(|r| Some(r.viewer_seconds))),
            "cycle_id" => i64s(rs.iter().map(|_| Some(cycle_id))),
            "status" => utf8(rs.iter().map(|r| {
                if r.ended_at.is_some() {
                    "ended"
                } else {
                    "live"
                }
            })),
            _ => return None,
        })
    })
}

/// `silver.games`: every known category.
pub fn games<'a>(
    schema: &SchemaRef,
    rows: impl Iterator<Item = &'a Game>,
    cycle_id: i64,
) -> Result<RecordBatch, ArrowError> {
    let rs: Vec<&Game> = rows.collect();
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "game_id" => utf8(rs.iter().map(|g| g.id.as_str())),
            "name" => utf8(rs.iter().map(|g| g.name.as_str())),
            "box_art_url" => utf8(rs.iter().map(|g| g.box_art_url.as_str())),
            "igdb_id" => utf8_opt(
                rs.iter()
                    .map(|g| Some(g.igdb_id.as_str()).filter(|s| !s.is_empty())),
            ),
            "cycle_id" => i64s(rs.iter().map(|_| Some(cycle_id))),
            _ => return None,
        })
    })
}

/// `gold.streamer_daily` rows of `day`.
pub fn streamer_daily(
    schema: &SchemaRef,
    day: NaiveDate,
    rs: &[DailyRow],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "day" => dates(rs.iter().map(|_| day_number(day))),
            "user_id" => utf8(rs.iter().map(|r| r.user_id.as_str())),
            "login" => utf8(rs.iter().map(|r| r.login.as_str())),
            "minutes_streamed" => f64s(rs.iter().map(|r| Some(r.minutes_streamed))),
            "avg_viewers" => f64s(rs.iter().map(|r| Some(r.avg_viewers))),
            "peak_viewers" => i64s(rs.iter().map(|r| Some(r.peak_viewers))),
            "hours_watched" => f64s(rs.iter().map(|r| Some(r.hours_watched))),
            "sessions" => i64s(rs.iter().map(|r| Some(r.sessions))),
            "followers_start" => i64s(rs.iter().map(|r| r.followers_start)),
            "followers_end" => i64s(rs.iter().map(|r| r.followers_end)),
            "followers_gained" => i64s(rs.iter().map(|r| r.followers_gained)),
            "main_game" => utf8_opt(rs.iter().map(|r| r.main_game.as_deref())),
            "language" => utf8_opt(rs.iter().map(|r| r.language.as_deref())),
            _ => return None,
        })
    })
}

/// `gold.category_daily` rows of `day`.
pub fn category_daily(
    schema: &SchemaRef,
    day: NaiveDate,
    rs: &[CategoryRow],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "day" => dates(rs.iter().map(|_| day_number(day))),
            "game_id" => utf8(rs.iter().map(|r| r.game_id.as_str())),
            "game_name" => utf8(rs.iter().map(|r| r.game_name.as_str())),
            "channels" => i64s(rs.iter().map(|r| Some(r.channels))),
            "hours_watched" => f64s(rs.iter().map(|r| Some(r.hours_watched))),
            "avg_viewers" => f64s(rs.iter().map(|r| Some(r.avg_viewers))),
            "peak_viewers" => i64s(rs.iter().map(|r| Some(r.peak_viewers))),
            "viewers_per_channel" => f64s(rs.iter().map(|r| Some(r.viewers_per_channel))),
            _ => return None,
        })
    })
}

/// `gold.hourly_viewership` rows of `day`.
pub fn hourly_viewership(
    schema: &SchemaRef,
    day: NaiveDate,
    rs: &[HourRow],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "hour" => ts(rs.iter().map(|r| Some(r.hour))),
            "game_id" => utf8(rs.iter().map(|r| r.game_id.as_str())),
            "game_name" => utf8(rs.iter().map(|r| r.game_name.as_str())),
            "streams" => i64s(rs.iter().map(|r| Some(r.streams))),
            "viewers" => i64s(rs.iter().map(|r| Some(r.viewers))),
            "day" => dates(rs.iter().map(|_| day_number(day))),
            _ => return None,
        })
    })
}

/// Leaderboard rows of the period starting `period_start`.
pub fn leaderboard(
    schema: &SchemaRef,
    period_start: NaiveDate,
    rs: &[RankRow],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "period_start" => dates(rs.iter().map(|_| day_number(period_start))),
            "metric" => utf8(rs.iter().map(|r| r.metric)),
            "rank" => i64s(rs.iter().map(|r| Some(r.rank))),
            "user_id" => utf8(rs.iter().map(|r| r.user_id.as_str())),
            "login" => utf8(rs.iter().map(|r| r.login.as_str())),
            "value" => f64s(rs.iter().map(|r| Some(r.value))),
            _ => return None,
        })
    })
}

/// `gold.rising_stars` rows of `day`.
pub fn rising_stars(
    schema: &SchemaRef,
    day: NaiveDate,
    rs: &[StarRow],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "day" => dates(rs.iter().map(|_| day_number(day))),
            "user_id" => utf8(rs.iter().map(|r| r.user_id.as_str())),
            "login" => utf8(rs.iter().map(|r| r.login.as_str())),
            "account_age_days" => i64s(rs.iter().map(|r| Some(r.account_age_days))),
            "followers_gained_7d" => i64s(rs.iter().map(|r| r.followers_gained_7d)),
            "follower_growth_pct_7d" => f64s(rs.iter().map(|r| r.follower_growth_pct_7d)),
            "avg_viewers_7d" => f64s(rs.iter().map(|r| r.avg_viewers_7d)),
            "viewer_growth_pct_7d" => f64s(rs.iter().map(|r| r.viewer_growth_pct_7d)),
            "score" => f64s(rs.iter().map(|r| Some(r.score))),
            "rank" => i64s(rs.iter().map(|r| Some(r.rank))),
            _ => return None,
        })
    })
}
