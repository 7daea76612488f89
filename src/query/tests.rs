//! Engine tests over in-memory tables.
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::ScalarValue;
use futures::TryStreamExt;

use super::*;

fn leaderboard() -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("rank", DataType::Int64, false),
        Field::new("login", DataType::Utf8View, false),
        Field::new("value", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringViewArray::from(vec!["alpha", "bravo", "charlie"])),
        Arc::new(Int64Array::from(vec![300, 200, 100])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    (schema, batch)
}

async fn engine_with(options: EngineOptions) -> (QueryEngine, Arc<MemTableSource>) {
    let source = Arc::new(MemTableSource::new());
    let (schema, batch) = leaderboard();
    source
        .put("gold", "leaderboard_daily", schema, vec![batch])
        .unwrap();
    let engine = QueryEngine::new(Arc::clone(&source) as Arc<dyn TableSource>, options)
        .await
        .unwrap();
    (engine, source)
}

async fn engine() -> QueryEngine {
    engine_with(EngineOptions::default()).await.0
}

async fn run(engine: &QueryEngine, sql: &str, params: &[ScalarValue]) -> Result<Vec<RecordBatch>> {
    let stream = engine.execute(sql, params).await?;
    stream.try_collect().await.map_err(Error::from)
}

fn table(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

#[tokio::test]
async fn queries_return_plain_utf8_and_see_all_schemas() {
    let engine = engine().await;
    let batches = run(
        &engine,
        "SELECT rank, login FROM twitch.gold.leaderboard_daily WHERE value > 150 ORDER BY rank",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(batches[0].schema().field(1).data_type(), &DataType::Utf8);
    assert_eq!(
        table(&batches),
        "+------+-------+\n| rank | login |\n+------+-------+\n| 1    | alpha |\n| 2    | bravo |\n+------+-------+"
    );
    // The default schema is gold; the four layers always exist.
    run(&engine, "SELECT count(*) FROM leaderboard_daily", &[])
        .await
        .unwrap();
    assert_eq!(
        engine.schema_names(),
        vec!["bronze", "gold", "information_schema", "live", "silver"]
    );
}

#[tokio::test]
async fn positional_parameters_bind_with_either_placeholder_style() {
    let engine = engine().await;
    for sql in [
        "SELECT login FROM gold.leaderboard_daily WHERE rank <= ? AND login <> ? ORDER BY rank",
        "SELECT login FROM gold.leaderboard_daily WHERE rank <= $1 AND login <> $2 ORDER BY rank",
    ] {
        let prepared = engine.prepare(sql).await.unwrap();
        let names: Vec<_> = prepared
            .parameters
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["$1", "$2"]);
        assert_eq!(prepared.parameters.field(0).data_type(), &DataType::Int64);
        assert_eq!(prepared.schema.field(0).data_type(), &DataType::Utf8);
        // An Int32 value is cast to the Int64 the plan expects.
        let params = [ScalarValue::Int32(Some(2)), ScalarValue::from("alpha")];
        let batches = run(&engine, sql, &params).await.unwrap();
        assert_eq!(
            table(&batches),
            "+-------+\n| login |\n+-------+\n| bravo |\n+-------+"
        );
    }
    let err = run(&engine, "SELECT $1 + $2", &[ScalarValue::Int64(Some(1))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[tokio::test]
async fn errors_carry_their_kind_and_the_engine_message() {
    let engine = engine().await;
    let err = run(&engine, "SELEC 1", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("SELEC"), "{err}");
    let err = run(&engine, "SELECT nope FROM gold.leaderboard_daily", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("nope"), "{err}");
    let err = run(&engine, "SELECT * FROM gold.missing", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = run(&engine, "SELECT * FROM nowhere.missing", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for sql in [
        "CREATE TABLE gold.x AS SELECT 1",
        "INSERT INTO gold.leaderboard_daily VALUES (4, 'd', 1)",
        "DROP TABLE gold.leaderboard_daily",
        "COPY (SELECT 1) TO '/tmp/tm-never.csv'",
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        "SELECT * FROM '/etc/passwd'",
    ] {
        let err = run(&engine, sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{sql}: {err}");
    }
    assert!(!std::path::Path::new("/tmp/tm-never.csv").exists());
}

#[tokio::test]
async fn refresh_swaps_tables_without_disturbing_open_streams() {
    let (engine, source) = engine_with(EngineOptions::default()).await;
    let open = engine
        .execute("SELECT * FROM gold.leaderboard_daily", &[])
        .await
        .unwrap();
    source.remove("gold", "leaderboard_daily");
    let (schema, batch) = leaderboard();
    source
        .put("live", "leaderboard", schema, vec![batch])
        .unwrap();
    engine.refresh().await.unwrap();
    let rows: usize = open
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 3);
    let err = run(&engine, "SELECT * FROM gold.leaderboard_daily", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    run(&engine, "SELECT * FROM live.leaderboard", &[])
        .await
        .unwrap();
    let tables = engine.tables().await.unwrap();
    assert!(
        tables
            .iter()
            .any(|t| t.schema == "live" && t.name == "leaderboard")
    );
    assert!(
        tables
            .iter()
            .any(|t| t.schema == "information_schema" && t.kind == TableKind::View)
    );
}

#[tokio::test]
async fn statements_on_a_pin_read_the_tables_it_was_taken_with() {
    let (engine, source) = engine_with(EngineOptions::default()).await;
    let at = engine.pin();
    let (schema, batch) = leaderboard();
    source
        .put("gold", "leaderboard_daily", schema, vec![batch.slice(0, 1)])
        .unwrap();
    source
        .put("gold", "added", batch.schema(), vec![batch])
        .unwrap();
    engine.refresh().await.unwrap();
    let count = "SELECT count(*) AS n FROM gold.leaderboard_daily";
    let pinned = engine.execute_pinned(&at, count, &[]).await.unwrap();
    let pinned: Vec<RecordBatch> = pinned.try_collect().await.unwrap();
    assert!(table(&pinned).contains("| 3 |"), "{}", table(&pinned));
    let now = run(&engine, count, &[]).await.unwrap();
    assert!(table(&now).contains("| 1 |"), "{}", table(&now));
    // The pin's catalog is the whole of that moment: metadata included.
    let tables = "SELECT table_name FROM information_schema.tables WHERE table_name = 'added'";
    let pinned = engine.execute_pinned(&at, tables, &[]).await.unwrap();
    let pinned: Vec<RecordBatch> = pinned.try_collect().await.unwrap();
    assert_eq!(pinned.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    let later = engine
        .execute_pinned(&engine.pin(), tables, &[])
        .await
        .unwrap();
    let later: Vec<RecordBatch> = later.try_collect().await.unwrap();
    assert_eq!(later.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
}

#[tokio::test]
async fn limits_turn_into_resource_and_deadline_errors() {
    let options = EngineOptions {
        query_timeout: Duration::from_millis(300),
        memory_limit: 2 << 20,
        max_concurrent_queries: 1,
        queue_timeout: Duration::from_millis(50),
        ..EngineOptions::default()
    };
    let (engine, _) = engine_with(options).await;
    // A query that cannot finish in time.
    let err = run(
        &engine,
        "SELECT count(*) FROM generate_series(1, 100000000000)",
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeadlineExceeded, "{err}");
    // A sort that needs more than the pool (spilling cannot help a 2 MiB pool).
    let err = run(
        &engine,
        "SELECT value, repeat('x', 100) AS pad FROM generate_series(1, 2000000) AS t(value) ORDER BY pad, value DESC",
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    // One slot: a second query waits, then is refused; the slot frees on drop.
    let open = engine.execute("SELECT 1", &[]).await.unwrap();
    assert_eq!(engine.running_queries(), 1);
    let err = run(&engine, "SELECT 2", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    drop(open);
    assert_eq!(engine.running_queries(), 0);
    run(&engine, "SELECT 3", &[]).await.unwrap();
}

#[tokio::test]
async fn a_plan_kept_from_a_schema_request_runs_once_and_never_past_a_refresh() {
    let (engine, source) = engine_with(EngineOptions::default()).await;
    let sql = "SELECT login FROM gold.leaderboard_daily WHERE value > $1 ORDER BY login";
    let p = [ScalarValue::Int64(Some(150))];
    // Schema, then execution (what GetFlightInfo then DoGet do), twice: the
    // second run must plan afresh, as the kept plan was used up.
    for _ in 0..2 {
        engine.schema(sql, &p).await.unwrap();
        assert_eq!(run(&engine, sql, &p).await.unwrap()[0].num_rows(), 2);
    }
    // Other parameters do not pick up the kept plan.
    engine.schema(sql, &p).await.unwrap();
    let all = run(&engine, sql, &[ScalarValue::Int64(Some(0))])
        .await
        .unwrap();
    assert_eq!(all[0].num_rows(), 3);
    // A refresh drops kept plans: the run reads the new table.
    engine.schema(sql, &p).await.unwrap();
    let schema = leaderboard().0;
    let more: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
        Arc::new(StringViewArray::from(vec!["a", "b", "c", "d"])),
        Arc::new(Int64Array::from(vec![400, 300, 200, 100])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), more).unwrap();
    source
        .put("gold", "leaderboard_daily", schema, vec![batch])
        .unwrap();
    engine.refresh().await.unwrap();
    assert_eq!(run(&engine, sql, &p).await.unwrap()[0].num_rows(), 3);
}

#[tokio::test]
async fn one_parameter_binds_against_plain_and_view_string_columns() {
    // The lake reads strings as Utf8View, in-memory tables hold Utf8; the
    // dashboard's streamer page uses one `$1` against both.
    let (engine, source) = engine_with(EngineOptions::default()).await;
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_login", DataType::Utf8, false),
        Field::new("viewer_count", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(datafusion::arrow::array::StringArray::from(vec![
            "bravo", "delta",
        ])),
        Arc::new(Int64Array::from(vec![20, 40])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    source.put("live", "streams", schema, vec![batch]).unwrap();
    engine.refresh().await.unwrap();
    let sql = "SELECT l.rank, s.viewer_count FROM twitch.gold.leaderboard_daily l \
               JOIN twitch.live.streams s ON s.user_login = l.login \
               WHERE l.login = $1 AND s.user_login = $1";
    let prepared = engine.prepare(sql).await.unwrap();
    assert_eq!(prepared.parameters.field(0).data_type(), &DataType::Utf8);
    let batches = run(&engine, sql, &[ScalarValue::Utf8(Some("bravo".into()))])
        .await
        .unwrap();
    assert_eq!(
        table(&batches),
        "+------+--------------+\n\
         | rank | viewer_count |\n\
         +------+--------------+\n\
         | 2    | 20           |\n\
         +------+--------------+"
    );
    // A literal beside a column: `$1 = ''` is Utf8, `login = $1` Utf8View.
    let sql = "SELECT rank FROM twitch.gold.leaderboard_daily WHERE $1 = '' OR login = $1";
    for (value, rows) in [("", 3), ("charlie", 1)] {
        let batches = run(&engine, sql, &[ScalarValue::Utf8(Some(value.into()))])
            .await
            .unwrap();
        let n: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(n, rows, "{value:?}");
    }
    // Used as a number and as a string: refused with a way out.
    let e = engine
        .prepare("SELECT rank FROM twitch.gold.leaderboard_daily WHERE rank = $1 OR login = $1")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("parameter $1 is used as both"),
        "{e}"
    );
    let types = engine
        .schema("SELECT user_login FROM twitch.live.streams", &[])
        .await
        .unwrap();
    assert_eq!(types.field(0).data_type(), &DataType::Utf8);
}
