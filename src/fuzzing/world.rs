//! The query engine and Flight service the SQL and Flight entry points run
//! against: built once per process (planning needs a catalog, not data), over
//! empty tables with every real schema and the live views.
use std::future::Future;
use std::sync::{Arc, OnceLock};

use crate::clock::SystemClock;
use crate::config::FlightConfig;
use crate::flight::{Gateway, ServerArgs};
use crate::live::LiveViews;
use crate::query::{EngineOptions, MemTableSource, QueryEngine, SourceTable, WithTables};
use crate::schema::Table;

/// A runtime, an engine and the Flight service over it.
pub(super) struct World {
    runtime: tokio::runtime::Runtime,
    pub(super) engine: QueryEngine,
    pub(super) gateway: Gateway,
}

impl World {
    /// Runs `f` to completion on the world's runtime. The entry points are
    /// called from plain threads (libFuzzer's, the test harness's), never
    /// from inside a runtime, where blocking would panic.
    pub(super) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

/// The process's world, built on first use.
pub(super) fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build)
}

fn build() -> World {
    // One worker: planning runs on the calling thread inside `block_on`;
    // the worker only serves what the engine spawns.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime for the fuzz entry points");
    let lake = MemTableSource::new();
    for table in Table::ALL {
        lake.put(
            table.layer().as_str(),
            table.name(),
            table.schema(),
            Vec::new(),
        )
        .expect("an empty table of a contract schema");
    }
    let live = LiveViews::new()
        .views()
        .into_iter()
        .map(|(name, provider)| SourceTable::new("live", name, provider))
        .collect();
    let source = Arc::new(WithTables {
        source: lake,
        extra: live,
    });
    let engine = runtime
        .block_on(QueryEngine::new(source, EngineOptions::default()))
        .expect("a query engine over empty tables");
    let gateway = crate::flight::gateway(&ServerArgs {
        engine: engine.clone(),
        config: FlightConfig::default(),
        clock: Arc::new(SystemClock),
    })
    .expect("the Flight service over that engine");
    World {
        runtime,
        engine,
        gateway,
    }
}
