//! Function overrides registered on the engine's session.
//!
//! `date_trunc`: DataFusion 55 truncates hour and day with plain arithmetic
//! only for timestamps *without* a time zone; a zoned column goes through
//! chrono's calendar per row, even when the zone is UTC. Every timestamp in
//! the data contract is `Timestamp(µs, "UTC")`, and "per hour"/"per day" are
//! the most common group-bys analysts write, so that path was most of the
//! cost of such queries. In UTC the wall clock *is* the stored instant, so
//! truncating the same values as zone-less timestamps gives exactly the same
//! result for every granularity; the wrapper does that and puts the zone back.
//! Any other zone goes to DataFusion's own implementation unchanged.
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, make_array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::functions::datetime::date_trunc::DateTruncFunc;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};

/// `date_trunc` (and its alias `datetrunc`) with a fast path for UTC columns.
pub(super) fn date_trunc() -> ScalarUDF {
    ScalarUDF::new_from_impl(UtcDateTrunc(DateTruncFunc::new()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct UtcDateTrunc(DateTruncFunc);

/// Whether `tz` names a zone whose offset is always zero.
fn is_utc(tz: &str) -> bool {
    ["UTC", "Etc/UTC", "Z", "+00:00", "+0000", "+00"]
        .iter()
        .any(|utc| tz.eq_ignore_ascii_case(utc))
}

/// `array` with its timestamp type's zone replaced by `tz` (same values).
fn with_zone(array: &ArrayRef, tz: Option<Arc<str>>) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Ok(Arc::clone(array));
    };
    let data = array
        .to_data()
        .into_builder()
        .data_type(DataType::Timestamp(*unit, tz))
        .build()?;
    Ok(make_array(data))
}

impl ScalarUDFImpl for UtcDateTrunc {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn aliases(&self) -> &[String] {
        self.0.aliases()
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.0.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.0.return_field_from_args(args)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = match args.args.get(1) {
            Some(ColumnarValue::Array(array)) => match array.data_type() {
                DataType::Timestamp(_, Some(tz)) if is_utc(tz) => Some(Arc::clone(tz)),
                _ => None,
            },
            _ => None,
        };
        let Some(zone) = zone else {
            return self.0.invoke_with_args(args);
        };
        if let ColumnarValue::Array(array) = &mut args.args[1] {
            *array = with_zone(array, None)?;
        }
        match self.0.invoke_with_args(args)? {
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(with_zone(&array, Some(zone))?)),
            scalar => Ok(scalar),
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.0.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.0.documentation()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{RecordBatch, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Runs `sql` over one column `t` of `values` (µs, zone `tz`), once with
    /// DataFusion's own `date_trunc` and once with ours, and returns both.
    async fn both(tz: &str, values: Vec<Option<i64>>, sql: &str) -> (String, String) {
        let array = TimestampMicrosecondArray::from(values).with_timezone(tz);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz.into())),
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(array)]).unwrap();
        let mut out = Vec::new();
        for ours in [false, true] {
            let ctx = SessionContext::new();
            if ours {
                ctx.register_udf(date_trunc());
            }
            ctx.register_batch("x", batch.clone()).unwrap();
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            out.push(
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string(),
            );
        }
        (out.remove(0), out.remove(0))
    }

    #[tokio::test]
    async fn utc_columns_truncate_exactly_as_datafusion_does_for_every_granularity() {
        // Around a leap day, a year end, before 1970, and a null.
        let values = vec![
            Some(1_709_164_799_999_999),
            Some(1_709_164_800_000_001),
            Some(1_735_689_599_123_456),
            Some(-86_400_000_001),
            None,
        ];
        for tz in ["UTC", "+00:00"] {
            for unit in [
                "microsecond",
                "millisecond",
                "second",
                "minute",
                "hour",
                "day",
                "week",
                "month",
                "quarter",
                "year",
            ] {
                let sql = format!(
                    "SELECT t, date_trunc('{unit}', t) AS d, datetrunc('{unit}', t) AS a, \
                     arrow_typeof(date_trunc('{unit}', t)) AS ty FROM x"
                );
                let (theirs, ours) = both(tz, values.clone(), &sql).await;
                assert_eq!(ours, theirs, "{unit} in {tz}");
                assert!(ours.contains(&format!("Timestamp(µs, \"{tz}\")")), "{ours}");
            }
        }
    }

    #[tokio::test]
    async fn other_zones_and_scalars_keep_datafusions_answers() {
        let values = vec![Some(1_711_846_800_000_000), Some(1_730_000_000_000_000)];
        for tz in ["Europe/Berlin", "+05:45", "America/New_York"] {
            let sql = "SELECT date_trunc('day', t), date_trunc('hour', t), \
                       date_trunc('hour', TIMESTAMP '2024-03-31 01:30:00+00:00') FROM x";
            let (theirs, ours) = both(tz, values.clone(), sql).await;
            assert_eq!(ours, theirs, "{tz}");
        }
    }
}
