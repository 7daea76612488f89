//! The process heap. glibc's malloc keeps memory that was freed for reuse
//! rather than handing it back to the OS, so a burst of work (a day's
//! compaction reads and rewrites a whole day of every table) leaves the
//! server's RSS at the burst's peak for good. In the soak benchmark
//! (12,000 simulated channels, 2026-12-03) each daily maintenance added
//! about 1 GB of RSS, and 2.1 GB of a 2.9 GB RSS was such free memory.
//! [`release_freed`] runs after every maintenance or compaction run and
//! after every cycle: the same soak then ended 1,000 cycles at 700 MiB
//! (2,931 MiB without), and its maintenance cost no jump. The
//! `twitch-monitor` binary allocates with jemalloc, which returns freed
//! pages by itself (see `src/main.rs`); there this trims only what C code
//! allocated through glibc, and other programs linking the crate keep it.

/// Hands the heap's free memory back to the OS (`malloc_trim`, glibc only;
/// elsewhere nothing to do), after `what`. With debug logging on, logs the
/// RSS before and after (two reads of `/proc`, skipped otherwise: this runs
/// every cycle).
pub fn release_freed(what: &str) {
    let started = std::time::Instant::now();
    let before = tracing::enabled!(tracing::Level::DEBUG)
        .then(rss_bytes)
        .flatten();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free pages of malloc's own heap to
    // the OS; it is thread-safe and touches no memory the program holds.
    unsafe {
        libc::malloc_trim(0);
    }
    if let (Some(before), Some(after)) = (before, before.and_then(|_| rss_bytes())) {
        tracing::debug!(
            rss_mib_before = before >> 20,
            rss_mib_after = after >> 20,
            ms = started.elapsed().as_millis() as u64,
            "freed memory after {what} returned to the OS"
        );
    }
}

/// Resident set size, from `/proc/self/status` (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn freed_memory_goes_back_to_the_os() {
        // Many small blocks (below malloc's mmap threshold, so they live in
        // the heap), then all freed but the last, which pins the heap's top.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 8 * 1024]).collect();
        let pin = std::hint::black_box(Box::new(1u64));
        drop(blocks);
        let before = super::rss_bytes().expect("RSS on Linux");
        super::release_freed("a test");
        let after = super::rss_bytes().expect("RSS on Linux");
        assert_eq!(*pin, 1);
        if cfg!(target_env = "gnu") {
            assert!(
                after + 100 * 1024 * 1024 < before,
                "RSS {before} → {after}: 160 MB freed should have gone back"
            );
        }
    }
}
