//! Chat end to end, as `serve` wires it: the simulator's IRC server → the
//! chat client → the cycle's commit → Delta → Flight SQL (a real ADBC
//! client), `/metrics`, engines that are not our writer (DuckDB, polars),
//! and `rebuild` recomputing the same chat rows from bronze.
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use twitch_monitor::app::App;
use twitch_monitor::chat::ChatSource;
use twitch_monitor::config::{Config, SimSettings};
use twitch_monitor::lake::Lake;
use twitch_monitor::live::View;
use twitch_monitor::schema::Table;

use crate::http::{scrape, value};
use crate::until;

/// The service over a simulated world of 40 channels (ten simulated minutes
/// a second, a cycle every ten simulated seconds), the top 5 live joined.
async fn start_app(dir: &Path) -> App {
    let mut config = Config {
        lake: dir.to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        poll_interval: Duration::from_secs(10),
        sim: SimSettings {
            channels: 40,
            speed: 600.0,
            ..Default::default()
        },
        ..Default::default()
    };
    config.chat.top_n = 5;
    config.validate().unwrap();
    App::start(config).await.unwrap()
}

/// One query through the ADBC Flight SQL driver: its rows as JSON objects.
fn adbc(port: u16, sql: &str) -> Vec<serde_json::Value> {
    crate::adbc_query(port, sql)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn sql(lake: &Lake, sql: &str) -> Vec<RecordBatch> {
    let ctx = lake.session().await.unwrap();
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// A table's rows as sorted text lines (for comparing whole tables).
async fn contents(lake: &Lake, table: Table, columns: &str) -> Vec<String> {
    let batches = sql(lake, &format!("SELECT {columns} FROM {table}")).await;
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn one_i64(batches: &[RecordBatch]) -> i64 {
    use arrow::array::AsArray;
    batches[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_chat_lands_in_every_layer_and_answers_over_flight_sql() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;

    // A committed cycle carried chat (live.chat has rows), then one more.
    until("chat in live.chat", Duration::from_secs(180), || {
        app.live().snapshot().batch(View::Chat).num_rows() > 0
    })
    .await;
    let seen = app.live().snapshot().cycle_id().unwrap();
    // One more cycle whose snapshot still has chat: at ten simulated
    // minutes a second a slow machine can carry the clock into the night's
    // trough, where the joined channels go offline and live.chat empties.
    // Read that one snapshot at once, as the hour window moves on while the
    // slower checks below run.
    // The chat client's figures are taken with it: once the joined
    // channels go offline for the night it leaves them all.
    let (mut rates, mut stats) = (None, None);
    until("one more cycle with chat", Duration::from_secs(180), || {
        let snapshot = app.live().snapshot();
        let chat = snapshot.batch(View::Chat);
        if snapshot.cycle_id().unwrap_or(0) > seen && chat.num_rows() > 0 {
            rates = Some(chat.clone());
            stats = Some(app.chat().stats());
        }
        rates.is_some()
    })
    .await;
    let rates = rates.unwrap();
    let rate = arrow::compute::max(
        rates
            .column_by_name("messages_per_minute_1h")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap(),
    )
    .unwrap_or(0.0);
    assert!(rate > 0.0, "{rates:?}");
    let stats = stats.unwrap();
    assert!(stats.messages > 0 && stats.joined > 0, "{stats:?}");

    let port = app.flight_addr().port();
    let top = adbc(
        port,
        "SELECT channel, minute, messages, unique_chatters, sentiment_mean, positive, negative, \
         top_emotes FROM twitch.silver.chat_minutes ORDER BY messages DESC, channel LIMIT 1",
    );
    let row = &top[0];
    let channel = row["channel"].as_str().unwrap().to_owned();
    assert!(row["messages"].as_i64().unwrap() > 0, "{row}");
    assert!(row["unique_chatters"].as_i64().unwrap() >= 1, "{row}");
    let mean = row["sentiment_mean"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&mean), "{row}");
    assert!(row["top_emotes"].is_array(), "{row}");

    // The README's example: a channel's viewers beside its chat, per minute.
    let joined = adbc(
        port,
        &format!(
            "SELECT s.observed_at, s.viewer_count, c.messages, c.sentiment_mean \
             FROM twitch.silver.stream_snapshots s \
             LEFT JOIN twitch.silver.chat_minutes c \
               ON c.channel = s.user_login AND c.minute = date_trunc('minute', s.observed_at) \
             WHERE s.user_login = '{channel}' ORDER BY s.observed_at"
        ),
    );
    assert!(
        joined
            .iter()
            .any(|r| r["viewer_count"].as_i64().unwrap() > 0 && r["messages"].as_i64().is_some()),
        "{joined:?}"
    );
    // live.chat is in the catalog (its rows were checked above).
    adbc(
        port,
        "SELECT channel, messages_per_minute_5m, sentiment_1h FROM twitch.live.chat",
    );
    let bronze = adbc(
        port,
        "SELECT kind, count(*) AS n FROM twitch.bronze.chat_messages GROUP BY kind",
    );
    assert!(bronze.iter().any(|r| r["kind"] == "message"), "{bronze:?}");

    let scraped = scrape(&format!("http://{}/metrics", app.http_addr())).await;
    let messages = value(
        &scraped,
        "twitch_monitor_chat_messages",
        "twitch_monitor_chat_messages_total",
        &[],
    );
    assert!(messages.unwrap_or(0.0) > 0.0, "{scraped}");
    let joined_channels = value(
        &scraped,
        "twitch_monitor_chat_joined_channels",
        "twitch_monitor_chat_joined_channels",
        &[],
    );
    // The series is there; how many channels are joined now depends on
    // the simulated hour (the top N live), and `stats.joined` above was
    // checked while chat flowed.
    assert!(joined_channels.is_some(), "{scraped}");
    app.shutdown().await.unwrap();

    // Every committed message is counted once in silver and in gold.
    let lake = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    let in_bronze = one_i64(
        &sql(
            &lake,
            "SELECT count(DISTINCT message_id) FROM bronze.chat_messages WHERE kind = 'message'",
        )
        .await,
    );
    let in_silver = one_i64(&sql(&lake, "SELECT sum(messages) FROM silver.chat_minutes").await);
    let in_gold = one_i64(&sql(&lake, "SELECT sum(messages) FROM gold.chat_daily").await);
    assert!(in_bronze > 0);
    assert_eq!((in_silver, in_gold), (in_bronze, in_bronze));

    // DuckDB and polars read the chat tables with the same figures.
    let out = crate::run_python(
        "read_chat.py",
        [
            crate::py_script("read_chat.py").as_os_str(),
            dir.path().as_os_str(),
        ],
    );
    let read: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = lake.count(Table::ChatMinutes, None).await.unwrap();
    for engine in ["duckdb", "polars"] {
        let t = &read[engine];
        assert_eq!(t["chat_minutes_rows"], rows, "{engine}: {t}");
        assert_eq!(t["chat_minutes_messages"], in_silver, "{engine}: {t}");
        assert_eq!(t["chat_daily_messages"], in_gold, "{engine}: {t}");
        assert_eq!(t["bronze_messages"], in_bronze, "{engine}: {t}");
    }

    // `rebuild` derives the same chat rows from bronze alone.
    let minutes = "channel, minute, messages, unique_chatters, sentiment_mean, positive, \
                   negative, top_emotes, day";
    let daily = "day, channel, messages, chatters, sentiment_mean, positive, negative, top_emotes";
    let before = (
        contents(&lake, Table::ChatMinutes, minutes).await,
        contents(&lake, Table::ChatDaily, daily).await,
    );
    twitch_monitor::ingest::rebuild::rebuild(
        &lake,
        Duration::from_secs(10),
        Duration::from_secs(600),
        |_| {},
    )
    .await
    .unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    let after = (
        contents(&lake, Table::ChatMinutes, minutes).await,
        contents(&lake, Table::ChatDaily, daily).await,
    );
    assert_eq!(before, after);
}
