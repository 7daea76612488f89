//! Start-up: the running silver state rebuilt from what the silver tables
//! hold, so a restarted process continues sessions, follower deltas and
//! profile history exactly where the last commit left them.
use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use super::profiles::Version;
use super::sessions::Session;
use crate::twitch::models::Game;

/// Typed access to a batch's columns by name.
#[derive(Debug, Clone, Copy)]
pub struct Cols<'a>(pub &'a RecordBatch);

fn missing(name: &str, want: &str) -> ArrowError {
    ArrowError::SchemaError(format!("column {name} missing or not {want}"))
}

impl<'a> Cols<'a> {
    fn col(&self, name: &str) -> Option<&'a dyn Array> {
        self.0.column_by_name(name).map(|a| a.as_ref())
    }
    /// A `Utf8` column.
    pub fn str(&self, name: &str) -> Result<&'a StringArray, ArrowError> {
        self.col(name)
            .and_then(|a| a.as_string_opt::<i32>())
            .ok_or_else(|| missing(name, "Utf8"))
    }
    /// An `Int64` column.
    pub fn i64(&self, name: &str) -> Result<&'a Int64Array, ArrowError> {
        self.col(name)
            .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Int64Type>())
            .ok_or_else(|| missing(name, "Int64"))
    }
    /// A `Float64` column.
    pub fn f64(&self, name: &str) -> Result<&'a Float64Array, ArrowError> {
        self.col(name)
            .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Float64Type>())
            .ok_or_else(|| missing(name, "Float64"))
    }
    /// A `Boolean` column.
    pub fn bool(&self, name: &str) -> Result<&'a BooleanArray, ArrowError> {
        self.col(name)
            .and_then(|a| a.as_boolean_opt())
            .ok_or_else(|| missing(name, "Boolean"))
    }
    /// A `Timestamp(µs)` column.
    pub fn ts(&self, name: &str) -> Result<&'a TimestampMicrosecondArray, ArrowError> {
        self.col(name)
            .filter(|a| matches!(a.data_type(), DataType::Timestamp(TimeUnit::Microsecond, _)))
            .and_then(|a| a.as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>())
            .ok_or_else(|| missing(name, "Timestamp(µs)"))
    }
    /// A `List<Utf8>` column.
    pub fn list(&self, name: &str) -> Result<&'a ListArray, ArrowError> {
        self.col(name)
            .and_then(|a| a.as_list_opt::<i32>())
            .ok_or_else(|| missing(name, "List"))
    }
}

/// The value of a timestamp cell.
pub fn time(a: &TimestampMicrosecondArray, i: usize) -> Option<DateTime<Utc>> {
    if a.is_null(i) {
        None
    } else {
        DateTime::from_timestamp_micros(a.value(i))
    }
}

fn list_strings(a: &ListArray, i: usize) -> Vec<String> {
    if a.is_null(i) {
        return Vec::new();
    }
    let v = a.value(i);
    v.as_string_opt::<i32>()
        .map(|s| s.iter().flatten().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// Open sessions from the `status = 'live'` rows of `silver.stream_sessions`.
pub fn sessions(batches: &[RecordBatch]) -> Result<Vec<Session>, ArrowError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let (id, user, login) = (
            c.str("session_id")?,
            c.str("user_id")?,
            c.str("user_login")?,
        );
        let (started, ended, last_obs) = (
            c.ts("started_at")?,
            c.ts("ended_at")?,
            c.ts("last_observed_at")?,
        );
        let (last_stream, peak, snaps) = (
            c.str("last_stream_id")?,
            c.i64("peak_viewers")?,
            c.i64("snapshots")?,
        );
        let (vs, ls, games) = (
            c.f64("viewer_seconds")?,
            c.f64("live_seconds")?,
            c.list("games")?,
        );
        for i in 0..b.num_rows() {
            out.push(Session {
                session_id: id.value(i).to_owned(),
                user_id: user.value(i).to_owned(),
                user_login: login.value(i).to_owned(),
                started_at: time(started, i).unwrap_or_else(epoch),
                ended_at: time(ended, i),
                last_stream_id: last_stream.value(i).to_owned(),
                last_observed_at: time(last_obs, i).unwrap_or_else(epoch),
                peak_viewers: peak.value(i),
                viewer_seconds: vs.value(i),
                live_seconds: ls.value(i),
                snapshots: snaps.value(i),
                games: list_strings(games, i),
            });
        }
    }
    Ok(out)
}

/// Every row of `silver.streamers`, as the running state keeps it: by user
/// id, one row at a time (the profile text is not kept).
pub fn streamers(batches: &[RecordBatch]) -> Result<Vec<(String, Version)>, ArrowError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let s = |n| c.str(n);
        let (id, login, dn, bt, ut, desc, img) = (
            s("user_id")?,
            s("login")?,
            s("display_name")?,
            s("broadcaster_type")?,
            s("user_type")?,
            s("description")?,
            s("profile_image_url")?,
        );
        let (created, from, to, cur, cyc) = (
            c.ts("created_at")?,
            c.ts("valid_from")?,
            c.ts("valid_to")?,
            c.bool("is_current")?,
            c.i64("cycle_id")?,
        );
        for i in 0..b.num_rows() {
            let text = [
                login.value(i),
                dn.value(i),
                bt.value(i),
                ut.value(i),
                desc.value(i),
                img.value(i),
            ];
            let from = time(from, i).unwrap_or_else(epoch);
            let version = Version::new(text, time(created, i), from, cyc.value(i))
                .ended(time(to, i), cur.value(i));
            out.push((id.value(i).to_owned(), version));
        }
    }
    Ok(out)
}

/// Every row of `silver.games`.
pub fn games(batches: &[RecordBatch]) -> Result<Vec<Game>, ArrowError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let (id, name, art, igdb) = (
            c.str("game_id")?,
            c.str("name")?,
            c.str("box_art_url")?,
            c.str("igdb_id")?,
        );
        for i in 0..b.num_rows() {
            out.push(Game {
                id: id.value(i).to_owned(),
                name: name.value(i).to_owned(),
                box_art_url: art.value(i).to_owned(),
                igdb_id: if igdb.is_null(i) {
                    String::new()
                } else {
                    igdb.value(i).to_owned()
                },
            });
        }
    }
    Ok(out)
}

/// Raw responses from `bronze.helix_responses` rows.
pub fn responses(batches: &[RecordBatch]) -> Result<Vec<crate::twitch::RawResponse>, ArrowError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let (endpoint, query, page) = (c.str("endpoint")?, c.str("request_query")?, c.i64("page")?);
        let (status, fetched, payload) = (
            c.i64("http_status")?,
            c.ts("fetched_at")?,
            c.str("payload")?,
        );
        for i in 0..b.num_rows() {
            let text = |a: &StringArray| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_owned()
                }
            };
            out.push(crate::twitch::RawResponse {
                endpoint: endpoint.value(i).to_owned(),
                request_query: text(query),
                page: u32::try_from(page.value(i)).unwrap_or_default(),
                http_status: if status.is_null(i) {
                    0
                } else {
                    u16::try_from(status.value(i)).unwrap_or_default()
                },
                fetched_at: time(fetched, i).unwrap_or_else(epoch),
                payload: text(payload),
            });
        }
    }
    Ok(out)
}

/// The latest `last_observed_at` per `user_id` of `silver.stream_sessions`
/// rows: when each channel was last seen live.
pub fn last_seen(
    batches: &[RecordBatch],
) -> Result<std::collections::HashMap<String, DateTime<Utc>>, ArrowError> {
    let mut out = std::collections::HashMap::new();
    for b in batches {
        let c = Cols(b);
        let (user, at) = (c.str("user_id")?, c.ts("last_observed_at")?);
        for i in 0..b.num_rows() {
            let at = time(at, i).unwrap_or_else(epoch);
            out.entry(user.value(i).to_owned())
                .and_modify(|t: &mut DateTime<Utc>| *t = (*t).max(at))
                .or_insert(at);
        }
    }
    Ok(out)
}

/// Hands `f` each `(user_id, followers_total, observed_at)` row of a batch
/// of a follower query, borrowed.
pub fn each_follower_row(
    b: &RecordBatch,
    mut f: impl FnMut(&str, i64, DateTime<Utc>),
) -> Result<(), ArrowError> {
    let c = Cols(b);
    let (user, total, at) = (
        c.str("user_id")?,
        c.i64("followers_total")?,
        c.ts("observed_at")?,
    );
    for i in 0..b.num_rows() {
        f(
            user.value(i),
            total.value(i),
            time(at, i).unwrap_or_else(epoch),
        );
    }
    Ok(())
}

/// `(user_id, followers_total, observed_at)` rows of a follower query.
pub fn follower_rows(
    batches: &[RecordBatch],
) -> Result<Vec<(String, i64, DateTime<Utc>)>, ArrowError> {
    let mut out = Vec::new();
    for b in batches {
        each_follower_row(b, |user, total, at| out.push((user.to_owned(), total, at)))?;
    }
    Ok(out)
}

/// Latest follower total per user from `(user_id, followers_total, observed_at)` rows.
pub fn latest_followers(
    batches: &[RecordBatch],
) -> Result<std::collections::HashMap<String, (i64, DateTime<Utc>)>, ArrowError> {
    Ok(follower_rows(batches)?
        .into_iter()
        .map(|(user, total, at)| (user, (total, at)))
        .collect())
}

/// Runs `sql` over `table` and hands the answer to `each` batch by batch.
/// Start-up reads go through it so that no read holds a day of rows.
pub async fn each_batch(
    lake: &crate::lake::Lake,
    table: crate::schema::Table,
    sql: &str,
    mut each: impl FnMut(&RecordBatch) -> super::Result<()>,
) -> super::Result<()> {
    use futures::TryStreamExt;
    let mut batches = lake.stream(table, sql).await?;
    let failed = |source| super::Error::Sql {
        sql: sql.to_owned(),
        source,
    };
    while let Some(b) = batches.try_next().await.map_err(failed)? {
        each(&b)?;
    }
    Ok(())
}
