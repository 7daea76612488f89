//! The `twitch-monitor` binary: parse the command line, start tracing, run the app.
use std::process::ExitCode;

use clap::Parser;
use twitch_monitor::{app, config::Cli};

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
