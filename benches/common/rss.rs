//! The resident set size of a process, for the benchmarks and the short
//! soak test that print it (shared by `#[path]`: benches and tests are
//! separate crates).

/// Resident set size of process `pid`, in MiB (NaN if it cannot be read).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
