//! Wires the daily exports from the configuration (the targets that are
//! set, the summary's size and the watched scope), and runs `export`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::open_lake;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Command, Config};
use crate::export::files::{day_rows, has_rows, write_day};
use crate::export::{ExportService, ExportServiceArgs, Scope, Sizes, load, message, summarize};
use crate::ingest::CycleRunner;
use crate::lake::Lake;
use crate::metrics::Metrics;
use crate::notify::{DeliveryOptions, OutcomeStatus, Sender, Target, TargetKind};

/// The files target of `export --target`.
const FILES_TARGET: &str = "files";
/// Where `export` writes files without `--out`.
const DEFAULT_OUT: &str = "./exports";

/// The name of the Slack export target in `gold.exports` and metrics.
const SLACK_TARGET: &str = "slack";

/// `runner` with the export service observing its cycles, when an export
/// target is configured.
pub(super) async fn observe(
    runner: CycleRunner,
    config: &Config,
    lake: &Lake,
    metrics: &Metrics,
    clock: &SharedClock,
) -> anyhow::Result<CycleRunner> {
    let targets = targets(config)?;
    if targets.is_empty() {
        return Ok(runner);
    }
    let service = ExportService::start(ExportServiceArgs {
        targets,
        delivery: DeliveryOptions::default(),
        sizes: sizes(config),
        scope: scope(config),
        poll_interval: config.poll_interval,
        lake: lake.clone(),
        metrics: metrics.clone(),
        clock: clock.clone(),
    })
    .await?;
    Ok(runner.observe(service))
}

/// The configured notification targets of the daily summary.
fn targets(config: &Config) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    if let Some(url) = &config.export.slack_url {
        targets.push(Target::new(SLACK_TARGET, TargetKind::Slack, url, None)?);
    }
    Ok(targets)
}

fn sizes(config: &Config) -> Sizes {
    let n = config.export.top;
    Sizes {
        streamers: n,
        categories: n,
        rising: n,
    }
}

fn scope(config: &Config) -> Scope {
    let set = |v: &[String]| v.iter().cloned().collect();
    Scope {
        channels: set(&config.channels),
        categories: set(&config.categories),
        languages: set(&config.languages),
    }
}

/// `export`: the day's gold tables as files under `out` (or `./exports`),
/// or its summary sent to a configured target now. A day without data is
/// an error, and so is a target that is not configured.
pub(super) async fn export(config: Config, command: Command) -> anyhow::Result<ExitCode> {
    let Command::Export {
        day,
        format,
        target,
        out,
    } = command
    else {
        return Ok(ExitCode::FAILURE);
    };
    let configured = targets(&config)?;
    let send_to = match target.as_deref() {
        None | Some(FILES_TARGET) => None,
        Some(name) => Some(
            configured
                .into_iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| {
                    let mut known = vec![FILES_TARGET.to_owned()];
                    known.extend(
                        targets(&config)
                            .unwrap_or_default()
                            .iter()
                            .map(|t| t.name().to_owned()),
                    );
                    anyhow::anyhow!(
                        "unknown export target {name:?}: configured targets are {}",
                        known.join(", ")
                    )
                })?,
        ),
    };
    let lake = open_lake(&config).await?;
    let rows = day_rows(&lake, day).await?;
    if !has_rows(&rows) {
        anyhow::bail!("no data for {day} in the lake at {}", config.lake);
    }
    let Some(target) = send_to else {
        let dir = out.unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
        for file in write_day(&dir, day, format, &rows)? {
            println!("{}", file.display());
        }
        return Ok(ExitCode::SUCCESS);
    };
    let gold = load(&lake, day).await?;
    let summary = summarize(&gold, &scope(&config), sizes(&config), config.poll_interval);
    let clock: SharedClock = Arc::new(SystemClock);
    let sender = Sender::new(DeliveryOptions::default(), clock)?;
    let outcome = sender.deliver(&target, &message(&summary)).await;
    match outcome.status {
        OutcomeStatus::Delivered => {
            println!("sent the summary of {day} to {}", target.name());
            Ok(ExitCode::SUCCESS)
        }
        OutcomeStatus::Failed => anyhow::bail!(
            "the summary of {day} was not sent to {}: {}",
            target.name(),
            outcome.error.unwrap_or_default()
        ),
    }
}
