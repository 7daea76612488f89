//! Wires the daily exports from the configuration (the targets that are
//! set: Slack, files, Google Sheets; the summary's size and the watched
//! scope), and runs `export`.
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::open_lake;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Command, Config};
use crate::export::files::{day_rows, has_rows, write_day};
use crate::export::sheets::{ServiceAccount, Sheets, SheetsOptions};
use crate::export::{
    DayExport, DayTarget, ExportService, ExportServiceArgs, Files, Notified, Scope, Sizes, load,
    message, summarize,
};
use crate::ingest::CycleRunner;
use crate::lake::{Lake, object_store_at};
use crate::metrics::Metrics;
use crate::notify::{DeliveryOptions, Sender, Target, TargetKind};

/// The files target's name (`export --target files`, `gold.exports`).
const FILES_TARGET: &str = "files";
/// Where `export` writes files without `--out` or `--export-dir`.
const DEFAULT_OUT: &str = "./exports";
/// The Slack target's name.
const SLACK_TARGET: &str = "slack";
/// The Google Sheets target's name.
const SHEETS_TARGET: &str = "sheets";

/// `runner` with the export service observing its cycles, when an export
/// target is configured.
pub(super) async fn observe(
    runner: CycleRunner,
    config: &Config,
    lake: &Lake,
    metrics: &Metrics,
    clock: &SharedClock,
) -> anyhow::Result<CycleRunner> {
    let targets = targets(config, clock)?;
    if targets.is_empty() {
        return Ok(runner);
    }
    let service = ExportService::start(ExportServiceArgs {
        targets,
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

/// The configured targets of each closed day, in the order they are set up.
fn targets(config: &Config, clock: &SharedClock) -> anyhow::Result<Vec<Arc<dyn DayTarget>>> {
    let e = &config.export;
    let mut targets: Vec<Arc<dyn DayTarget>> = Vec::new();
    if let Some(url) = &e.slack_url {
        let target = Target::new(SLACK_TARGET, TargetKind::Slack, url, None)?;
        let sender = Sender::new(DeliveryOptions::default(), clock.clone())?;
        targets.push(Arc::new(Notified::new(target, sender)));
    }
    if let Some(dir) = &e.dir {
        let (store, root) = object_store_at(dir, &HashMap::new())
            .with_context(|| "the export folder (--export-dir)")?;
        targets.push(Arc::new(Files::new(
            FILES_TARGET,
            store,
            root,
            e.formats.clone(),
        )));
    }
    if let (Some(id), Some(key)) = (&e.sheets_id, &e.sheets_key) {
        let account = ServiceAccount::from_file(key)?;
        let parse = |what: &str, u: &str| {
            reqwest::Url::parse(u).with_context(|| format!("{what} is not a URL"))
        };
        let options = SheetsOptions {
            spreadsheet_id: id.clone(),
            api_url: parse("--export-sheets-api-url", &e.sheets_api_url)?,
            token_url: e
                .sheets_token_url
                .as_deref()
                .map(|u| parse("--export-sheets-token-url", u))
                .transpose()?,
            daily_tab: e.sheets_daily_tab.clone(),
            summary_tab: e.sheets_summary_tab.clone(),
            scope: scope(config),
        };
        tracing::info!(
            account = account.email(),
            "Google Sheets export as this service account"
        );
        targets.push(Arc::new(Sheets::new(
            SHEETS_TARGET,
            account,
            options,
            DeliveryOptions::default(),
            clock.clone(),
        )?));
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
    let clock: SharedClock = Arc::new(SystemClock);
    let configured = targets(&config, &clock)?;
    let send_to = match target.as_deref() {
        None | Some(FILES_TARGET) => None,
        Some(name) => {
            let mut known = vec![FILES_TARGET.to_owned()];
            known.extend(configured.iter().map(|t| t.name().to_owned()));
            Some(
                configured
                    .into_iter()
                    .find(|t| t.name() == name)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown export target {name:?}: configured targets are {}",
                            known.join(", ")
                        )
                    })?,
            )
        }
    };
    let lake = open_lake(&config).await?;
    let rows = day_rows(&lake, day).await?;
    if !has_rows(&rows) {
        anyhow::bail!("no data for {day} in the lake at {}", config.lake);
    }
    let Some(target) = send_to else {
        let dir = out
            .or_else(|| config.export.dir.clone())
            .unwrap_or_else(|| DEFAULT_OUT.to_owned());
        let (store, root) = object_store_at(&dir, &HashMap::new())
            .with_context(|| format!("the export folder {dir}"))?;
        for file in write_day(store.as_ref(), day, format, &rows).await? {
            println!("{}", root_join(&root, &file));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let gold = load(&lake, day).await?;
    let summary = summarize(&gold, &scope(&config), sizes(&config), config.poll_interval);
    let export = DayExport {
        day,
        message: message(&summary),
        summary,
        rows,
    };
    let sent = target.send(&export).await;
    match sent.error {
        None => {
            println!("sent {day} to {}", target.name());
            Ok(ExitCode::SUCCESS)
        }
        Some(why) => anyhow::bail!("{day} was not sent to {}: {why}", target.name()),
    }
}

/// `file` under `root` as a reader would write it: a path for a local
/// folder, a URL for an object store.
fn root_join(root: &str, file: &str) -> String {
    match url::Url::parse(root) {
        Ok(u) if u.scheme() == "file" => u
            .to_file_path()
            .map(|p| p.join(file).display().to_string())
            .unwrap_or_else(|()| format!("{root}{file}")),
        _ => format!("{}/{file}", root.trim_end_matches('/')),
    }
}
