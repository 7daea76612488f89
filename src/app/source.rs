//! Wiring of the Twitch side: Helix and OAuth settings from the
//! configuration, or the in-process simulator when there are no
//! credentials, and the clock the pipeline runs on.
use std::sync::Arc;

use chrono::{DurationRound, TimeDelta, Utc};
use tokio::net::TcpListener;

use crate::clock::{ScaledClock, SharedClock, SystemClock};
use crate::config::{Config, Secret, Source};
use crate::sim::server::{RateLimit, SimServer, SimServerArgs};
use crate::sim::{World, WorldConfig};
use crate::twitch::ClientArgs;

use super::login;

/// The Twitch side: how to connect to Helix, the clock the pipeline runs
/// on, and the in-process simulator when there are no credentials.
#[derive(Debug)]
pub struct TwitchSource {
    /// The client's settings (connecting is the runner's job).
    pub client: ClientArgs,
    /// Wall time, or simulated time in sim mode.
    pub clock: SharedClock,
    /// The in-process simulator, if any.
    pub sim: Option<SimServer>,
    /// The logged-in user (follower totals, chat), if any.
    pub user: Option<login::UserSession>,
}

/// Builds the simulator's server on `listener`.
pub fn start_sim(
    config: &Config,
    listener: TcpListener,
    clock: SharedClock,
) -> anyhow::Result<SimServer> {
    let world = World::new(WorldConfig {
        seed: config.sim.seed,
        channels: config.sim.channels,
        start: clock.now(),
        all_live: config.sim.all_live,
        keep_live: config.sim.keep_live,
    });
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

/// Twitch, or the simulator started on a loopback port. Simulated time
/// resumes after `resume_after` (the last time the lake saw), so a
/// restarted demo never writes time backwards.
pub async fn twitch_source(
    config: &Config,
    resume_after: Option<chrono::DateTime<Utc>>,
) -> anyhow::Result<TwitchSource> {
    let client = |helix_url: String,
                  auth_url: String,
                  client_id: String,
                  client_secret: Secret,
                  clock: &SharedClock| ClientArgs {
        helix_url,
        auth_url,
        client_id,
        client_secret,
        request_timeout: config.request_timeout,
        max_retries: config.max_retries,
        max_pages: config.max_pages,
        clock: clock.clone(),
    };
    if let (Source::Twitch, Some(c)) = (config.source, &config.credentials) {
        let clock: SharedClock = Arc::new(SystemClock);
        let (helix, auth) = (config.helix_url.clone(), config.auth_url.clone());
        let (id, secret) = (c.client_id.clone(), c.client_secret.clone());
        return Ok(TwitchSource {
            client: client(helix, auth, id, secret, &clock),
            user: login::user_session(config, &clock),
            clock,
            sim: None,
        });
    }
    // Whole seconds keep simulated timestamps readable.
    let now = Utc::now()
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap_or_else(|_| Utc::now());
    let start = config.sim.start.unwrap_or(now);
    let origin = resume_after.map_or(start, |t| start.max(t + TimeDelta::seconds(1)));
    let clock: SharedClock = Arc::new(ScaledClock::new(origin, config.sim.speed));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let sim = start_sim(config, listener, clock.clone())?;
    let (helix, auth) = (sim.helix_url(), sim.auth_url());
    let (id, secret) = (sim.client_id().to_owned(), sim.client_secret().into());
    tracing::info!(helix = %helix, speed = config.sim.speed, "no Twitch credentials: using the built-in simulator");
    Ok(TwitchSource {
        client: client(helix, auth, id, secret, &clock),
        clock,
        sim: Some(sim),
        user: None,
    })
}
