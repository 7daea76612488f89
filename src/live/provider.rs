//! DataFusion face of the live views: one provider per view, registered once,
//! that reads whatever snapshot is current when a query is planned.
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::memory::MemorySourceConfig;
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::{Snapshot, View};

/// A `live.*` table. Its schema is fixed; its rows are the snapshot current
/// at scan time. The plan holds that snapshot's batches, so a query running
/// while a cycle swaps a new one in keeps reading a consistent cycle.
#[derive(Debug)]
pub struct LiveTable {
    view: View,
    current: Arc<ArcSwap<Snapshot>>,
}

impl LiveTable {
    pub(crate) fn new(view: View, current: Arc<ArcSwap<Snapshot>>) -> Self {
        Self { view, current }
    }

    /// Which view this table shows.
    pub fn view(&self) -> View {
        self.view
    }
}

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.view.schema()
    }

    fn table_type(&self) -> TableType {
        // A view in the catalog's sense would need a logical plan; these are
        // materialised in memory, so "temporary" is the honest kind.
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // A read pinned to one cycle carries that cycle's snapshot
        // (`query::Pinned::with_extension`); others read the newest.
        let snapshot = state
            .config()
            .get_extension::<Snapshot>()
            .unwrap_or_else(|| self.current.load_full());
        let batch = snapshot.batch(self.view).clone();
        let source =
            MemorySourceConfig::try_new(&[vec![batch]], self.schema(), projection.cloned())?
                .with_limit(limit);
        Ok(datafusion::datasource::source::DataSourceExec::from_data_source(source))
    }
}

/// Schema `live` as a read-only DataFusion schema provider: every view,
/// nothing can be registered or dropped through SQL.
#[derive(Debug)]
pub struct LiveSchema {
    tables: Vec<Arc<LiveTable>>,
}

impl LiveSchema {
    pub(crate) fn new(current: &Arc<ArcSwap<Snapshot>>) -> Self {
        let tables = View::ALL
            .into_iter()
            .map(|v| Arc::new(LiveTable::new(v, Arc::clone(current))))
            .collect();
        Self { tables }
    }
}

#[async_trait]
impl SchemaProvider for LiveSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|t| t.view.name().to_owned())
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let table = self.tables.iter().find(|t| t.view.name() == name);
        Ok(table.map(|t| Arc::clone(t) as Arc<dyn TableProvider>))
    }

    fn table_exist(&self, name: &str) -> bool {
        View::from_name(name).is_some()
    }
}
