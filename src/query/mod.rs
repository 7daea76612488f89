//! The query engine: one DataFusion `SessionContext` over the `twitch`
//! catalog (schemas bronze, silver, gold, live), read-only SQL with
//! positional parameters, and per-query limits (timeout, shared memory pool,
//! bounded concurrency). Front ends (Flight SQL, HTTP) see only [`QueryEngine`].
mod catalog;
mod error;
mod functions;
mod params;
mod pinned;
mod planned;
mod policy;
mod pool;
mod sources;
mod stream;
mod views;

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::common::ScalarValue;
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use catalog::{CATALOG, MemTableSource, SCHEMAS, SourceTable, TableSource};
pub use error::{Error, ErrorKind, Result, SourceError};
pub use pinned::Pinned;
pub use policy::rewrite_placeholders;
pub use pool::QUERY_NICE;
pub use sources::{LakeAndLive, WithTables};
pub use stream::client_schema;

use catalog::LakeCatalog;
use pool::QueryPool;

/// The schema DataFusion serves its own metadata views in.
pub const INFORMATION_SCHEMA: &str = "information_schema";

/// Limits applied to every query.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Longest a query may run, from admission to its last batch.
    pub query_timeout: Duration,
    /// Size of the memory pool shared by all running queries, in bytes.
    pub memory_limit: usize,
    /// Queries that may run at once; more wait for a slot.
    pub max_concurrent_queries: usize,
    /// Longest a query waits for a slot before it is refused.
    pub queue_timeout: Duration,
    /// How much lower the query threads' CPU priority is (nice, 0–19).
    pub nice: i32,
    /// Where query counts, latencies and the number running are recorded.
    pub metrics: crate::metrics::Metrics,
    /// The Parquet footer cache to share (the lake's,
    /// [`crate::lake::Lake::footer_cache`]); a cache of the engine's own
    /// when `None`.
    pub footer_cache: Option<Arc<FileMetadataCache>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            query_timeout: Duration::from_secs(300),
            memory_limit: 4 << 30,
            max_concurrent_queries: 16,
            queue_timeout: Duration::from_secs(30),
            nice: QUERY_NICE,
            metrics: crate::metrics::Metrics::default(),
            footer_cache: None,
        }
    }
}

impl From<&crate::config::QueryConfig> for EngineOptions {
    fn from(c: &crate::config::QueryConfig) -> Self {
        Self {
            query_timeout: c.timeout,
            memory_limit: usize::try_from(c.memory_limit).unwrap_or(usize::MAX),
            max_concurrent_queries: c.max_concurrent,
            queue_timeout: c.queue_timeout,
            nice: c.nice,
            metrics: crate::metrics::Metrics::default(),
            footer_cache: None,
        }
    }
}

/// A planned statement: what a client needs to know before running it.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    /// The SQL as the engine runs it (`?` rewritten to `$n`).
    pub sql: String,
    /// The schema of the result, as clients receive it.
    pub schema: SchemaRef,
    /// One field per positional parameter (`$1` first); `Utf8` where the
    /// engine cannot infer a type.
    pub parameters: SchemaRef,
}

/// Whether a listed table is data or one of the engine's metadata views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A lake table or live view.
    Table,
    /// An `information_schema` view.
    View,
}

impl TableKind {
    /// The name Flight SQL / JDBC clients use for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::Table => "TABLE",
            TableKind::View => "VIEW",
        }
    }
}

/// One queryable table, for metadata listings.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Schema (layer) name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Data table or metadata view.
    pub kind: TableKind,
    /// Columns, as clients receive them.
    pub arrow_schema: SchemaRef,
}

/// A cheap-clone handle on the query engine.
#[derive(Debug, Clone)]
pub struct QueryEngine {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: SessionContext,
    catalog: Arc<LakeCatalog>,
    source: Arc<dyn TableSource>,
    options: EngineOptions,
    slots: Arc<Semaphore>,
    planned: planned::Planned,
    pool: QueryPool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("session", &self.ctx.session_id())
            .field("source", &self.source)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl QueryEngine {
    /// An engine over `source`'s tables; reads them once before returning.
    pub async fn new(source: Arc<dyn TableSource>, options: EngineOptions) -> Result<Self> {
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, crate::schema::Layer::Gold.as_str())
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true)
            // Results carry Utf8/Binary: casting happens in our own output
            // stream (to Utf8, which more clients read than LargeUtf8).
            .set_bool("datafusion.optimizer.expand_views_at_output", false);
        // No spilling: a query that needs more than the pool fails with
        // ResourceExhausted instead of writing temporary files on the server.
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(options.memory_limit.max(1 << 20), 1.0)
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            );
        let runtime =
            crate::lake::footers::with_footer_cache(runtime, options.footer_cache.as_ref())
                .build_arc()
                .map_err(Error::from)?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        ctx.register_udf(functions::date_trunc());
        let catalog = Arc::new(LakeCatalog::new());
        ctx.register_catalog(CATALOG, Arc::clone(&catalog) as Arc<dyn CatalogProvider>);
        let slots = Arc::new(Semaphore::new(options.max_concurrent_queries.max(1)));
        let pool = QueryPool::new(options.nice)
            .map_err(|e| Error::Internal(datafusion::error::DataFusionError::IoError(e)))?;
        let engine = Self {
            inner: Arc::new(Inner {
                ctx,
                catalog,
                source,
                options,
                slots,
                planned: Default::default(),
                pool,
            }),
        };
        engine.refresh().await?;
        Ok(engine)
    }

    /// Re-reads the table source and swaps the new tables in atomically;
    /// queries already running keep the tables they started with.
    pub async fn refresh(&self) -> Result<()> {
        let tables = self.inner.source.tables().await.map_err(Error::Source)?;
        self.inner.catalog.replace(tables);
        self.inner.planned.clear();
        Ok(())
    }

    /// The limits this engine applies.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// How many queries hold a slot right now (running or streaming).
    pub fn running_queries(&self) -> usize {
        self.inner.options.max_concurrent_queries.max(1) - self.inner.slots.available_permits()
    }

    /// Plans `sql` without running it: result schema and parameter schema.
    pub async fn prepare(&self, sql: &str) -> Result<PreparedQuery> {
        let sql = rewrite_placeholders(sql)?;
        let plan = plan(&self.inner.ctx.state(), &sql).await?;
        Ok(PreparedQuery {
            schema: client_schema(plan.schema().as_arrow()),
            parameters: params::parameter_schema(&plan)?,
            sql,
        })
    }

    /// Plans `sql` with `params` bound and returns the schema its result
    /// stream will carry: taken from the physical plan, exactly as
    /// [`QueryEngine::execute`] will produce it (nullability included).
    pub async fn schema(&self, sql: &str, params: &[ScalarValue]) -> Result<SchemaRef> {
        let sql = rewrite_placeholders(sql)?;
        let plan = params::bind(plan(&self.inner.ctx.state(), &sql).await?, params)?;
        let physical = self.inner.ctx.state().create_physical_plan(&plan).await?;
        let schema = client_schema(&physical.schema());
        // Kept for the execution that usually follows (GetFlightInfo, DoGet).
        self.inner.planned.put(&sql, params, physical);
        Ok(schema)
    }

    /// Runs `sql` with positional `params` (`$1` = `params[0]`) and returns
    /// its batches as a stream. The stream holds one concurrency slot and
    /// ends with a timeout error at the deadline; dropping it stops the query.
    /// The query is planned and run on the engine's own lower-priority
    /// threads ([`pool`]), whatever runtime calls this.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[ScalarValue],
    ) -> Result<SendableRecordBatchStream> {
        self.run(None, sql, params).await
    }

    /// The catalog as it is now: statements run with
    /// [`QueryEngine::execute_pinned`] on it read these table versions
    /// whatever refreshes come meanwhile.
    pub fn pin(&self) -> Pinned {
        Pinned::new(self.inner.ctx.state(), &self.inner.catalog)
    }

    /// [`QueryEngine::execute`] against the tables `at` pinned.
    pub async fn execute_pinned(
        &self,
        at: &Pinned,
        sql: &str,
        params: &[ScalarValue],
    ) -> Result<SendableRecordBatchStream> {
        self.run(Some(at.clone()), sql, params).await
    }

    async fn run(
        &self,
        at: Option<Pinned>,
        sql: &str,
        params: &[ScalarValue],
    ) -> Result<SendableRecordBatchStream> {
        let guard = self.inner.options.metrics.query_started();
        let started = async {
            let sql = rewrite_placeholders(sql)?;
            let permit = self.admit().await?;
            let timeout = self.inner.options.query_timeout;
            let deadline = Instant::now() + timeout;
            let (engine, params) = (self.clone(), params.to_vec());
            let start = self.inner.pool.stream(async move {
                match at {
                    Some(at) => engine.start_pinned(&at, &sql, &params).await,
                    None => engine.start(&sql, &params).await,
                }
            });
            let inner = tokio::time::timeout_at(deadline, start)
                .await
                .map_err(|_| Error::Timeout(timeout))??;
            Ok((inner, deadline, timeout, permit))
        };
        match started.await {
            Ok((inner, deadline, timeout, permit)) => Ok(Box::pin(stream::LimitedStream::new(
                inner, deadline, timeout, permit, guard,
            ))),
            Err(e) => {
                guard.finish(crate::metrics::Outcome::Error);
                Err(e)
            }
        }
    }

    /// Plans `sql` (or takes the plan [`QueryEngine::schema`] kept) and
    /// starts it.
    async fn start(&self, sql: &str, params: &[ScalarValue]) -> Result<SendableRecordBatchStream> {
        let physical = match self.inner.planned.take(sql, params) {
            Some(physical) => physical,
            None => {
                let state = self.inner.ctx.state();
                let plan = params::bind(plan(&state, sql).await?, params)?;
                state.create_physical_plan(&plan).await?
            }
        };
        execute_stream(physical, self.inner.ctx.task_ctx()).map_err(Error::from)
    }

    /// Plans `sql` against the tables `at` pinned and starts it.
    async fn start_pinned(
        &self,
        at: &Pinned,
        sql: &str,
        params: &[ScalarValue],
    ) -> Result<SendableRecordBatchStream> {
        let plan = params::bind(plan(&at.state, sql).await?, params)?;
        let physical = at.state.create_physical_plan(&plan).await?;
        execute_stream(physical, at.state.task_ctx()).map_err(Error::from)
    }

    /// Waits (bounded) for a concurrency slot.
    async fn admit(&self) -> Result<OwnedSemaphorePermit> {
        let wait = self.inner.options.queue_timeout;
        let acquire = Arc::clone(&self.inner.slots).acquire_owned();
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(Error::Cancelled),
            Err(_) => Err(Error::Busy {
                running: self.inner.options.max_concurrent_queries,
                waited: wait,
            }),
        }
    }

    /// The catalog's schema names, `information_schema` included.
    pub fn schema_names(&self) -> Vec<String> {
        let mut names = self.inner.catalog.schema_names();
        names.push(INFORMATION_SCHEMA.to_owned());
        names.sort();
        names
    }

    /// Every table and metadata view with its client-facing schema.
    pub async fn tables(&self) -> Result<Vec<TableInfo>> {
        let mut out = Vec::new();
        let state = self.inner.ctx.state();
        for schema_name in self.schema_names() {
            let (provider, kind): (Arc<dyn SchemaProvider>, _) =
                if schema_name == INFORMATION_SCHEMA {
                    let reference = TableReference::full(CATALOG, INFORMATION_SCHEMA, "tables");
                    (state.schema_for_ref(reference)?, TableKind::View)
                } else {
                    match self.inner.catalog.schema(&schema_name) {
                        Some(p) => (p, TableKind::Table),
                        None => continue,
                    }
                };
            let mut names = provider.table_names();
            names.sort();
            for name in names {
                if let Some(table) = provider.table(&name).await? {
                    out.push(TableInfo {
                        schema: schema_name.clone(),
                        name,
                        kind,
                        arrow_schema: client_schema(&table.schema()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Names of the scalar functions the engine knows (for SQL info lists).
    pub fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .ctx
            .state()
            .scalar_functions()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests;

/// Parses, checks and plans one read-only statement against `state`'s catalog.
async fn plan(state: &SessionState, sql: &str) -> Result<LogicalPlan> {
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    policy::check_read_only(&statement)?;
    let plan = state.statement_to_plan(statement).await?;
    // Defence in depth: DataFusion's own check agrees the plan only reads.
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|e| Error::ReadOnly(e.to_string()))?;
    Ok(plan)
}
