//! A crash between a cycle's gold commit and its alerts append: the cycle is
//! committed by the real runner over the simulated Helix and a real lake,
//! and the alerts service never hears of it (the process died). The service
//! started again on that lake records and sends the cycle's alerts, once,
//! and a further restart adds nothing.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use twitch_monitor::alerts::{AlertService, AlertServiceArgs, AlertsConfig, RecentAlerts};
use twitch_monitor::clock::SharedClock;
use twitch_monitor::ingest::CycleObserver;
use twitch_monitor::lake::Lake;
use twitch_monitor::live::LiveViews;
use twitch_monitor::metrics::Metrics;
use twitch_monitor::notify::IDEMPOTENCY_HEADER;
use twitch_monitor::query::{EngineOptions, LakeAndLive, QueryEngine};
use twitch_monitor::sim::World;
use twitch_monitor::sim::world::ScriptedChannel;

use crate::notify::Receiver;
use crate::rig::Rig;

/// The alerts service as `serve` starts it, on `lake` opened anew (a new
/// process), alerting `rx`'s webhook when the scripted channel goes live.
async fn start_alerts(rig: &Rig, rx: &Receiver) -> AlertService {
    let lake = Lake::open(rig._dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    let live = LiveViews::new();
    let engine = QueryEngine::new(
        Arc::new(LakeAndLive {
            lake: lake.clone(),
            live: live.clone(),
        }),
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let text = format!(
        "[[rules]]\nname = \"on\"\nkind = \"went_live\"\nchannels = [\"late\"]\n\
         [[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\
         secret = \"a-secret-of-16-chars-or-more\"\n",
        rx.addr
    );
    let config = AlertsConfig::from_table(toml::from_str(&text).unwrap(), &|_| None).unwrap();
    let clock: SharedClock = Arc::new(rig.clock.clone());
    AlertService::start(AlertServiceArgs {
        config,
        lake,
        engine,
        live,
        metrics: Metrics::new("test"),
        clock,
        recent: RecentAlerts::default(),
        session_gap: Duration::from_secs(600),
    })
    .await
    .unwrap()
}

async fn alert_rows(rig: &Rig) -> Vec<(String, i64, String)> {
    rig.lake.refresh_all().await.unwrap();
    let batches = rig
        .sql("SELECT alert_id, cycle_id, login FROM gold.alerts WHERE status = 'pending'")
        .await;
    let mut rows = Vec::new();
    for b in &batches {
        let (id, cycle, login) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_primitive::<arrow::datatypes::Int64Type>(),
            b.column(2).as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            rows.push((
                id.value(i).to_owned(),
                cycle.value(i),
                login.value(i).to_owned(),
            ));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_gold_commit_loses_none_of_the_cycles_alerts() {
    let mut world = World::with_live_streams(3, 10, crate::dashboard::at("2026-01-05T12:00:00Z"));
    let late = world
        .add_scripted_channel(ScriptedChannel {
            login: "late".into(),
            followers: 100,
            ..Default::default()
        })
        .unwrap();
    let game = world.games()[0].id.clone();
    let mut rig = Rig::start(world).await;
    let rx = Receiver::start().await;

    let alerts = start_alerts(&rig, &rx).await;
    for _ in 0..2 {
        rig.clock.advance(crate::rig::POLL);
        let cycle = rig.runner.as_mut().unwrap().run_cycle().await;
        alerts.on_cycle(&cycle).await.unwrap();
    }
    rig.world(|w| w.go_live(&late, &game, "back", 50)).unwrap();
    // The crash: the cycle commits, its alerts are never evaluated.
    let (crashed, _) = rig.cycle_report().await;
    drop(alerts);
    assert!(alert_rows(&rig).await.is_empty());
    assert!(rx.got().is_empty());

    let _restarted = start_alerts(&rig, &rx).await;
    let rows = alert_rows(&rig).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (id, cycle, login) = &rows[0];
    assert_eq!((*cycle, login.as_str()), (crashed.cycle_id, "late"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rx.got().iter().any(|r| r.status == 200) {
        assert!(Instant::now() < deadline, "not delivered: {:?}", rx.got());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A second restart finds the cycle's marker and records nothing again
    // (it may send the alert again: its delivery is recorded with the next
    // cycle, and none ran; the receiver dedupes on the key).
    let _again = start_alerts(&rig, &rx).await;
    assert_eq!(alert_rows(&rig).await.len(), 1);
    assert!(
        rx.got().iter().all(|r| r.header(IDEMPOTENCY_HEADER) == *id),
        "{:?}",
        rx.got()
    );
}
