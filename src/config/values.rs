//! Setting value types and the parsers clap runs on flags, environment and
//! file values alike: secrets that never print, lists, byte sizes, and the
//! choices of `--source` and `--flight-auth`.
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;

/// A secret string (client secret, passwords, webhook URLs): never printed
/// by `Debug` or `Display`. Deserializes from a string (the alerts file's
/// targets).
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret value; call only where it is sent, never where it is logged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A TOML table kept as written for the module that owns its meaning (the
/// `[alerts]` section: rules and delivery targets). `Debug` shows only its
/// keys, because targets carry webhook URLs and secrets.
#[derive(Clone, Default, PartialEq)]
pub struct RawTable(pub toml::Table);

impl fmt::Debug for RawTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A comma-separated list (`a,b , c`; empty items dropped, so an empty
/// variable means none). A TOML array arrives joined with commas.
pub(super) fn list(s: &str) -> Result<Vec<String>, Infallible> {
    Ok(s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A comma-separated list of secrets (tokens).
pub(super) fn secret_list(s: &str) -> Result<Vec<Secret>, Infallible> {
    Ok(list(s)?.into_iter().map(Secret).collect())
}

/// A size in bytes: `1048576`, `512MiB`, `4GiB`, `2G` (K, M, G, T are powers of 1024).
pub fn byte_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 512MiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    num.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Where Twitch data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// The real Helix API (or any Helix-compatible server at `TWITCH_HELIX_URL`).
    Twitch,
    /// The built-in simulator, started in-process on a loopback port.
    Sim,
}

/// How Flight SQL clients prove who they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum FlightAuth {
    /// No authentication; refused on a non-loopback address unless
    /// `--flight-allow-unauthenticated` says otherwise.
    #[default]
    None,
    /// Users with password hashes log in (HTTP Basic) and receive expiring
    /// bearer tokens; the static tokens are accepted as well.
    Basic,
    /// Only the static bearer tokens.
    Bearer,
}

/// A file format of `twitch-monitor export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// JSON, one object per line (newline-delimited).
    Json,
}

impl ExportFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Json => "json",
        }
    }
}
