//! `rebuild`: recomputes every derived table (silver and gold) from bronze
//! alone, through the same commit plan as live cycles: each bronze cycle is
//! planned in order and its writes applied to an image of the tables
//! ([`super::image`]: in memory, growing partitions staged on local disk);
//! then each derived table is rewritten in one commit. Bronze is read,
//! never written; state tables are never touched.
//!
//! Why the tables equal what the live cycles wrote: every row comes from the
//! same plan over the same inputs and running state. A day's gold and the
//! SQL steps are built once at the end rather than at each write, which
//! changes nothing: the last write of a day's gold comes from the last cycle
//! whose silver rows changed that day ([`super::silver::SilverRows::days`]),
//! cycles move forward in time, and the SQL steps read only days up to
//! theirs. Sums are exact (integer microseconds in memory, decimals in SQL),
//! so the figures match to the last bit, not only to a tolerance.
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;

use super::Result;
use super::gold::OpenDays;
use super::image::Image;
use super::inputs::CycleInputs;
use super::pipeline::run;
use super::plan;
use super::sessions::Sessionizer;
use super::silver::SilverState;
use super::spill::SPILL_ROWS;
use crate::lake::Lake;
use crate::schema::Table;

/// Progress of a rebuild, reported as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Derived `done` of `total` bronze cycles.
    Derived {
        /// Cycles derived so far.
        done: usize,
        /// Cycles in bronze.
        total: usize,
    },
    /// Rewrote a table.
    Wrote {
        /// The table.
        table: Table,
        /// Its rows now.
        rows: usize,
    },
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Derived { done, total } => {
                write!(
                    f,
                    "derived {done}/{total} cycles ({}%)",
                    done * 100 / (*total).max(1)
                )
            }
            Progress::Wrote { table, rows } => write!(f, "wrote {table}: {rows} rows"),
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Bronze cycles replayed.
    pub cycles: usize,
    /// Rows written per table.
    pub tables: Vec<(Table, usize)>,
}

/// Rebuilds every derived table from bronze.
pub async fn rebuild(
    lake: &Lake,
    poll_interval: Duration,
    session_gap: Duration,
    progress: impl FnMut(Progress),
) -> Result<RebuildReport> {
    let gaps = (poll_interval, session_gap);
    rebuild_spilling_at(lake, gaps, SPILL_ROWS, progress).await
}

/// [`rebuild`] with `(poll interval, session gap)`, a partition's rows going
/// to local disk once `spill_rows` are in memory (tests spill everything).
pub async fn rebuild_spilling_at(
    lake: &Lake,
    (poll_interval, session_gap): (Duration, Duration),
    spill_rows: usize,
    mut progress: impl FnMut(Progress),
) -> Result<RebuildReport> {
    let ctx = lake.session().await?;
    // Every cycle writes Helix responses; chat is read too so no cycle of
    // chat alone could be missed.
    let ids = run(
        &ctx,
        "SELECT cycle_id FROM bronze.helix_responses \
         UNION SELECT cycle_id FROM bronze.chat_messages ORDER BY cycle_id",
    )
    .await?;
    let cycles: Vec<i64> = ids
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    let mut report = RebuildReport {
        cycles: cycles.len(),
        ..Default::default()
    };
    let Some(&last) = cycles.last() else {
        return Ok(report);
    };

    let mut state = SilverState {
        sessions: Sessionizer::new(session_gap, []),
        ..Default::default()
    };
    let mut days = OpenDays::default();
    let mut image = Image::new(spill_rows)?;
    for (i, &cycle) in cycles.iter().enumerate() {
        let inputs = CycleInputs::from_bronze(lake, cycle).await?;
        // As the live pipeline does: a day closed in the fold (a line long
        // late) reopens from bronze.
        state.chat.load(lake, cycle, &inputs.chat).await?;
        let plan = plan::plan(cycle, &inputs, &mut state)?;
        // As the live pipeline does before its gold writes (here every day
        // is open: the replay starts from the first cycle).
        days.fold(cycle, &plan.silver);
        for write in plan.writes {
            image.apply(write)?;
        }
        if (i + 1) % 100 == 0 || i + 1 == cycles.len() {
            progress(Progress::Derived {
                done: i + 1,
                total: cycles.len(),
            });
        }
    }
    let poll_secs = poll_interval.as_secs_f64();
    let finished = image.finish(&days, &state.streamers, poll_secs)?;
    for (table, rows) in finished.tables {
        let count = rows.rows;
        lake.rewrite_staged(table, rows.batches, rows.files, last)
            .await?;
        progress(Progress::Wrote { table, rows: count });
        report.tables.push((table, count));
    }
    Ok(report)
}
