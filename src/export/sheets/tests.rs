use std::io::Cursor;

use serde_json::{Value, json};

use super::{SUMMARY_HEADER, ServiceAccount, sheet_rows};
use crate::export::Scope;
use crate::schema::Table;

/// `gold.streamer_daily` rows from JSON lines, through Arrow's reader.
fn daily(lines: &str) -> Vec<arrow::array::RecordBatch> {
    arrow::json::ReaderBuilder::new(Table::StreamerDaily.schema())
        .build(Cursor::new(lines.as_bytes()))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn key_files_that_cannot_work_are_refused_without_echoing_the_key() {
    let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ";
    let refused = |text: String, says: &str| {
        let e = ServiceAccount::from_json(&text).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
        assert!(!e.contains(secret), "{e}");
    };
    refused(
        format!("{{\"private_key\": \"{secret}"),
        "not a service account key file",
    );
    refused(
        json!({"type": "authorized_user", "client_email": "a@b", "private_key": secret})
            .to_string(),
        "service_account",
    );
    refused(
        json!({"type": "service_account", "client_email": "a@b", "private_key": secret})
            .to_string(),
        "not an RSA private key in PEM",
    );
}

#[test]
fn rows_follow_the_schema_and_the_watched_scope() {
    let batches = daily(concat!(
        r#"{"day":"2026-03-01","user_id":"1","login":"alice","minutes_streamed":60,"avg_viewers":10.5,"peak_viewers":12,"hours_watched":10.5,"sessions":1,"main_game":"Chess","language":"en"}"#,
        "\n",
        r#"{"day":"2026-03-01","user_id":"2","login":"bob","minutes_streamed":30,"avg_viewers":null,"peak_viewers":3,"hours_watched":1.0,"sessions":1,"main_game":"Art","language":"de"}"#,
        "\n",
    ));
    let (header, rows) = sheet_rows(&batches, &Scope::default()).unwrap();
    assert_eq!(header.len(), Table::StreamerDaily.schema().fields().len());
    assert_eq!(rows.len(), 2);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][at("day")], "2026-03-01");
    assert_eq!(rows[0][at("hours_watched")], json!(10.5));
    assert_eq!(rows[0][at("peak_viewers")], json!(12));
    // A null is an empty cell, not the text "null".
    assert_eq!(rows[1][at("avg_viewers")], "");

    let german = Scope {
        languages: ["de".to_owned()].into(),
        ..Scope::default()
    };
    let (_, rows) = sheet_rows(&batches, &german).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][at("login")], Value::from("bob"));
}

#[test]
fn the_summary_header_names_every_summary_cell() {
    assert_eq!(SUMMARY_HEADER[0], "day");
    let summary = crate::export::summarize(
        &crate::export::DayGold {
            day: "2026-03-01".parse().unwrap(),
            ..Default::default()
        },
        &Scope::default(),
        crate::export::Sizes::default(),
        std::time::Duration::from_secs(60),
    );
    let row = super::summary_row(&summary);
    assert_eq!(row.len(), SUMMARY_HEADER.len());
    assert_eq!(row[0], "2026-03-01");
}
