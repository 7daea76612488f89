//! The independent check of a lake, shared by the integration tests (kill
//! storms, Helix chaos, the short soak, storage faults) and the soak
//! benchmark: a copy of the lake is rebuilt from its bronze by the binary
//! (`twitch-monitor rebuild`), then `tests/py/check_lake.py` reads both with
//! DuckDB's delta extension (no code shared with our writer): every table
//! readable, nothing doubled, every bronze page accounted for, and every
//! derived table equal to its rebuild.
//!
//! Included with `#[path]` by `tests/it/main.rs` and `benches/soak.rs`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use twitch_monitor::schema::{Origin, Table};

/// Copies into `copy` what `rebuild` reads or keeps: everything but the
/// derived tables, which it writes anew (a day's lake at 20,000 live streams
/// is ~35 GB, most of it silver and gold: it need not fit twice).
pub fn copy_sources(lake: &Path, copy: &Path) -> Result<(), String> {
    let derived: Vec<PathBuf> = Table::ALL
        .into_iter()
        .filter(|t| t.origin() == Origin::Derived)
        .map(|t| PathBuf::from(t.layer().to_string()).join(t.name()))
        .collect();
    let cp = |from: &Path, to: &Path| {
        let done = Command::new("cp").arg("-a").arg(from).arg(to).status();
        match done {
            Ok(s) if s.success() => Ok(()),
            _ => Err(format!(
                "cannot copy {} to {}",
                from.display(),
                to.display()
            )),
        }
    };
    let entries = |dir: &Path| {
        std::fs::read_dir(dir)
            .and_then(|d| {
                d.map(|e| e.map(|e| e.file_name()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| format!("reading {}: {e}", dir.display()))
    };
    let mkdir =
        |dir: &Path| std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()));
    mkdir(copy)?;
    for top in entries(lake)? {
        let from = lake.join(&top);
        if !derived.iter().any(|d| d.starts_with(&top)) {
            cp(&from, &copy.join(&top))?;
            continue;
        }
        mkdir(&copy.join(&top))?;
        for table in entries(&from)? {
            let relative = PathBuf::from(&top).join(&table);
            if !derived.contains(&relative) {
                cp(&from.join(&table), &copy.join(&relative))?;
            }
        }
    }
    Ok(())
}

/// Runs `binary rebuild` on the lake at `copy`; `configure` sets the
/// command's settings (poll interval, session gap) to those of the run.
pub fn rebuild(
    binary: &Path,
    copy: &Path,
    configure: impl FnOnce(&mut Command),
) -> Result<(), String> {
    let mut command = Command::new(binary);
    configure(&mut command);
    let out = command
        .arg("rebuild")
        .env("TM_LAKE", copy)
        .output()
        .map_err(|e| format!("rebuild: {e}"))?;
    if !out.status.success() {
        return Err(format!("rebuild: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// `tests/py/check_lake.py` over the lake and its rebuilt copy, with the
/// test venv's `python`: its JSON report, or what it found.
pub fn compare(python: &Path, lake: &Path, copy: &Path) -> Result<serde_json::Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_lake.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(lake)
        .arg(copy)
        .output()
        .map_err(|e| format!("{} (run scripts/venv first): {e}", python.display()))?;
    let said = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "check_lake.py: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_str(&said).map_err(|e| format!("check_lake.py said {said:?}: {e}"))
}

/// The whole check: [`copy_sources`] into `copy`, [`rebuild`], [`compare`].
pub fn check_lake(
    binary: &Path,
    python: &Path,
    lake: &Path,
    copy: &Path,
    configure: impl FnOnce(&mut Command),
) -> Result<serde_json::Value, String> {
    copy_sources(lake, copy)?;
    rebuild(binary, copy, configure)?;
    compare(python, lake, copy)
}

/// One line for a report: tables read and rows per layer.
pub fn summary(report: &serde_json::Value) -> String {
    let tables = report["tables"].as_object().cloned().unwrap_or_default();
    let mut rows: BTreeMap<String, i64> = BTreeMap::new();
    for (table, n) in &tables {
        let layer = table.split('.').next().unwrap_or_default().to_owned();
        *rows.entry(layer).or_default() += n.as_i64().unwrap_or(0);
    }
    format!(
        "{} tables read, rows per layer {rows:?}, no failure",
        tables.len()
    )
}
