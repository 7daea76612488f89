//! Rows ↔ Arrow: fills the contract schemas of [`crate::schema`] column by
//! column name, so the schema module stays the one definition of every table.
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, TimestampMicrosecondArray, new_null_array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};

/// Days since the Unix epoch, as Arrow's `Date32`.
pub fn date32(t: DateTime<Utc>) -> i32 {
    day_number(t.date_naive())
}

/// `Date32` value of a calendar day.
pub fn day_number(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

/// A `Timestamp(µs, "UTC")` array.
pub fn ts<I: IntoIterator<Item = Option<DateTime<Utc>>>>(it: I) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter(
            it.into_iter().map(|t| t.map(|t| t.timestamp_micros())),
        )
        .with_timezone("UTC"),
    )
}

/// A `Utf8` array.
pub fn utf8<'a, I: IntoIterator<Item = &'a str>>(it: I) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

/// A nullable `Utf8` array.
pub fn utf8_opt<'a, I: IntoIterator<Item = Option<&'a str>>>(it: I) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

/// An `Int64` array.
pub fn i64s<I: IntoIterator<Item = Option<i64>>>(it: I) -> ArrayRef {
    Arc::new(Int64Array::from_iter(it))
}

/// A `Float64` array.
pub fn f64s<I: IntoIterator<Item = Option<f64>>>(it: I) -> ArrayRef {
    Arc::new(Float64Array::from_iter(it))
}

/// A `Boolean` array.
pub fn bools<I: IntoIterator<Item = bool>>(it: I) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(it.into_iter().map(Some)))
}

/// A `Date32` array.
pub fn dates<I: IntoIterator<Item = i32>>(it: I) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(it))
}

/// A `List<Utf8>` array.
pub fn string_lists<'a, I, L>(it: I) -> ArrayRef
where
    I: IntoIterator<Item = L>,
    L: IntoIterator<Item = &'a String>,
{
    let mut b = ListBuilder::new(StringBuilder::new());
    for list in it {
        for s in list {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Builds a batch of `schema` asking `column` for each field by name, and
/// casting where the produced type differs only in representation (e.g. a
/// list's inner field name or nullability).
pub fn build(
    schema: &SchemaRef,
    rows: usize,
    column: impl Fn(&str) -> Option<ArrayRef>,
) -> Result<RecordBatch, ArrowError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let a = match column(f.name()) {
                Some(a) => a,
                // Columns added to the contract later are nullable: fill them.
                None if f.is_nullable() => new_null_array(f.data_type(), rows),
                None => {
                    return Err(ArrowError::SchemaError(format!(
                        "no value for column {} of the contract",
                        f.name()
                    )));
                }
            };
            debug_assert_eq!(a.len(), rows);
            conform_array(a, f.data_type())
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

fn conform_array(a: ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    if a.data_type() == to {
        Ok(a)
    } else {
        cast(&a, to)
    }
}

/// Casts a query result to a table's schema, matching columns by name (SQL
/// output types differ in width or nullability from the contract).
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    build(schema, batch.num_rows(), |name| {
        batch.column_by_name(name).cloned()
    })
}
