//! Test rows for any lake table, generated from its contract schema.
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::NaiveDate;
use twitch_monitor::schema::Table;

/// Days since the Unix epoch, as Date32 stores them.
pub fn days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    (day - epoch).num_days() as i32
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `n` rows for `table`: every column filled by type, `cycle_id` = `cycle`,
/// every Date32 column = `day`, `status` = "live", SCD2 rows current.
/// Strings are `<column>-<cycle>-<i>` so rows of different cycles differ.
pub fn rows(table: Table, n: usize, cycle: i64, day: NaiveDate) -> RecordBatch {
    let schema = table.schema();
    let ts0 = day
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            let name = f.name().as_str();
            match (name, f.data_type()) {
                ("cycle_id", _) => Arc::new(Int64Array::from(vec![cycle; n])),
                ("status", _) => Arc::new(StringArray::from(vec!["live"; n])),
                ("is_current", _) => Arc::new(BooleanArray::from(vec![true; n])),
                ("valid_to" | "ended_at", _) => {
                    Arc::new(TimestampMicrosecondArray::from(vec![None; n]).with_timezone("UTC"))
                }
                (_, DataType::Utf8) => Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{name}-{cycle}-{i}")),
                )),
                (_, DataType::Int64) => Arc::new(Int64Array::from_iter_values(
                    (0..n as i64).map(|i| cycle * 1000 + i),
                )),
                (_, DataType::Float64) => Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| i as f64 + 0.5),
                )),
                (_, DataType::Boolean) => Arc::new(BooleanArray::from(vec![false; n])),
                (_, DataType::Date32) => Arc::new(Date32Array::from(vec![days(day); n])),
                (_, DataType::Timestamp(TimeUnit::Microsecond, _)) => Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n as i64).map(|i| ts0 + cycle * 60_000_000 + i),
                    )
                    .with_timezone("UTC"),
                ),
                (_, DataType::List(_)) => {
                    let mut b = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(
                        arrow::datatypes::Field::new("element", DataType::Utf8, true),
                    ));
                    for i in 0..n {
                        b.values().append_value("English");
                        b.values().append_value(format!("tag{i}"));
                        b.append(true);
                    }
                    Arc::new(b.finish())
                }
                (_, other) => panic!("no test data for {name}: {other}"),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

/// `batch` with column `name` replaced by `array`.
pub fn with_column(batch: &RecordBatch, name: &str, array: ArrayRef) -> RecordBatch {
    let i = batch.schema().index_of(name).unwrap();
    let mut columns = batch.columns().to_vec();
    columns[i] = array;
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// Total rows in `batches`.
pub fn count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The string values of column `name`, sorted (rows of all batches).
pub fn strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let mut out: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap();
            let a = arrow::compute::cast(a, &DataType::Utf8).unwrap();
            let a = a.as_any().downcast_ref::<StringArray>().unwrap().clone();
            (0..a.len())
                .map(|i| {
                    if a.is_valid(i) {
                        a.value(i).to_string()
                    } else {
                        "NULL".to_string()
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

/// `batch` with column `name` replaced by `array` of any type (the schema
/// follows), to hand writes batches that differ from the contract.
pub fn retyped(batch: &RecordBatch, name: &str, array: ArrayRef) -> RecordBatch {
    let i = batch.schema().index_of(name).unwrap();
    let mut fields: Vec<arrow::datatypes::FieldRef> = batch.schema().fields().to_vec();
    fields[i] = Arc::new(
        fields[i]
            .as_ref()
            .clone()
            .with_data_type(array.data_type().clone())
            .with_nullable(true),
    );
    let mut columns = batch.columns().to_vec();
    columns[i] = array;
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).unwrap()
}

/// Parquet files under `dir` (one partition directory; 0 if it does not exist).
pub fn parquet_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "parquet")
            })
            .count()
    })
}
