//! The soak benchmark's blocks of 100 cycles and what it prints across
//! them: the day-over-day comparison and the RSS trend.

/// Up to 100 cycles of the run.
#[derive(Default)]
pub struct Block {
    pub times: Vec<f64>,
    pub stages: [f64; 4],
    pub streams: Vec<u64>,
    pub rss: f64,
    /// The block's last cycle.
    pub last: u64,
    /// Simulated minutes since the run's midnight when the block ended (the
    /// real time since the server started, times the speed).
    pub minute: f64,
}

impl Block {
    pub fn mean(&self) -> f64 {
        self.times.iter().sum::<f64>() / self.times.len().max(1) as f64
    }

    /// Live streams per cycle, on average.
    pub fn mean_streams(&self) -> u64 {
        self.streams.iter().sum::<u64>() / self.streams.len().max(1) as u64
    }

    /// Milliseconds of cycle per live stream (the load varies over the day).
    pub fn per_stream_ms(&self) -> f64 {
        let streams: u64 = self.streams.iter().sum();
        1e3 * self.times.iter().sum::<f64>() / streams.max(1) as f64
    }

    /// Mean seconds of stage `i` per cycle.
    pub fn stage(&self, i: usize) -> f64 {
        self.stages[i] / self.times.len().max(1) as f64
    }
}

/// Minutes in a day.
const DAY: f64 = 1_440.0;

/// Runs longer than a day: each block of a later day beside the block of the
/// day before that ended nearest the same time of day. The simulated load
/// follows the time of day (at 12,000 channels 500 live streams at dawn,
/// 2,000 in the evening), so a block against the same time a day earlier
/// compares equal loads, where the last 100 cycles against the second 100
/// compare an evening with a night.
pub fn day_over_day(blocks: &[Block]) {
    let pairs: Vec<(&Block, &Block)> = blocks
        .iter()
        .filter(|b| b.minute >= DAY + 60.0)
        .filter_map(|b| {
            let off = |a: &Block| (a.minute - (b.minute - DAY)).abs();
            let before = blocks
                .iter()
                .min_by(|x, y| off(x).total_cmp(&off(y)))
                .filter(|a| off(a) <= 60.0)?;
            Some((before, b))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    println!("a day apart, blocks that ended at the same simulated time of day:");
    println!(
        "{:>7} {:>23} {:>22} {:>20} {:>15}",
        "time", "cycles", "mean s", "RSS MiB", "streams"
    );
    for (a, b) in &pairs {
        let minute = (b.minute % DAY) as u64;
        println!(
            "  {:02}:{:02} {:>10} vs {:<10} {:>5.2} vs {:<5.2} ({:.2}x) {:>5.0} vs {:<5.0} ({:+4.0}) {:>6} vs {:<6}",
            minute / 60,
            minute % 60,
            format!("{}-{}", a.last + 1 - a.times.len() as u64, a.last),
            format!("{}-{}", b.last + 1 - b.times.len() as u64, b.last),
            a.mean(),
            b.mean(),
            b.mean() / a.mean(),
            a.rss,
            b.rss,
            b.rss - a.rss,
            a.mean_streams(),
            b.mean_streams(),
        );
    }
    let n = pairs.len() as f64;
    let ratio = pairs.iter().map(|(a, b)| b.mean() / a.mean()).sum::<f64>() / n;
    let rss = pairs.iter().map(|(a, b)| b.rss - a.rss).sum::<f64>() / n;
    println!(
        "a day apart, over {} pairs: cycles {ratio:.2}x the day before's (goal ≤ 1.2x), RSS {rss:+.0} MiB on average (goal: flat)",
        pairs.len()
    );
}

/// Least-squares slope of `y` over `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), (px, py)| (x + px / n, y + py / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den > 0.0 { num / den } else { 0.0 }
}
