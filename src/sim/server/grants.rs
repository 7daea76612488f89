//! The simulated auth host's user side: the Device Code Grant flow
//! (`/oauth2/device`, then `authorization_pending`, `slow_down`, expiry, and
//! approval or denial through knobs or `GET /activate`), the refresh-token
//! grant with rotating one-use refresh tokens, user access tokens, their
//! validation and revocation, and a knob that hangs every `/oauth2` answer.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::helix::Reply;
use super::{Shared, SimServer};

/// `grant_type` of device-code token requests.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Knobs of the user side. `Default` is Twitch-like: device codes live 30
/// minutes and wait for [`SimServer::approve_device`] (or `GET /activate`),
/// user tokens live 4 hours, app tokens are accepted everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKnobs {
    /// Approve a device code after it answered `authorization_pending` to
    /// this many polls (`None`: only when approved explicitly).
    pub approve_after_polls: Option<u32>,
    /// The next N device-code polls answer `slow_down`.
    pub slow_down_next: u32,
    /// Device codes are declined instead of approved.
    pub deny: bool,
    /// Lifetime of a device code.
    pub device_code_ttl: Duration,
    /// Polling interval handed out with a device code.
    pub device_interval: Duration,
    /// Lifetime of user access tokens.
    pub user_token_ttl: Duration,
    /// `/channels/followers` answers 401 to app tokens (the documented rule:
    /// it requires a user access token).
    pub refuse_app_tokens_on_followers: bool,
    /// Real-time delay before every `/oauth2` answer (a hanging auth host).
    pub auth_latency: Duration,
    /// Login of the user who approves.
    pub user_login: String,
    /// Id of the user who approves.
    pub user_id: String,
}

impl Default for UserKnobs {
    fn default() -> Self {
        Self {
            approve_after_polls: None,
            slow_down_next: 0,
            deny: false,
            device_code_ttl: Duration::from_secs(1800),
            device_interval: Duration::from_secs(5),
            user_token_ttl: Duration::from_secs(4 * 3600),
            refuse_app_tokens_on_followers: false,
            auth_latency: Duration::ZERO,
            user_login: "simviewer".into(),
            user_id: "900000001".into(),
        }
    }
}

/// Helix requests that carried a valid token, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BearerCounts {
    /// With an app token.
    pub app: u64,
    /// With a user token.
    pub user: u64,
}

/// Counters of the user side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthStats {
    /// Helix requests by endpoint and the kind of token they carried.
    pub bearer: BTreeMap<String, BearerCounts>,
    /// Device codes handed out.
    pub device_codes: u64,
    /// Device-code polls answered.
    pub device_polls: u64,
    /// User access tokens issued (device grant and refreshes).
    pub user_tokens_issued: u64,
    /// Successful refresh-token grants.
    pub refresh_grants: u64,
}

/// Which kind of token a Helix request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    App,
    User,
}

#[derive(Debug)]
struct Device {
    user_code: String,
    expires_at: DateTime<Utc>,
    polls: u32,
    approved: bool,
    scopes: Vec<String>,
}

/// The user side's state.
#[derive(Debug)]
pub(crate) struct UserGrants {
    pub(crate) knobs: UserKnobs,
    rng: ChaCha8Rng,
    devices: HashMap<String, Device>,
    /// Live refresh tokens and their scopes.
    refresh: HashMap<String, Vec<String>>,
    /// Live user access tokens: expiry and scopes.
    access: HashMap<String, (DateTime<Utc>, Vec<String>)>,
    pub(crate) stats: OAuthStats,
}

fn refuse(status: u16, message: &str) -> Reply {
    // Auth-host bodies have no "error" key, unlike Helix.
    Reply {
        status,
        body: json!({ "status": status, "message": message })
            .to_string()
            .into_bytes(),
    }
}

fn ok(body: serde_json::Value) -> Reply {
    Reply {
        status: 200,
        body: body.to_string().into_bytes(),
    }
}

impl UserGrants {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            knobs: UserKnobs::default(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0a17),
            devices: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            stats: OAuthStats::default(),
        }
    }

    fn random(&mut self, n: usize, radix: u32) -> String {
        (0..n)
            .map(|_| {
                let c = char::from_digit(self.rng.random_range(0..radix), radix).unwrap_or('0');
                c.to_ascii_uppercase()
            })
            .collect()
    }

    /// `POST /oauth2/device`.
    fn device(
        &mut self,
        fields: &HashMap<String, String>,
        host: &str,
        now: DateTime<Utc>,
    ) -> Reply {
        let code = self.random(40, 36).to_ascii_lowercase();
        // Letters only, like Twitch's user codes.
        let user_code: String = (0..8)
            .map(|_| char::from(b'A' + self.rng.random_range(0..26u8)))
            .collect();
        let scopes = fields
            .get("scopes")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let ttl = self.knobs.device_code_ttl;
        self.devices.insert(
            code.clone(),
            Device {
                user_code: user_code.clone(),
                expires_at: plus(now, ttl),
                polls: 0,
                approved: false,
                scopes,
            },
        );
        self.stats.device_codes += 1;
        ok(json!({
            "device_code": code,
            "expires_in": ttl.as_secs(),
            "interval": self.knobs.device_interval.as_secs(),
            "user_code": user_code,
            "verification_uri": format!("http://{host}/activate?device-code={user_code}"),
        }))
    }

    /// `POST /oauth2/token` with the device-code grant.
    fn device_grant(&mut self, fields: &HashMap<String, String>, now: DateTime<Utc>) -> Reply {
        self.stats.device_polls += 1;
        let code = fields.get("device_code").cloned().unwrap_or_default();
        let Some(device) = self.devices.get_mut(&code) else {
            return refuse(400, "invalid device code");
        };
        if now >= device.expires_at {
            self.devices.remove(&code);
            return refuse(400, "invalid device code");
        }
        if self.knobs.slow_down_next > 0 {
            self.knobs.slow_down_next -= 1;
            return refuse(400, "slow_down");
        }
        device.polls += 1;
        if self
            .knobs
            .approve_after_polls
            .is_some_and(|n| device.polls > n)
        {
            device.approved = true;
        }
        if !device.approved {
            return refuse(400, "authorization_pending");
        }
        let Some(device) = self.devices.remove(&code) else {
            return refuse(400, "invalid device code");
        };
        if self.knobs.deny {
            return refuse(400, "access_denied");
        }
        self.issue(device.scopes, now)
    }

    /// `POST /oauth2/token` with the refresh-token grant: the old refresh
    /// token is spent, a new one comes with the new access token.
    fn refresh_grant(&mut self, fields: &HashMap<String, String>, now: DateTime<Utc>) -> Reply {
        let token = fields.get("refresh_token").cloned().unwrap_or_default();
        let Some(scopes) = self.refresh.remove(&token) else {
            return refuse(400, "Invalid refresh token");
        };
        self.stats.refresh_grants += 1;
        self.issue(scopes, now)
    }

    fn issue(&mut self, scopes: Vec<String>, now: DateTime<Utc>) -> Reply {
        let access = self.random(30, 36).to_ascii_lowercase();
        let refresh = self.random(50, 36).to_ascii_lowercase();
        let ttl = self.knobs.user_token_ttl;
        self.access
            .insert(access.clone(), (plus(now, ttl), scopes.clone()));
        self.refresh.insert(refresh.clone(), scopes.clone());
        self.stats.user_tokens_issued += 1;
        ok(json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl.as_secs(),
            "scope": scopes,
            "token_type": "bearer",
        }))
    }

    /// `/oauth2/validate` of a user token; `None` if it is not one.
    pub(crate) fn validate(
        &self,
        token: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Option<Reply> {
        let (expires, scopes) = self.access.get(token)?;
        let left = (*expires - now).num_seconds();
        (left > 0).then(|| {
            ok(json!({
                "client_id": client_id,
                "login": self.knobs.user_login,
                "user_id": self.knobs.user_id,
                "scopes": scopes,
                "expires_in": left,
            }))
        })
    }

    /// Whether `token` is a live user access token.
    pub(crate) fn is_live(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.access.get(token).is_some_and(|(e, _)| *e > now)
    }

    /// Counts a Helix request's valid token; `Some` is the refusal to
    /// send instead (app tokens on followers, when that knob is on).
    pub(crate) fn bearer(&mut self, endpoint: &str, kind: Kind) -> Option<Reply> {
        let c = self.stats.bearer.entry(endpoint.to_owned()).or_default();
        match kind {
            Kind::App => c.app += 1,
            Kind::User => c.user += 1,
        }
        let refuse = kind == Kind::App
            && endpoint == "channels/followers"
            && self.knobs.refuse_app_tokens_on_followers;
        // What Helix answers app tokens on endpoints that need a user token.
        refuse.then(|| Reply::error(401, "Missing User OAUTH Token"))
    }

    /// Forgets user access tokens (refresh tokens still work).
    pub(crate) fn revoke_access(&mut self) {
        self.access.clear();
    }

    /// The token-endpoint grants this side answers; `None` for others.
    pub(crate) fn grant(
        &mut self,
        fields: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Option<Reply> {
        match fields.get("grant_type").map(String::as_str) {
            Some(DEVICE_GRANT) => Some(self.device_grant(fields, now)),
            Some("refresh_token") => Some(self.refresh_grant(fields, now)),
            _ => None,
        }
    }
}

/// `now + d`, saturating (a huge knob must not panic the server).
fn plus(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Waits out the hang knob (real time: client timeouts are real time).
pub(super) async fn hang(s: &Shared) {
    let delay = s.control().tokens.users.knobs.auth_latency;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// `POST /oauth2/device`.
pub(super) async fn device(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hang(&s).await;
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let now = s.clock.now();
    let reply = if fields.get("client_id") != Some(&s.client_id) {
        refuse(400, "invalid client")
    } else {
        s.control().tokens.users.device(&fields, &host, now)
    };
    s.finish("oauth2/device", "", reply, None)
}

/// `GET /activate?device-code=CODE`: the simulated user approves.
pub(super) async fn activate(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let query = q.unwrap_or_default();
    let code = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "device-code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let reply = if s.control().tokens.users.approve(&code) {
        ok(json!({ "message": "approved" }))
    } else {
        refuse(404, "unknown code")
    };
    s.finish("activate", &query, reply, None)
}

impl UserGrants {
    fn approve(&mut self, user_code: &str) -> bool {
        let mut found = false;
        for d in self.devices.values_mut() {
            if d.user_code == user_code {
                d.approved = true;
                found = true;
            }
        }
        found
    }
}

impl SimServer {
    /// The user-side knobs as they stand.
    pub fn user_knobs(&self) -> UserKnobs {
        self.shared.control().tokens.users.knobs.clone()
    }
    /// Edits the user-side knobs.
    pub fn update_user_knobs(&self, f: impl FnOnce(&mut UserKnobs)) {
        f(&mut self.shared.control().tokens.users.knobs);
    }
    /// The simulated user approves the device code `user_code`; false if unknown.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.shared.control().tokens.users.approve(user_code)
    }
    /// Revokes app tokens only: the next Helix call with one gets 401.
    pub fn revoke_app_tokens(&self) {
        self.shared.control().tokens.revoke_app();
    }
    /// Revokes user access tokens only (their refresh tokens still work).
    pub fn revoke_user_tokens(&self) {
        self.shared.control().tokens.users.revoke_access();
    }
    /// The user disconnects the app: user access and refresh tokens die.
    pub fn revoke_user_authorization(&self) {
        let mut c = self.shared.control();
        c.tokens.users.revoke_access();
        c.tokens.users.refresh.clear();
    }
    /// Counters of the user side.
    pub fn oauth_stats(&self) -> OAuthStats {
        self.shared.control().tokens.users.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn field(r: &Reply, k: &str) -> String {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        match &v[k] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn device_codes_pend_slow_down_expire_and_refresh_tokens_rotate() {
        let mut g = UserGrants::new(1);
        g.knobs.approve_after_polls = Some(2);
        g.knobs.slow_down_next = 1;
        let d = g.device(&form(&[("scopes", "a b")]), "h:1", t0());
        let poll = form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", &field(&d, "device_code")),
        ]);
        let msgs: Vec<String> = (0..3)
            .map(|_| field(&g.device_grant(&poll, t0()), "message"))
            .collect();
        assert_eq!(
            msgs,
            [
                "slow_down",
                "authorization_pending",
                "authorization_pending"
            ]
        );
        let tok = g.device_grant(&poll, t0());
        assert_eq!(tok.status, 200);
        assert!(g.is_live(&field(&tok, "access_token"), t0()));
        // Spent: the code is gone.
        assert_eq!(
            field(&g.device_grant(&poll, t0()), "message"),
            "invalid device code"
        );

        let r1 = field(&tok, "refresh_token");
        let again = g.refresh_grant(&form(&[("refresh_token", &r1)]), t0());
        assert_eq!(again.status, 200);
        assert_ne!(field(&again, "refresh_token"), r1);
        assert_eq!(
            g.refresh_grant(&form(&[("refresh_token", &r1)]), t0())
                .status,
            400
        );

        let late = g.device(&form(&[]), "h:1", t0());
        let poll = form(&[("device_code", &field(&late, "device_code"))]);
        let after = t0() + TimeDelta::seconds(1800);
        assert_eq!(
            field(&g.device_grant(&poll, after), "message"),
            "invalid device code"
        );
    }
}
