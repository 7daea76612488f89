//! Setting value types that parse (and fail) at the edge: secrets that
//! never print, human durations, lists, byte sizes, Flight users.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::ValueEnum;
use serde::Deserialize;

/// A secret string (client secret, passwords): never printed by `Debug` or `Display`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret value; call only where it is sent, never where it is logged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
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
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct RawTable(pub toml::Table);

impl fmt::Debug for RawTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A duration written for humans: `60s`, `15m`, `1h 30m`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(Self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A comma-separated list (`a,b , c`), also accepted as a TOML array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

impl FromStr for List {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::One(s) => s.parse().unwrap_or_default(),
            Repr::Many(v) => Self(v),
        })
    }
}

/// A comma-separated list of secrets (tokens, user entries), also accepted as
/// a TOML array; `Debug` shows only how many there are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretList(pub Vec<Secret>);

impl FromStr for SecretList {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let List(items) = s.parse()?;
        Ok(Self(items.into_iter().map(Secret).collect()))
    }
}

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let List(items) = List::deserialize(d)?;
        Ok(Self(items.into_iter().map(Secret).collect()))
    }
}

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretList({} x ***)", self.0.len())
    }
}

/// A size in bytes: `1048576`, `512MiB`, `4GiB`, `2G` (K, M, G, T are powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
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
            .map(Self)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(u64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Number(n) => Ok(Self(n)),
            Repr::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How Flight SQL clients prove who they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// A Flight SQL user: `name:HEX` with HEX = hex(sha256(password)), or
/// `name:SALT:HEX` with HEX = hex(sha256(SALT followed by password)).
#[derive(Clone, PartialEq, Eq)]
pub struct FlightUser {
    /// Login name.
    pub name: String,
    /// Salt prepended to the password before hashing (may be empty).
    pub salt: String,
    /// SHA-256 of salt + password.
    pub sha256: [u8; 32],
}

impl FromStr for FlightUser {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "expected name:sha256hex or name:salt:sha256hex";
        let parts: Vec<&str> = s.split(':').collect();
        let (name, salt, hex) = match parts.as_slice() {
            [name, hex] => (*name, "", *hex),
            [name, salt, hex] => (*name, *salt, *hex),
            _ => return Err(SHAPE),
        };
        if name.is_empty() || hex.len() != 64 {
            return Err(SHAPE);
        }
        let mut sha256 = [0u8; 32];
        for (i, byte) in sha256.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(SHAPE)?, 16)
                .map_err(|_| SHAPE)?;
        }
        Ok(Self {
            name: name.to_owned(),
            salt: salt.to_owned(),
            sha256,
        })
    }
}

impl fmt::Debug for FlightUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlightUser")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
