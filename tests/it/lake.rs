//! The Delta lake: contract tables, exactly-once writes, SCD2, other engines
//! reading our tables, S3 (moto) with concurrent writers; maintenance in `files`.
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, StringViewArray, TimestampMicrosecondArray};
use twitch_monitor::lake::{CommitOutcome, Lake, in_list};
use twitch_monitor::schema::{Layer, Table};

pub(crate) mod data;
mod evolve;
mod files;
mod footers;
pub(crate) mod moto;
mod reads;
mod s3;
mod today;

use data::{count, day, retyped, rows, strings, with_column};

async fn temp_lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    (dir, lake)
}

fn committed(o: &CommitOutcome) -> bool {
    o.is_committed()
}

#[tokio::test]
async fn open_creates_every_contract_table_and_is_idempotent() {
    let (dir, lake) = temp_lake().await;
    for table in Table::ALL {
        let def = table.def();
        let delta = lake.delta_table(table);
        assert_eq!(delta.version(), Some(0), "{table}");
        let state = delta.snapshot().unwrap();
        let schema = state.snapshot().arrow_schema();
        for f in def.schema.fields() {
            let got = schema.field_with_name(f.name()).unwrap();
            assert_eq!(got.data_type(), f.data_type(), "{table}.{}", f.name());
        }
        let parts: Vec<&str> = state
            .metadata()
            .partition_columns()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(parts, def.partition_columns, "{table}");
        let protocol = state.protocol();
        assert_eq!(
            (protocol.min_reader_version(), protocol.min_writer_version()),
            (1, 2),
            "{table}"
        );
        assert!(protocol.reader_features().is_none(), "{table}");
        assert!(protocol.writer_features().is_none(), "{table}");
        let append_only = state.metadata().configuration().get("delta.appendOnly");
        assert_eq!(
            append_only.map(String::as_str),
            (def.layer == Layer::Bronze).then_some("true"),
            "{table}"
        );
        // What SQL sees is the contract: no view types, no dictionary partitions.
        let provided = lake.table_provider(table).await.unwrap().schema();
        for (got, want) in provided.fields().iter().zip(def.schema.fields()) {
            assert_eq!(
                (got.name(), got.data_type()),
                (want.name(), want.data_type()),
                "{table}"
            );
        }
        let dir_of = dir.path().join(def.layer.as_str()).join(def.name);
        assert!(dir_of.join("_delta_log").is_dir(), "{table}");
    }
    // Opening again creates nothing new.
    let again = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    for table in Table::ALL {
        assert_eq!(again.version(table), Some(0), "{table}");
    }
    assert_eq!(lake.max_committed_cycle().await.unwrap(), None);
}

#[tokio::test]
async fn appends_are_exactly_once_per_cycle() {
    let (dir, lake) = temp_lake().await;
    let t = Table::HelixResponses;
    let d = day("2026-01-05");
    let first = lake.append(t, vec![rows(t, 3, 1, d)], 1).await.unwrap();
    assert_eq!(
        first,
        CommitOutcome::Committed {
            version: 1,
            rows: 3
        }
    );
    assert!(committed(
        &lake.append(t, vec![rows(t, 2, 2, d)], 2).await.unwrap()
    ));
    // Replays of cycles 1 and 2 write nothing.
    let replay = lake.append(t, vec![rows(t, 2, 2, d)], 2).await.unwrap();
    assert_eq!(replay, CommitOutcome::Skipped { last_cycle: 2 });
    let older = lake.append(t, vec![rows(t, 3, 1, d)], 1).await.unwrap();
    assert_eq!(older, CommitOutcome::Skipped { last_cycle: 2 });
    assert_eq!(lake.count(t, None).await.unwrap(), 5);
    assert_eq!(lake.count(t, Some("cycle_id = 2")).await.unwrap(), 2);

    // A restarted process (a fresh handle) sees the same and skips too.
    let restarted = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    assert_eq!(restarted.last_cycle(t, None).await.unwrap(), Some(2));
    assert_eq!(restarted.max_committed_cycle().await.unwrap(), Some(2));
    let replay = restarted
        .append(t, vec![rows(t, 2, 2, d)], 2)
        .await
        .unwrap();
    assert_eq!(replay, CommitOutcome::Skipped { last_cycle: 2 });
    // Suffixed app ids are independent of the base one.
    assert_eq!(restarted.last_cycle(t, Some("x")).await.unwrap(), None);
    assert!(committed(
        &restarted
            .append_as(t, vec![rows(t, 1, 2, d)], 2, Some("x"))
            .await
            .unwrap()
    ));
    assert_eq!(restarted.last_cycle(t, Some("x")).await.unwrap(), Some(2));
    // The first handle follows the other's commits after a refresh.
    assert_eq!(lake.count(t, None).await.unwrap(), 5);
    lake.refresh(t).await.unwrap();
    assert_eq!(lake.count(t, None).await.unwrap(), 6);
    // Read back equals what was written, in the contract types.
    let all = lake.read_all(t).await.unwrap();
    assert_eq!(all[0].schema().fields(), t.schema().fields());
}

#[tokio::test]
async fn replace_swaps_a_partition_exactly_once() {
    let (_dir, lake) = temp_lake().await;
    let t = Table::StreamerDaily;
    let (d1, d2) = (day("2026-01-05"), day("2026-01-06"));
    let pred = in_list("day", [d1, d2]);
    let out = lake
        .replace(
            t,
            &pred,
            vec![rows(t, 3, 1, d1), rows(t, 2, 1, d2)],
            1,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        CommitOutcome::Committed {
            version: 1,
            rows: 5
        }
    );
    let out = lake
        .replace(t, &in_list("day", [d1]), vec![rows(t, 1, 2, d1)], 2, None)
        .await
        .unwrap();
    assert!(committed(&out));
    assert_eq!(lake.count(t, Some("day = '2026-01-05'")).await.unwrap(), 1);
    assert_eq!(lake.count(t, Some("day = '2026-01-06'")).await.unwrap(), 2);
    // Replay: nothing changes.
    let replay = lake
        .replace(t, &in_list("day", [d1]), vec![rows(t, 4, 2, d1)], 2, None)
        .await
        .unwrap();
    assert_eq!(replay, CommitOutcome::Skipped { last_cycle: 2 });
    assert_eq!(lake.count(t, None).await.unwrap(), 3);
    // Rows outside the predicate are refused, and the table is untouched.
    let err = lake
        .replace(t, &in_list("day", [d1]), vec![rows(t, 1, 3, d2)], 3, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gold.streamer_daily"), "{err}");
    assert_eq!(lake.count(t, None).await.unwrap(), 3);
    // An empty replacement empties the partition.
    let out = lake
        .replace(t, &in_list("day", [d2]), vec![], 4, None)
        .await
        .unwrap();
    assert!(committed(&out), "{out:?}");
    assert_eq!(lake.count(t, None).await.unwrap(), 1);
    // A whole small table can be replaced each cycle (predicate `true`).
    let g = Table::Games;
    for cycle in 1..=2 {
        let out = lake
            .replace(
                g,
                "true",
                vec![rows(g, 2 + cycle as usize, cycle, d1)],
                cycle,
                None,
            )
            .await
            .unwrap();
        assert!(committed(&out));
    }
    assert_eq!(lake.count(g, None).await.unwrap(), 4);
    // Bronze is append-only.
    assert!(
        lake.replace(Table::HelixResponses, "true", vec![], 5, None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sessions_replace_live_and_append_ended_under_two_app_ids() {
    let (_dir, lake) = temp_lake().await;
    let t = Table::StreamSessions;
    let d = day("2026-01-05");
    let live = |cycle, n| rows(t, n, cycle, d);
    let ended = |cycle, n| {
        let b = rows(t, n, cycle, d);
        with_column(&b, "status", Arc::new(StringArray::from(vec!["ended"; n])))
    };
    for cycle in 1..=3 {
        let out = lake
            .replace(t, "status = 'live'", vec![live(cycle, 2)], cycle, None)
            .await
            .unwrap();
        assert!(committed(&out));
        let out = lake
            .append_as(t, vec![ended(cycle, 1)], cycle, Some("ended"))
            .await
            .unwrap();
        assert!(committed(&out));
    }
    // A crash after the live replace of cycle 3: the replay skips both.
    assert!(!committed(
        &lake
            .replace(t, "status = 'live'", vec![live(3, 5)], 3, None)
            .await
            .unwrap()
    ));
    assert!(!committed(
        &lake
            .append_as(t, vec![ended(3, 5)], 3, Some("ended"))
            .await
            .unwrap()
    ));
    assert_eq!(lake.count(t, Some("status = 'live'")).await.unwrap(), 2);
    assert_eq!(lake.count(t, Some("status = 'ended'")).await.unwrap(), 3);
    assert_eq!(lake.last_cycle(t, Some("ended")).await.unwrap(), Some(3));
}

#[tokio::test]
async fn scd2_closes_changed_versions_and_inserts_new_ones() {
    let (_dir, lake) = temp_lake().await;
    let t = Table::Streamers;
    let d = day("2026-01-05");
    // Profiles whose only varying column is the description; each cycle
    // observes them one minute later (valid_from) than the one before.
    let users = |cycle: i64, ids: &[&str], descriptions: &[&str]| {
        let n = ids.len();
        let b = rows(t, n, 1, d);
        let from = d
            .and_hms_opt(12, cycle as u32, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let from = TimestampMicrosecondArray::from(vec![from; n]).with_timezone("UTC");
        let b = with_column(&b, "valid_from", Arc::new(from));
        let b = with_column(&b, "cycle_id", Arc::new(Int64Array::from(vec![cycle; n])));
        let b = with_column(&b, "user_id", Arc::new(StringArray::from(ids.to_vec())));
        let b = with_column(&b, "login", Arc::new(StringArray::from(ids.to_vec())));
        with_column(
            &b,
            "description",
            Arc::new(StringArray::from(descriptions.to_vec())),
        )
    };
    let out = lake
        .upsert_scd2(t, vec![users(1, &["a", "b"], &["x", "y"])], 1)
        .await
        .unwrap();
    assert_eq!(
        out,
        CommitOutcome::Committed {
            version: 1,
            rows: 2
        }
    );
    // b changes, a does not, c is new.
    let out = lake
        .upsert_scd2(t, vec![users(2, &["a", "b", "c"], &["x", "y2", "z"])], 2)
        .await
        .unwrap();
    assert_eq!(
        out,
        CommitOutcome::Committed {
            version: 2,
            rows: 2
        }
    );
    let all = lake.read_all(t).await.unwrap();
    assert_eq!(count(&all), 4);
    let current = lake.scan(t, Some("is_current")).await.unwrap();
    assert_eq!(strings(&current, "description"), ["x", "y2", "z"]);
    let closed = lake.scan(t, Some("NOT is_current")).await.unwrap();
    assert_eq!(strings(&closed, "description"), ["y"]);
    // The closed row ends where its successor begins.
    let ends = lake
        .session()
        .await
        .unwrap()
        .sql(
            "SELECT count(*) AS n FROM silver.streamers o JOIN silver.streamers n \
             ON o.user_id = n.user_id AND o.valid_to = n.valid_from WHERE n.is_current",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(strings(&ends, "n"), ["1"]);
    // Same data again: nothing to commit. Replay of cycle 2: skipped.
    let same = lake
        .upsert_scd2(t, vec![users(3, &["a", "b", "c"], &["x", "y2", "z"])], 3)
        .await
        .unwrap();
    assert_eq!(same, CommitOutcome::Unchanged);
    let replay = lake
        .upsert_scd2(t, vec![users(2, &["b"], &["y3"])], 2)
        .await
        .unwrap();
    assert_eq!(replay, CommitOutcome::Skipped { last_cycle: 2 });
    assert_eq!(lake.count(t, None).await.unwrap(), 4);
    // Only a new key (appended, nothing to close): the others stay as they
    // were, and a replay of the cycle is skipped.
    for _ in 0..2 {
        lake.upsert_scd2(t, vec![users(4, &["d"], &["w"])], 4)
            .await
            .unwrap();
    }
    let current = lake.scan(t, Some("is_current")).await.unwrap();
    let mut current = strings(&current, "description");
    current.sort();
    assert_eq!(current, ["w", "x", "y2", "z"]);
    assert_eq!(lake.count(t, None).await.unwrap(), 5);
    assert!(lake.upsert_scd2(Table::Games, vec![], 9).await.is_err());
}

#[tokio::test]
async fn batches_are_conformed_to_the_contract_or_refused() {
    let (_dir, lake) = temp_lake().await;
    let t = Table::Games;
    let d = day("2026-01-05");
    let b = rows(t, 2, 1, d);
    // Utf8View, as DataFusion queries produce, is cast to the contract's Utf8.
    let view: ArrayRef = Arc::new(StringViewArray::from(vec!["g1", "g2"]));
    let b2 = retyped(&b, "game_id", view);
    assert!(committed(&lake.append(t, vec![b2], 1).await.unwrap()));
    assert_eq!(
        strings(&lake.read_all(t).await.unwrap(), "game_id"),
        ["g1", "g2"]
    );
    // Nulls in a required column are refused before anything is written.
    let nulls = retyped(
        &b,
        "name",
        Arc::new(StringArray::from(vec![None::<&str>, None])),
    );
    let err = lake.append(t, vec![nulls], 2).await.unwrap_err();
    assert!(err.to_string().contains("silver.games"), "{err}");
    assert_eq!(lake.last_cycle(t, None).await.unwrap(), Some(1));
    // A timestamp column with another time zone is converted, not refused.
    let snaps = Table::FollowerSnapshots;
    let b = rows(snaps, 1, 1, d);
    let ts = TimestampMicrosecondArray::from(vec![1_767_614_400_000_000]).with_timezone("+01:00");
    let b = retyped(&b, "observed_at", Arc::new(ts));
    assert!(committed(&lake.append(snaps, vec![b], 1).await.unwrap()));
}

#[tokio::test]
async fn other_engines_read_every_table() {
    let (dir, lake) = temp_lake().await;
    let d = day("2026-01-05");
    for (i, table) in Table::ALL.into_iter().enumerate() {
        let n = i + 1;
        lake.append(table, vec![rows(table, n, 1, d)], 1)
            .await
            .unwrap();
        lake.append(table, vec![rows(table, 1, 2, day("2026-01-06"))], 2)
            .await
            .unwrap();
    }
    let out = std::process::Command::new(crate::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/read_tables.py"
        ))
        .arg(dir.path())
        .output()
        .expect("run tests/py/read_tables.py (scripts/venv installs its packages)");
    assert!(
        out.status.success(),
        "read_tables.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, table) in Table::ALL.into_iter().enumerate() {
        let expect = lake.count(table, None).await.unwrap();
        assert_eq!(expect, i as u64 + 2, "{table}");
        let t = &seen[table.qualified_name()];
        assert_eq!(t["duckdb"], expect, "{table} via duckdb: {t}");
        assert_eq!(t["polars"], expect, "{table} via polars: {t}");
        assert_eq!(t["deltalake"], expect, "{table} via deltalake: {t}");
        assert_eq!(t["protocol"], serde_json::json!([1, 2]), "{table}");
        let columns: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let contract: Vec<String> = table
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(columns, contract, "{table}");
    }
    assert_eq!(
        seen["bronze.chat_messages"]["configuration"]["delta.appendOnly"],
        "true"
    );
}
