//! The cycle runner against the local Helix server: a cycle that cannot
//! reach Twitch is still a finished cycle its consumers hear of; chat lines
//! leave their source only once committed.
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use chrono::{DateTime, TimeDelta, Utc};
use twitch_monitor::chat::{ChatLine, ChatSource, ChatStatsSnapshot, Scorer, parse_line};
use twitch_monitor::config::Secret;
use twitch_monitor::ingest::chat::ChatFeed;
use twitch_monitor::ingest::poll::PollSettings;
use twitch_monitor::ingest::{CycleRunner, Error, RunnerArgs};
use twitch_monitor::live::{LiveViews, View};
use twitch_monitor::schema::Table;
use twitch_monitor::sim::World;
use twitch_monitor::twitch::ClientArgs;

use crate::rig::{GAP, POLL, Rig};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_that_cannot_connect_reaches_its_consumers() {
    let rig = Rig::start(World::with_live_streams(1, 5, at("2026-01-05T10:00:00Z"))).await;
    let client = ClientArgs {
        helix_url: rig.server.helix_url(),
        auth_url: rig.server.auth_url(),
        client_id: rig.server.client_id().to_owned(),
        client_secret: Secret::from("not the secret"),
        request_timeout: Duration::from_secs(10),
        max_retries: 0,
        max_pages: 10,
        clock: Arc::new(rig.clock.clone()),
    };
    let live = LiveViews::new();
    let (runner, _) = CycleRunner::open(RunnerArgs {
        lake: rig.lake.clone(),
        clock: Arc::new(rig.clock.clone()),
        connect: Arc::new(client),
        poll: PollSettings {
            poll_interval: POLL,
            ..Default::default()
        },
        session_gap: GAP,
        backlog_limit: 64 << 20,
    })
    .await
    .unwrap();
    let mut runner = runner.observe(live.clone());

    let cycle = runner.run_cycle().await;
    assert!(
        matches!(cycle.error(), Some(Error::Connect(_))),
        "{:?}",
        cycle.outcome
    );
    assert_eq!(cycle.summary.cycle_id, 1);
    let status = live.snapshot().batch(View::IngestStatus).clone();
    assert_eq!(status.num_rows(), 1);
    let error = status
        .column_by_name("last_error")
        .unwrap()
        .as_string::<i32>();
    assert!(
        error.is_valid(0) && error.value(0).contains("refused the app credentials"),
        "{:?}",
        error
    );
    // Nothing was written, and no cycle id was used up.
    assert_eq!(rig.lake.max_committed_cycle().await.unwrap(), None);
}

/// A chat source holding the lines a test gives it.
#[derive(Debug, Default)]
struct Lines(std::sync::Mutex<Vec<ChatLine>>);

impl ChatSource for Lines {
    fn drain(&self) -> Vec<ChatLine> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    fn restore(&self, lines: Vec<ChatLine>) {
        let mut held = self.0.lock().unwrap();
        let newer = std::mem::replace(&mut *held, lines);
        held.extend(newer);
    }
    fn set_channels(&self, _: &[String]) {}
    fn stats(&self) -> ChatStatsSnapshot {
        ChatStatsSnapshot::default()
    }
}

impl Lines {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Chat message `n` of channel `alice`, sent and received at `t`.
fn chat_message(n: u32, t: DateTime<Utc>) -> ChatLine {
    message(&format!("msg-{n}"), n, t, t)
}

/// Replaces a table's directory with a file, so every commit to it fails;
/// the returned closure puts it back.
fn break_table(lake: &std::path::Path, table: Table) -> impl FnOnce() {
    let dir = lake.join(table.layer().as_str()).join(table.name());
    let aside = lake.join(format!("aside-{}", table.name()));
    std::fs::rename(&dir, &aside).unwrap();
    std::fs::write(&dir, "not a Delta table").unwrap();
    move || {
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&aside, &dir).unwrap();
    }
}

fn one_i64(batches: &[arrow::record_batch::RecordBatch]) -> i64 {
    batches[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0)
}

/// A rig whose cycles drain chat from the returned source.
async fn chat_rig() -> (Rig, Arc<Lines>) {
    let mut rig = Rig::start(World::with_live_streams(1, 5, at("2026-01-05T10:00:00Z"))).await;
    let source = Arc::new(Lines::default());
    let runner = rig.runner.take().unwrap();
    rig.runner = Some(runner.with_chat(ChatFeed::new(source.clone())));
    (rig, source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_lines_leave_the_source_only_with_their_commit_and_land_once() {
    let (mut rig, source) = chat_rig().await;
    let lake_dir = rig._dir.path().to_owned();
    let bronze = "SELECT count(*) FROM bronze.chat_messages WHERE kind = 'message'";
    let silver = "SELECT coalesce(sum(messages), 0) FROM silver.chat_minutes";

    // 1. bronze.chat_messages refuses the commit: the cycle fails and its
    //    lines go back to the source, ahead of newer ones.
    let now = rig.now();
    source.restore((0..3).map(|n| chat_message(n, now)).collect());
    let fix = break_table(&lake_dir, Table::ChatMessages);
    rig.clock.advance(POLL);
    let failed = rig.runner.as_mut().unwrap().run_cycle().await;
    assert!(failed.error().is_some(), "{:?}", failed.summary);
    assert_eq!(source.len(), 3);
    fix();
    let now = rig.now();
    source.0.lock().unwrap().push(chat_message(3, now));
    rig.cycle().await;
    assert_eq!(source.len(), 0);
    assert_eq!(one_i64(&rig.sql(bronze).await), 4);
    assert_eq!(one_i64(&rig.sql(silver).await), 4);

    // 2. A later write (silver.chat_minutes) fails: the lines reached bronze,
    //    so they stay out of the source and the repair derives their silver.
    let now = rig.now();
    source.restore((4..6).map(|n| chat_message(n, now)).collect());
    let fix = break_table(&lake_dir, Table::ChatMinutes);
    rig.clock.advance(POLL);
    let failed = rig.runner.as_mut().unwrap().run_cycle().await;
    assert!(failed.error().is_some(), "{:?}", failed.summary);
    assert_eq!(source.len(), 0);
    fix();
    rig.cycle().await;
    assert_eq!(one_i64(&rig.sql(bronze).await), 6);
    assert_eq!(one_i64(&rig.sql(silver).await), 6);
    let dup = "SELECT count(*) FROM (SELECT message_id FROM bronze.chat_messages \
               GROUP BY 1 HAVING count(*) > 1)";
    assert_eq!(one_i64(&rig.sql(dup).await), 0);
}

/// Message `id` of channel `alice` from user `user`, stamped `sent` by
/// Twitch and received at `received`.
fn message(id: &str, user: u32, sent: DateTime<Utc>, received: DateTime<Utc>) -> ChatLine {
    let raw = format!(
        "@badge-info=;badges=;color=;display-name=u{user};emotes=;flags=;id={id};mod=0;\
         room-id=1;subscriber=0;tmi-sent-ts={};turbo=0;user-id={user};user-type= \
         :u{user}!u{user}@u{user}.tmi.twitch.tv PRIVMSG #alice :gg",
        sent.timestamp_millis()
    );
    parse_line(&raw, received, Scorer::builtin()).0.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_for_a_sealed_minute_counts_as_if_it_had_come_on_time() {
    let (mut rig, source) = chat_rig().await;
    let m0 = at("2026-01-05T10:00:00Z");
    let s = |secs: i64| m0 + TimeDelta::seconds(secs);
    let sealed = |rig: &Rig| {
        let pipeline = rig.runner.as_ref().unwrap().pipeline().unwrap();
        pipeline.state().chat.is_sealed("alice", m0)
    };

    // Two chatters in minute 0, then a line received 40 minutes on seals it.
    source.restore(vec![
        message("a1", 1, s(1), s(2)),
        message("a2", 2, s(3), s(4)),
    ]);
    rig.cycle().await;
    assert!(!sealed(&rig));
    source.restore(vec![message("b1", 3, s(2400), s(2401))]);
    rig.cycle().await;
    assert!(sealed(&rig));

    // Late for minute 0: a repeat of a2 (counts once) and a third chatter.
    // The minute is read again from bronze, so both count exactly.
    source.restore(vec![
        message("a2", 2, s(3), s(2410)),
        message("a3", 3, s(5), s(2410)),
    ]);
    rig.cycle().await;
    let minute = "SELECT messages, unique_chatters FROM silver.chat_minutes \
                  WHERE channel = 'alice' ORDER BY minute";
    assert_eq!(pairs(&rig, minute).await, [(3, 3), (1, 1)]);
    let day = "SELECT messages, chatters FROM gold.chat_daily WHERE channel = 'alice'";
    assert_eq!(pairs(&rig, day).await, [(4, 3)]);
    // Sealed again once counted.
    assert!(sealed(&rig));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_for_a_day_closed_in_memory_counts_as_if_it_had_come_on_time() {
    let (mut rig, source) = chat_rig().await;
    let m = at("2026-01-05T23:50:00Z");
    let s = |secs: i64| m + TimeDelta::seconds(secs);
    let open = |rig: &Rig| {
        let pipeline = rig.runner.as_ref().unwrap().pipeline().unwrap();
        pipeline.state().chat.is_open(m.date_naive())
    };
    source.restore(vec![
        message("a1", 1, s(1), s(2)),
        message("a2", 2, s(3), s(4)),
    ]);
    rig.cycle().await;
    assert!(open(&rig));
    // 00:40 the next day: every minute of the 5th is sealed, its fold gone.
    source.restore(vec![message("b1", 3, s(3000), s(3001))]);
    rig.cycle().await;
    assert!(!open(&rig));

    // Late for 23:50: a repeat of a2 (counts once) and a third chatter. The
    // day is read again from bronze, so both count exactly.
    source.restore(vec![
        message("a2", 2, s(3), s(3010)),
        message("a3", 3, s(5), s(3010)),
    ]);
    rig.cycle().await;
    let minute = "SELECT messages, unique_chatters FROM silver.chat_minutes \
                  WHERE channel = 'alice' ORDER BY minute";
    assert_eq!(pairs(&rig, minute).await, [(3, 3), (1, 1)]);
    let day = "SELECT messages, chatters FROM gold.chat_daily WHERE channel = 'alice' ORDER BY day";
    assert_eq!(pairs(&rig, day).await, [(3, 3), (1, 1)]);
}

/// The two Int64 columns of a query, row by row.
async fn pairs(rig: &Rig, sql: &str) -> Vec<(i64, i64)> {
    let int = |b: &arrow::record_batch::RecordBatch, c: usize, i: usize| {
        b.column(c)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(i)
    };
    let batches = rig.sql(sql).await;
    let rows = batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)));
    rows.map(|(b, i)| (int(b, 0, i), int(b, 1, i))).collect()
}

/// Follower snapshots of cycle `cycle`, and the channels it saw live.
async fn follower_rows(rig: &Rig, cycle: i64) -> (i64, i64) {
    let count = |sql: String| async move {
        rig.sql(&sql).await[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0)
    };
    let followers = count(format!(
        "SELECT count(*) FROM silver.follower_snapshots WHERE cycle_id = {cycle}"
    ))
    .await;
    let live = count(format!(
        "SELECT count(DISTINCT user_id) FROM silver.stream_snapshots WHERE cycle_id = {cycle}"
    ))
    .await;
    (followers, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_under_follower_requests_is_renewed_once_and_pauses_nothing() {
    // 40 live channels: more than one batch of follower requests (4 at a
    // time, 16 per batch), so a pause would show within the cycle too.
    let mut rig = Rig::start(World::with_live_streams(7, 40, at("2026-01-05T10:00:00Z"))).await;
    rig.cycle().await;
    let (followers, live) = follower_rows(&rig, 1).await;
    assert!(live > 16, "{live} live channels");
    assert_eq!(followers, live);
    let issued = rig.server.stats().tokens_issued;

    // The token dies while follower requests are in flight: all of them
    // get 401 and wait for one shared renewal.
    rig.server
        .update_faults(|f| f.revoke_before_followers_next = 1);
    let s = rig.cycle().await;
    assert_eq!(s.cycle_id, 2);
    assert_eq!(rig.server.stats().tokens_issued, issued + 1);
    let (followers, live) = follower_rows(&rig, 2).await;
    assert_eq!(followers, live, "totals of the renewal cycle");
    // The retried requests succeeded: follower totals are not paused.
    rig.cycle().await;
    let (followers, live) = follower_rows(&rig, 3).await;
    assert_eq!(followers, live, "totals of the next cycle");
}

/// The users whose follower totals cycle `cycle` read.
async fn followers_read(rig: &Rig, cycle: i64) -> Vec<String> {
    let batches = rig
        .sql(&format!(
            "SELECT user_id FROM silver.follower_snapshots WHERE cycle_id = {cycle}"
        ))
        .await;
    let mut ids: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            let a = a.as_string::<i32>();
            (0..a.len())
                .map(|i| a.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_not_seen_live_for_a_day_is_no_longer_asked_about() {
    use twitch_monitor::sim::world::{ScriptedChannel, WorldConfig};
    let mut world = World::new(WorldConfig {
        seed: 11,
        channels: 20,
        start: at("2026-01-05T10:00:00Z"),
        ..WorldConfig::default()
    });
    let mut add = |login: &str| {
        world
            .add_scripted_channel(ScriptedChannel {
                login: login.into(),
                followers: 100,
                ..Default::default()
            })
            .unwrap()
    };
    let (gone, stays, watched) = (add("gone"), add("stays"), add("watched"));
    let game = world.games()[0].id.clone();
    for id in [&gone, &stays] {
        world.go_live(id, &game, "live", 50).unwrap();
    }
    let mut rig = Rig::start(world).await;
    rig.targets.channels = vec!["watched".into()];
    rig.reopen().await;
    let asked = |read: &[String]| [&gone, &stays, &watched].map(|id| read.contains(id));

    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 1).await), [true, true, true]);
    rig.world(|w| w.go_offline(&gone)).unwrap();
    // Offline for most of a day: still monitored (the day's follower
    // gains), across a restart too (when it was last live comes from the
    // lake).
    rig.clock.advance(Duration::from_secs(23 * 3600));
    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 2).await), [true, true, true]);
    rig.reopen().await;
    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 3).await), [true, true, true]);
    // A day after it was last seen live it is forgotten; the channel
    // watched by name never is, live or not. A restart does not bring it
    // back, though its follower total was read less than a day ago.
    rig.clock.advance(Duration::from_secs(3600));
    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 4).await), [false, true, true]);
    rig.reopen().await;
    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 5).await), [false, true, true]);
    // Live again: monitored again.
    rig.world(|w| w.go_live(&gone, &game, "back", 50)).unwrap();
    rig.cycle().await;
    assert_eq!(asked(&followers_read(&rig, 6).await), [true, true, true]);
}
