//! Rows ↔ Arrow: fills the contract schemas of [`crate::schema`] column by
//! column name, so the schema module stays the one definition of every table.
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};

use crate::schema::string_list_item;

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

/// A `List<Utf8>` array, its item field the contract's
/// ([`crate::schema::string_list_item`]).
pub fn string_lists<'a, I, L>(it: I) -> ArrayRef
where
    I: IntoIterator<Item = L>,
    L: IntoIterator<Item = &'a String>,
{
    let mut b = ListBuilder::new(StringBuilder::new()).with_field(string_list_item());
    for list in it {
        for s in list {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Builds a batch of `schema` asking `column` for each field by name.
/// Strict, as the lake's own conform step is: a contract column the encoder
/// does not fill, or fills with another type or length, is an error naming
/// it — never a column of nulls or a lossy cast, which would turn a misspelt
/// name in an encoder into silently missing data.
pub fn build(
    schema: &SchemaRef,
    rows: usize,
    column: impl Fn(&str) -> Option<ArrayRef>,
) -> Result<RecordBatch, ArrowError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name();
            let a = column(name).ok_or_else(|| {
                ArrowError::SchemaError(format!("no value for column {name} of the contract"))
            })?;
            if a.data_type() != f.data_type() {
                return Err(ArrowError::SchemaError(format!(
                    "column {name} is {} where the contract says {}",
                    a.data_type(),
                    f.data_type()
                )));
            }
            if a.len() != rows {
                return Err(ArrowError::SchemaError(format!(
                    "column {name} has {} values for {rows} rows",
                    a.len()
                )));
            }
            Ok(a)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("user_id", DataType::Utf8, false),
            Field::new("login", DataType::Utf8, true),
            Field::new("followers", DataType::Int64, true),
        ]))
    }

    #[test]
    fn a_column_the_encoder_does_not_fill_is_an_error_not_nulls() {
        // "logni": a misspelt column name in an encoder.
        let built = build(&schema(), 1, |c| match c {
            "user_id" => Some(utf8(["u1"])),
            "logni" => Some(utf8(["alice"])),
            "followers" => Some(i64s([Some(7)])),
            _ => None,
        });
        let err = built.expect_err("a contract column was silently filled with nulls");
        assert!(err.to_string().contains("login"), "{err}");
    }

    #[test]
    fn a_column_of_the_wrong_type_is_an_error_not_nulls() {
        let built = build(&schema(), 1, |c| match c {
            "user_id" => Some(utf8(["u1"])),
            "login" => Some(utf8(["alice"])),
            "followers" => Some(utf8(["1.2k"])),
            _ => None,
        });
        let err = built.expect_err("a mistyped column was silently cast to nulls");
        assert!(err.to_string().contains("followers"), "{err}");
    }

    #[test]
    fn every_column_filled_with_its_type_builds() {
        let batch = build(&schema(), 2, |c| match c {
            "user_id" => Some(utf8(["u1", "u2"])),
            "login" => Some(utf8_opt([Some("alice"), None])),
            "followers" => Some(i64s([Some(7), None])),
            _ => None,
        })
        .unwrap();
        assert_eq!((batch.num_rows(), batch.schema()), (2, schema()));
    }
}
