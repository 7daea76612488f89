//! One string type across the catalog: `Utf8View`.
//!
//! The lake's tables are read with view types (faster scans and group-bys,
//! see `Lake::query_provider`), while the live views and other in-memory
//! tables hold plain `Utf8`. DataFusion infers one type per placeholder, so
//! a statement using `$1` against both (the dashboard's streamer page does)
//! failed with "Conflicting types for id $1". Every table whose schema still
//! has `Utf8`/`LargeUtf8` columns is served through [`ViewTypes`], which
//! shows them as `Utf8View` and casts at the scan (a view of each value, no
//! copy of the text). Clients still receive `Utf8` (see `client_schema`).
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, cast};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;

fn is_plain_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8)
}

/// `inner` with its top-level string columns shown as `Utf8View`; `inner`
/// itself when it has none.
pub(crate) fn view_types(inner: Arc<dyn TableProvider>) -> Arc<dyn TableProvider> {
    let inner_schema = inner.schema();
    let mut cast_columns = Vec::new();
    let fields: Vec<Field> = inner_schema
        .fields()
        .iter()
        .map(|f| {
            if is_plain_string(f.data_type()) {
                cast_columns.push(f.name().clone());
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    if cast_columns.is_empty() {
        return inner;
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        inner_schema.metadata().clone(),
    ));
    Arc::new(ViewTypes {
        inner,
        schema,
        cast_columns,
    })
}

#[derive(Debug)]
struct ViewTypes {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    cast_columns: Vec<String>,
}

impl ViewTypes {
    /// Filters on a cast column stay above the cast (their literals are typed
    /// for the view column); the rest are offered to `inner`.
    fn touches_cast(&self, e: &Expr) -> bool {
        e.column_refs()
            .iter()
            .any(|c| self.cast_columns.iter().any(|n| n == c.name()))
    }
}

#[async_trait]
impl TableProvider for ViewTypes {
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
            .any(|f| is_plain_string(f.data_type()))
        {
            return Ok(plan);
        }
        let exprs = input
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| -> Result<(Arc<dyn PhysicalExpr>, String)> {
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(f.name(), i));
                let expr = if is_plain_string(f.data_type()) {
                    cast(column, &input, DataType::Utf8View)?
                } else {
                    column
                };
                Ok((expr, f.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}
