//! Composition root: builds every part from the [`Config`] and runs the
//! chosen subcommand. The only place concrete types are wired together.
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DurationRound, TimeDelta, Utc};
use tokio::net::TcpListener;

use crate::clock::{ScaledClock, SharedClock, SystemClock};
use crate::config::{Cli, Command, Config, Source};
use crate::ingest::cycle::Ingestor;
use crate::ingest::pipeline::Pipeline;
use crate::ingest::plan::Targets;
use crate::ingest::poll::{PollSettings, Poller};
use crate::lake::{Lake, MaintainOptions, MaintainReport};
use crate::sim::server::{RateLimit, SimServer, SimServerArgs};
use crate::sim::{World, WorldConfig};
use crate::twitch::{ClientArgs, HelixClient};

/// Runs the command line to completion.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.settings.resolve()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
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
pub fn start_sim(config: &Config, listener: TcpListener, clock: SharedClock) -> anyhow::Result<SimServer> {
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
        RateLimit { points: config.sim.rate_limit, ..RateLimit::default() }
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
    let (clock, sim, helix_url, auth_url, client_id, secret): (SharedClock, _, _, _, _, _) =
        match (config.source, &config.credentials) {
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
                let now = Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap_or_else(|_| Utc::now());
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
    Ok(TwitchSource { helix: Arc::new(helix), clock, sim })
}

/// Opens the lake at the configured location.
pub async fn open_lake(config: &Config) -> anyhow::Result<Lake> {
    Lake::open(&config.lake, HashMap::new())
        .await
        .with_context(|| format!("cannot open the lake at {}", config.lake))
}

/// Opens the pipeline over `lake` (repairing an interrupted cycle), and the
/// poller seeded from what the lake knows.
pub async fn ingestor(config: &Config, lake: Lake, source: &TwitchSource) -> anyhow::Result<Ingestor> {
    let (pipeline, repaired) = Pipeline::open(lake, config.poll_interval, config.session_gap).await?;
    if let Some(r) = repaired {
        tracing::warn!(
            silver = r.written.silver,
            gold = r.written.gold,
            "repaired the last cycle, which a crash had interrupted"
        );
    }
    let followers_checked = pipeline.state().followers.iter().map(|(k, (_, at))| (k.clone(), *at)).collect();
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
    let lake = open_lake(&config).await?;
    let source = twitch_source(&config, Pipeline::last_seen(&lake).await?).await?;
    let mut ingestor = ingestor(&config, lake, &source).await?;
    let clock = source.clock.clone();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let next = clock.now() + TimeDelta::from_std(config.poll_interval).unwrap_or(TimeDelta::minutes(1));
        match ingestor.run_cycle().await {
            Ok((summary, _)) => tracing::info!("{summary}"),
            Err(e) => tracing::error!("cycle failed: {e:#}"),
        }
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = &mut shutdown => break,
        }
    }
    if let Some(sim) = source.sim {
        sim.shutdown().await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn sim(config: Config) -> anyhow::Result<ExitCode> {
    let clock: SharedClock = Arc::new(ScaledClock::new(Utc::now(), config.sim.speed));
    let listener = TcpListener::bind(config.sim.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.sim.addr))?;
    let server = start_sim(&config, listener, clock)?;
    println!("TWITCH_HELIX_URL={}", server.helix_url());
    println!("TWITCH_AUTH_URL={}", server.auth_url());
    println!("TWITCH_CLIENT_ID={}", server.client_id());
    println!("TWITCH_CLIENT_SECRET={}", server.client_secret());
    let logins = server.world().lock().map(|w| w.logins()).unwrap_or_default();
    println!("# {} channels in the world, e.g. TM_CHANNELS={}", logins.len(), logins.iter().take(5).cloned().collect::<Vec<_>>().join(","));
    shutdown_signal().await;
    server.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

async fn rebuild(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let started = std::time::Instant::now();
    let report = crate::ingest::rebuild::rebuild(&lake, config.poll_interval, config.session_gap, |p| {
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
    Ok(if report.errors().is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Compacts closed days, checkpoints and vacuums, logging what it did.
pub async fn run_maintenance(
    lake: &Lake,
    config: &Config,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<MaintainReport> {
    let opts = MaintainOptions { retention: config.vacuum_retention, now, ..Default::default() };
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

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
