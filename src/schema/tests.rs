//! The contract's own consistency, and `docs/data-contract.md`'s columns all present.
use super::*;

#[test]
fn defs_are_indexed_by_table_and_consistent() {
    for t in Table::ALL {
        let d = t.def();
        assert_eq!(d.table, t, "DEFS order must follow the enum");
        assert_eq!(d.qualified, format!("{}.{}", d.layer, d.name));
        assert_eq!(Table::from_name(&d.qualified), Some(t));
        for p in d.partition_columns {
            assert!(d.schema.field_with_name(p).is_ok(), "{t}: partition {p}");
        }
        for f in d.schema.fields() {
            assert!(
                !matches!(
                    f.data_type(),
                    DataType::Utf8View | DataType::LargeUtf8 | DataType::BinaryView
                ),
                "{t}.{}: view or large types are not in the contract",
                f.name()
            );
            if let DataType::Timestamp(unit, tz) = f.data_type() {
                assert_eq!((unit, tz.as_deref()), (&TimeUnit::Microsecond, Some("UTC")));
            }
        }
    }
}

#[test]
fn contract_columns_are_present() {
    // The columns docs/data-contract.md promises; the lists are copied from it on purpose.
    let contract: &[(Table, &str)] = &[
        (
            Table::HelixResponses,
            "cycle_id endpoint request_query page http_status fetched_at payload ingest_date",
        ),
        (Table::ChatMessages, "channel received_at raw ingest_date"),
        (
            Table::Streamers,
            "user_id login display_name broadcaster_type user_type description \
             profile_image_url created_at valid_from valid_to is_current",
        ),
        (
            Table::StreamSnapshots,
            "observed_at cycle_id stream_id user_id user_login game_id game_name title \
             language tags viewer_count started_at observed_date",
        ),
        (
            Table::FollowerSnapshots,
            "observed_at user_id followers_total followers_delta observed_date",
        ),
        (
            Table::StreamSessions,
            "session_id user_id user_login started_at ended_at duration_minutes avg_viewers \
             peak_viewers hours_watched snapshots games",
        ),
        (Table::Games, "game_id name box_art_url igdb_id"),
        (
            Table::ChatMinutes,
            "channel minute messages unique_chatters sentiment_mean positive negative top_emotes",
        ),
        (
            Table::StreamerDaily,
            "day user_id login minutes_streamed avg_viewers peak_viewers hours_watched \
             sessions followers_start followers_end followers_gained main_game language",
        ),
        (
            Table::CategoryDaily,
            "day game_id game_name channels hours_watched avg_viewers peak_viewers \
             viewers_per_channel",
        ),
        (
            Table::LeaderboardDaily,
            "period_start metric rank user_id login value",
        ),
        (
            Table::LeaderboardWeekly,
            "period_start metric rank user_id login value",
        ),
        (
            Table::RisingStars,
            "day user_id login account_age_days followers_gained_7d follower_growth_pct_7d \
             avg_viewers_7d viewer_growth_pct_7d score rank",
        ),
        (
            Table::HourlyViewership,
            "hour game_id game_name streams viewers",
        ),
        (
            Table::ChatDaily,
            "day channel messages chatters sentiment_mean top_emotes",
        ),
        (
            Table::Alerts,
            "alert_id rule kind user_id login fired_at details status attempts delivered_at",
        ),
        (Table::Exports, "day target sent_at status"),
    ];
    for (t, cols) in contract {
        for c in cols.split_whitespace() {
            assert!(t.schema().field_with_name(c).is_ok(), "{t} lacks {c}");
        }
    }
    assert_eq!(contract.len(), Table::ALL.len());
}

#[test]
fn day_partitions() {
    assert_eq!(Table::StreamerDaily.def().day_partition(), Some("day"));
    assert_eq!(
        Table::LeaderboardWeekly.def().day_partition(),
        Some("period_start")
    );
    assert_eq!(Table::StreamSessions.def().day_partition(), None);
    assert!(Table::HelixResponses.def().append_only);
    assert!(!Table::Streamers.def().append_only);
}

#[test]
fn origins_follow_layers_except_the_state_tables() {
    let state: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| t.origin() == Origin::State)
        .collect();
    assert_eq!(state, [Table::Alerts, Table::Exports]);
    for t in Table::ALL {
        let source = t.layer() == Layer::Bronze;
        assert_eq!(t.origin() == Origin::Source, source, "{t}");
        assert_eq!(t.def().append_only, source, "{t}");
    }
}

#[test]
fn layer_names_and_views() {
    let names: Vec<&str> = Layer::ALL.iter().map(|l| l.as_str()).collect();
    assert_eq!(names, ["bronze", "silver", "gold", "live"]);
    assert!(Table::ALL.iter().all(|t| t.layer() != Layer::Live));
    for v in View::ALL {
        assert_eq!(View::from_name(v.name()), Some(v));
        assert_eq!(v.to_string(), format!("live.{}", v.name()));
        for f in v.schema().fields() {
            if let DataType::Timestamp(unit, tz) = f.data_type() {
                assert_eq!((unit, tz.as_deref()), (&TimeUnit::Microsecond, Some("UTC")));
            }
        }
    }
}
