//! A whole ingest rig on loopback: the local Helix server over a scripted
//! world, the real client, and a Delta lake in a temp dir, on a manual clock.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::net::TcpListener;
use twitch_monitor::clock::{Clock, ManualClock};
use twitch_monitor::config::Secret;
use twitch_monitor::ingest::pipeline::CommitReport;
use twitch_monitor::ingest::poll::{PollSettings, Targets};
use twitch_monitor::ingest::source::Connected;
use twitch_monitor::ingest::{CycleRunner, CycleSummary, RunnerArgs};
use twitch_monitor::lake::Lake;
use twitch_monitor::sim::{SimServer, SimServerArgs, World};
use twitch_monitor::twitch::{ClientArgs, HelixClient};

/// Poll interval of every rig.
pub const POLL: Duration = Duration::from_secs(60);
/// Session merge gap of every rig.
pub const GAP: Duration = Duration::from_secs(600);

/// The rig.
pub struct Rig {
    pub clock: ManualClock,
    pub server: SimServer,
    pub helix: Arc<HelixClient>,
    /// Keeps the lake's directory alive.
    pub _dir: TempDir,
    pub lake: Lake,
    pub runner: Option<CycleRunner>,
    /// What the poller watches (a full sweep unless a test says otherwise).
    pub targets: Targets,
}

impl Rig {
    /// A rig over `world`, starting at the world's time.
    pub async fn start(world: World) -> Rig {
        Self::start_with(world, |_| {}).await
    }

    /// [`Rig::start`] with the server's settings changed by `set` first.
    pub async fn start_with(world: World, set: impl FnOnce(&mut SimServerArgs)) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().to_str().unwrap().to_owned();
        Self::start_on(world, set, dir, &lake, HashMap::new()).await
    }

    /// [`Rig::start_with`] on the lake at `lake` (a path or a URL, reached
    /// with `options`); `dir` is kept alive with the rig.
    pub async fn start_on(
        world: World,
        set: impl FnOnce(&mut SimServerArgs),
        dir: TempDir,
        lake: &str,
        options: HashMap<String, String>,
    ) -> Rig {
        let clock = ManualClock::new(world.now());
        let mut args = SimServerArgs::new(world, Arc::new(clock.clone()));
        set(&mut args);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SimServer::start(listener, args).unwrap();
        let helix = HelixClient::connect(ClientArgs {
            helix_url: server.helix_url(),
            auth_url: server.auth_url(),
            client_id: server.client_id().to_owned(),
            client_secret: Secret::from(server.client_secret()),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            max_pages: 50,
            clock: Arc::new(clock.clone()),
        })
        .await
        .unwrap();
        let lake = Lake::open(lake, options).await.unwrap();
        let mut rig = Rig {
            clock,
            server,
            helix: Arc::new(helix),
            _dir: dir,
            lake,
            runner: None,
            targets: Targets {
                full_sweep: true,
                ..Default::default()
            },
        };
        rig.reopen().await;
        rig
    }

    /// Reopens the runner over the same lake (a process restart).
    pub async fn reopen(&mut self) {
        let (mut runner, _) = CycleRunner::open(RunnerArgs {
            lake: self.lake.clone(),
            clock: Arc::new(self.clock.clone()),
            connect: Arc::new(Connected(self.helix.clone())),
            poll: PollSettings {
                targets: self.targets.clone(),
                poll_interval: POLL,
                // Every cycle, so scripted changes show at once.
                follower_interval: POLL,
                profile_interval: POLL,
                concurrency: 4,
            },
            session_gap: GAP,
            backlog_limit: 64 << 20,
        })
        .await
        .unwrap();
        runner.connect().await.unwrap();
        self.runner = Some(runner);
    }

    /// Changes the simulated world (at the rig's current time).
    pub fn world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let w = self.server.world();
        let mut w = w.lock().unwrap();
        w.advance_to(self.clock.now());
        f(&mut w)
    }

    /// Moves time forward one poll interval and runs a cycle.
    pub async fn cycle(&mut self) -> CycleSummary {
        self.cycle_report().await.0
    }

    /// [`Rig::cycle`], with what the commit did.
    pub async fn cycle_report(&mut self) -> (CycleSummary, CommitReport) {
        self.clock.advance(POLL);
        let cycle = self.runner.as_mut().unwrap().run_cycle().await;
        (cycle.summary, cycle.outcome.unwrap())
    }

    /// Every Helix response in bronze that had an answer, counted by
    /// endpoint and HTTP status.
    pub async fn bronze_responses(&self) -> BTreeMap<(String, u16), u64> {
        let batches = self
            .sql(
                "SELECT endpoint, CAST(http_status AS BIGINT), count(*) \
                 FROM bronze.helix_responses WHERE http_status <> 0 GROUP BY 1, 2",
            )
            .await;
        let mut bronze = BTreeMap::new();
        for b in &batches {
            let (e, s, n) = (
                b.column(0).as_string::<i32>(),
                b.column(1).as_primitive::<Int64Type>(),
                b.column(2).as_primitive::<Int64Type>(),
            );
            for i in 0..b.num_rows() {
                bronze.insert(
                    (e.value(i).to_owned(), s.value(i) as u16),
                    n.value(i) as u64,
                );
            }
        }
        bronze
    }

    /// Every Helix answer the server sent (token requests aside), counted
    /// by endpoint and HTTP status.
    pub fn served_responses(&self) -> BTreeMap<(String, u16), u64> {
        let mut sent = BTreeMap::new();
        for (endpoint, by_status) in &self.server.stats().requests {
            if endpoint.starts_with("oauth2") {
                continue; // token requests are not Helix responses
            }
            for (&status, &n) in by_status {
                sent.insert((endpoint.clone(), status), n);
            }
        }
        sent
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// One SQL query over the lake.
    pub async fn sql(&self, sql: &str) -> Vec<RecordBatch> {
        let ctx = self.lake.session().await.unwrap();
        ctx.sql(sql).await.unwrap().collect().await.unwrap()
    }

    /// The query result pretty-printed, for snapshot comparisons.
    pub async fn table(&self, sql: &str) -> String {
        arrow::util::pretty::pretty_format_batches(&self.sql(sql).await)
            .unwrap()
            .to_string()
    }
}
