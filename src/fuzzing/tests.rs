//! The fuzz targets in the ordinary test suite: every seed and every kept
//! crash replayed, then "fuzz seconds" — a fixed number of seeded mutations
//! of the seeds per target, printing executions per target.
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::mutate::Mutator;
use super::{TARGETS, Target};

/// Runs per target, unless `TM_FUZZ_RUNS` says otherwise (e.g. 100000 for a
/// longer run without libFuzzer).
fn runs(default: usize) -> usize {
    std::env::var("TM_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly under `dir`, by name; none if it does not exist.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a readable fuzz input");
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn target(name: &str) -> Target {
    *TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

fn seeds(t: &Target) -> Vec<Vec<u8>> {
    let seeds: Vec<Vec<u8>> = files(&fuzz_dir().join("corpus").join(t.name))
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert!(!seeds.is_empty(), "fuzz/corpus/{} has no seeds", t.name);
    seeds
}

/// Whether `t` returns normally on `input` (its panic message is printed).
fn survives(t: &Target, input: &[u8]) -> bool {
    catch_unwind(AssertUnwindSafe(|| (t.run)(input))).is_ok()
}

#[test]
fn every_seed_and_kept_crash_replays_without_a_panic() {
    let dir = fuzz_dir();
    for sub in ["corpus", "artifacts"] {
        for entry in std::fs::read_dir(dir.join(sub)).into_iter().flatten() {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                TARGETS.iter().any(|t| t.name == name),
                "fuzz/{sub}/{name} names no target in fuzzing::TARGETS"
            );
        }
    }
    for t in TARGETS {
        seeds(&t);
        let kept = [
            files(&dir.join("corpus").join(t.name)),
            files(&dir.join("artifacts").join(t.name)),
        ];
        for (path, bytes) in kept.iter().flatten() {
            assert!(
                survives(&t, bytes),
                "{} panics on {}",
                t.name,
                path.display()
            );
        }
    }
}

/// Mutates the seeds of target `name` `runs` times (seeded, so a failure
/// repeats) and fails on the first panic, keeping the input in the temp dir
/// for `fuzz/artifacts/<name>/`.
fn fuzz(name: &str, default_runs: usize) {
    let t = target(name);
    let seeds = seeds(&t);
    let runs = runs(default_runs);
    let seed = name
        .bytes()
        .fold(17u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    let mut mutator = Mutator::new(seed);
    let started = Instant::now();
    for run in 0..runs {
        let input = mutator.mutate(&seeds);
        if !survives(&t, &input) {
            let kept = std::env::temp_dir().join(format!("tm-fuzz-{name}-{run}"));
            let _ = std::fs::write(&kept, &input);
            panic!(
                "{name} panics on mutation {run}: {:?} (kept in {})",
                String::from_utf8_lossy(&input),
                kept.display()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // Straight to stderr, past the harness's capture: the figures are the point.
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {name}: {runs} executions in {secs:.1} s ({:.0}/s), no panic",
        runs as f64 / secs.max(1e-9)
    );
}

macro_rules! fuzz_seconds {
    ($($target:ident: $runs:expr),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                fuzz(stringify!($target), $runs);
            }
        )*
    };
}

// About two seconds each in the debug test build on two cores.
fuzz_seconds! {
    helix: 15_000,
    sql: 8_000,
    flight_command: 6_000,
    flight_handle: 10_000,
    flight_params: 6_000,
    config: 4_000,
    irc: 20_000,
}
