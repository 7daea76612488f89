//! A table provider that shows some of a table's columns in other types,
//! cast at the scan. Two uses:
//! - [`contract_types`]: a Delta table in its contract types. delta-rs hands
//!   string partition columns out dictionary-encoded (`Dictionary(UInt16,
//!   Utf8)`), which Flight clients and the JDBC driver do not expect, so
//!   those columns are cast back to their value type;
//! - `query::views`: every catalog table with `Utf8View` strings.
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, cast};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;

/// The type a column of type `from` is shown as, if it is to be cast.
pub(crate) type CastTo = fn(&DataType) -> Option<DataType>;

/// Wraps `inner`, casting dictionary columns to their value type; returns
/// `inner` itself when it has none.
pub(crate) fn contract_types(inner: Arc<dyn TableProvider>) -> Arc<dyn TableProvider> {
    cast_columns(inner, |t| match t {
        DataType::Dictionary(_, value) => Some(value.as_ref().clone()),
        _ => None,
    })
}

/// Wraps `inner`, showing each top-level column for which `to` gives a type
/// in that type; returns `inner` itself when there is none.
pub(crate) fn cast_columns(inner: Arc<dyn TableProvider>, to: CastTo) -> Arc<dyn TableProvider> {
    let inner_schema = inner.schema();
    let mut cast_columns = Vec::new();
    let fields: Vec<Field> = inner_schema
        .fields()
        .iter()
        .map(|f| match to(f.data_type()) {
            Some(t) => {
                cast_columns.push(f.name().clone());
                f.as_ref().clone().with_data_type(t)
            }
            None => f.as_ref().clone(),
        })
        .collect();
    if cast_columns.is_empty() {
        return inner;
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        inner_schema.metadata().clone(),
    ));
    Arc::new(CastColumns {
        inner,
        schema,
        cast_columns,
        to,
    })
}

#[derive(Debug)]
struct CastColumns {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    cast_columns: Vec<String>,
    to: CastTo,
}

impl CastColumns {
    /// Filters on a cast column stay above the cast (DataFusion applies them
    /// there; their literals are typed for the shown type); the rest go to
    /// `inner` (a Delta scan prunes files with them).
    fn touches_cast(&self, e: &Expr) -> bool {
        e.column_refs()
            .iter()
            .any(|c| self.cast_columns.iter().any(|n| n == c.name()))
    }
}

#[async_trait]
impl TableProvider for CastColumns {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let passable: Vec<&Expr> = filters
            .iter()
            .copied()
            .filter(|e| !self.touches_cast(e))
            .collect();
        let mut inner = self.inner.supports_filters_pushdown(&passable)?.into_iter();
        Ok(filters
            .iter()
            .map(|e| {
                if self.touches_cast(e) {
                    TableProviderFilterPushDown::Unsupported
                } else {
                    inner
                        .next()
                        .unwrap_or(TableProviderFilterPushDown::Unsupported)
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let filters: Vec<Expr> = filters
            .iter()
            .filter(|e| !self.touches_cast(e))
            .cloned()
            .collect();
        let plan = self.inner.scan(state, projection, &filters, limit).await?;
        let input = plan.schema();
        if !input
            .fields()
            .iter()
            .any(|f| (self.to)(f.data_type()).is_some())
        {
            return Ok(plan);
        }
        let exprs = input
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| -> Result<(Arc<dyn PhysicalExpr>, String)> {
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(f.name(), i));
                let expr = match (self.to)(f.data_type()) {
                    Some(t) => cast(column, &input, t)?,
                    None => column,
                };
                Ok((expr, f.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}
