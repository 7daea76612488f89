//! A table provider that shows a Delta table in its contract types: delta-rs
//! hands string partition columns out dictionary-encoded
//! (`Dictionary(UInt16, Utf8)`), which Flight clients and the JDBC driver do
//! not expect, so those columns are cast back to their value type.
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

/// Wraps `inner`, casting dictionary columns to their value type; returns
/// `inner` itself when it has none.
pub(crate) fn contract_types(inner: Arc<dyn TableProvider>) -> Arc<dyn TableProvider> {
    let inner_schema = inner.schema();
    let mut cast_columns = Vec::new();
    let fields: Vec<Field> = inner_schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => {
                cast_columns.push(f.name().clone());
                f.as_ref().clone().with_data_type(value.as_ref().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    if cast_columns.is_empty() {
        return inner;
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        inner_schema.metadata().clone(),
    ));
    Arc::new(ContractTypes {
        inner,
        schema,
        cast_columns,
    })
}

#[derive(Debug)]
struct ContractTypes {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    cast_columns: Vec<String>,
}

impl ContractTypes {
    /// Filters on a cast column stay above the cast (DataFusion applies them
    /// there); the rest go to the Delta scan for file pruning.
    fn touches_cast(&self, e: &Expr) -> bool {
        e.column_refs()
            .iter()
            .any(|c| self.cast_columns.iter().any(|n| n == c.name()))
    }
}

#[async_trait]
impl TableProvider for ContractTypes {
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
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
        {
            return Ok(plan);
        }
        let exprs = input
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| -> Result<(Arc<dyn PhysicalExpr>, String)> {
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(f.name(), i));
                let expr = match f.data_type() {
                    DataType::Dictionary(_, value) => cast(column, &input, value.as_ref().clone())?,
                    _ => column,
                };
                Ok((expr, f.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}
