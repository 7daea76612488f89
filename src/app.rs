//! Composition root: builds every part from the [`Config`] and runs the
//! chosen subcommand. The only place concrete types are wired together.
use std::process::ExitCode;

use crate::config::{Cli, Command};

/// Runs the command line to completion.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.settings.resolve()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve | Command::Ingest { .. } | Command::Sim => {
                tracing::info!(?config, "not yet");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
