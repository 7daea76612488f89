//! The one-shot subcommands besides `serve`: the stand-alone simulator,
//! `rebuild` and `maintain`.
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;

use crate::clock::{ScaledClock, SharedClock};
use crate::config::Config;
use crate::lake::MaintainOptions;

use super::{open_lake, shutdown_signal, start_sim};

/// `sim`: the simulator alone, printing the settings that point the
/// service (or any Helix client) at it.
pub(super) async fn sim(config: Config) -> anyhow::Result<ExitCode> {
    let start = config.sim.start.unwrap_or_else(Utc::now);
    let clock: SharedClock = Arc::new(ScaledClock::new(start, config.sim.speed));
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
         TM_CHAT_ADDR={}\n# {} channels in the world, e.g. TM_CHANNELS={}\n",
        server.helix_url(),
        server.auth_url(),
        server.client_id(),
        server.client_secret(),
        server.chat_url(),
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

/// `rebuild`: silver and gold again from bronze.
pub(super) async fn rebuild(config: Config) -> anyhow::Result<ExitCode> {
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

/// `maintain`: compaction, checkpoints and vacuum once.
pub(super) async fn maintain(config: Config) -> anyhow::Result<ExitCode> {
    let lake = open_lake(&config).await?;
    let opts = MaintainOptions {
        retention: config.vacuum_retention,
        gold_retention: config.gold_retention,
        log_retention: config.log_retention,
        now: Utc::now(),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let report = lake.maintain(&opts).await?;
    report.log(started.elapsed());
    Ok(if report.errors().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
