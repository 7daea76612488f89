//! Software prefetch for the per-cycle walks over 100,000 channels. Each
//! stream's strings, its channel record and that record's sample buffer
//! are separate heap blocks, so processing one stream waits on several
//! cache misses in turn; asking for the blocks of a stream a few places
//! ahead lets those misses overlap with the work on the current one.
use std::collections::VecDeque;

use super::state::Chan;
use crate::live::LiveStream;

/// How many streams ahead the loops ask for memory: enough to cover a
/// miss to DRAM at a few hundred nanoseconds of work per stream (4 and 8
/// measured alike with 100,000 streams; 16 was slower).
const AHEAD: usize = 4;

/// Before looking up stream `i`'s channel: the id of the stream ahead.
#[inline(always)]
pub(crate) fn id_ahead(streams: &[LiveStream], i: usize) {
    if let Some(ahead) = streams.get(i + AHEAD) {
        text(&ahead.user_id);
    }
}

/// Before taking in the `k`th stream of a walk, where `at(j)` is the `j`th
/// stream and its channel record: the text and record of the stream
/// ahead, and the samples of one halfway there, whose record has arrived
/// by now.
#[inline(always)]
pub(crate) fn rows_ahead<'a>(at: impl Fn(usize) -> Option<(&'a LiveStream, &'a Chan)>, k: usize) {
    if let Some((ahead, c)) = at(k + AHEAD) {
        stream_text(ahead);
        record(c);
    }
    if let Some((_, c)) = at(k + AHEAD / 2) {
        samples(&c.viewers);
    }
}

/// Hints that the cache line holding `p` will be read soon. A hint only:
/// never faults, whatever the address, and does nothing off x86-64.
#[inline(always)]
fn line<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing architecturally and cannot fault,
    // for any address; the intrinsic is `unsafe` only for its target
    // feature (SSE), which every x86-64 CPU has.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Every cache line of `value` (a record spanning several lines).
#[inline(always)]
fn record<T>(value: &T) {
    let start = (value as *const T).cast::<u8>();
    let mut offset = 0;
    while offset < size_of::<T>() {
        line(start.wrapping_add(offset));
        offset += 64;
    }
}

/// The first bytes of `s`.
#[inline(always)]
fn text(s: &str) {
    line(s.as_ptr());
}

/// The text a stream's row is compared by ([`super::state::row_text`]).
#[inline(always)]
fn stream_text(s: &LiveStream) {
    for t in super::state::row_text(s) {
        text(t);
    }
}

/// The newest and oldest samples of a buffer (what a new sample is
/// compared with and what pruning drops).
#[inline(always)]
fn samples<T>(d: &VecDeque<T>) {
    if let Some(b) = d.back() {
        line(b);
    }
    if let Some(f) = d.front() {
        line(f);
    }
}
