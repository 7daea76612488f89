//! The `twitch` catalog: where tables come from ([`TableSource`]) and the
//! DataFusion catalog/schema providers that serve a snapshot of them, swapped
//! whole on refresh so queries in flight keep the providers they started with.
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, MemTable, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use super::error::SourceError;
use crate::schema::Layer;

/// The catalog every table lives in.
pub const CATALOG: &str = "twitch";
/// The schemas that always exist, even while empty (the medallion layers and `live`).
pub const SCHEMAS: [&str; 4] = [
    Layer::Bronze.as_str(),
    Layer::Silver.as_str(),
    Layer::Gold.as_str(),
    Layer::Live.as_str(),
];

/// One table offered by a [`TableSource`].
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// Schema (layer) name, e.g. `gold`.
    pub schema: String,
    /// Table name, e.g. `leaderboard_daily`.
    pub name: String,
    /// How DataFusion reads it.
    pub provider: Arc<dyn TableProvider>,
}

impl SourceTable {
    /// A table `schema.name` read through `provider`.
    pub fn new(
        schema: impl Into<String>,
        name: impl Into<String>,
        provider: Arc<dyn TableProvider>,
    ) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
            provider,
        }
    }
}

/// Yields the current set of tables (the lake's Delta tables and the live
/// views). The query engine calls it on every refresh.
#[async_trait]
pub trait TableSource: Send + Sync + Debug {
    /// Every table that should be queryable now.
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError>;
}

/// An in-memory [`TableSource`] of `MemTable`s, for tests and examples.
#[derive(Debug, Default)]
pub struct MemTableSource {
    tables: RwLock<Vec<SourceTable>>,
}

impl MemTableSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `schema.name` holding `batches` of `arrow_schema`.
    pub fn put(
        &self,
        schema: &str,
        name: &str,
        arrow_schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> DfResult<()> {
        let table = MemTable::try_new(arrow_schema, vec![batches])?;
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        tables.retain(|t| !(t.schema == schema && t.name == name));
        tables.push(SourceTable::new(schema, name, Arc::new(table)));
        Ok(())
    }

    /// Removes `schema.name` if present.
    pub fn remove(&self, schema: &str, name: &str) {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        tables.retain(|t| !(t.schema == schema && t.name == name));
    }
}

#[async_trait]
impl TableSource for MemTableSource {
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError> {
        Ok(self
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }
}

/// The `twitch` catalog: an atomically swapped map of read-only schemas.
#[derive(Debug)]
pub(crate) struct LakeCatalog {
    schemas: ArcSwap<BTreeMap<String, Arc<LayerSchema>>>,
}

impl LakeCatalog {
    /// A catalog with the standard, empty schemas.
    pub(crate) fn new() -> Self {
        let catalog = Self {
            schemas: ArcSwap::from_pointee(BTreeMap::new()),
        };
        catalog.replace(Vec::new());
        catalog
    }

    /// Swaps in a new set of tables. Readers see either the old or the new
    /// set, never a mix; queries already planned keep their providers.
    pub(crate) fn replace(&self, tables: Vec<SourceTable>) {
        let mut by_schema: BTreeMap<String, HashMap<String, Arc<dyn TableProvider>>> = SCHEMAS
            .iter()
            .map(|s| ((*s).to_owned(), HashMap::new()))
            .collect();
        for t in tables {
            by_schema
                .entry(t.schema)
                .or_default()
                .insert(t.name, super::views::view_types(t.provider));
        }
        let schemas = by_schema
            .into_iter()
            .map(|(name, tables)| (name, Arc::new(LayerSchema { tables })))
            .collect();
        self.schemas.store(Arc::new(schemas));
    }

    /// The tables as they are now, unchanged by later refreshes.
    pub(crate) fn fixed(&self) -> FixedCatalog {
        FixedCatalog {
            schemas: self.schemas.load_full(),
        }
    }
}

impl CatalogProvider for LakeCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.fixed().schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.fixed().schema(name)
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.fixed().register_schema(name, schema)
    }
}

/// One snapshot of the `twitch` catalog ([`LakeCatalog::fixed`]).
#[derive(Debug)]
pub(crate) struct FixedCatalog {
    schemas: Arc<BTreeMap<String, Arc<LayerSchema>>>,
}

impl CatalogProvider for FixedCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas
            .get(name)
            .map(|s| Arc::clone(s) as Arc<dyn SchemaProvider>)
    }

    fn register_schema(
        &self,
        name: &str,
        _schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        Err(DataFusionError::Plan(format!(
            "cannot create schema {name}: the catalog is read-only"
        )))
    }
}

/// One schema of a catalog snapshot; immutable once built.
#[derive(Debug)]
pub(crate) struct LayerSchema {
    tables: HashMap<String, Arc<dyn TableProvider>>,
}

#[async_trait]
impl SchemaProvider for LayerSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.tables.get(name).cloned())
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}
