//! Bronze: what the sources delivered, as received and append-only,
//! partitioned by the day it arrived. A failed or malformed response is kept
//! with its status, never dropped.
use super::Layer::Bronze;
use super::{Spec, Table, cycle_id, date, int, text, ts};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec::new(
            Table::HelixResponses,
            Bronze,
            "helix_responses",
            vec![
                cycle_id(),
                text("endpoint", false),
                text("request_query", true),
                int("page", false),
                int("http_status", true),
                ts("fetched_at", false),
                text("payload", true),
                date("ingest_date"),
            ],
        )
        .partitioned(&["ingest_date"]),
        Spec::new(
            Table::ChatMessages,
            Bronze,
            "chat_messages",
            vec![
                text("channel", false),
                ts("received_at", false),
                text("raw", false),
                // The cycle that flushed the message: makes replays idempotent.
                cycle_id(),
                date("ingest_date"),
            ],
        )
        .partitioned(&["ingest_date"]),
    ]
}
