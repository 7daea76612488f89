//! The `twitch-monitor` binary: parse the command line, start tracing, run the app.
use std::process::ExitCode;

use clap::Parser;
use twitch_monitor::{app, config::Cli};

/// The allocator: jemalloc. glibc's malloc was the hottest code of a cycle
/// (a third of the server's CPU samples in malloc, free and the merging of
/// their free lists, plus waits on the arena locks, in the soak at ~20,000
/// live streams) and kept freed memory until `malloc_trim`. Side by side
/// (50,000 channels, 200 cycles at 120x, 2026-12-05) jemalloc ran the same
/// cycles in 89 s against glibc's 116 s, ending at 471 MiB RSS against
/// 512 MiB; mimalloc was 7–15% faster than glibc but held 1.6–2x its RSS.
/// Fuzzing builds keep the system allocator (libFuzzer watches malloc).
#[cfg(not(fuzzing))]
#[global_allocator]
static HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: a background thread hands pages freed for a quarter
/// of a second back to the OS (`dirty_decay_ms`), at once rather than in
/// two steps (`muzzy_decay_ms`), so a burst of work (a day's compaction)
/// does not leave the RSS at its peak. A second kept 69 MiB of freed pages
/// on average over a soak day at 12,000 channels, a quarter 34, with no
/// cycle time measured there and 5–8% more at 100,000 live streams; none
/// at all (0) cost 20–30% of every cycle (`docs/heap-profiling.md`).
/// `_RJEM_MALLOC_CONF` overrides at run time.
#[cfg(not(fuzzing))]
#[unsafe(export_name = "_rjem_malloc_conf")]
#[allow(non_upper_case_globals)]
static malloc_conf: Option<&'static std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a static C string.
    Some(unsafe { &*c"background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0".as_ptr() });

fn main() -> ExitCode {
    let cli = Cli::parse();
    twitch_monitor::init_logging();
    match app::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
