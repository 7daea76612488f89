//! The live views fed by real cycles and served next to the lake: they match
//! the simulator's live set, rank correctly, survive a restart, and join Delta
//! tables through a real ADBC client.
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::net::TcpListener;
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{FlightAuth, FlightConfig};
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::ingest::live::{rebuild, update};
use twitch_monitor::ingest::pipeline::Pipeline;
use twitch_monitor::live::{LiveViews, View};
use twitch_monitor::query::{EngineOptions, LakeAndLive, QueryEngine};
use twitch_monitor::sim::World;
use twitch_monitor::sim::world::ScriptedChannel;

use crate::rig::Rig;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn engine(rig: &Rig, live: &LiveViews) -> QueryEngine {
    let source = LakeAndLive {
        lake: rig.lake.clone(),
        live: live.clone(),
    };
    QueryEngine::new(Arc::new(source), EngineOptions::default())
        .await
        .unwrap()
}

async fn rows(engine: &QueryEngine, sql: &str) -> Vec<arrow::record_batch::RecordBatch> {
    engine
        .execute(sql, &[])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// `stream_id → viewer_count` of a two-column result.
fn by_stream(batches: &[arrow::record_batch::RecordBatch]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for b in batches {
        let (ids, viewers) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_primitive::<Int64Type>(),
        );
        for i in 0..b.num_rows() {
            out.insert(ids.value(i).to_owned(), viewers.value(i));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_views_follow_the_simulator_survive_restarts_and_join_the_lake() {
    let mut world = World::with_live_streams(9, 120, at("2026-01-05T12:00:00Z"));
    let alice = world
        .add_scripted_channel(ScriptedChannel {
            login: "alice".into(),
            followers: 10,
            ..Default::default()
        })
        .unwrap();
    let game = world.games()[0].id.clone();
    world.go_live(&alice, &game, "hi", 100).unwrap();
    let mut rig = Rig::start(world).await;
    let live = LiveViews::new();
    // alice: 100 viewers at 12:01 … 12:03, then 250 from 12:04 to 12:08.
    for minute in 1..=8 {
        if minute == 4 {
            rig.world(|w| w.set_viewers(&alice, 250)).unwrap();
        }
        let (summary, report) = rig.cycle_report().await;
        live.apply_cycle(update(&summary, &report)).unwrap();
    }
    let engine = engine(&rig, &live).await;

    // live.streams is exactly the simulator's live set of the last cycle.
    let want: BTreeMap<String, i64> = rig.world(|w| {
        w.live_streams()
            .iter()
            .map(|s| (s.id.clone(), s.viewer_count as i64))
            .collect()
    });
    let got = by_stream(
        &rows(
            &engine,
            "SELECT stream_id, viewer_count FROM twitch.live.streams",
        )
        .await,
    );
    assert_eq!(got, want);

    // The leaderboard is ranked 1..n by viewers.
    let board = rows(
        &engine,
        "SELECT rank, viewer_count FROM twitch.live.leaderboard ORDER BY rank",
    )
    .await;
    let (mut last_rank, mut last_viewers) = (0, i64::MAX);
    for b in &board {
        let (r, v) = (
            b.column(0).as_primitive::<Int64Type>(),
            b.column(1).as_primitive::<Int64Type>(),
        );
        for i in 0..b.num_rows() {
            assert_eq!(r.value(i), last_rank + 1);
            assert!(v.value(i) <= last_viewers, "leaderboard not ordered");
            (last_rank, last_viewers) = (r.value(i), v.value(i));
        }
    }
    assert_eq!(last_rank as usize, want.len());

    // Five minutes before 12:08 alice had 100 viewers; now 250.
    let change = rows(
        &engine,
        &format!("SELECT viewer_change_5m FROM twitch.live.streams WHERE user_id = '{alice}'"),
    )
    .await;
    assert_eq!(
        change[0].column(0).as_primitive::<Int64Type>().value(0),
        150
    );

    // A restart: the views rebuilt from silver answer at once, the same.
    let rebuilt = rebuild(&rig.lake, Pipeline::last_seen(&rig.lake).await.unwrap())
        .await
        .unwrap();
    let engine2 = self::engine(&rig, &rebuilt).await;
    let again = by_stream(
        &rows(
            &engine2,
            "SELECT stream_id, viewer_count FROM twitch.live.streams",
        )
        .await,
    );
    assert_eq!(again, want);
    let change = rows(
        &engine2,
        &format!("SELECT viewer_change_5m FROM twitch.live.streams WHERE user_id = '{alice}'"),
    )
    .await;
    assert_eq!(
        change[0].column(0).as_primitive::<Int64Type>().value(0),
        150
    );

    // Through a real ADBC client: live views joined with a Delta table.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = FlightConfig {
        auth: FlightAuth::None,
        users: Vec::new(),
        tokens: Vec::new(),
        token_ttl: std::time::Duration::from_secs(600),
        tls: None,
        allow_unauthenticated: false,
    };
    let server = FlightServer::start(
        listener,
        ServerArgs {
            engine: engine.clone(),
            config,
            clock: Arc::new(SystemClock),
        },
        std::future::pending(),
    )
    .await
    .unwrap();
    let sql = "SELECT s.login, s.viewer_count, d.hours_watched, d.peak_viewers \
               FROM twitch.live.streams s JOIN twitch.gold.streamer_daily d ON s.user_id = d.user_id \
               WHERE s.login = 'alice'";
    let text = crate::adbc_query(server.addr().port(), sql);
    assert!(
        text.contains("\"login\": \"alice\"") && text.contains("\"peak_viewers\": 250"),
        "{text}"
    );
}

/// Start-up replays the last day an hour at a time: views rebuilt after
/// cycles spread over three hours (chunk edges fall between and inside
/// cycles) equal the views that followed every cycle, windows included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_rebuilt_hour_by_hour_equal_the_views_that_followed_every_cycle() {
    let world = World::with_live_streams(12, 120, at("2026-01-05T11:47:30Z"));
    let mut rig = Rig::start(world).await;
    let live = LiveViews::new();
    for _ in 0..26 {
        // Seven minutes a cycle: the poll interval and six more.
        rig.clock.advance(std::time::Duration::from_secs(360));
        let (summary, report) = rig.cycle_report().await;
        live.apply_cycle(update(&summary, &report)).unwrap();
    }
    let rebuilt = rebuild(&rig.lake, Pipeline::last_seen(&rig.lake).await.unwrap())
        .await
        .unwrap();
    let (a, b) = (live.snapshot(), rebuilt.snapshot());
    assert_eq!(a.cycle_id(), b.cycle_id());
    let text = |batch: &arrow::record_batch::RecordBatch| {
        arrow::util::pretty::pretty_format_batches(std::slice::from_ref(batch))
            .unwrap()
            .to_string()
    };
    for view in [
        View::Streams,
        View::Leaderboard,
        View::Categories,
        View::StreamerTrends,
    ] {
        assert_eq!(text(a.batch(view)), text(b.batch(view)), "{view}");
    }
    // The comparison is not of empty views: both windows and follower
    // gains are there.
    let trends = text(a.batch(View::StreamerTrends));
    assert!(
        trends.contains("| 24h ") && trends.contains("| 1h "),
        "{trends}"
    );
    let gained = a.batch(View::StreamerTrends).column(5);
    assert!(gained.null_count() < gained.len(), "{trends}");
}
