//! The chat client's counters: plain atomics shared by the connections and
//! the buffer, read as a [`ChatStatsSnapshot`] (the metrics endpoint and the
//! ingest status read them from there).
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one chat client.
#[derive(Debug, Default)]
pub struct ChatStats {
    /// Lines read from the server, every kind.
    pub lines: AtomicU64,
    /// Chat messages (`PRIVMSG`) read.
    pub messages: AtomicU64,
    /// Lines that could not be parsed (kept raw).
    pub unparsable: AtomicU64,
    /// Connections opened after the first one (after an error, a `RECONNECT`
    /// or a closed connection).
    pub reconnects: AtomicU64,
    /// Channels joined right now, over all connections (a gauge).
    pub joined: AtomicU64,
    /// Connections up right now (a gauge).
    pub connections: AtomicU64,
    /// Lines dropped because the buffer was full.
    pub dropped: AtomicU64,
    /// Lines waiting in the buffer right now (a gauge).
    pub buffered: AtomicU64,
    /// Bytes held by the buffered lines right now (a gauge).
    pub buffered_bytes: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatStatsSnapshot {
    /// See [`ChatStats::lines`].
    pub lines: u64,
    /// See [`ChatStats::messages`].
    pub messages: u64,
    /// See [`ChatStats::unparsable`].
    pub unparsable: u64,
    /// See [`ChatStats::reconnects`].
    pub reconnects: u64,
    /// See [`ChatStats::joined`].
    pub joined: u64,
    /// See [`ChatStats::connections`].
    pub connections: u64,
    /// See [`ChatStats::dropped`].
    pub dropped: u64,
    /// See [`ChatStats::buffered`].
    pub buffered: u64,
    /// See [`ChatStats::buffered_bytes`].
    pub buffered_bytes: u64,
}

impl ChatStats {
    /// Reads every counter (each atomically; not one consistent cut).
    pub fn snapshot(&self) -> ChatStatsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChatStatsSnapshot {
            lines: r(&self.lines),
            messages: r(&self.messages),
            unparsable: r(&self.unparsable),
            reconnects: r(&self.reconnects),
            joined: r(&self.joined),
            connections: r(&self.connections),
            dropped: r(&self.dropped),
            buffered: r(&self.buffered),
            buffered_bytes: r(&self.buffered_bytes),
        }
    }

    pub(super) fn add(a: &AtomicU64, n: u64) {
        a.fetch_add(n, Ordering::Relaxed);
    }

    /// Lowers a gauge, never below zero.
    pub(super) fn sub(a: &AtomicU64, n: u64) {
        let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(n))
        });
    }
}
