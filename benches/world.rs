//! Prints how long the world simulator takes to build a world with 100,000
//! live streams and to advance it by simulated minutes. Figures only, no
//! assertions. `cargo bench --bench world` (release profile), or, reusing the
//! dev dependency artifacts (already opt-level 2) and optimizing only this
//! crate: `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo bench --bench world --profile dev`.
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use twitch_monitor::sim::{World, WorldConfig};

fn main() {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .unwrap_or_default();
    for n in [10_000usize, 100_000] {
        let t = Instant::now();
        let mut w = World::with_live_streams(42, n, start);
        let build = t.elapsed();
        let t = Instant::now();
        w.advance_to(start + Duration::minutes(1));
        let one = t.elapsed();
        let t = Instant::now();
        w.advance_to(start + Duration::minutes(11));
        let ten = t.elapsed() / 10;
        println!(
            "{n} live: build {build:?}, first minute {one:?}, next 10 minutes {ten:?}/minute, {} live after",
            w.live_streams().len()
        );
    }
    let t = Instant::now();
    let mut w = World::new(WorldConfig::default());
    w.advance_to(start + Duration::days(1));
    println!(
        "default world (300 channels): build + one simulated day {:?}",
        t.elapsed()
    );
}
