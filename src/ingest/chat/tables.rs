//! Chat rows as Arrow batches of the contract schemas: `bronze.chat_messages`,
//! `silver.chat_minutes` and `gold.chat_daily`.
use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use super::super::rows::{
    build, date32, dates, day_number, f64s, i64s, string_lists, ts, utf8, utf8_opt,
};
use crate::chat::{ChatEvent, ChatLine, ChatMessage, ChatMinute, LineKind};

/// `kind` of a bronze chat line.
pub fn kind(line: &ChatLine) -> &'static str {
    match line.kind {
        LineKind::Message(_) => "message",
        LineKind::Event(_) => "event",
        LineKind::Unparsable(_) => "unparsable",
    }
}

fn msg(l: &ChatLine) -> Option<&ChatMessage> {
    l.message()
}

fn event(l: &ChatLine) -> Option<&ChatEvent> {
    match &l.kind {
        LineKind::Event(e) => Some(e),
        _ => None,
    }
}

/// `bronze.chat_messages` rows of one cycle: every line, raw, with what
/// parsing it found.
pub fn bronze(
    schema: &SchemaRef,
    cycle_id: i64,
    ls: &[ChatLine],
) -> Result<RecordBatch, ArrowError> {
    build(schema, ls.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "channel" => utf8(ls.iter().map(|l| l.channel.as_deref().unwrap_or(""))),
            "received_at" => ts(ls.iter().map(|l| Some(l.received_at))),
            "raw" => utf8(ls.iter().map(|l| l.raw.as_str())),
            "kind" => utf8(ls.iter().map(kind)),
            "command" => utf8_opt(ls.iter().map(|l| match &l.kind {
                LineKind::Message(_) => Some("PRIVMSG"),
                LineKind::Event(e) => Some(e.command.as_str()),
                LineKind::Unparsable(_) => None,
            })),
            "message_id" => utf8_opt(ls.iter().map(|l| msg(l).map(|m| m.id.as_str()))),
            "msg_id" => utf8_opt(
                ls.iter()
                    .map(|l| event(l).and_then(|e| e.msg_id.as_deref())),
            ),
            "user_id" => utf8_opt(ls.iter().map(|l| msg(l).map(|m| m.user_id.as_str()))),
            "login" => utf8_opt(ls.iter().map(|l| msg(l).map(|m| m.login.as_str()))),
            "text" => utf8_opt(ls.iter().map(|l| match &l.kind {
                LineKind::Message(m) => Some(m.text.as_str()),
                LineKind::Event(e) => e.text.as_deref(),
                LineKind::Unparsable(_) => None,
            })),
            "sent_at" => ts(ls.iter().map(|l| msg(l).map(|m| m.sent_at))),
            "sentiment" => f64s(ls.iter().map(|l| msg(l).map(|m| m.sentiment))),
            "error" => utf8_opt(ls.iter().map(|l| match &l.kind {
                LineKind::Unparsable(e) => Some(e.as_str()),
                _ => None,
            })),
            "cycle_id" => i64s(ls.iter().map(|_| Some(cycle_id))),
            "ingest_date" => dates(ls.iter().map(|l| date32(l.received_at))),
            _ => return None,
        })
    })
}

/// `silver.chat_minutes` rows of one day (the minute rows it holds so far).
pub fn minutes(
    schema: &SchemaRef,
    cycle_id: i64,
    day: NaiveDate,
    rs: &[ChatMinute],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "channel" => utf8(rs.iter().map(|r| r.channel.as_str())),
            "minute" => ts(rs.iter().map(|r| Some(r.minute))),
            "messages" => i64s(rs.iter().map(|r| Some(r.messages as i64))),
            "unique_chatters" => i64s(rs.iter().map(|r| Some(r.unique_chatters as i64))),
            "sentiment_mean" => f64s(rs.iter().map(|r| Some(r.sentiment_mean))),
            "positive" => i64s(rs.iter().map(|r| Some(r.positive as i64))),
            "negative" => i64s(rs.iter().map(|r| Some(r.negative as i64))),
            "top_emotes" => string_lists(rs.iter().map(|r| r.top_emotes.iter())),
            "cycle_id" => i64s(rs.iter().map(|_| Some(cycle_id))),
            "day" => dates(rs.iter().map(|_| day_number(day))),
            _ => return None,
        })
    })
}

/// `gold.chat_daily` rows of one day (day buckets of the chat fold).
pub fn daily(
    schema: &SchemaRef,
    day: NaiveDate,
    rs: &[ChatMinute],
) -> Result<RecordBatch, ArrowError> {
    build(schema, rs.len(), |c| -> Option<ArrayRef> {
        Some(match c {
            "day" => dates(rs.iter().map(|_| day_number(day))),
            "channel" => utf8(rs.iter().map(|r| r.channel.as_str())),
            "messages" => i64s(rs.iter().map(|r| Some(r.messages as i64))),
            "chatters" => i64s(rs.iter().map(|r| Some(r.unique_chatters as i64))),
            "sentiment_mean" => f64s(rs.iter().map(|r| Some(r.sentiment_mean))),
            "positive" => i64s(rs.iter().map(|r| Some(r.positive as i64))),
            "negative" => i64s(rs.iter().map(|r| Some(r.negative as i64))),
            "top_emotes" => string_lists(rs.iter().map(|r| r.top_emotes.iter())),
            _ => return None,
        })
    })
}
