//! Bronze: what the sources delivered, as received and append-only,
//! partitioned by the day it arrived. A failed or malformed response is kept
//! with its status, never dropped.
use super::Layer::Bronze;
use super::{Spec, Table, cycle_id, date, float, int, text, ts};

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
                // "" when a malformed line names no channel.
                text("channel", false),
                ts("received_at", false),
                // The line exactly as received: the source of truth that
                // silver and gold are derived (and rebuilt) from.
                text("raw", false),
                // How the line parsed: 'message', 'event' or 'unparsable'.
                text("kind", false),
                // IRC command (PRIVMSG, USERNOTICE, CLEARCHAT, …); null when unparsable.
                text("command", true),
                // Parsed tags worth a column (null where the line has none).
                text("message_id", true),
                text("msg_id", true),
                text("user_id", true),
                text("login", true),
                text("text", true),
                ts("sent_at", true),
                float("sentiment", true),
                // Why an unparsable line could not be read.
                text("error", true),
                // The cycle that flushed the message: makes replays idempotent.
                cycle_id(),
                date("ingest_date"),
            ],
        )
        .partitioned(&["ingest_date"]),
    ]
}
