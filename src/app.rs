//! Composition root: builds every part from the [`Config`] and runs the
//! chosen subcommand. The only place concrete types are wired together; no
//! loop, no scheduling, no per-cycle logic lives here (the cycle runner in
//! [`crate::ingest`] owns those).
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

use crate::alerts::{self, AlertService, AlertServiceArgs, RecentAlerts};
use crate::background::spawn_apart;
use crate::chat::ChatClient;
use crate::clock::SystemClock;
use crate::config::{Cli, Command, Config};
use crate::flight::{FlightServer, ServerArgs};
use crate::http::{CycleFeed, DataApi, HttpServer, HttpState, cycle_freshness};
use crate::ingest::chat::{ChatChannels, ChatFeed};
use crate::ingest::pipeline::Pipeline;
use crate::ingest::poll::{PollSettings, Targets};
use crate::ingest::{CycleRunner, RunnerArgs, after_commit};
use crate::lake::Lake;
use crate::live::LiveViews;
use crate::metrics::Metrics;
use crate::query::{EngineOptions, LakeAndLive, QueryEngine, WithTables};
use crate::sim::server::SimServer;
use crate::twitch::ClientSetup;

mod chat;
mod commands;
mod exports;
pub mod login;
mod source;
pub mod web;

use chat::probe_chat;
pub use chat::start_chat;
use commands::{maintain, rebuild, sim};
pub use source::{TwitchSource, start_sim, twitch_source};

/// Runs the command line to completion.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::HashPassword { name }) = &cli.command {
        println!("{}", crate::config::hash_password_command(name.as_deref())?);
        return Ok(ExitCode::SUCCESS);
    }
    let config = cli.settings.resolve()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Ingest { .. } => ingest_once(config).await,
            Command::Sim => sim(config).await,
            Command::Rebuild => rebuild(config).await,
            Command::Maintain => maintain(config).await,
            export @ Command::Export { .. } => exports::export(config, export).await,
            Command::Login => login::login(&config).await,
            Command::HashPassword { .. } => Ok(ExitCode::SUCCESS),
        }
    })
}

/// How long the lake keeps what its tables no longer use, as configured.
fn retention(config: &Config) -> crate::lake::Retention {
    crate::lake::Retention {
        files: config.vacuum_retention,
        logs: config.log_retention,
        gold_files: config.gold_retention,
    }
}

/// Opens the lake at the configured location, its tables keeping the
/// record of removed files as long as vacuum keeps the files
/// ([`Lake::keep_removed_files_for`]; a table where that fails is logged and
/// keeps its setting).
pub async fn open_lake(config: &Config) -> anyhow::Result<Lake> {
    let lake = Lake::open(&config.lake, HashMap::new())
        .await
        .with_context(|| format!("cannot open the lake at {}", config.lake))?;
    lake.keep_removed_files_for(&retention(config)).await;
    Ok(lake)
}

/// Opens the cycle runner over `lake` (repairing an interrupted cycle);
/// with `connect_now` it also connects to `source` at once, so bad
/// credentials end the command (`ingest --once`). `serve` does not: it
/// serves the lake whatever Twitch's health, and the runner connects (and
/// retries) by itself.
pub async fn runner(
    config: &Config,
    lake: &Lake,
    source: &TwitchSource,
    connect_now: bool,
) -> anyhow::Result<CycleRunner> {
    let (mut runner, repaired) = CycleRunner::open(RunnerArgs {
        lake: lake.clone(),
        clock: source.clock.clone(),
        connect: Arc::new(ClientSetup {
            args: source.client.clone(),
            followers_token: source.user.as_ref().map(|u| Arc::clone(&u.tokens)),
        }),
        poll: PollSettings {
            targets: Targets {
                channels: config.channels.clone(),
                categories: config.categories.clone(),
                languages: config.languages.clone(),
                top_n: config.top_n,
                full_sweep: config.full_sweep,
            },
            poll_interval: config.poll_interval,
            follower_interval: config.follower_interval,
            ..Default::default()
        },
        session_gap: config.session_gap,
        backlog_limit: config.backlog_limit,
    })
    .await?;
    if let Some(r) = repaired {
        tracing::warn!(
            silver = r.written.silver,
            gold = r.written.gold,
            "repaired the last cycle, which a crash had interrupted"
        );
    }
    if connect_now {
        runner.connect().await?;
    }
    Ok(runner)
}

async fn ingest_once(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let source = twitch_source(&config, Pipeline::last_seen(&lake).await?).await?;
    let mut runner = runner(&config, &lake, &source, true).await?;
    let cycle = runner.run_cycle().await;
    let summary = cycle.summary;
    cycle.outcome?;
    println!("{summary}");
    // Worked = the cycle committed and every stream query was answered.
    Ok(if summary.requests > 0 && summary.stream_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let stop = shutdown_signal();
    let app = App::start(config).await?;
    stop.await;
    tracing::info!("shutting down: finishing the current commit, letting queries end");
    app.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

/// Adds the consumers of every finished cycle, in the order they hear of it.
pub fn observe_cycles(
    runner: CycleRunner,
    metrics: &Metrics,
    live: &LiveViews,
    engine: &QueryEngine,
    alerts: Option<AlertService>,
    feed: CycleFeed,
) -> CycleRunner {
    let catalog = engine.clone();
    let mut runner = runner
        .observe(metrics.clone())
        .observe(live.clone())
        .observe(after_commit("query catalog", move || {
            let engine = catalog.clone();
            async move { engine.refresh().await }
        }));
    // After the catalog (SQL rules read it), before the dashboard's event (a
    // page reloading on it finds the cycle's alerts).
    if let Some(alerts) = alerts {
        runner = runner.observe(alerts);
    }
    runner
        // Last: a page told of a cycle finds its views and tables in the catalog.
        .observe(after_commit("dashboard events", move || feed.publish()))
}

/// How long running queries get to finish at shutdown.
const QUERY_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A running service: the cycle runner, lake maintenance, the Flight SQL
/// endpoint and the HTTP endpoint, with the addresses they are bound to.
/// One token stops them all: [`App::shutdown`] waits for them; dropping the
/// `App` (a test that panicked) only tells them to stop, so a runtime
/// dropped after it is not left waiting for the maintenance thread.
#[derive(Debug)]
pub struct App {
    stop: tokio_util::sync::DropGuard,
    flight: FlightServer,
    http: HttpServer,
    ingest: tokio::task::JoinHandle<()>,
    maintenance: Option<tokio::task::JoinHandle<()>>,
    sim: Option<SimServer>,
    engine: QueryEngine,
    live: LiveViews,
    metrics: Metrics,
    chat: Arc<ChatClient>,
}

impl App {
    /// Opens the lake (repairing an interrupted cycle), rebuilds the live
    /// views, binds both listeners and starts ingesting.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        let stop = CancellationToken::new();
        // A bad rule file stops start-up before anything else happens.
        let alerts = alerts::load(&config.alerts)?;
        let lake = open_lake(&config).await?;
        let last_seen = Pipeline::last_seen(&lake).await?;
        let mut source = twitch_source(&config, last_seen).await?;
        let runner = runner(&config, &lake, &source, false).await?;
        let live = crate::ingest::live::rebuild(&lake, last_seen).await?;
        let metrics = Metrics::new(env!("CARGO_PKG_VERSION"));
        let chat = start_chat(&config, &source)?;
        probe_chat(&metrics, chat.clone());
        let options = EngineOptions {
            metrics: metrics.clone(),
            footer_cache: Some(lake.footer_cache()),
            ..EngineOptions::from(&config.query)
        };
        let recent = RecentAlerts::default();
        let tables = WithTables {
            source: LakeAndLive {
                lake: lake.clone(),
                live: live.clone(),
            },
            extra: vec![recent.source_table()],
        };
        let engine = QueryEngine::new(Arc::new(tables), options).await?;
        let alerts = AlertService::start(AlertServiceArgs {
            config: alerts,
            lake: lake.clone(),
            engine: engine.clone(),
            live: live.clone(),
            metrics: metrics.clone(),
            clock: source.clock.clone(),
            recent,
            session_gap: config.session_gap,
        })
        .await?;

        let listener = TcpListener::bind(config.flight_addr)
            .await
            .with_context(|| format!("cannot listen on {} (TM_FLIGHT_ADDR)", config.flight_addr))?;
        let args = ServerArgs {
            engine: engine.clone(),
            config: config.flight.clone(),
            clock: Arc::new(SystemClock),
        };
        let flight = FlightServer::start(listener, args, stop.clone().cancelled_owned()).await?;
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (TM_HTTP_ADDR)", config.http_addr))?;
        let (probe_live, probe_clock) = (live.clone(), source.clock.clone());
        let max_age = config.poll_interval * 3;
        let readiness = move || {
            let last = probe_live.last_cycle_finished_at();
            cycle_freshness(last, probe_clock.now(), max_age).map_err(|why| match last_cycle_error(
                &probe_live,
            ) {
                Some(error) => format!("{why}; the last cycle failed: {error}"),
                None => why,
            })
        };
        let (feed, cycles) = CycleFeed::new(live.clone());
        let data = DataApi {
            engine: engine.clone(),
            live: live.clone(),
            cycles,
            access: web::access(
                &config.flight,
                listener.local_addr()?,
                Arc::new(SystemClock),
            ),
        };
        let state = HttpState {
            metrics: metrics.clone(),
            readiness: Arc::new(readiness),
            data: Some(data),
        };
        let http = HttpServer::start(listener, state, stop.clone().cancelled_owned())?;
        tracing::info!(
            "Flight SQL on {} — e.g. python -c \"import adbc_driver_flightsql.dbapi as f; \
             c = f.connect('grpc://{}', autocommit=True).cursor(); \
             c.execute('SELECT * FROM twitch.live.leaderboard LIMIT 10'); print(c.fetch_arrow_table())\"",
            flight.url(),
            flight.addr()
        );
        tracing::info!(
            "dashboard on {} — health and metrics on http://{}/metrics",
            http.url(),
            http.local_addr()
        );

        let runner = observe_cycles(runner, &metrics, &live, &engine, Some(alerts), feed)
            .observe(ChatChannels::new(
                chat.clone(),
                config.channels.clone(),
                config.chat.top_n,
            ))
            .with_chat(ChatFeed::new(chat.clone()));
        // After the alerts: a day's last alerts are in gold.alerts first.
        let runner = exports::observe(runner, &config, &lake, &metrics, &source.clock)
            .await?
            // Last: what the cycle and its consumers freed goes back to the OS.
            .observe(after_commit("freed memory", || async {
                crate::heap::release_freed("a cycle");
                Ok::<(), std::convert::Infallible>(())
            }));
        let ingest = tokio::spawn(runner.run(stop.child_token()));
        let every = |d: std::time::Duration| (!d.is_zero()).then_some(d);
        let (full, today) = (
            every(config.maintain_interval),
            every(config.compact_interval),
        );
        let maintenance = (full.is_some() || today.is_some()).then(|| {
            let retention = retention(&config);
            let clock = source.clock.clone();
            let task = lake.maintain_every(full, today, retention, clock, stop.child_token());
            spawn_apart("maintenance", config.query.nice, task)
        });
        let maintenance = maintenance
            .transpose()
            .context("cannot start the lake maintenance thread")?;
        Ok(App {
            stop: stop.drop_guard(),
            flight,
            http,
            ingest,
            maintenance,
            sim: source.sim.take(),
            engine,
            live,
            metrics,
            chat,
        })
    }

    /// Where Flight SQL listens.
    pub fn flight_addr(&self) -> SocketAddr {
        self.flight.addr()
    }

    /// Where health and metrics listen.
    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// The in-process simulator, if the app runs on one.
    pub fn sim(&self) -> Option<&SimServer> {
        self.sim.as_ref()
    }

    /// The query engine (for in-process queries).
    pub fn engine(&self) -> &QueryEngine {
        &self.engine
    }

    /// The live views.
    pub fn live(&self) -> &LiveViews {
        &self.live
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The chat client.
    pub fn chat(&self) -> &ChatClient {
        &self.chat
    }

    /// Stops ingesting (a cycle being polled is abandoned, one being
    /// committed finishes), lets running queries end within a grace period,
    /// and stops the servers.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.disarm().cancel();
        if let Err(e) = self.ingest.await {
            tracing::error!("the ingest loop failed: {e}");
        }
        if let Some(m) = self.maintenance {
            let _ = m.await;
        }
        // Lines read since the last commit are not acknowledged anywhere:
        // the chat closes without them, as Twitch chat offers no replay.
        match Arc::try_unwrap(self.chat) {
            Ok(chat) => chat.shutdown().await,
            Err(chat) => drop(chat),
        }
        self.flight.shutdown(QUERY_GRACE).await?;
        self.http.shutdown().await?;
        if let Some(sim) = self.sim {
            sim.shutdown().await?;
        }
        Ok(())
    }
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed
/// when this is called (not when first polled), so a signal that arrives
/// while the service is still starting is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The error of the newest cycle in `live.ingest_status`, if it failed.
fn last_cycle_error(live: &LiveViews) -> Option<String> {
    use arrow::array::{Array, AsArray};
    let snapshot = live.snapshot();
    let errors = snapshot
        .batch(crate::live::View::IngestStatus)
        .column_by_name("last_error")?
        .as_string_opt::<i32>()?
        .clone();
    // Newest first.
    (!errors.is_empty() && errors.is_valid(0)).then(|| errors.value(0).to_owned())
}
