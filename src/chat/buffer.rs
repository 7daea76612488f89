//! The bounded buffer between the connections and the ingest cycle: lines
//! wait here until a cycle drains them; past the byte bound new lines are
//! dropped and counted, so a stalled cycle costs data, never the process.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::line::ChatLine;
use super::stats::ChatStats;

/// Lines received and not yet drained, bounded by bytes.
#[derive(Debug)]
pub struct ChatBuffer {
    // A std mutex: pushes and drains are short, never await, and a drain
    // swaps the whole queue out instead of copying it.
    inner: Mutex<Inner>,
    max_bytes: usize,
    stats: Arc<ChatStats>,
}

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<ChatLine>,
    bytes: usize,
}

impl ChatBuffer {
    /// A buffer holding at most `max_bytes` of lines (by [`ChatLine::approx_bytes`]).
    pub fn new(max_bytes: usize, stats: Arc<ChatStats>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_bytes,
            stats,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a line; `false` (and counted as dropped) when it does not fit.
    pub fn push(&self, line: ChatLine) -> bool {
        let size = line.approx_bytes();
        let mut inner = self.lock();
        if inner.bytes + size > self.max_bytes {
            drop(inner);
            ChatStats::add(&self.stats.dropped, 1);
            return false;
        }
        inner.bytes += size;
        inner.lines.push_back(line);
        self.publish(&inner);
        true
    }

    /// Takes every buffered line, oldest first.
    pub fn drain(&self) -> Vec<ChatLine> {
        let mut inner = self.lock();
        let lines = std::mem::take(&mut inner.lines);
        inner.bytes = 0;
        self.publish(&inner);
        drop(inner);
        lines.into()
    }

    /// Puts drained lines back in front of newer ones. They were accepted
    /// once, so they are never dropped for the bound (which newer lines then
    /// feel instead).
    pub fn restore(&self, lines: Vec<ChatLine>) {
        if lines.is_empty() {
            return;
        }
        let size: usize = lines.iter().map(ChatLine::approx_bytes).sum();
        let mut inner = self.lock();
        inner.bytes += size;
        let newer = std::mem::take(&mut inner.lines);
        inner.lines = lines.into();
        inner.lines.extend(newer);
        self.publish(&inner);
    }

    /// Lines buffered now.
    pub fn len(&self) -> usize {
        self.lock().lines.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn publish(&self, inner: &Inner) {
        use std::sync::atomic::Ordering::Relaxed;
        self.stats.buffered.store(inner.lines.len() as u64, Relaxed);
        self.stats.buffered_bytes.store(inner.bytes as u64, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::chat::line::LineKind;

    fn line(i: usize) -> ChatLine {
        ChatLine {
            received_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap(),
            channel: Some("c".into()),
            raw: format!("line {i:04}"),
            kind: LineKind::Unparsable("test".into()),
        }
    }

    #[test]
    fn bounded_by_bytes_drops_and_counts_the_overflow() {
        let stats = Arc::new(ChatStats::default());
        let size = line(0).approx_bytes();
        let buf = ChatBuffer::new(size * 3, stats.clone());
        for i in 0..5 {
            buf.push(line(i));
        }
        let s = stats.snapshot();
        assert_eq!((s.buffered, s.dropped), (3, 2));
        assert_eq!(s.buffered_bytes, (size * 3) as u64);
        let got: Vec<String> = buf.drain().into_iter().map(|l| l.raw).collect();
        assert_eq!(got, ["line 0000", "line 0001", "line 0002"]);
        assert!(buf.is_empty());
        assert_eq!(stats.snapshot().buffered_bytes, 0);
        // Room again after a drain.
        assert!(buf.push(line(5)));
    }

    #[test]
    fn restored_lines_come_first_and_are_never_dropped() {
        let stats = Arc::new(ChatStats::default());
        let size = line(0).approx_bytes();
        let buf = ChatBuffer::new(size * 2, stats.clone());
        buf.push(line(0));
        buf.push(line(1));
        let drained = buf.drain();
        buf.push(line(2));
        buf.push(line(3));
        buf.restore(drained);
        assert!(!buf.push(line(4)), "over the bound after the restore");
        let got: Vec<String> = buf.drain().into_iter().map(|l| l.raw).collect();
        assert_eq!(got, ["line 0000", "line 0001", "line 0002", "line 0003"]);
        assert_eq!(stats.snapshot().dropped, 1);
    }
}
