//! The chat client's counters on `/metrics`: read from the client when
//! scraped (through a probe `app` installs, so this leaf module knows no
//! chat types), rendered beside the ingest and query metrics.
use std::fmt;
use std::sync::Arc;

use super::{header, sample};

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

/// Reads the chat counters when `/metrics` is scraped.
#[derive(Clone)]
pub(super) struct ChatProbe(pub(super) Arc<dyn Fn() -> ChatCounts + Send + Sync>);

impl fmt::Debug for ChatProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChatProbe")
    }
}

impl ChatProbe {
    pub(super) fn render(&self, out: &mut String, prefix: &str) {
        let c = (self.0)();
        for (name, kind, help, value) in [
            (
                "chat_lines_total",
                "counter",
                "Chat lines read, every kind.",
                c.lines,
            ),
            (
                "chat_messages_total",
                "counter",
                "Chat messages read.",
                c.messages,
            ),
            (
                "chat_unparsable_lines_total",
                "counter",
                "Chat lines that could not be parsed (kept raw in bronze).",
                c.unparsable,
            ),
            (
                "chat_reconnects_total",
                "counter",
                "Chat connections opened again after the first.",
                c.reconnects,
            ),
            (
                "chat_dropped_lines_total",
                "counter",
                "Chat lines dropped because the buffer between cycles was full.",
                c.dropped,
            ),
            (
                "chat_joined_channels",
                "gauge",
                "Chat channels joined now.",
                c.joined,
            ),
            (
                "chat_connections",
                "gauge",
                "Chat connections up now.",
                c.connections,
            ),
            (
                "chat_buffered_lines",
                "gauge",
                "Chat lines waiting for the next cycle.",
                c.buffered,
            ),
            (
                "chat_buffered_bytes",
                "gauge",
                "Bytes held by the chat lines waiting for the next cycle.",
                c.buffered_bytes,
            ),
        ] {
            let name = format!("{prefix}_{name}");
            header(out, &name, kind, help);
            sample(out, &name, &[], &value.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Metrics;
    use super::ChatCounts;

    #[test]
    fn chat_counters_render_once_a_probe_is_installed() {
        let m = Metrics::new("test");
        assert!(!m.render().contains("chat_"));
        m.chat_probe(|| ChatCounts {
            messages: 7,
            dropped: 2,
            joined: 3,
            ..Default::default()
        });
        let out = m.render();
        for want in [
            "# TYPE twitch_monitor_chat_messages_total counter\ntwitch_monitor_chat_messages_total 7\n",
            "# TYPE twitch_monitor_chat_joined_channels gauge\ntwitch_monitor_chat_joined_channels 3\n",
            "twitch_monitor_chat_dropped_lines_total 2\n",
            "twitch_monitor_chat_unparsable_lines_total 0\n",
        ] {
            assert!(out.contains(want), "{want:?} missing from\n{out}");
        }
    }
}
