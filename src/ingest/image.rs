//! An image of the derived tables, for `rebuild`: every cycle's planned
//! writes applied the way Delta applies them — append, replace a partition,
//! SCD type 2 upsert — so the tables `rebuild` commits are the ones the live
//! cycles committed. A day's gold rows stay descriptions until
//! [`Image::finish`] builds them once, at the end. A partition that grows
//! past a set number of rows in memory goes to local disk ([`super::spill`]), so
//! the image of a long lake is mostly files, not memory.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Scalar, TimestampMicrosecondArray, UInt32Array,
};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use chrono::NaiveDate;

use super::gold::OpenDays;
use super::plan::{Op, Rows, Scope, Write};
use super::profiles::Profiles;
use super::spill::{Spill, discard};
use super::{Error, Result};
use crate::schema::{Origin, Table, scd2};

/// What a partition holds until the end.
#[derive(Debug)]
enum Part {
    Rows(RecordBatch),
    Day(NaiveDate),
    /// Rows written to a local file, and how many.
    Spilled(PathBuf, usize),
}

/// One table: its parts by partition value ("" when unpartitioned).
type Parts = BTreeMap<String, Vec<Part>>;

/// The derived tables as the writes applied so far leave them.
#[derive(Debug)]
pub(super) struct Image {
    tables: BTreeMap<Table, Parts>,
    spill: Spill,
    /// Rows a partition holds in memory before they go to disk.
    spill_rows: usize,
}

/// A derived table's rows at the end: in memory and in spilled files.
#[derive(Debug, Default)]
pub(super) struct TableRows {
    /// Rows still in memory.
    pub(super) batches: Vec<RecordBatch>,
    /// Files of spilled rows, in the table's contract schema.
    pub(super) files: Vec<PathBuf>,
    /// Rows in all.
    pub(super) rows: usize,
}

fn bug(table: Table, what: impl std::fmt::Display) -> Error {
    Error::Arrow(ArrowError::InvalidArgumentError(format!(
        "rebuild cannot apply a write to {table}: {what}"
    )))
}

impl Image {
    /// Applies one planned write. Bronze is the input, not an output: its
    /// writes are skipped; a state table in a plan is a bug.
    pub(super) fn apply(&mut self, write: Write) -> Result<()> {
        let table = write.table;
        match table.origin() {
            Origin::Source => return Ok(()),
            Origin::State => return Err(bug(table, "state tables are never planned")),
            Origin::Derived => {}
        }
        let parts = self.tables.entry(table).or_default();
        let added = match (write.op, write.rows) {
            (Op::Append, Rows::Batch(b)) => add(parts, table, b)?,
            (Op::Replace(Scope::All), Rows::Batch(b)) => {
                std::mem::take(parts).values().for_each(|p| drop_files(p));
                add(parts, table, b)?
            }
            (Op::Replace(Scope::Partition { column, value }), rows) => {
                if table.def().partition_columns != [column] {
                    return Err(bug(table, format!("{column} is not its partition column")));
                }
                if let Some(old) = parts.remove(&value) {
                    drop_files(&old);
                }
                match rows {
                    Rows::Batch(b) => add(parts, table, b)?,
                    Rows::Day(day) => {
                        // Built at the end, from the state the last write
                        // would see.
                        parts.insert(value, vec![Part::Day(day)]);
                        Vec::new()
                    }
                }
            }
            (Op::Upsert, Rows::Batch(b)) => return upsert(parts, table, b),
            (op, _) => return Err(bug(table, format!("{op:?} of rows built later"))),
        };
        // An SCD type 2 table's rows change after they are written: they stay.
        if table.def().scd2_key.is_some() {
            return Ok(());
        }
        for value in added {
            let Some(part) = parts.get_mut(&value) else {
                continue;
            };
            spill_if_large(&mut self.spill, self.spill_rows, table, part)?;
        }
        Ok(())
    }

    /// An empty image, with a new directory to spill partitions of
    /// `spill_rows` or more to.
    pub(super) fn new(spill_rows: usize) -> Result<Self> {
        Ok(Image {
            tables: BTreeMap::new(),
            spill: Spill::new()?,
            spill_rows,
        })
    }

    /// Every derived table's rows: a day's gold built from `days` (folded up
    /// to the last cycle, every day open). Tables no write reached come
    /// back empty. The spill directory lives as long as the returned
    /// [`Spilled`].
    pub(super) fn finish(
        mut self,
        days: &OpenDays,
        streamers: &Profiles,
        poll_secs: f64,
    ) -> Result<Spilled> {
        let mut daily = days.tables(streamers, poll_secs);
        for (&table, parts) in &mut self.tables {
            for part in parts.values_mut().flatten() {
                if let Part::Day(day) = part {
                    *part = Part::Rows(daily.batch(table, *day)?);
                }
            }
        }
        let tables = Table::ALL
            .into_iter()
            .filter(|t| t.origin() == Origin::Derived)
            .map(|t| (t, self.rows(t)))
            .collect();
        Ok(Spilled {
            tables,
            _dir: self.spill,
        })
    }

    /// The built rows of `table` (parts still to build are left out).
    fn rows(&mut self, table: Table) -> TableRows {
        let mut out = TableRows::default();
        let parts = self.tables.remove(&table).unwrap_or_default();
        for part in parts.into_values().flatten() {
            match part {
                Part::Rows(b) if b.num_rows() > 0 => {
                    out.rows += b.num_rows();
                    out.batches.push(b);
                }
                Part::Spilled(path, rows) => {
                    out.rows += rows;
                    out.files.push(path);
                }
                Part::Rows(_) | Part::Day(_) => {}
            }
        }
        out
    }
}

/// The image's tables at the end, and the directory their spilled files are
/// in (deleted when this is dropped).
#[derive(Debug)]
pub(super) struct Spilled {
    /// Every derived table's rows.
    pub(super) tables: Vec<(Table, TableRows)>,
    _dir: Spill,
}

/// Sends the rows a partition holds in memory to disk once they are
/// `spill_rows` or more.
fn spill_if_large(
    spill: &mut Spill,
    spill_rows: usize,
    table: Table,
    part: &mut Vec<Part>,
) -> Result<()> {
    let in_memory: usize = part
        .iter()
        .map(|p| match p {
            Part::Rows(b) => b.num_rows(),
            _ => 0,
        })
        .sum();
    if in_memory < spill_rows.max(1) {
        return Ok(());
    }
    let (mut batches, mut kept) = (Vec::new(), Vec::new());
    for p in std::mem::take(part) {
        match p {
            Part::Rows(b) => batches.push(b),
            other => kept.push(other),
        }
    }
    kept.push(Part::Spilled(spill.write(table, batches)?, in_memory));
    *part = kept;
    Ok(())
}

/// Deletes the spilled files of a partition being replaced.
fn drop_files(part: &[Part]) {
    for p in part {
        if let Part::Spilled(path, _) = p {
            discard(path);
        }
    }
}

/// Adds `batch` to its partitions; returns the partitions it went to.
fn add(parts: &mut Parts, table: Table, batch: RecordBatch) -> Result<Vec<String>> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let Some(&column) = table.def().partition_columns.first() else {
        parts
            .entry(String::new())
            .or_default()
            .push(Part::Rows(batch));
        return Ok(vec![String::new()]);
    };
    let values = batch
        .column_by_name(column)
        .ok_or_else(|| bug(table, format!("no partition column {column}")))?;
    // Most batches hold one partition (a cycle, a day): check that at once.
    let first = Scalar::new(values.slice(0, 1));
    if eq(values, &first)?.true_count() == batch.num_rows() {
        let value = array_value_to_string(values, 0)?;
        parts
            .entry(value.clone())
            .or_default()
            .push(Part::Rows(batch));
        return Ok(vec![value]);
    }
    let mut rows: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for i in 0..batch.num_rows() {
        rows.entry(array_value_to_string(values, i)?)
            .or_default()
            .push(i as u32);
    }
    let mut added = Vec::with_capacity(rows.len());
    for (value, indices) in rows {
        let part = take_record_batch(&batch, &UInt32Array::from(indices))?;
        parts
            .entry(value.clone())
            .or_default()
            .push(Part::Rows(part));
        added.push(value);
    }
    Ok(added)
}

/// SCD type 2 upsert of `new` (one new current version per key, each a
/// change): the key's current row is closed at the new row's `valid_from`.
fn upsert(parts: &mut Parts, table: Table, new: RecordBatch) -> Result<()> {
    let key = table
        .def()
        .scd2_key
        .ok_or_else(|| bug(table, "not an SCD type 2 table"))?;
    let strings = |b: &RecordBatch, c: &str| {
        b.column_by_name(c)
            .and_then(|a| a.as_string_opt::<i32>().cloned())
            .ok_or_else(|| bug(table, format!("no text column {c}")))
    };
    let (keys, from) = (strings(&new, key)?, valid_from(table, &new)?);
    let opened: HashMap<&str, i64> = (0..new.num_rows())
        .map(|i| (keys.value(i), from.value(i)))
        .collect();
    let rows = parts.entry(String::new()).or_default();
    for part in rows.iter_mut() {
        let Part::Rows(batch) = part else { continue };
        let old_keys = strings(batch, key)?;
        let schema = batch.schema();
        let (Ok(cur), Ok(to)) = (
            schema.index_of(scd2::IS_CURRENT),
            schema.index_of(scd2::VALID_TO),
        ) else {
            return Err(bug(table, "no SCD type 2 columns"));
        };
        let current = batch.column(cur).as_boolean().clone();
        let closes = |i: usize| current.value(i).then(|| opened.get(old_keys.value(i)))?;
        if !(0..batch.num_rows()).any(|i| closes(i).is_some()) {
            continue;
        }
        let valid_to = batch.column(to).as_primitive::<TimestampMicrosecondType>();
        let is_current: BooleanArray = (0..batch.num_rows())
            .map(|i| Some(current.value(i) && closes(i).is_none()))
            .collect();
        let valid_to: TimestampMicrosecondArray = (0..batch.num_rows())
            .map(|i| {
                closes(i)
                    .copied()
                    .or(valid_to.is_valid(i).then(|| valid_to.value(i)))
            })
            .collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[cur] = Arc::new(is_current);
        columns[to] = Arc::new(valid_to.with_timezone("UTC"));
        *batch = RecordBatch::try_new(schema, columns)?;
    }
    rows.push(Part::Rows(new));
    Ok(())
}

fn valid_from(table: Table, b: &RecordBatch) -> Result<TimestampMicrosecondArray> {
    b.column_by_name(scd2::VALID_FROM)
        .and_then(|a| a.as_primitive_opt::<TimestampMicrosecondType>().cloned())
        .ok_or_else(|| bug(table, "no valid_from column"))
}
