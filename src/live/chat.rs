//! `live.chat`: per channel, chat messages per minute and sentiment over the
//! last 5 minutes and the last hour before the cycle's time, and the change
//! between the two — from the per-minute chat rows each cycle brings (a
//! minute's row replaces its earlier version: minutes span cycles).
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use chrono::{DateTime, TimeDelta, Utc};

use super::{Result, View};

/// One channel-minute of chat (a row of `silver.chat_minutes`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSample {
    /// Channel login.
    pub channel: String,
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Messages in the minute.
    pub messages: i64,
    /// Their mean sentiment, in [-1, 1].
    pub sentiment_mean: f64,
}

/// The short and the long window.
const SHORT: i64 = 5;
const LONG: i64 = 60;

/// The last hour of chat minutes, by (channel, minute).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChatWindows {
    minutes: BTreeMap<(String, DateTime<Utc>), (i64, f64)>,
}

/// Messages and message-weighted sentiment sum of one window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    messages: i64,
    sentiment_sum: f64,
}

impl Window {
    fn per_minute(self, minutes: i64) -> f64 {
        self.messages as f64 / minutes as f64
    }

    fn sentiment(self) -> Option<f64> {
        (self.messages > 0).then(|| self.sentiment_sum / self.messages as f64)
    }
}

impl ChatWindows {
    /// Takes in the newest versions of some minutes.
    pub(crate) fn apply(&mut self, samples: impl IntoIterator<Item = ChatSample>) {
        for s in samples {
            self.minutes
                .insert((s.channel, s.minute), (s.messages, s.sentiment_mean));
        }
    }

    /// Forgets minutes that left the long window before `now`.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let from = now - TimeDelta::minutes(LONG);
        self.minutes.retain(|(_, m), _| *m > from);
    }

    /// The `live.chat` rows as of `now`: minutes that started within the
    /// last 5 (60) minutes up to `now` make the short (long) window; rates
    /// are messages per minute over the window's whole length.
    pub(crate) fn batch(&self, now: Option<DateTime<Utc>>) -> Result<RecordBatch> {
        let mut rows: BTreeMap<&str, (Window, Window)> = BTreeMap::new();
        if let Some(now) = now {
            let (short, long) = (
                now - TimeDelta::minutes(SHORT),
                now - TimeDelta::minutes(LONG),
            );
            for ((channel, minute), &(messages, mean)) in &self.minutes {
                if *minute <= long || *minute > now {
                    continue;
                }
                let row = rows.entry(channel.as_str()).or_default();
                let add = |w: &mut Window| {
                    w.messages += messages;
                    w.sentiment_sum += mean * messages as f64;
                };
                add(&mut row.1);
                if *minute > short {
                    add(&mut row.0);
                }
            }
        }
        let col = |f: &dyn Fn(&(Window, Window)) -> Option<f64>| -> ArrayRef {
            Arc::new(rows.values().map(f).collect::<Float64Array>())
        };
        let rate = |w: &(Window, Window)| (w.0.per_minute(SHORT), w.1.per_minute(LONG));
        let sent = |w: &(Window, Window)| (w.0.sentiment(), w.1.sentiment());
        let columns: Vec<ArrayRef> = vec![
            Arc::new(arrow::array::StringArray::from_iter_values(rows.keys())),
            col(&|w| Some(rate(w).0)),
            col(&|w| sent(w).0),
            col(&|w| Some(rate(w).1)),
            col(&|w| sent(w).1),
            col(&|w| Some(rate(w).0 - rate(w).1)),
            col(&|w| match sent(w) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            }),
            Arc::new(
                rows.values()
                    .map(|w| Some(w.0.messages))
                    .collect::<arrow::array::Int64Array>(),
            ),
            Arc::new(
                rows.values()
                    .map(|w| Some(w.1.messages))
                    .collect::<arrow::array::Int64Array>(),
            ),
        ];
        Ok(RecordBatch::try_new(View::Chat.schema(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;
    use chrono::TimeZone;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap() + TimeDelta::minutes(minute)
    }

    fn sample(channel: &str, minute: i64, messages: i64, mean: f64) -> ChatSample {
        ChatSample {
            channel: channel.into(),
            minute: at(minute),
            messages,
            sentiment_mean: mean,
        }
    }

    #[test]
    fn windows_give_rates_sentiment_and_change_by_hand() {
        let mut w = ChatWindows::default();
        w.apply([
            sample("a", 0, 60, 0.5),  // in the hour only
            sample("a", 57, 10, 0.1), // in both
            sample("a", 59, 5, -0.2), // replaced below
            sample("b", -30, 9, 0.0), // more than an hour before now: out
        ]);
        w.apply([sample("a", 59, 20, -0.4)]);
        let now = at(59) + TimeDelta::seconds(30);
        w.prune(now);
        let text = pretty_format_batches(&[w.batch(Some(now)).unwrap()])
            .unwrap()
            .to_string();
        // 5 min: 30 messages / 5 = 6 per minute, (10×0.1 + 20×-0.4) / 30 = -0.2333…;
        // hour: 90 / 60 = 1.5 per minute, (60×0.5 + 1 - 8) / 90 = 0.2555…
        let want = [
            "+---------+------------------------+----------------------+------------------------+---------------------+----------------------------+---------------------+-------------+-------------+",
            "| channel | messages_per_minute_5m | sentiment_5m         | messages_per_minute_1h | sentiment_1h        | messages_per_minute_change | sentiment_change    | messages_5m | messages_1h |",
            "+---------+------------------------+----------------------+------------------------+---------------------+----------------------------+---------------------+-------------+-------------+",
            "| a       | 6.0                    | -0.23333333333333334 | 1.5                    | 0.25555555555555554 | 4.5                        | -0.4888888888888889 | 30          | 90          |",
            "+---------+------------------------+----------------------+------------------------+---------------------+----------------------------+---------------------+-------------+-------------+",
        ];
        assert_eq!(text, want.join("\n"));
    }
}
