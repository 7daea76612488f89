//! Delta tables of the medallion lake: open or create every contract table,
//! exactly-once writes keyed by ingest cycle ([`write`]), SCD type 2 upserts
//! ([`scd2`]), reading back through DataFusion ([`read`]) and maintenance
//! ([`maintain`]).
//!
//! Every commit an ingest cycle makes carries a Delta `txn` action with app id
//! `twitch-monitor:<layer>.<table>[:<suffix>]` and version = `cycle_id`. Before
//! committing, the table's last txn version for that app id is read; if it is
//! already >= the cycle, the write is skipped, so a cycle replayed after a
//! crash never writes a row twice.
//!
//! [`Lake`] is a cheap-clone handle (an `Arc` inside) usable from many tasks.
//! Each table has a writer lock (writes through one handle take turns) and a
//! lock-free "latest state" that readers load without waiting on writers.
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arc_swap::ArcSwap;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use url::Url;

mod checkpoint;
mod closed;
mod cluster;
mod error;
pub mod footers;
mod local_log;
mod location;
pub mod maintain;
mod provider;
mod retention;
pub(crate) use provider::cast_columns;
pub mod read;
pub mod rewrite;
pub mod scd2;
mod today;
pub mod write;

#[doc(hidden)]
pub use closed::{Pause, PauseAt};
pub use error::{Error, Result};
pub use location::object_store_at;
pub use maintain::{MaintainOptions, MaintainReport, Retention, TableMaintenance};
pub use today::TODAY_TARGET_SIZE;
pub use write::{CommitOutcome, app_id, in_list};

use crate::schema::{Table, TableDef};
use location::Root;

/// Storage options handed to the object store (`AWS_ENDPOINT_URL`,
/// `AWS_ALLOW_HTTP`, `AZURE_STORAGE_ACCOUNT_NAME`, ...). Values may be secret:
/// they are never logged or printed.
pub type StorageOptions = HashMap<String, String>;

/// A handle on the lake. Clone it freely.
#[derive(Clone)]
pub struct Lake {
    inner: Arc<Inner>,
}

struct Inner {
    root: Root,
    slots: Vec<Slot>,
    read: read::ReadSession,
    /// A pause the next maintenance beside cycles waits in (tests only:
    /// [`Lake::pause_maintenance`]).
    pause: std::sync::Mutex<Option<Arc<closed::Pause>>>,
}

/// Commits of one table through this handle after which its state is
/// loaded afresh rather than updated in place (see [`Slot::renew`]).
const RENEW_EVERY: u32 = 50;

/// One table's state in this process.
struct Slot {
    table: Table,
    location: String,
    /// Where to load the table from again ([`Slot::renew`]).
    url: Url,
    options: StorageOptions,
    /// Commits through this handle since the table was last loaded afresh.
    commits: AtomicU32,
    /// Held across a whole write so the txn check and the commit of one
    /// handle never interleave with another write of the same handle.
    /// A tokio mutex because it is held across awaits.
    writer: tokio::sync::Mutex<DeltaTable>,
    /// The newest state this handle has seen; readers never wait on writers.
    latest: ArcSwap<DeltaTable>,
}

impl Slot {
    fn delta_err(&self, op: &'static str) -> impl FnOnce(DeltaTableError) -> Error + '_ {
        move |source| Error::Delta {
            op,
            table: self.table,
            location: self.location.clone(),
            source: Box::new(source),
        }
    }

    /// Publishes `table` for readers unless a newer state is already there.
    fn publish(&self, table: &DeltaTable) {
        self.publish_if(table, |cur, new| cur < new);
    }

    /// Publishes `table` if `replace(current version, table's version)`.
    fn publish_if(&self, table: &DeltaTable, replace: impl Fn(Option<u64>, Option<u64>) -> bool) {
        let new = table.version();
        self.latest.rcu(|cur| {
            if replace(cur.version(), new) {
                Arc::new(table.clone())
            } else {
                Arc::clone(cur)
            }
        });
    }

    /// Counts a commit of `delta` (the writer's state) and, every
    /// [`RENEW_EVERY`] of them or when `now`, loads the table afresh in its
    /// place.
    ///
    /// Why: delta-rs 1.1 updates a loaded table by adding each new commit's
    /// files to its file list as a batch of their own, and every later
    /// update, commit and scan processes every batch again (parsing each
    /// file's statistics anew). A table committed to once a cycle thus costs
    /// more CPU and memory with every cycle, for as long as the process
    /// runs. A fresh load reads the last checkpoint into a few large batches
    /// and starts over. A failed load keeps the state there is (the next
    /// commit tries again).
    async fn renew(&self, delta: &mut DeltaTable, now: bool) {
        if self.commits.fetch_add(1, Ordering::Relaxed) + 1 < RENEW_EVERY && !now {
            return;
        }
        if self.reload(delta).await {
            self.renewed();
        }
    }

    /// Records that the writer's state was just loaded afresh (maintenance
    /// did it on a copy), so the count towards [`RENEW_EVERY`] starts over.
    fn renewed(&self) {
        self.commits.store(0, Ordering::Relaxed);
    }

    /// Loads the table afresh from its newest checkpoint into `delta` (this
    /// handle's writer state or a copy of it) unless that would go back to
    /// an older version, and publishes it; whether it did. A failed load is
    /// logged and keeps `delta` as it is.
    async fn reload(&self, delta: &mut DeltaTable) -> bool {
        match load(&self.url, &self.options).await {
            Ok(fresh) if fresh.version() >= delta.version() => {
                *delta = fresh;
                // The same version or newer, in fewer batches: readers take
                // it too.
                self.publish_if(delta, |cur, new| cur <= new);
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(table = %self.table, error = %e, "reloading the table failed");
                false
            }
        }
    }
}

/// The table at `url`, loaded from its newest checkpoint.
async fn load(url: &Url, options: &StorageOptions) -> Result<DeltaTable, DeltaTableError> {
    let mut delta = builder(url, options)?.build()?;
    delta.load().await?;
    Ok(delta)
}

impl fmt::Debug for Lake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Storage options are deliberately absent: they hold credentials.
        let versions: Vec<(Table, Option<u64>)> = self
            .inner
            .slots
            .iter()
            .map(|s| (s.table, s.latest.load().version()))
            .collect();
        f.debug_struct("Lake")
            .field("root", &self.inner.root.display())
            .field("versions", &versions)
            .finish()
    }
}

impl Lake {
    /// Opens the lake at `location` (a path, created if missing, or an
    /// `s3://`, `az://`, `abfss://`, `gs://` URL), creating every contract
    /// table that does not exist yet. Idempotent, and safe against another
    /// process creating the same tables at the same time.
    pub async fn open(location: &str, storage_options: StorageOptions) -> Result<Lake> {
        location::register_handlers();
        let root = Root::parse(location)?;
        let opened = futures::future::try_join_all(
            Table::ALL
                .into_iter()
                .map(|t| open_or_create(&root, t, &storage_options)),
        )
        .await?;
        let slots = opened
            .into_iter()
            .map(|(table, location, url, delta)| Slot {
                table,
                location,
                url,
                options: storage_options.clone(),
                commits: AtomicU32::new(0),
                latest: ArcSwap::from_pointee(delta.clone()),
                writer: tokio::sync::Mutex::new(delta),
            })
            .collect();
        Ok(Lake {
            inner: Arc::new(Inner {
                root,
                slots,
                read: read::ReadSession::new(),
                pause: Default::default(),
            }),
        })
    }

    /// The lake's root URL (credentials removed).
    pub fn location(&self) -> String {
        self.inner.root.display()
    }

    /// The URL of one table.
    pub fn table_location(&self, table: Table) -> &str {
        &self.slot(table).location
    }

    /// The newest table version this handle has seen (no I/O).
    pub fn version(&self, table: Table) -> Option<u64> {
        self.slot(table).latest.load().version()
    }

    /// The newest loaded state of `table`, e.g. to inspect its snapshot.
    pub fn delta_table(&self, table: Table) -> Arc<DeltaTable> {
        self.slot(table).latest.load_full()
    }

    /// Follows commits made by other handles or processes; returns the version now seen.
    pub async fn refresh(&self, table: Table) -> Result<Option<u64>> {
        let slot = self.slot(table);
        let mut delta = DeltaTable::clone(&slot.latest.load());
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("refresh"))?;
        slot.publish(&delta);
        Ok(delta.version())
    }

    /// [`Lake::refresh`] for every table.
    pub async fn refresh_all(&self) -> Result<()> {
        futures::future::try_join_all(Table::ALL.into_iter().map(|t| self.refresh(t))).await?;
        Ok(())
    }

    /// The last cycle committed to `table` under app id suffix `suffix`
    /// (`None` for the table's base app id), read from the table's txn actions
    /// at its newest version.
    pub async fn last_cycle(&self, table: Table, suffix: Option<&str>) -> Result<Option<i64>> {
        self.refresh(table).await?;
        let slot = self.slot(table);
        let delta = slot.latest.load_full();
        write::txn_version(&delta, &app_id(table, suffix))
            .await
            .map_err(slot.delta_err("read txn"))
    }

    /// The highest cycle committed to any table under its base app id. Every
    /// cycle writes bronze first with the base app id, so at start-up the next
    /// cycle id is this plus one. (Suffixed commits of a cycle are checked with
    /// [`Lake::last_cycle`] by whoever knows the suffixes.)
    pub async fn max_committed_cycle(&self) -> Result<Option<i64>> {
        let all =
            futures::future::try_join_all(Table::ALL.into_iter().map(|t| self.last_cycle(t, None)))
                .await?;
        Ok(all.into_iter().flatten().max())
    }

    fn slot(&self, table: Table) -> &Slot {
        // `slots` is built from `Table::ALL`, whose order is the enum's.
        &self.inner.slots[table as usize]
    }
}

/// Loads the table at its URL, creating it from the contract if it is not a
/// Delta table yet, and checks it against the contract.
async fn open_or_create(
    root: &Root,
    table: Table,
    options: &StorageOptions,
) -> Result<(Table, String, Url, DeltaTable)> {
    let url = root.table_url(table)?;
    let location = location::redact(url.as_str());
    let err = |op: &'static str| {
        let location = location.clone();
        move |source| Error::Delta {
            op,
            table,
            location,
            source: Box::new(source),
        }
    };
    let mut delta = builder(&url, options)
        .and_then(|b| b.build())
        .map_err(err("open"))?;
    match delta.load().await {
        Ok(()) => {}
        Err(DeltaTableError::NotATable(_)) => {
            match create(&delta, table.def()).await {
                Ok(created) => delta = created,
                // Another process may have created it between our load and
                // create: then the table loads now, and that is success.
                Err(create_err) => {
                    if delta.load().await.is_err() {
                        return Err(err("create")(create_err));
                    }
                }
            }
        }
        Err(e) => {
            // A checkpoint that cannot be read is set aside, and the table
            // loads from the commits (see `checkpoint`).
            match checkpoint::set_aside_unreadable(&url, options).await {
                Ok(Some(name)) => {
                    tracing::error!(
                        %table,
                        checkpoint = name,
                        error = %e,
                        "the table's newest checkpoint is unreadable: moved to _corrupt_checkpoints/, loading from its commits"
                    );
                    delta.load().await.map_err(err("open"))?;
                }
                Ok(None) => return Err(err("open")(e)),
                Err(aside) => {
                    tracing::warn!(%table, error = %aside, "checking the table's checkpoint failed");
                    return Err(err("open")(e));
                }
            }
        }
    }
    let delta = add_new_columns(delta, table.def())
        .await
        .map_err(err("add new contract columns"))?;
    check_contract(&delta, table.def(), &location)?;
    Ok((table, location, url, delta))
}

fn builder(url: &Url, options: &StorageOptions) -> Result<DeltaTableBuilder, DeltaTableError> {
    let builder = DeltaTableBuilder::from_url(url.clone())?.with_storage_options(options.clone());
    Ok(if url.scheme() == "file" {
        builder.with_storage_backend(Arc::new(local_log::LocalLog::default()), url.clone())
    } else {
        builder
    })
}

async fn create(delta: &DeltaTable, def: &TableDef) -> Result<DeltaTable, DeltaTableError> {
    let schema: StructType = def
        .schema
        .as_ref()
        .try_into_kernel()
        .map_err(|e| DeltaTableError::Generic(format!("contract schema: {e}")))?;
    let mut create = delta
        .create()
        .with_table_name(def.qualified.as_str())
        .with_comment(format!("twitch-monitor {}", def.qualified))
        .with_columns(schema.fields().cloned())
        .with_partition_columns(def.partition_columns.iter().copied())
        .with_save_mode(SaveMode::ErrorIfExists)
        // Spark's default. delta-rs defaults to 100, and every commit, txn
        // check and snapshot refresh replays the JSON commits since the last
        // checkpoint: a cycle's cost and memory then climb for 100 cycles.
        .with_configuration_property(TableProperty::CheckpointInterval, Some("10"));
    if def.append_only {
        create = create.with_configuration_property(TableProperty::AppendOnly, Some("true"));
    }
    create.await
}

/// Adds the nullable columns the contract gained since the table was created
/// (columns may be added, none removed): rows written before read them as
/// null. Plain columns keep the table at protocol 1/2.
async fn add_new_columns(delta: DeltaTable, def: &TableDef) -> Result<DeltaTable, DeltaTableError> {
    let actual = delta.snapshot()?.snapshot().arrow_schema();
    let new: Vec<arrow::datatypes::Field> = def
        .schema
        .fields()
        .iter()
        .filter(|f| f.is_nullable() && actual.field_with_name(f.name()).is_err())
        .map(|f| f.as_ref().clone())
        .collect();
    if new.is_empty() {
        return Ok(delta);
    }
    let names: Vec<String> = new.iter().map(|f| f.name().clone()).collect();
    let fields: StructType = (&arrow::datatypes::Schema::new(new))
        .try_into_kernel()
        .map_err(|e| DeltaTableError::Generic(format!("contract schema: {e}")))?;
    let delta = delta
        .add_columns()
        .with_fields(fields.fields().cloned().collect::<Vec<_>>())
        .await?;
    tracing::info!(table = %def.qualified, columns = ?names, "added new contract columns");
    Ok(delta)
}

/// Every contract column must exist with its type, and the partitioning must
/// match; extra columns in the table are tolerated (columns may be added).
fn check_contract(delta: &DeltaTable, def: &TableDef, location: &str) -> Result<()> {
    let mismatch = |reason: String| Error::ContractMismatch {
        table: def.table,
        location: location.to_string(),
        reason,
    };
    let state = delta
        .snapshot()
        .map_err(|e| mismatch(format!("no snapshot: {e}")))?;
    let actual = state.snapshot().arrow_schema();
    for field in def.schema.fields() {
        match actual.field_with_name(field.name()) {
            Ok(f) if f.data_type() == field.data_type() => {}
            Ok(f) => {
                return Err(mismatch(format!(
                    "column {} is {} in the table, {} in the contract",
                    field.name(),
                    f.data_type(),
                    field.data_type()
                )));
            }
            Err(_) => return Err(mismatch(format!("column {} is missing", field.name()))),
        }
    }
    let parts = state.metadata().partition_columns();
    if parts
        .iter()
        .map(String::as_str)
        .ne(def.partition_columns.iter().copied())
    {
        return Err(mismatch(format!(
            "partitioned by {parts:?}, contract says {:?}",
            def.partition_columns
        )));
    }
    Ok(())
}
