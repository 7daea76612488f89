//! The simulated auth host: client-credentials tokens with a TTL, validation,
//! revocation, and the Helix header check (`Authorization` + `Client-Id`).
//! User tokens (device code and refresh grants) are in `grants`.
use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::grants::{DEVICE_GRANT, Kind, UserGrants};
use super::helix::Reply;

/// Issued tokens and their expiry.
#[derive(Debug)]
pub(crate) struct Tokens {
    live: HashMap<String, DateTime<Utc>>,
    rng: ChaCha8Rng,
    ttl: Duration,
    issued: u64,
    /// The user side: device codes, refresh tokens, user access tokens.
    pub(crate) users: UserGrants,
}

/// Why a Helix request is not authorized.
const INVALID_TOKEN: &str = "Invalid OAuth token";

impl Tokens {
    pub(crate) fn new(seed: u64, ttl: Duration) -> Self {
        Self {
            live: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            ttl,
            issued: 0,
            users: UserGrants::new(seed),
        }
    }

    /// Tokens issued so far.
    pub(crate) fn issued(&self) -> u64 {
        self.issued
    }

    /// Forgets every access token, app and user: the next Helix call with
    /// any of them gets 401 (user refresh tokens still work).
    pub(crate) fn revoke_all(&mut self) {
        self.live.clear();
        self.users.revoke_access();
    }

    /// Forgets the app tokens only.
    pub(crate) fn revoke_app(&mut self) {
        self.live.clear();
    }

    /// `POST /oauth2/token` with a form body.
    pub(crate) fn issue(
        &mut self,
        form: &[u8],
        client_id: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Reply {
        let fields: HashMap<String, String> =
            url::form_urlencoded::parse(form).into_owned().collect();
        let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
        // Auth-host bodies have no "error" key, unlike Helix.
        let refuse = |status: u16, message: &str| Reply {
            status,
            body: json!({ "status": status, "message": message })
                .to_string()
                .into_bytes(),
        };
        let grant = field("grant_type");
        if grant != "client_credentials" && grant != "refresh_token" && grant != DEVICE_GRANT {
            return refuse(400, "unsupported grant type");
        }
        if field("client_id") != client_id {
            return refuse(400, "invalid client");
        }
        let secret_ok = bool::from(field("client_secret").as_bytes().ct_eq(secret.as_bytes()));
        // User grants come from public clients too (no secret); a secret
        // that is sent must be right.
        let public = grant != "client_credentials" && field("client_secret").is_empty();
        if !secret_ok && !public {
            return refuse(403, "invalid client secret");
        }
        if let Some(reply) = self.users.grant(&fields, now) {
            return reply;
        }
        let token: String = (0..30)
            .map(|_| char::from_digit(self.rng.random_range(0..36), 36).unwrap_or('0'))
            .collect();
        let expires = now
            .checked_add_signed(delta(self.ttl))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.live.insert(token.clone(), expires);
        self.issued += 1;
        let body = json!({ "access_token": token, "expires_in": self.ttl.as_secs(), "token_type": "bearer" });
        Reply {
            status: 200,
            body: body.to_string().into_bytes(),
        }
    }

    /// `GET /oauth2/validate` with `Authorization: OAuth <token>`.
    pub(crate) fn validate(
        &self,
        headers: &HeaderMap,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Reply {
        let token = bearer(headers, "OAuth ").or_else(|| bearer(headers, "Bearer "));
        if let Some(reply) = token.and_then(|t| self.users.validate(t, client_id, now)) {
            return reply;
        }
        match token.and_then(|t| self.expires_in(t, now)) {
            Some(secs) => Reply {
                status: 200,
                body: json!({ "client_id": client_id, "scopes": [], "expires_in": secs })
                    .to_string()
                    .into_bytes(),
            },
            None => Reply {
                status: 401,
                body: json!({ "status": 401, "message": "invalid access token" })
                    .to_string()
                    .into_bytes(),
            },
        }
    }

    /// Checks a Helix request's headers; `Err` is the 401 to send.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Kind, Reply> {
        let token = bearer(headers, "Bearer ").ok_or_else(|| Reply::error(401, INVALID_TOKEN))?;
        let kind = if self.expires_in(token, now).is_some() {
            Kind::App
        } else if self.users.is_live(token, now) {
            Kind::User
        } else {
            return Err(Reply::error(401, INVALID_TOKEN));
        };
        // One sim app: every live token belongs to `client_id`.
        let sent = headers.get("client-id").and_then(|v| v.to_str().ok());
        if sent != Some(client_id) {
            return Err(Reply::error(401, "Client ID and OAuth token do not match"));
        }
        Ok(kind)
    }

    /// Whole seconds left, or `None` if unknown or expired.
    fn expires_in(&self, token: &str, now: DateTime<Utc>) -> Option<i64> {
        let left = (*self.live.get(token)? - now).num_seconds();
        (left > 0).then_some(left)
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn bearer<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (s, token) = v.split_at_checked(scheme.len())?;
    s.eq_ignore_ascii_case(scheme).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn token_of(r: &Reply) -> String {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    #[test]
    fn issues_expiring_tokens_and_refuses_bad_credentials() {
        let mut t = Tokens::new(1, Duration::from_secs(10));
        let form = b"client_id=id&client_secret=s&grant_type=client_credentials";
        let ok = t.issue(form, "id", "s", t0());
        assert_eq!(ok.status, 200);
        assert_eq!(
            t.issue(
                b"client_id=x&client_secret=s&grant_type=client_credentials",
                "id",
                "s",
                t0()
            )
            .status,
            400
        );
        assert_eq!(
            t.issue(
                b"client_id=id&client_secret=x&grant_type=client_credentials",
                "id",
                "s",
                t0()
            )
            .status,
            403
        );

        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Bearer {}", token_of(&ok)).parse().unwrap(),
        );
        h.insert("client-id", "id".parse().unwrap());
        assert!(t.authorize(&h, "id", t0()).is_ok());
        assert_eq!(t.authorize(&h, "other", t0()).unwrap_err().status, 401);
        assert_eq!(
            t.authorize(&h, "id", t0() + TimeDelta::seconds(10))
                .unwrap_err()
                .status,
            401
        );
        t.revoke_all();
        assert_eq!(t.authorize(&h, "id", t0()).unwrap_err().status, 401);
        assert_eq!(t.issued(), 1);
    }
}
