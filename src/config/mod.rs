//! Configuration: every setting is a flag, an environment variable and a key
//! in an optional TOML file; flag > env > file > default. Parsed once into a
//! validated [`Config`] that the rest of the program reads.
//!
//! # One declaration per setting
//! A setting is declared once, as a field with a doc comment (its help text)
//! and one `#[arg(long, env, default_value)]` attribute (flag, variable,
//! default). Its TOML key is the arg id, the flag name with `_`. Clap parses
//! flags and environment; the file fills only the settings clap says came
//! from neither ([`ValueSource`]), and its values go through the same clap
//! parsers, so a value means the same wherever it is written.
//!
//! **Adding a setting**: add the field to the part of [`Config`] whose
//! module reads it ([`Config`] itself, [`SimSettings`], [`FlightConfig`],
//! [`QueryConfig`], or a new group flattened into [`Config`]) with its doc
//! comment and `#[arg(long, env = "TM_…", default_value = "…")]` (groups
//! also set `id` to the flag name with `_`), then add its row to the README's
//! configuration table — a test fails until the row is there. A setting
//! that only feeds a derived value goes into [`Inputs`], and
//! [`Settings::resolve`] combines it.
//!
//! Why clap alone, not figment or a macro: clap's derive already holds every
//! facet of a setting but the file. figment would need each default written
//! again and serde impls for every value type; a macro would redo clap's
//! derive. The file layer below is the only code in between.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command as ClapCommand, FromArgMatches, Parser, Subcommand};

mod export;
mod login;
mod password;
mod resolved;
mod values;

pub use export::ExportSettings;
pub use login::UserTokenSettings;
pub use password::{FlightUser, PasswordHash, hash_password, hash_password_command};
pub use resolved::{
    AlertSources, ChatSettings, Config, Credentials, FlightConfig, QueryConfig, SimSettings,
    TlsFiles,
};
pub use values::{ExportFormat, FlightAuth, RawTable, Secret, Source, byte_size};

/// Errors turning flags, environment and file into a [`Config`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML file is not valid TOML, names an unknown setting, or has a
    /// value its setting does not accept.
    #[error("invalid config file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value that cannot work.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting's flag name.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// `hash-password` could not read or hash the password.
    #[error("hash-password: {0}")]
    HashPassword(String),
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "twitch-monitor", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Ingest continuously and serve the catalog (the default).
    Serve,
    /// Run ingest cycles and exit.
    Ingest {
        /// Run exactly one cycle (the only mode for now).
        #[arg(long)]
        once: bool,
    },
    /// Run only the simulated Twitch (local Helix server) and print its URLs.
    Sim,
    /// Recompute silver and gold from bronze.
    Rebuild,
    /// Compact closed days, checkpoint and vacuum every table.
    Maintain,
    /// Export one day's gold tables as files (default), or send its summary
    /// to a configured target.
    Export {
        /// The UTC day, `YYYY-MM-DD`.
        #[arg(long)]
        day: chrono::NaiveDate,
        /// File format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Where to: `files`, or a configured target (`slack`, `sheets`).
        /// Default: files under --out.
        #[arg(long)]
        target: Option<String>,
        /// Folder the day's folder is written in: a path or an object-store
        /// URL (default: --export-dir, else `./exports`).
        #[arg(long)]
        out: Option<String>,
    },
    /// Log in to Twitch as a user (device code flow) and store the refresh
    /// token, so follower totals can be fetched with a user token.
    Login,
    /// Hash a Flight SQL password with Argon2id for TM_FLIGHT_USERS. Reads the
    /// password from stdin (asks twice, without echo, on a terminal).
    HashPassword {
        /// Print `NAME:HASH`, the entry for TM_FLIGHT_USERS (without it: the hash alone).
        name: Option<String>,
    },
}

/// The settings that [`Settings::resolve`] combines into derived fields of
/// [`Config`] (credentials, source, users, TLS files).
#[derive(Debug, Clone, Default, Args)]
pub struct Inputs {
    /// Twitch application client id.
    #[arg(long, env = "TWITCH_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Twitch application client secret (never logged).
    #[arg(long, env = "TWITCH_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<Secret>,
    /// Data source: `twitch` (default when credentials are set) or `sim`.
    #[arg(long, env = "TM_SOURCE")]
    pub source: Option<Source>,
    /// Sweep every live stream each cycle (default: on for the simulator).
    #[arg(long, env = "TM_FULL_SWEEP")]
    pub full_sweep: Option<bool>,
    /// Also join the chat of the top N live channels (0 = only the watched
    /// channels; default: 10 with the simulator, 0 with Twitch).
    #[arg(long, env = "TM_CHAT_TOP_N")]
    pub chat_top_n: Option<usize>,
    /// Flight SQL users, `name:HASH` (from `twitch-monitor hash-password NAME`), comma-separated.
    #[arg(long, env = "TM_FLIGHT_USERS", hide_env_values = true)]
    pub flight_users: Option<Secret>,
    /// TLS certificate chain (PEM) for Flight SQL; needs --flight-tls-key.
    #[arg(long, env = "TM_FLIGHT_TLS_CERT")]
    pub flight_tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for Flight SQL; needs --flight-tls-cert.
    #[arg(long, env = "TM_FLIGHT_TLS_KEY")]
    pub flight_tls_key: Option<PathBuf>,
}

/// Every setting as parsed from flags and environment, before the file and
/// the checks: [`Settings::resolve`] turns it into a [`Config`].
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The TOML file named by `--config` / `TM_CONFIG`.
    pub config: Option<PathBuf>,
    /// Settings combined into derived fields.
    pub inputs: Inputs,
    /// The configuration, with declared defaults where nothing was given.
    pub values: Config,
    /// Ids of the settings a flag or the environment gave: the file does not
    /// override them.
    pub given: BTreeSet<String>,
}

const CONFIG: &str = "config";
/// The config file's table of alert rules and targets.
const ALERTS_SECTION: &str = "alerts";

impl Args for Settings {
    fn augment_args(cmd: ClapCommand) -> ClapCommand {
        let file = Arg::new(CONFIG)
            .long(CONFIG)
            .env("TM_CONFIG")
            .value_parser(clap::value_parser!(PathBuf))
            .help("TOML file with any of these settings (keys are the flag names with `_`)");
        // Global: settings may follow the subcommand (`ingest --once --lake x`).
        Config::augment_args(Inputs::augment_args(cmd.arg(file))).mut_args(|a| a.global(true))
    }

    fn augment_args_for_update(cmd: ClapCommand) -> ClapCommand {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for Settings {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let given = m
            .ids()
            .map(|id| id.as_str())
            .filter(|id| {
                matches!(
                    m.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .map(str::to_owned)
            .collect();
        Ok(Self {
            config: m.get_one::<PathBuf>(CONFIG).cloned(),
            inputs: Inputs::from_arg_matches(m)?,
            values: Config::from_arg_matches(m)?,
            given,
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Settings {
    /// Layers the TOML file under flags and environment, derives the
    /// combined fields, and validates.
    pub fn resolve(self) -> Result<Config> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
                    path: path.to_owned(),
                    source,
                })?;
                Some((path.clone(), text))
            }
            None => None,
        };
        self.resolve_with(
            file.as_ref()
                .map(|(path, text)| (path.as_path(), text.as_str())),
        )
    }

    /// [`Settings::resolve`] with the config file already read, as
    /// `(path, text)` (the path only names the file in errors); `--config`
    /// itself is ignored. The fuzz entry point feeds file text through here.
    pub fn resolve_with(self, file: Option<(&Path, &str)>) -> Result<Config> {
        let Settings {
            config: _,
            mut inputs,
            mut values,
            given,
        } = self;
        if let Some((path, text)) = file {
            layer_file(path, text, &given, &mut inputs, &mut values)?;
        }
        let credentials = match (inputs.client_id, inputs.client_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.expose().is_empty() => {
                Some(Credentials {
                    client_id: id,
                    client_secret: secret,
                })
            }
            (Some(_), None) => {
                return Err(invalid(
                    "client-secret",
                    "TWITCH_CLIENT_ID is set but TWITCH_CLIENT_SECRET is not",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "client-id",
                    "TWITCH_CLIENT_SECRET is set but TWITCH_CLIENT_ID is not",
                ));
            }
            _ => None,
        };
        let source = inputs.source.unwrap_or(if credentials.is_some() {
            Source::Twitch
        } else {
            Source::Sim
        });
        if source == Source::Twitch && credentials.is_none() {
            return Err(invalid(
                "source",
                "TM_SOURCE=twitch needs TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET",
            ));
        }
        let users = inputs
            .flight_users
            .as_ref()
            .map(|s| password::split_users(s.expose()));
        values.flight.users = users
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                entry
                    .parse()
                    .map_err(|e| invalid("flight-users", format!("entry {}: {e}", i + 1)))
            })
            .collect::<Result<_>>()?;
        values.flight.tls = match (inputs.flight_tls_cert, inputs.flight_tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "flight-tls-cert",
                    "--flight-tls-cert and --flight-tls-key go together",
                ));
            }
        };
        values.full_sweep = inputs.full_sweep.unwrap_or(source == Source::Sim);
        // The simulator's demo fills the chat tables out of the box.
        values.chat.top_n = inputs.chat_top_n.unwrap_or(match source {
            Source::Sim => SIM_CHAT_TOP_N,
            Source::Twitch => 0,
        });
        values.source = source;
        values.credentials = credentials;
        values.validate()?;
        Ok(values)
    }
}

/// Fills every setting not in `given` from `text`, the TOML file at `path`.
/// The file's values become `--flag=value` arguments of a command that has
/// the same args without environment and defaults, so clap parses them
/// exactly as it parses flags, and updates only the settings the file names.
fn layer_file(
    path: &Path,
    text: &str,
    given: &BTreeSet<String>,
    inputs: &mut Inputs,
    values: &mut Config,
) -> Result<()> {
    let bad = |message: String| Error::ParseFile {
        path: path.to_owned(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let cmd = Config::augment_args(Inputs::augment_args(ClapCommand::new("file")))
        .no_binary_name(true)
        .mut_args(|a| {
            a.env(None::<&'static str>)
                .default_value(None::<&'static str>)
        });
    let (mut argv, mut alerts) = (Vec::new(), None);
    for (key, value) in &table {
        // The alerts section is a table of rules and targets that the alerts
        // module reads; it has no flag.
        if key == ALERTS_SECTION {
            let toml::Value::Table(section) = value else {
                return Err(bad(format!("{key}: expected a table ([{key}])")));
            };
            alerts = Some(RawTable(section.clone()));
            continue;
        }
        let long = cmd
            .get_arguments()
            .find(|a| a.get_id() == key.as_str())
            .and_then(Arg::get_long)
            .ok_or_else(|| bad(format!("unknown setting {key:?}")))?;
        let value = toml_text(value)
            .ok_or_else(|| bad(format!("{key}: expected a string, number, boolean or list")))?;
        if !given.contains(key) {
            argv.push(format!("--{long}={value}"));
        }
    }
    let matches = cmd.try_get_matches_from(argv).map_err(|e| {
        let text = e.to_string();
        bad(text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned())
    })?;
    inputs
        .update_from_arg_matches(&matches)
        .and_then(|()| values.update_from_arg_matches(&matches))
        .map_err(|e| bad(e.to_string()))?;
    values.alerts.inline = alerts;
    Ok(())
}

/// A TOML value as it would be written on the command line (lists joined
/// with commas).
fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Array(items) => {
            let items: Option<Vec<String>> = items.iter().map(toml_text).collect();
            items.map(|items| items.join(","))
        }
        toml::Value::Table(_) | toml::Value::Datetime(_) => None,
        number_or_boolean => Some(number_or_boolean.to_string()),
    }
}

pub(super) fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;

/// Chat channels joined beyond the watched ones, in simulator mode.
pub const SIM_CHAT_TOP_N: usize = 10;
