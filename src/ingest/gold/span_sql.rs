//! The specification of [`super::span`]: the gold figures that span several
//! days as SQL over `gold.streamer_daily` and `silver.streamers`, as cycles
//! ran them until the figures were computed in memory. The tests below
//! check that both agree on the same rows.
//!
//! Float columns are summed as `DECIMAL(38, 10)`: an exact sum, so the result
//! does not depend on the order the rows are met in.
use chrono::{Duration as Days, NaiveDate};

use super::{LEADERBOARD_SIZE, METRICS, RISING_STAR_MAX_AGE_DAYS, week_start};

/// `SUM(column)` of a `Float64` column, exact and order-independent.
fn exact_sum(column: &str) -> String {
    format!("CAST(SUM(CAST({column} AS DECIMAL(38, 10))) AS DOUBLE)")
}

fn lit(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}

fn leaderboard(source: &str, period: NaiveDate) -> String {
    let p = lit(period);
    let parts: Vec<String> = METRICS
        .iter()
        .map(|m| {
            format!(
                "SELECT {p} AS period_start, '{m}' AS metric,
                        ROW_NUMBER() OVER (ORDER BY {m} DESC, user_id) AS rank,
                        user_id, login, CAST({m} AS DOUBLE) AS value
                 FROM {source} WHERE {m} IS NOT NULL AND {m} > 0"
            )
        })
        .collect();
    format!(
        "SELECT * FROM ({}) WHERE rank <= {LEADERBOARD_SIZE}",
        parts.join(" UNION ALL ")
    )
}

/// `gold.leaderboard_weekly` for the ISO week holding `day`.
pub(super) fn leaderboard_weekly(day: NaiveDate) -> String {
    let start = week_start(day);
    let (hours, minutes) = (exact_sum("hours_watched"), exact_sum("minutes_streamed"));
    let source = format!(
        "(SELECT user_id, last_value(login ORDER BY day) AS login,
                 {hours} AS hours_watched,
                 {minutes} AS minutes_streamed,
                 SUM(followers_gained) AS followers_gained,
                 CASE WHEN {minutes} > 0
                      THEN {hours} / ({minutes} / 60.0) ELSE 0.0 END AS avg_viewers
          FROM gold.streamer_daily WHERE day >= {} AND day < {}
          GROUP BY user_id)",
        lit(start),
        lit(start + Days::days(7))
    );
    leaderboard(&source, start)
}

/// `gold.rising_stars` for `day`: young accounts ranked by 7-day growth of
/// followers and viewers against the 7 days before.
pub(super) fn rising_stars(day: NaiveDate) -> String {
    let d = lit(day);
    let next = lit(day + Days::days(1));
    let a_start = lit(day - Days::days(6));
    let b_start = lit(day - Days::days(13));
    let (hours, minutes) = (exact_sum("hours_watched"), exact_sum("minutes_streamed"));
    format!(
        "WITH a AS (
            SELECT user_id, last_value(login ORDER BY day) AS login,
                   SUM(followers_gained) AS followers_gained_7d,
                   first_value(followers_start ORDER BY day) FILTER (WHERE followers_start IS NOT NULL) AS followers_first,
                   CASE WHEN {minutes} > 0
                        THEN {hours} / ({minutes} / 60.0) END AS avg_viewers_7d
            FROM gold.streamer_daily WHERE day >= {a_start} AND day <= {d} GROUP BY user_id
         ),
         b AS (
            SELECT user_id,
                   CASE WHEN {minutes} > 0
                        THEN {hours} / ({minutes} / 60.0) END AS avg_viewers_prev
            FROM gold.streamer_daily WHERE day >= {b_start} AND day < {a_start} GROUP BY user_id
         ),
         age AS (
            SELECT user_id, MAX(CAST({d} - CAST(created_at AS DATE) AS BIGINT)) AS account_age_days
            FROM silver.streamers WHERE valid_from < {next} AND created_at IS NOT NULL
            GROUP BY user_id
         ),
         scored AS (
            SELECT {d} AS day, a.user_id, a.login, age.account_age_days,
                   a.followers_gained_7d,
                   CASE WHEN a.followers_first > 0
                        THEN 100.0 * a.followers_gained_7d / a.followers_first END AS follower_growth_pct_7d,
                   a.avg_viewers_7d,
                   CASE WHEN b.avg_viewers_prev > 0
                        THEN 100.0 * (a.avg_viewers_7d - b.avg_viewers_prev) / b.avg_viewers_prev END AS viewer_growth_pct_7d
            FROM a JOIN age ON a.user_id = age.user_id LEFT JOIN b ON a.user_id = b.user_id
            WHERE age.account_age_days <= {RISING_STAR_MAX_AGE_DAYS}
         ),
         ranked AS (
            SELECT *, 0.6 * COALESCE(follower_growth_pct_7d, 0.0) + 0.4 * COALESCE(viewer_growth_pct_7d, 0.0) AS score
            FROM scored
         )
         SELECT *, ROW_NUMBER() OVER (ORDER BY score DESC, user_id) AS rank
         FROM ranked WHERE score > 0 ORDER BY rank LIMIT {LEADERBOARD_SIZE}"
    )
}

mod agree {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, RecordBatch};
    use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
    use arrow::datatypes::{DataType, Float64Type};
    use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
    use datafusion::catalog::{MemTable, MemorySchemaProvider, SchemaProvider};
    use datafusion::prelude::SessionContext;

    use super::super::span::{self, ClosedSpans, SpanDays, SpanRow};
    use super::super::{DailyRow, LEADERBOARD_SIZE, week_start};
    use crate::ingest::profiles::{Profiles, Version};
    use crate::ingest::silver::StreamerRow;
    use crate::ingest::tables;
    use crate::schema::Table;
    use crate::twitch::models::User;

    /// A small deterministic generator.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    fn daily(user: u64, day: NaiveDate, g: &mut Lcg) -> DailyRow {
        // Some days without streaming, some without follower figures.
        let minutes = if g.next(5) == 0 {
            0.0
        } else {
            g.next(600) as f64 + 0.5
        };
        let followers = (g.next(4) != 0).then(|| g.next(5000) as i64);
        DailyRow {
            user_id: format!("{}", 100 + user),
            login: format!("user{user}_{}", day.format("%d")),
            minutes_streamed: minutes,
            avg_viewers: 0.0,
            peak_viewers: 0,
            hours_watched: minutes / 60.0 * g.next(900) as f64 / 7.0,
            sessions: 1,
            followers_start: followers,
            followers_end: followers,
            followers_gained: (g.next(3) != 0).then(|| g.next(400) as i64 - 50),
            main_game: None,
            language: None,
        }
    }

    fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
        day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
    }

    fn version(user: u64, created: Option<DateTime<Utc>>, from: DateTime<Utc>) -> StreamerRow {
        StreamerRow {
            user: User {
                id: format!("{}", 100 + user),
                login: format!("user{user}"),
                display_name: String::new(),
                user_type: String::new(),
                broadcaster_type: String::new(),
                description: String::new(),
                profile_image_url: String::new(),
                offline_image_url: String::new(),
                view_count: 0,
                created_at: String::new(),
            },
            created_at: created,
            valid_from: from,
            valid_to: None,
            is_current: true,
            cycle_id: 1,
        }
    }

    fn register(ctx: &SessionContext, table: Table, batches: Vec<RecordBatch>) {
        let catalog = ctx.catalog("datafusion").unwrap();
        let layer = table.layer().as_str();
        let schema: Arc<dyn SchemaProvider> = match catalog.schema(layer) {
            Some(s) => s,
            None => {
                let s = Arc::new(MemorySchemaProvider::new());
                catalog.register_schema(layer, s.clone()).unwrap();
                s
            }
        };
        let mem = MemTable::try_new(table.schema(), vec![batches]).unwrap();
        schema
            .register_table(table.name().to_owned(), Arc::new(mem))
            .unwrap();
    }

    /// `batch` sorted by `keys`, every column as the contract types it.
    fn sorted(batch: &RecordBatch, keys: &[&str]) -> RecordBatch {
        let columns: Vec<SortColumn> = keys
            .iter()
            .map(|k| SortColumn {
                values: batch.column_by_name(k).unwrap().clone(),
                options: None,
            })
            .collect();
        let order = lexsort_to_indices(&columns, None).unwrap();
        take_record_batch(batch, &order).unwrap()
    }

    fn assert_same(sql: &RecordBatch, mem: &RecordBatch, what: &str) {
        assert_eq!(sql.num_rows(), mem.num_rows(), "{what}: rows");
        assert!(mem.num_rows() > 0, "{what}: the data must rank someone");
        for field in mem.schema().fields() {
            let name = field.name();
            let (a, b) = (
                sql.column_by_name(name).unwrap(),
                mem.column_by_name(name).unwrap(),
            );
            if field.data_type() == &DataType::Float64 {
                let a = arrow::compute::cast(a, &DataType::Float64).unwrap();
                let (a, b) = (
                    a.as_primitive::<Float64Type>(),
                    b.as_primitive::<Float64Type>(),
                );
                for i in 0..a.len() {
                    assert_eq!(a.is_null(i), b.is_null(i), "{what}: {name} row {i}");
                    let (x, y) = (a.value(i), b.value(i));
                    assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "{what}: {name} row {i}: {x} vs {y}"
                    );
                }
            } else {
                let a = arrow::compute::cast(a, field.data_type()).unwrap();
                assert_eq!(&a, b, "{what}: {name}");
            }
        }
    }

    #[tokio::test]
    async fn in_memory_figures_equal_the_sql() {
        let mut g = Lcg(16);
        let last = NaiveDate::from_ymd_opt(2026, 3, 22).unwrap(); // a Sunday
        let first = last - Days::days(24);
        // More streamers than a board holds, and few of them in the last two
        // days: the figures of `last` then rank hundreds of streamers with
        // closed days only, of whom at most a board's worth are looked at.
        const USERS: u64 = 6 * LEADERBOARD_SIZE as u64;
        let mut by_day: BTreeMap<NaiveDate, Vec<DailyRow>> = BTreeMap::new();
        for day in span::days(first, last) {
            let mut rows = Vec::new();
            for u in 0..USERS {
                let active = day < last - Days::days(1) || u % 8 == 0;
                if active && g.next(4) != 0 {
                    rows.push(daily(u, day, &mut g));
                }
            }
            by_day.insert(day, rows);
        }
        let mut streamers: BTreeMap<String, Vec<StreamerRow>> = BTreeMap::new();
        for u in 0..USERS {
            // Young and old accounts, some without a creation time, and a
            // version that starts after the days ranked.
            let created = match g.next(6) {
                0 => None,
                1 => Some(at(first - Days::days(2000), 3)),
                _ => Some(at(first - Days::days(g.next(900) as i64), 3)),
            };
            let mut versions = vec![version(u, created, at(first, 1))];
            if g.next(5) == 0 {
                let later = created.map(|c| c - Days::days(365));
                versions.push(version(u, later, at(last - Days::days(3), 12)));
            }
            streamers.insert(format!("{}", 100 + u), versions);
        }

        let ctx = SessionContext::new_with_config(crate::lake::read::session_config());
        let schema = Table::StreamerDaily.schema();
        let daily: Vec<RecordBatch> = by_day
            .iter()
            .map(|(d, rows)| tables::streamer_daily(&schema, *d, rows).unwrap())
            .collect();
        register(&ctx, Table::StreamerDaily, daily);
        let all = tables::streamers(&Table::Streamers.schema(), streamers.values().flatten());
        register(&ctx, Table::Streamers, vec![all.unwrap()]);
        let profiles: Profiles = streamers
            .iter()
            .map(|(id, rows)| (id.clone(), rows.iter().map(Version::of).collect()))
            .collect();
        let spans: BTreeMap<NaiveDate, Vec<SpanRow>> = by_day
            .iter()
            .map(|(d, rows)| (*d, rows.iter().map(SpanRow::from).collect()))
            .collect();
        let rows: SpanDays<'_> = spans.iter().map(|(d, r)| (*d, r.as_slice())).collect();

        let run = |sql: String| {
            let ctx = ctx.clone();
            async move {
                let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                concat_batches(&batches[0].schema(), &batches).unwrap()
            }
        };
        for day in [last, last - Days::days(3), last - Days::days(6)] {
            // Every day open (as in `rebuild`), and the days before
            // yesterday closed (as live cycles keep them).
            let mut closed = ClosedSpans::new(day);
            for d in span::inputs(day).filter(|d| *d < day - Days::days(1)) {
                closed.add_day(d, &spans[&d]);
            }
            let open: SpanDays<'_> = rows
                .range(day - Days::days(1)..)
                .map(|(d, r)| (*d, *r))
                .collect();
            // A day of the week before open as well (its rows reach the
            // figures through the open side).
            let gap = day - Days::days(8);
            let mut gapped = ClosedSpans::new(day);
            for d in span::inputs(day).filter(|d| *d < day - Days::days(1) && *d != gap) {
                gapped.add_day(d, &spans[&d]);
            }
            let mut open_gap = open.clone();
            open_gap.insert(gap, rows[&gap]);
            let cases = [
                ("all open", &ClosedSpans::default(), &rows),
                ("closed", &closed, &open),
                ("a day before open", &gapped, &open_gap),
            ];

            let week = week_start(day);
            let sql = run(super::leaderboard_weekly(day)).await;
            // Every board full: the cut at its size is what is compared.
            assert_eq!(sql.num_rows(), 4 * LEADERBOARD_SIZE, "weekly {day}");
            let schema = Table::LeaderboardWeekly.schema();
            let keys = ["metric", "rank"];
            for (case, closed, rows) in cases {
                let mem = span::weekly(week, closed, rows);
                let mem = tables::leaderboard(&schema, week, &mem).unwrap();
                let what = format!("weekly {week}, {case}");
                assert_same(&sorted(&sql, &keys), &sorted(&mem, &keys), &what);
            }

            let sql = run(super::rising_stars(day)).await;
            assert_eq!(sql.num_rows(), LEADERBOARD_SIZE, "rising stars {day}");
            let schema = Table::RisingStars.schema();
            for (case, closed, rows) in cases {
                let stars = span::rising_stars(day, closed, rows, &profiles);
                let mem = tables::rising_stars(&schema, day, &stars).unwrap();
                let what = format!("rising stars {day}, {case}");
                assert_same(&sorted(&sql, &["rank"]), &mem, &what);
            }
        }
    }
}
