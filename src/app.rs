//! Composition root: builds every part from the [`Config`] and runs the
//! chosen subcommand. The only place concrete types are wired together.
use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DurationRound, TimeDelta, Utc};
use tokio::net::TcpListener;

use crate::clock::{ScaledClock, SharedClock, SystemClock};
use crate::config::{Cli, Command, Config, Source};
use crate::flight::{FlightServer, ServerArgs};
use crate::http::{DataApi, HttpServer, HttpState, cycle_freshness};
use crate::ingest::cycle::Ingestor;
use crate::ingest::pipeline::Pipeline;
use crate::ingest::plan::Targets;
use crate::ingest::poll::{PollSettings, Poller};
use crate::lake::{Lake, MaintainOptions, MaintainReport};
use crate::live::LiveViews;
use crate::metrics::{Metrics, Outcome};
use crate::query::{EngineOptions, LakeAndLive, QueryEngine};
use crate::sim::server::{RateLimit, SimServer, SimServerArgs};
use crate::sim::{World, WorldConfig};
use crate::twitch::{ClientArgs, HelixClient};

pub mod web;

/// Runs the command line to completion.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
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
        }
    })
}

/// The Twitch side: a Helix client, the clock the pipeline runs on, and the
/// in-process simulator when there are no credentials.
#[derive(Debug)]
pub struct TwitchSource {
    /// The client.
    pub helix: Arc<HelixClient>,
    /// Wall time, or simulated time in sim mode.
    pub clock: SharedClock,
    /// The in-process simulator, if any.
    pub sim: Option<SimServer>,
}

/// Builds the simulator's server on `listener`.
pub fn start_sim(
    config: &Config,
    listener: TcpListener,
    clock: SharedClock,
) -> anyhow::Result<SimServer> {
    let world = if config.sim.all_live {
        World::with_live_streams(config.sim.seed, config.sim.channels, clock.now())
    } else {
        World::new(WorldConfig {
            seed: config.sim.seed,
            channels: config.sim.channels,
            start: clock.now(),
            ..Default::default()
        })
    };
    let mut args = SimServerArgs::new(world, clock);
    args.seed = config.sim.seed;
    args.rate_limit = if config.sim.rate_limit == 0 {
        RateLimit::off()
    } else {
        RateLimit {
            points: config.sim.rate_limit,
            ..RateLimit::default()
        }
    };
    args.faults.error_rate = config.sim.error_rate;
    args.faults.seed = config.sim.seed;
    Ok(SimServer::start(listener, args)?)
}

/// Connects to Twitch, or starts the simulator on a loopback port and
/// connects to that. Simulated time resumes after `resume_after` (the last
/// time the lake saw), so a restarted demo never writes time backwards.
pub async fn twitch_source(
    config: &Config,
    resume_after: Option<chrono::DateTime<Utc>>,
) -> anyhow::Result<TwitchSource> {
    let (clock, sim, helix_url, auth_url, client_id, secret): (SharedClock, _, _, _, _, _) = match (
        config.source,
        &config.credentials,
    ) {
        (Source::Twitch, Some(c)) => (
            Arc::new(SystemClock),
            None,
            config.helix_url.clone(),
            config.auth_url.clone(),
            c.client_id.clone(),
            c.client_secret.clone(),
        ),
        _ => {
            // Whole seconds keep simulated timestamps readable.
            let now = Utc::now()
                .duration_trunc(TimeDelta::seconds(1))
                .unwrap_or_else(|_| Utc::now());
            let origin = resume_after.map_or(now, |t| now.max(t + TimeDelta::seconds(1)));
            let clock: SharedClock = Arc::new(ScaledClock::new(origin, config.sim.speed));
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let sim = start_sim(config, listener, clock.clone())?;
            let (h, a) = (sim.helix_url(), sim.auth_url());
            let (id, secret) = (sim.client_id().to_owned(), sim.client_secret().into());
            tracing::info!(helix = %h, speed = config.sim.speed, "no Twitch credentials: using the built-in simulator");
            (clock, Some(sim), h, a, id, secret)
        }
    };
    let helix = HelixClient::connect(ClientArgs {
        helix_url,
        auth_url,
        client_id,
        client_secret: secret,
        request_timeout: config.request_timeout,
        max_retries: config.max_retries,
        max_pages: config.max_pages,
        clock: clock.clone(),
    })
    .await
    .context("cannot connect to Twitch")?;
    Ok(TwitchSource {
        helix: Arc::new(helix),
        clock,
        sim,
    })
}

/// Opens the lake at the configured location.
pub async fn open_lake(config: &Config) -> anyhow::Result<Lake> {
    Lake::open(&config.lake, HashMap::new())
        .await
        .with_context(|| format!("cannot open the lake at {}", config.lake))
}

/// Opens the pipeline over `lake` (repairing an interrupted cycle), and the
/// poller seeded from what the lake knows.
pub async fn ingestor(
    config: &Config,
    lake: Lake,
    source: &TwitchSource,
) -> anyhow::Result<Ingestor> {
    let (pipeline, repaired) =
        Pipeline::open(lake, config.poll_interval, config.session_gap).await?;
    if let Some(r) = repaired {
        tracing::warn!(
            silver = r.written.silver,
            gold = r.written.gold,
            "repaired the last cycle, which a crash had interrupted"
        );
    }
    let followers_checked = pipeline
        .state()
        .followers
        .iter()
        .map(|(k, (_, at))| (k.clone(), *at))
        .collect();
    let known_games: Vec<String> = pipeline.state().games.keys().cloned().collect();
    let poller = Poller::new(
        source.helix.clone(),
        source.clock.clone(),
        PollSettings {
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
        followers_checked,
        known_games,
    );
    Ok(Ingestor::new(poller, pipeline))
}

async fn ingest_once(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let source = twitch_source(&config, Pipeline::last_seen(&lake).await?).await?;
    let mut ingestor = ingestor(&config, lake, &source).await?;
    let (summary, _) = ingestor.run_cycle().await?;
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

/// How long running queries get to finish at shutdown.
const QUERY_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A running service: the ingest loop, the Flight SQL endpoint and the HTTP
/// endpoint, with the addresses they are bound to.
#[derive(Debug)]
pub struct App {
    flight: FlightServer,
    http: HttpServer,
    ingest: tokio::task::JoinHandle<()>,
    maintenance: Option<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    sim: Option<SimServer>,
    engine: QueryEngine,
    live: LiveViews,
    metrics: Metrics,
}

impl App {
    /// Opens the lake (repairing an interrupted cycle), rebuilds the live
    /// views, binds both listeners and starts ingesting.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        let lake = open_lake(&config).await?;
        let last_seen = Pipeline::last_seen(&lake).await?;
        let mut source = twitch_source(&config, last_seen).await?;
        let ingestor = ingestor(&config, lake.clone(), &source).await?;
        let live = crate::ingest::live::rebuild(&lake, last_seen).await?;
        let metrics = Metrics::new(env!("CARGO_PKG_VERSION"));
        let options = EngineOptions {
            metrics: metrics.clone(),
            ..EngineOptions::from(&config.query)
        };
        let engine = QueryEngine::new(
            Arc::new(LakeAndLive {
                lake: lake.clone(),
                live: live.clone(),
            }),
            options,
        )
        .await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let on_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };

        let listener = TcpListener::bind(config.flight_addr)
            .await
            .with_context(|| format!("cannot listen on {} (TM_FLIGHT_ADDR)", config.flight_addr))?;
        let flight = FlightServer::start(
            listener,
            ServerArgs {
                engine: engine.clone(),
                config: config.flight.clone(),
                clock: Arc::new(SystemClock),
            },
            on_stop(stopped.clone()),
        )
        .await?;
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (TM_HTTP_ADDR)", config.http_addr))?;
        let (probe_live, probe_clock) = (live.clone(), source.clock.clone());
        let max_age = config.poll_interval * 3;
        let readiness = move || {
            cycle_freshness(
                probe_live.last_cycle_finished_at(),
                probe_clock.now(),
                max_age,
            )
        };
        // The last cycle whose live views and tables are both in the catalog.
        let (published, cycles) = tokio::sync::watch::channel(live.snapshot().cycle_id());
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
        let http = HttpServer::start(
            listener,
            HttpState {
                metrics: metrics.clone(),
                readiness: Arc::new(readiness),
                data: Some(data),
            },
            on_stop(stopped.clone()),
        )?;
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

        let looping = IngestLoop {
            ingestor,
            clock: source.clock.clone(),
            poll: config.poll_interval,
            live: live.clone(),
            engine: engine.clone(),
            metrics: metrics.clone(),
            published,
        };
        let ingest = tokio::spawn(looping.run(stopped.clone()));
        let maintenance = (!config.maintain_interval.is_zero()).then(|| {
            let (lake, config, clock, mut stopped) =
                (lake, config.clone(), source.clock.clone(), stopped);
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = clock.sleep(config.maintain_interval) => {}
                        _ = stopped.wait_for(|s| *s) => return,
                    }
                    if let Err(e) = run_maintenance(&lake, &config, clock.now()).await {
                        tracing::error!("maintenance failed: {e:#}");
                    }
                }
            })
        });
        Ok(App {
            flight,
            http,
            ingest,
            maintenance,
            stop,
            sim: source.sim.take(),
            engine,
            live,
            metrics,
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

    /// Stops ingesting (a cycle being polled is abandoned, one being
    /// committed finishes), lets running queries end within a grace period,
    /// and stops the servers.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        if let Err(e) = self.ingest.await {
            tracing::error!("the ingest loop failed: {e}");
        }
        if let Some(m) = self.maintenance {
            let _ = m.await;
        }
        if tokio::time::timeout(QUERY_GRACE, self.flight.wait())
            .await
            .is_err()
        {
            tracing::warn!("queries still running after {QUERY_GRACE:?}: closing them");
        }
        self.http.shutdown().await?;
        if let Some(sim) = self.sim {
            sim.shutdown().await?;
        }
        Ok(())
    }
}

/// The ingest loop of `serve`: a cycle every poll interval, each committed
/// cycle pushed to the live views, the catalog and the metrics.
#[derive(Debug)]
struct IngestLoop {
    ingestor: Ingestor,
    clock: SharedClock,
    poll: std::time::Duration,
    live: LiveViews,
    engine: QueryEngine,
    metrics: Metrics,
    /// Tells the dashboard a cycle is fully in the catalog.
    published: tokio::sync::watch::Sender<Option<i64>>,
}

impl IngestLoop {
    async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let next =
                self.clock.now() + TimeDelta::from_std(self.poll).unwrap_or(TimeDelta::minutes(1));
            // Polling writes nothing: abandoning it leaves no trace.
            let polled = tokio::select! {
                p = self.ingestor.poll() => p,
                _ = stop.wait_for(|s| *s) => return,
            };
            for r in &polled.responses {
                self.metrics
                    .helix_request(&r.endpoint, (r.http_status != 0).then_some(r.http_status));
            }
            // Committing is not interrupted: a cycle ends whole.
            let real = std::time::Instant::now();
            match self.ingestor.commit(polled).await {
                Ok((summary, report)) => {
                    tracing::info!("{summary}");
                    self.metrics.cycle_finished(
                        Outcome::Ok,
                        std::time::Duration::from_secs_f64(summary.seconds),
                    );
                    if let Some(r) = summary.rate_limit_remaining {
                        self.metrics.rate_limit_remaining(i64::from(r));
                    }
                    for (layer, rows) in [
                        ("bronze", summary.written.bronze),
                        ("silver", summary.written.silver),
                        ("gold", summary.written.gold),
                    ] {
                        self.metrics.rows_written(layer, rows as u64);
                    }
                    if let Err(e) = self
                        .live
                        .apply_cycle(crate::ingest::live::update(&summary, &report))
                    {
                        tracing::error!("live views not updated: {e}");
                    }
                    if let Err(e) = self.engine.refresh().await {
                        tracing::error!("catalog not refreshed: {e}");
                    }
                    // After the live swap and the catalog refresh: pages
                    // reading this cycle see all of it (the live views'
                    // cycle, which a failed swap leaves where it was).
                    self.published
                        .send_replace(self.live.snapshot().cycle_id());
                }
                Err(e) => {
                    tracing::error!("cycle failed: {e:#}");
                    self.metrics.cycle_finished(Outcome::Error, real.elapsed());
                    // Reload the running state from the lake (and repair).
                    if let Err(e) = self.ingestor.reopen().await {
                        tracing::error!("cannot reopen the pipeline: {e:#}");
                    }
                }
            }
            tokio::select! {
                _ = self.clock.sleep_until(next) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

async fn sim(config: Config) -> anyhow::Result<ExitCode> {
    let clock: SharedClock = Arc::new(ScaledClock::new(Utc::now(), config.sim.speed));
    let listener = TcpListener::bind(config.sim.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.sim.addr))?;
    let server = start_sim(&config, listener, clock)?;
    let stop = shutdown_signal();
    let logins = server
        .world()
        .lock()
        .map(|w| w.logins())
        .unwrap_or_default();
    // One write, and a closed stdout (`sim | head -4`) is not a reason to stop serving.
    let banner = format!(
        "TWITCH_HELIX_URL={}\nTWITCH_AUTH_URL={}\nTWITCH_CLIENT_ID={}\nTWITCH_CLIENT_SECRET={}\n\
         # {} channels in the world, e.g. TM_CHANNELS={}\n",
        server.helix_url(),
        server.auth_url(),
        server.client_id(),
        server.client_secret(),
        logins.len(),
        logins.iter().take(5).cloned().collect::<Vec<_>>().join(",")
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);
    stop.await;
    server.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

async fn rebuild(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let started = std::time::Instant::now();
    let report =
        crate::ingest::rebuild::rebuild(&lake, config.poll_interval, config.session_gap, |p| {
            eprintln!("rebuild: {p}");
        })
        .await?;
    println!(
        "rebuilt {} tables from {} bronze cycles in {:.1} s",
        report.tables.len(),
        report.cycles,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

async fn maintain(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let report = run_maintenance(&lake, &config, Utc::now()).await?;
    Ok(if report.errors().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Compacts closed days, checkpoints and vacuums, logging what it did.
pub async fn run_maintenance(
    lake: &Lake,
    config: &Config,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<MaintainReport> {
    let opts = MaintainOptions {
        retention: config.vacuum_retention,
        now,
        ..Default::default()
    };
    let report = lake.maintain(&opts).await?;
    for t in &report.tables {
        match &t.error {
            Some(e) => tracing::error!(table = %t.table, "maintenance failed: {e}"),
            None => tracing::info!(
                table = %t.table,
                compacted = t.files_compacted,
                written = t.files_written,
                checkpoint = ?t.checkpoint_version,
                vacuumed = t.files_vacuumed,
                "maintained"
            ),
        }
    }
    Ok(report)
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
