//! A contract column added after a table was created (`language` of
//! `gold.streamer_daily`, for the dashboard): opening the lake adds it to the
//! existing table, old rows read it as null, the protocol stays 1/2.
use std::collections::HashMap;

use arrow::datatypes::Schema;
use deltalake::DeltaTableBuilder;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

#[tokio::test]
async fn open_adds_new_nullable_contract_columns_to_old_tables() {
    let dir = tempfile::tempdir().unwrap();
    let t = Table::StreamerDaily;
    let path = dir.path().join("gold").join("streamer_daily");
    std::fs::create_dir_all(&path).unwrap();
    // The table as an older release created it: no `language` column.
    let old: Vec<_> = t
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != "language")
        .map(|f| f.as_ref().clone())
        .collect();
    let old: StructType = (&Schema::new(old)).try_into_kernel().unwrap();
    let url = url::Url::from_directory_path(&path).unwrap();
    DeltaTableBuilder::from_url(url)
        .unwrap()
        .build()
        .unwrap()
        .create()
        .with_columns(old.fields().cloned())
        .with_partition_columns(["day"])
        .await
        .unwrap();

    for _ in 0..2 {
        let lake = Lake::open(dir.path().to_str().unwrap(), HashMap::new())
            .await
            .unwrap();
        let delta = lake.delta_table(t);
        // Added once: the second open finds nothing to add.
        assert_eq!(delta.version(), Some(1));
        let state = delta.snapshot().unwrap();
        let field = state.snapshot().arrow_schema();
        let field = field.field_with_name("language").unwrap();
        assert!(field.is_nullable());
        let protocol = state.protocol();
        assert_eq!(
            (protocol.min_reader_version(), protocol.min_writer_version()),
            (1, 2)
        );
    }
}
