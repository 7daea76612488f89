//! Flight SQL users and their password hashes: Argon2id PHC strings, made by
//! `twitch-monitor hash-password` (or any Argon2 implementation), and the
//! deprecated salted SHA-256 form, still read so that old configurations
//! keep working.
use std::fmt;
use std::io::{BufRead, IsTerminal};
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Error, Result};

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// An Argon2 PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: verifying
    /// costs what its parameters say (the defaults: 19 MiB, two passes).
    Argon2(String),
    /// Deprecated: SHA-256 of `salt` followed by the password (`salt` may be
    /// empty). Fast hashes are cheap to brute-force if the configuration leaks.
    Sha256 {
        /// Prepended to the password before hashing.
        salt: String,
        /// The digest.
        digest: [u8; 32],
    },
}

impl PasswordHash {
    /// Whether `password` matches. Slow for Argon2 by design: call it off
    /// the async runtime's worker threads.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Self::Argon2(phc) => Phc::new(phc).is_ok_and(|hash| {
                // Argon2's own comparison of the outputs is constant-time.
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            }),
            Self::Sha256 { salt, digest } => {
                let actual = Sha256::new()
                    .chain_update(salt)
                    .chain_update(password)
                    .finalize();
                actual.as_slice().ct_eq(digest).into()
            }
        }
    }

    /// True for the deprecated SHA-256 form.
    pub fn is_deprecated(&self) -> bool {
        matches!(self, Self::Sha256 { .. })
    }
}

/// Hashes `password` with Argon2id, the default parameters and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::HashPassword(e.to_string()))
}

/// A Flight SQL user: `name:PHC` (an Argon2 PHC string), or the deprecated
/// `name:sha256hex` and `name:salt:sha256hex` (hex of SHA-256 of the salt
/// followed by the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlightUser {
    /// Login name.
    pub name: String,
    /// How the password is checked.
    pub password: PasswordHash,
}

impl FromStr for FlightUser {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "expected name:HASH with HASH from `twitch-monitor hash-password` \
                             (or the deprecated name:salt:sha256hex)";
        let (name, hash) = s.split_once(':').ok_or(SHAPE)?;
        if name.is_empty() {
            return Err(SHAPE);
        }
        let password = if hash.starts_with("$argon2") {
            Phc::new(hash).map_err(|_| "not a valid Argon2 PHC string")?;
            PasswordHash::Argon2(hash.to_owned())
        } else {
            let (salt, hex) = hash.rsplit_once(':').unwrap_or(("", hash));
            let mut digest = [0u8; 32];
            if hex.len() != 64 || salt.contains(':') {
                return Err(SHAPE);
            }
            for (i, byte) in digest.iter_mut().enumerate() {
                *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(SHAPE)?, 16)
                    .map_err(|_| SHAPE)?;
            }
            PasswordHash::Sha256 {
                salt: salt.to_owned(),
                digest,
            }
        };
        Ok(Self {
            name: name.to_owned(),
            password,
        })
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Argon2(_) => "Argon2(***)",
            Self::Sha256 { .. } => "Sha256(***)",
        })
    }
}

/// Splits `TM_FLIGHT_USERS` into entries. PHC strings have commas of their
/// own (`m=19456,t=2,p=1`), so a comma starts a new entry only where the next
/// piece has a colon: every entry has one after its name, and no PHC
/// parameter or base64 text does.
pub(super) fn split_users(s: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for piece in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match entries.last_mut() {
            Some(last) if !piece.contains(':') => {
                last.push(',');
                last.push_str(piece);
            }
            _ => entries.push(piece.to_owned()),
        }
    }
    entries
}

/// `twitch-monitor hash-password [NAME]`: reads a password (asked twice
/// without echo on a terminal, else the first line of stdin) and returns
/// `NAME:HASH` for `TM_FLIGHT_USERS`, or the bare hash without a name.
pub fn hash_password_command(name: Option<&str>) -> Result<String> {
    if let Some(name) = name
        && (name.is_empty() || name.contains([':', ',']) || name.contains(char::is_whitespace))
    {
        return Err(Error::HashPassword(format!(
            "user name {name:?} may not be empty or contain ':', ',' or spaces"
        )));
    }
    let io = |e: std::io::Error| Error::HashPassword(format!("cannot read the password: {e}"));
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(io)?;
        if rpassword::prompt_password("Repeat it: ").map_err(io)? != first {
            return Err(Error::HashPassword("the passwords differ".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err(Error::HashPassword("empty password".into()));
    }
    let hash = hash_password(&password)?;
    Ok(match name {
        Some(name) => format!("{name}:{hash}"),
        None => hash,
    })
}
