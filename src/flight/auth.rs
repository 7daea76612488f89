//! Who may call the Flight SQL service: users with password hashes (HTTP
//! Basic), static bearer tokens, and the expiring bearer tokens issued at
//! Handshake (HMAC-SHA256 signed with a per-process random key, so they die
//! with the process). Every comparison of secret material is constant-time.
use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;

use super::error::{Error, Result};
use crate::clock::SharedClock;
use crate::config::{FlightAuth, FlightConfig, FlightUser};

const TOKEN_PREFIX: &str = "tm1.";

/// Base64 for Basic credentials, with or without padding: Go clients (ADBC)
/// send them unpadded.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Authentication is off.
    Anonymous,
    /// A user who logged in (directly or through an issued token).
    User(String),
    /// A holder of one of the static tokens.
    StaticToken,
}

/// Checks credentials and issues tokens.
pub struct Authenticator {
    mode: FlightAuth,
    users: HashMap<String, FlightUser>,
    /// SHA-256 of each static token: equal-length values for constant-time compares.
    tokens: Vec<[u8; 32]>,
    key: [u8; 32],
    ttl: Duration,
    clock: SharedClock,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("tokens", &self.tokens.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for `config`, with a fresh random signing key.
    pub fn new(config: &FlightConfig, clock: SharedClock) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self {
            mode: config.auth,
            users: config
                .users
                .iter()
                .map(|u| (u.name.clone(), u.clone()))
                .collect(),
            tokens: config
                .tokens
                .iter()
                .map(|t| sha256(t.expose().as_bytes()))
                .collect(),
            key,
            ttl: config.token_ttl,
            clock,
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> FlightAuth {
        self.mode
    }

    /// Checks the `authorization` header of an ordinary RPC.
    pub fn check(&self, metadata: &MetadataMap) -> Result<Principal> {
        if self.mode == FlightAuth::None {
            return Ok(Principal::Anonymous);
        }
        let header = authorization(metadata)?
            .ok_or_else(|| unauthenticated("missing authorization header (Basic or Bearer)"))?;
        self.check_header(header)
    }

    /// Handshake: accepts a `Basic` or `Bearer` authorization header, or a
    /// Flight `BasicAuth` payload, and returns the bearer token the client
    /// should send from now on (None when authentication is off).
    pub fn handshake(&self, metadata: &MetadataMap, payload: &[u8]) -> Result<Option<String>> {
        if self.mode == FlightAuth::None {
            return Ok(None);
        }
        let principal = match authorization(metadata)? {
            Some(header) => self.check_header(header)?,
            None => {
                let basic = <arrow_flight::BasicAuth as prost::Message>::decode(payload)
                    .ok()
                    .filter(|b| !b.username.is_empty())
                    .ok_or_else(|| unauthenticated("missing credentials"))?;
                self.check_password(&basic.username, &basic.password)?
            }
        };
        match principal {
            // Token holders keep using the token they have.
            Principal::StaticToken => Ok(bearer(metadata)),
            Principal::User(name) => Ok(Some(self.issue(&name))),
            Principal::Anonymous => Ok(None),
        }
    }

    fn check_header(&self, header: &str) -> Result<Principal> {
        if let Some(b64) = strip_scheme(header, "basic") {
            let decoded = BASIC_B64
                .decode(b64.trim())
                .map_err(|_| unauthenticated("malformed Basic credentials"))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| unauthenticated("malformed Basic credentials"))?;
            let (user, password) = text
                .split_once(':')
                .ok_or_else(|| unauthenticated("malformed Basic credentials"))?;
            return self.check_password(user, password);
        }
        if let Some(token) = strip_scheme(header, "bearer") {
            return self.check_token(token.trim());
        }
        Err(unauthenticated(
            "unsupported authorization scheme (use Basic or Bearer)",
        ))
    }

    fn check_password(&self, user: &str, password: &str) -> Result<Principal> {
        if self.mode != FlightAuth::Basic {
            return Err(unauthenticated(
                "password login is disabled; use a bearer token",
            ));
        }
        // Hash even for unknown users, so timing does not reveal who exists.
        let (salt, expected) = match self.users.get(user) {
            Some(u) => (u.salt.as_str(), u.sha256),
            None => ("", [0u8; 32]),
        };
        let actual = sha256(&[salt.as_bytes(), password.as_bytes()].concat());
        let known = self.users.contains_key(user);
        if bool::from(actual.ct_eq(&expected)) && known {
            Ok(Principal::User(user.to_owned()))
        } else {
            Err(unauthenticated("invalid user name or password"))
        }
    }

    fn check_token(&self, token: &str) -> Result<Principal> {
        if let Some(body) = token.strip_prefix(TOKEN_PREFIX) {
            return self.verify_issued(body);
        }
        let presented = sha256(token.as_bytes());
        // Compare against every token without stopping early.
        let hit = self
            .tokens
            .iter()
            .fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&presented));
        if bool::from(hit) {
            Ok(Principal::StaticToken)
        } else {
            Err(unauthenticated("invalid bearer token"))
        }
    }

    /// A token `tm1.<payload>.<mac>`; payload = `expiry-unix-seconds:user`.
    fn issue(&self, user: &str) -> String {
        let ttl = chrono::TimeDelta::from_std(self.ttl).unwrap_or(chrono::TimeDelta::MAX);
        let expires = (self.clock.now() + ttl).timestamp();
        let payload = URL_SAFE_NO_PAD.encode(format!("{expires}:{user}"));
        let mac = URL_SAFE_NO_PAD.encode(hmac_sha256(&self.key, payload.as_bytes()));
        format!("{TOKEN_PREFIX}{payload}.{mac}")
    }

    fn verify_issued(&self, body: &str) -> Result<Principal> {
        let (payload, mac) = body
            .split_once('.')
            .ok_or_else(|| unauthenticated("malformed token"))?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| unauthenticated("malformed token"))?;
        let expected = hmac_sha256(&self.key, payload.as_bytes());
        if !bool::from(expected.as_slice().ct_eq(&mac)) {
            return Err(unauthenticated("invalid bearer token"));
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or_else(|| unauthenticated("malformed token"))?;
        let (expires, user) = payload
            .split_once(':')
            .ok_or_else(|| unauthenticated("malformed token"))?;
        let expires: i64 = expires
            .parse()
            .map_err(|_| unauthenticated("malformed token"))?;
        if self.clock.now().timestamp() >= expires {
            return Err(unauthenticated("bearer token expired; log in again"));
        }
        Ok(Principal::User(user.to_owned()))
    }
}

fn unauthenticated(msg: &str) -> Error {
    Error::Unauthenticated(msg.to_owned())
}

fn authorization(metadata: &MetadataMap) -> Result<Option<&str>> {
    match metadata.get("authorization") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| unauthenticated("malformed authorization header")),
    }
}

fn bearer(metadata: &MetadataMap) -> Option<String> {
    let header = metadata.get("authorization")?.to_str().ok()?;
    strip_scheme(header, "bearer").map(|t| t.trim().to_owned())
}

/// `Basic xyz` → `xyz` (scheme names are case-insensitive).
fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = header.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 (RFC 2104) over the `sha2` crate already in the tree.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner: [u8; 32] = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize()
        .into();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Secret;
    use chrono::DateTime;
    use std::sync::Arc;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn auth(clock: &ManualClock) -> Authenticator {
        let config = FlightConfig {
            auth: FlightAuth::Basic,
            users: vec![
                format!("alice:salt:{}", hex(&sha256(b"saltsecret!")))
                    .parse()
                    .unwrap(),
            ],
            tokens: vec![Secret::from("static-token-0123456789")],
            token_ttl: Duration::from_secs(60),
            tls: None,
            allow_unauthenticated: false,
        };
        Authenticator::new(&config, Arc::new(clock.clone()))
    }

    fn headers(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    #[test]
    fn login_issues_a_token_that_works_until_it_expires() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let auth = auth(&clock);
        let basic = format!("Basic {}", BASIC_B64.encode("alice:secret!"));
        let token = auth.handshake(&headers(&basic), &[]).unwrap().unwrap();
        assert_eq!(
            auth.check(&headers(&format!("Bearer {token}"))).unwrap(),
            Principal::User("alice".into())
        );
        // A forged user in the payload breaks the signature.
        let forged = token.replacen(
            &URL_SAFE_NO_PAD.encode(format!("{}:alice", 1_700_000_060)),
            &URL_SAFE_NO_PAD.encode(format!("{}:mallory", 1_700_000_060)),
            1,
        );
        assert_ne!(forged, token);
        assert!(auth.check(&headers(&format!("Bearer {forged}"))).is_err());
        clock.advance(Duration::from_secs(61));
        let err = auth
            .check(&headers(&format!("Bearer {token}")))
            .unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn wrong_or_missing_credentials_are_unauthenticated() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let auth = auth(&clock);
        for bad in [
            format!("Basic {}", BASIC_B64.encode("alice:wrong")),
            format!("Basic {}", BASIC_B64.encode("nobody:secret!")),
            "Bearer not-a-token".to_owned(),
            "Digest abc".to_owned(),
        ] {
            assert!(
                matches!(auth.check(&headers(&bad)), Err(Error::Unauthenticated(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            auth.check(&MetadataMap::new()),
            Err(Error::Unauthenticated(_))
        ));
        assert_eq!(
            auth.check(&headers("bearer static-token-0123456789"))
                .unwrap(),
            Principal::StaticToken
        );
        // Unpadded Basic credentials (as Go clients send them) work.
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("alice:secret!");
        assert!(auth.check(&headers(&format!("Basic {unpadded}"))).is_ok());
        // The handshake payload form (Flight BasicAuth) works too.
        let payload = prost::Message::encode_to_vec(&arrow_flight::BasicAuth {
            username: "alice".into(),
            password: "secret!".into(),
        });
        assert!(
            auth.handshake(&MetadataMap::new(), &payload)
                .unwrap()
                .is_some()
        );
    }
}
