//! The fuzz entry points: one function per input surface, each taking
//! arbitrary bytes and returning normally whatever they hold (malformed
//! input must become an error, never a panic; a few assertions state
//! invariants the code relies on). `fuzz/` wraps each in a libFuzzer target
//! of the same name (`scripts/fuzz` runs them); the test suite replays the
//! seeds and crashes kept under `fuzz/corpus/` and `fuzz/artifacts/`
//! through them and mutates the seeds for a few thousand runs.
//!
//! | target | what the bytes are |
//! | --- | --- |
//! | [`helix`] | Helix response bodies: list pages, error bodies, cursors |
//! | [`sql`] | SQL text: placeholders, the read-only policy, planning |
//! | [`flight_command`] | Flight commands, tickets and action bodies |
//! | [`flight_handle`] | prepared-statement handles a client sends back |
//! | [`flight_params`] | bound parameters, an Arrow IPC stream |
//! | [`config`] | the TOML config file, `[alerts]` included |
//! | [`irc`] | lines from the chat server |
//!
//! The SQL and Flight targets share one engine over empty tables, built on
//! first use; call them from plain threads, not from inside a runtime.
mod config;
mod flight;
mod helix;
mod irc;
mod query;
mod world;

#[cfg(test)]
mod mutate;
#[cfg(test)]
mod tests;

pub use config::config;
pub use flight::{flight_command, flight_handle, flight_params};
pub use helix::helix;
pub use irc::irc;
pub use query::sql;

/// A fuzz target: its name (that of its `fuzz/` target and corpus
/// directory) and its entry point.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the libFuzzer target and of its corpus directory.
    pub name: &'static str,
    /// The entry point.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: [Target; 7] = [
    Target {
        name: "helix",
        run: helix,
    },
    Target {
        name: "sql",
        run: sql,
    },
    Target {
        name: "flight_command",
        run: flight_command,
    },
    Target {
        name: "flight_handle",
        run: flight_handle,
    },
    Target {
        name: "flight_params",
        run: flight_params,
    },
    Target {
        name: "config",
        run: config,
    },
    Target {
        name: "irc",
        run: irc,
    },
];
