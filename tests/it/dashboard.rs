//! The dashboard and data API as a user meets them: the service's parts
//! wired as `serve` wires them (live views, query engine, Flight SQL, HTTP
//! with the data API) over a scripted simulator world on a manual clock,
//! cycles driven one at a time; a real browser ([`browser`]) and real HTTP
//! and Arrow clients ([`api`]) compared with Flight SQL.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use twitch_monitor::alerts::{AlertService, AlertServiceArgs, AlertsConfig, RecentAlerts};
use twitch_monitor::chat::{ChatArgs, ChatClient, ChatSource};
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{FlightAuth, FlightConfig};
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::http::{CycleFeed, DataApi, HttpServer, HttpState};
use twitch_monitor::ingest::chat::ChatFeed;
use twitch_monitor::live::LiveViews;
use twitch_monitor::metrics::Metrics;
use twitch_monitor::query::{EngineOptions, LakeAndLive, QueryEngine, WithTables};
use twitch_monitor::sim::World;
use twitch_monitor::sim::world::ScriptedChannel;

use crate::eventually;
use crate::rig::Rig;

mod alerts;
mod api;
mod browser;

/// The alert rules of the dashboard's service (no delivery target: the
/// dashboard shows what fired): alice's viewers at least doubling, and her
/// chat turning sour (5-minute sentiment at or below -0.3, a message a minute).
const RULES: &str = "[[rules]]\nname = \"surge\"\nkind = \"viewers_gain\"\npercent = 100\n\
                     min_uptime = \"0s\"\nchannels = [\"alice\"]\n\
                     [[rules]]\nname = \"sour\"\nkind = \"chat_sentiment\"\nbelow = -0.3\n\
                     min_messages = 1\nchannels = [\"alice\"]\n";

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Flight SQL settings without authentication (loopback).
pub(crate) fn open_flight() -> FlightConfig {
    FlightConfig {
        auth: FlightAuth::None,
        users: Vec::new(),
        tokens: Vec::new(),
        token_ttl: std::time::Duration::from_secs(600),
        tls: None,
        allow_unauthenticated: false,
    }
}

/// The service over a rig: every committed cycle goes to the consumers
/// `serve` lists (metrics, live views, catalog, dashboard events), in its order.
pub(crate) struct Service {
    pub rig: Rig,
    pub live: LiveViews,
    pub flight: FlightServer,
    pub http: HttpServer,
    /// The scripted channel's user id.
    pub alice: String,
    /// The chat client, joined to alice's chat on the simulator.
    pub chat: Arc<ChatClient>,
}

impl Service {
    /// 30 live channels plus `alice` (scripted, German, 100 viewers), with
    /// HTTP access built from `flight` as the app builds it.
    pub async fn start(flight: FlightConfig) -> Service {
        let mut world = World::with_live_streams(7, 30, at("2026-01-05T12:00:00Z"));
        let alice = world
            .add_scripted_channel(ScriptedChannel {
                login: "alice".into(),
                followers: 1000,
                language: "de".into(),
                ..Default::default()
            })
            .unwrap();
        let game = world.games()[0].id.clone();
        world.go_live(&alice, &game, "hello", 100).unwrap();
        let mut rig = Rig::start(world).await;
        let live = LiveViews::new();
        let recent = RecentAlerts::default();
        let engine = QueryEngine::new(
            Arc::new(WithTables {
                source: LakeAndLive {
                    lake: rig.lake.clone(),
                    live: live.clone(),
                },
                extra: vec![recent.source_table()],
            }),
            EngineOptions::default(),
        )
        .await
        .unwrap();
        let (feed, cycles) = CycleFeed::new(live.clone());
        let metrics = Metrics::new("test");
        let alerts = AlertService::start(AlertServiceArgs {
            config: AlertsConfig::from_table(toml::from_str(RULES).unwrap(), &|_| None).unwrap(),
            lake: rig.lake.clone(),
            engine: engine.clone(),
            live: live.clone(),
            metrics: metrics.clone(),
            clock: Arc::new(rig.clock.clone()),
            recent,
            session_gap: std::time::Duration::from_secs(600),
        })
        .await
        .unwrap();
        let runner = rig.runner.take().unwrap();
        let chat = ChatClient::start(ChatArgs::new(
            rig.server.chat_url().parse().unwrap(),
            Arc::new(rig.clock.clone()),
        ))
        .unwrap();
        let chat = Arc::new(chat);
        chat.set_channels(&["alice".to_owned()]);
        eventually("alice's chat joined", || chat.stats().joined == 1).await;
        let runner = twitch_monitor::app::observe_cycles(
            runner,
            &metrics,
            &live,
            &engine,
            Some(alerts),
            feed,
        )
        .with_chat(ChatFeed::new(chat.clone()));
        rig.runner = Some(runner);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let flight_server = FlightServer::start(
            listener,
            ServerArgs {
                engine: engine.clone(),
                config: flight.clone(),
                clock: Arc::new(SystemClock),
            },
            std::future::pending(),
        )
        .await
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let access = twitch_monitor::app::web::access(
            &flight,
            listener.local_addr().unwrap(),
            Arc::new(SystemClock),
        );
        let http = HttpServer::start(
            listener,
            HttpState {
                metrics,
                readiness: Arc::new(|| Ok(())),
                data: Some(DataApi {
                    engine: engine.clone(),
                    live: live.clone(),
                    cycles,
                    access,
                }),
            },
            std::future::pending(),
        )
        .unwrap();
        Service {
            rig,
            live,
            flight: flight_server,
            http,
            alice,
            chat,
        }
    }

    /// Says `lines` (sender, text) in alice's chat, and waits until the
    /// chat client holds them, so the next cycle commits them.
    pub async fn say(&self, lines: &[(&str, &str)]) {
        let irc = self.rig.server.irc().expect("the simulator serves chat");
        // The simulator sends what falls due as its clock moves: a second on.
        let at = self.rig.now() + chrono::TimeDelta::seconds(1);
        let before = self.chat.stats().messages;
        for (sender, text) in lines {
            irc.chat().say("alice", at, sender, text).unwrap();
        }
        self.rig.clock.advance(std::time::Duration::from_secs(1));
        let want = before + lines.len() as u64;
        eventually("alice's chat read", || self.chat.stats().messages >= want).await;
    }

    /// One poll interval later, one cycle committed and published; its id.
    pub async fn cycle(&mut self) -> i64 {
        let id = self.rig.cycle().await.cycle_id;
        assert_eq!(self.live.snapshot().cycle_id(), Some(id));
        id
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.http.local_addr())
    }

    /// Rows of `sql` through Flight SQL (the ADBC driver), as JSON objects.
    pub fn flight_sql(&self, sql: &str) -> Vec<serde_json::Value> {
        crate::adbc_query(self.flight.addr().port(), sql)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
