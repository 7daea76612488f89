//! Opening a day after a start-up: its gold accumulators folded from the
//! day's silver partitions in one streamed scan (only the columns gold
//! needs, batch by batch, so memory stays that of the accumulators).
use chrono::NaiveDate;

use super::day::{Day, FollowSample, Sample};
use super::span::SpanRow;
use crate::ingest::Result;
use crate::ingest::state::{Cols, each_batch, time};
use crate::lake::Lake;
use crate::schema::Table;

/// `day` folded from `silver.stream_snapshots` and `silver.follower_snapshots`.
pub(super) async fn day(lake: &Lake, day: NaiveDate) -> Result<Day> {
    let mut out = Day::new(day);
    let sql = format!(
        "SELECT observed_at, cycle_id, user_id, user_login, game_id, game_name, language, \
         viewer_count, session_id, interval_seconds FROM {} WHERE observed_date = DATE '{day}'",
        Table::StreamSnapshots.qualified_name()
    );
    each_batch(lake, Table::StreamSnapshots, &sql, |b| {
        let c = Cols(b);
        let (at, cycle, user, login) = (
            c.ts("observed_at")?,
            c.i64("cycle_id")?,
            c.str("user_id")?,
            c.str("user_login")?,
        );
        let (game, name, language, viewers) = (
            c.str("game_id")?,
            c.str("game_name")?,
            c.str("language")?,
            c.i64("viewer_count")?,
        );
        let (session, interval) = (c.str("session_id")?, c.f64("interval_seconds")?);
        for i in 0..b.num_rows() {
            let Some(observed_at) = time(at, i) else {
                continue;
            };
            out.add_sample(&Sample {
                observed_at,
                cycle_id: cycle.value(i),
                user_id: user.value(i),
                user_login: login.value(i),
                game_id: game.value(i),
                game_name: name.value(i),
                language: language.value(i),
                viewer_count: viewers.value(i),
                session_id: session.value(i),
                interval_seconds: interval.value(i),
            });
        }
        Ok(())
    })
    .await?;
    let sql = format!(
        "SELECT observed_at, cycle_id, user_id, followers_total, followers_delta FROM {} \
         WHERE observed_date = DATE '{day}'",
        Table::FollowerSnapshots.qualified_name()
    );
    each_batch(lake, Table::FollowerSnapshots, &sql, |b| {
        let c = Cols(b);
        let (at, cycle, user) = (c.ts("observed_at")?, c.i64("cycle_id")?, c.str("user_id")?);
        let (total, delta) = (c.i64("followers_total")?, c.i64("followers_delta")?);
        for i in 0..b.num_rows() {
            let Some(observed_at) = time(at, i) else {
                continue;
            };
            out.add_follow(&FollowSample {
                observed_at,
                cycle_id: cycle.value(i),
                user_id: user.value(i),
                total: total.value(i),
                delta: (!arrow::array::Array::is_null(delta, i)).then(|| delta.value(i)),
            });
        }
        Ok(())
    })
    .await?;
    out.seal();
    Ok(out)
}

/// The `gold.streamer_daily` rows of `day` that the figures spanning days
/// read (a closed day's: final).
pub(super) async fn span_day(lake: &Lake, day: NaiveDate) -> Result<Vec<SpanRow>> {
    let sql = format!(
        "SELECT user_id, login, hours_watched, minutes_streamed, followers_gained, \
         followers_start FROM {} WHERE day = DATE '{day}'",
        Table::StreamerDaily.qualified_name()
    );
    let mut out = Vec::new();
    each_batch(lake, Table::StreamerDaily, &sql, |b| {
        let c = Cols(b);
        let (user, login) = (c.str("user_id")?, c.str("login")?);
        let (hours, minutes) = (c.f64("hours_watched")?, c.f64("minutes_streamed")?);
        let (gained, start) = (c.i64("followers_gained")?, c.i64("followers_start")?);
        let opt = |a: &arrow::array::Int64Array, i: usize| {
            (!arrow::array::Array::is_null(a, i)).then(|| a.value(i))
        };
        for i in 0..b.num_rows() {
            out.push(SpanRow {
                user_id: user.value(i).to_owned(),
                login: login.value(i).to_owned(),
                hours_watched: hours.value(i),
                minutes_streamed: minutes.value(i),
                followers_gained: opt(gained, i),
                followers_start: opt(start, i),
            });
        }
        Ok(())
    })
    .await?;
    Ok(out)
}
