//! The chat client's counters on `/metrics`: read from the client when
//! scraped (through a probe `app` installs, so this leaf module knows no
//! chat types), registered beside the ingest and query metrics.
use std::fmt;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The chat client's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatCounts {
    /// Lines read from the chat server, every kind.
    pub lines: u64,
    /// Chat messages read.
    pub messages: u64,
    /// Lines that could not be parsed (kept raw in bronze).
    pub unparsable: u64,
    /// Connections opened again after the first.
    pub reconnects: u64,
    /// Lines dropped because the buffer between cycles was full.
    pub dropped: u64,
    /// Channels joined now.
    pub joined: u64,
    /// Connections up now.
    pub connections: u64,
    /// Lines waiting for the next cycle now.
    pub buffered: u64,
    /// Bytes those lines hold.
    pub buffered_bytes: u64,
}

type Probe = Arc<dyn Fn() -> ChatCounts + Send + Sync>;

/// Where `app` installs the probe; empty until chat runs (no chat series).
#[derive(Clone, Default)]
pub(super) struct ChatProbe(Arc<Mutex<Option<Probe>>>);

impl fmt::Debug for ChatProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChatProbe")
    }
}

impl ChatProbe {
    pub(super) fn install(&self, probe: Probe) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(probe);
    }

    fn read(&self) -> Option<ChatCounts> {
        let probe = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        probe.map(|p| p())
    }

    /// Registers every chat series, each read from this probe at scrape time.
    pub(super) fn register(&self, r: &mut Registry) {
        type Field = fn(&ChatCounts) -> u64;
        let series: [(&str, &str, MetricType, Field); 9] = [
            (
                "chat_lines",
                "Chat lines read, every kind",
                MetricType::Counter,
                |c| c.lines,
            ),
            (
                "chat_messages",
                "Chat messages read",
                MetricType::Counter,
                |c| c.messages,
            ),
            (
                "chat_unparsable_lines",
                "Chat lines that could not be parsed (kept raw in bronze)",
                MetricType::Counter,
                |c| c.unparsable,
            ),
            (
                "chat_reconnects",
                "Chat connections opened again after the first",
                MetricType::Counter,
                |c| c.reconnects,
            ),
            (
                "chat_dropped_lines",
                "Chat lines dropped because the buffer between cycles was full",
                MetricType::Counter,
                |c| c.dropped,
            ),
            (
                "chat_joined_channels",
                "Chat channels joined now",
                MetricType::Gauge,
                |c| c.joined,
            ),
            (
                "chat_connections",
                "Chat connections up now",
                MetricType::Gauge,
                |c| c.connections,
            ),
            (
                "chat_buffered_lines",
                "Chat lines waiting for the next cycle",
                MetricType::Gauge,
                |c| c.buffered,
            ),
            (
                "chat_buffered_bytes",
                "Bytes held by the chat lines waiting for the next cycle",
                MetricType::Gauge,
                |c| c.buffered_bytes,
            ),
        ];
        for (name, help, kind, field) in series {
            let probe = self.clone();
            r.register(name, help, ChatSeries { probe, kind, field });
        }
    }
}

/// One chat series, read at scrape time.
#[derive(Debug)]
struct ChatSeries {
    probe: ChatProbe,
    kind: MetricType,
    field: fn(&ChatCounts) -> u64,
}

impl EncodeMetric for ChatSeries {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        let Some(counts) = self.probe.read() else {
            return Ok(());
        };
        let v = (self.field)(&counts);
        match self.kind {
            MetricType::Counter => encoder.encode_counter::<NoLabelSet, _, u64>(&v, None),
            _ => encoder.encode_gauge(&i64::try_from(v).unwrap_or(i64::MAX)),
        }
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }

    fn is_empty(&self) -> bool {
        self.probe.read().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Metrics;
    use super::ChatCounts;

    #[test]
    fn chat_counters_render_once_a_probe_is_installed() {
        let m = Metrics::new("test");
        assert!(!m.render().contains("chat_"), "{}", m.render());
        m.chat_probe(|| ChatCounts {
            messages: 7,
            dropped: 2,
            joined: 3,
            ..Default::default()
        });
        let out = m.render();
        assert!(
            out.contains("twitch_monitor_chat_messages_total 7"),
            "{out}"
        );
        assert!(
            out.contains("twitch_monitor_chat_dropped_lines_total 2"),
            "{out}"
        );
        assert!(
            out.contains("twitch_monitor_chat_joined_channels 3"),
            "{out}"
        );
        // Every chat series the README's metrics table names, with its type.
        let rows = include_str!("../../README.md")
            .lines()
            .filter(|l| l.starts_with("| `twitch_monitor_chat_"));
        let mut documented = 0;
        for row in rows {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (name, kind) = (cells[1].trim_matches('`'), cells[2]);
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(
                out.contains(&format!("# TYPE {family} {kind}\n")),
                "{name}: {out}"
            );
            assert!(
                out.lines().any(|l| l.starts_with(&format!("{name} "))),
                "{name}: {out}"
            );
            documented += 1;
        }
        assert_eq!(documented, 9, "the README's table names every chat series");
    }
}
