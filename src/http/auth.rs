//! Who may read data over HTTP. The checks themselves live behind the
//! [`Credentials`] seam, which the composition root builds from the Flight SQL
//! settings: the dashboard and the data API take the same users and tokens
//! as Flight SQL, and this module never sees how they are stored.
//!
//! A browser logs in once with HTTP Basic (its own password prompt) and gets
//! the bearer token Flight would issue as an `HttpOnly`, `SameSite=Strict`
//! session cookie, so later requests — the event stream included, which
//! cannot send headers — are checked cheaply by token instead of re-hashing
//! the password.
use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{Error, Result};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tm_session";

/// Checks credentials (implemented by the composition root over Flight SQL's
/// authenticator).
#[async_trait::async_trait]
pub trait Credentials: Send + Sync + 'static {
    /// Checks one `Authorization` header value (`Basic …` or `Bearer …`):
    /// the caller's name, or why not (told to the client, so no secrets).
    /// A password check is slow on purpose (Argon2), hence async.
    async fn check(&self, authorization: &str) -> Result<String, String>;
    /// Exchanges valid credentials for a bearer token that checks cheaply
    /// (`None` when they are a static token already).
    async fn login(&self, authorization: &str) -> Result<Option<String>, String>;
}

/// The access rule for the dashboard's data and the data API.
#[derive(Clone)]
pub enum Access {
    /// Anyone: authentication is off and the address is loopback (or serving
    /// without authentication was allowed explicitly).
    Open,
    /// Only callers the credentials accept.
    Authenticated(Arc<dyn Credentials>),
    /// No data is served; the reason is told to clients (e.g. authentication
    /// is off on a public address).
    Refused(String),
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Open => f.write_str("Open"),
            Access::Authenticated(_) => f.write_str("Authenticated"),
            Access::Refused(why) => f.debug_tuple("Refused").field(why).finish(),
        }
    }
}

/// Who made a request (a request extension set by [`require`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Access is open: nobody was asked for credentials.
    Anonymous,
    /// A caller whose credentials were checked.
    Authenticated(String),
}

/// Middleware: lets a request through per the [`Access`] rule, recording the
/// [`Caller`]; answers 401 (with a Basic challenge) or 403 otherwise.
pub(super) async fn require(
    State(access): State<Access>,
    mut request: Request,
    next: Next,
) -> Response {
    let (caller, cookie) = match identify(&access, request.headers()).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if let Some(token) = cookie {
        set_session(&mut response, &token);
    }
    response
}

/// The caller, and a fresh session token to set when the request logged in
/// with a password.
async fn identify(access: &Access, headers: &HeaderMap) -> Result<(Caller, Option<String>)> {
    let creds = match access {
        Access::Open => return Ok((Caller::Anonymous, None)),
        Access::Refused(why) => return Err(Error::Forbidden(why.clone())),
        Access::Authenticated(creds) => creds,
    };
    // The session first: a browser keeps sending its cached Basic header too,
    // and the token is the cheap check.
    if let Some(token) = session_token(headers)
        && let Ok(who) = creds.check(&format!("Bearer {token}")).await
    {
        return Ok((Caller::Authenticated(who), None));
    }
    let Some(header) = headers.get(header::AUTHORIZATION) else {
        return Err(Error::Unauthenticated(
            "log in: send an Authorization header (Basic or Bearer), as for Flight SQL".into(),
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| Error::Unauthenticated("malformed authorization header".into()))?;
    if is_basic(header) {
        let token = creds.login(header).await.map_err(Error::Unauthenticated)?;
        let who = match &token {
            Some(t) => creds.check(&format!("Bearer {t}")).await,
            None => creds.check(header).await,
        }
        .map_err(Error::Unauthenticated)?;
        return Ok((Caller::Authenticated(who), token));
    }
    let who = creds.check(header).await.map_err(Error::Unauthenticated)?;
    Ok((Caller::Authenticated(who), None))
}

fn is_basic(header: &str) -> bool {
    header
        .split_once(' ')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
}

/// Our cookie's value. Hand-read rather than with a cookie crate: only this
/// one cookie is read, and its value (a token) needs no unquoting.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

fn set_session(response: &mut Response, token: &str) {
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `POST /api/login`: checks the `Authorization` header and answers with a
/// bearer token for later requests (and sets it as the session cookie).
pub(super) async fn login(State(access): State<Access>, headers: HeaderMap) -> Response {
    match login_token(&access, &headers).await {
        Ok(token) => {
            let body = serde_json::json!({ "token": token });
            let mut response = axum::Json(body).into_response();
            if let Some(t) = &token {
                set_session(&mut response, t);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn login_token(access: &Access, headers: &HeaderMap) -> Result<Option<String>> {
    let creds = match access {
        Access::Open => return Ok(None),
        Access::Refused(why) => return Err(Error::Forbidden(why.clone())),
        Access::Authenticated(creds) => creds,
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| Error::Unauthenticated("send an Authorization header".into()))?;
    let token = creds.login(header).await.map_err(Error::Unauthenticated)?;
    Ok(token.or_else(|| {
        // A static token: it is the token to keep using.
        header.split_once(' ').map(|(_, t)| t.trim().to_owned())
    }))
}

/// `POST /api/logout`: forgets the session cookie.
pub(super) async fn logout() -> Response {
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts user `alice` with password `pw` and the token it issues.
    struct Fake;

    #[async_trait::async_trait]
    impl Credentials for Fake {
        async fn check(&self, authorization: &str) -> Result<String, String> {
            match authorization {
                "Bearer issued-alice" => Ok("alice".into()),
                "Bearer static-token" => Ok("static token".into()),
                _ => Err("invalid credentials".into()),
            }
        }
        async fn login(&self, authorization: &str) -> Result<Option<String>, String> {
            match authorization {
                // base64("alice:pw")
                "Basic YWxpY2U6cHc=" => Ok(Some("issued-alice".into())),
                "Bearer static-token" => Ok(None),
                _ => Err("invalid user name or password".into()),
            }
        }
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn basic_logs_in_once_then_the_cookie_is_enough() {
        let access = Access::Authenticated(Arc::new(Fake));
        let basic = headers(&[(header::AUTHORIZATION, "Basic YWxpY2U6cHc=")]);
        let (caller, cookie) = identify(&access, &basic).await.unwrap();
        assert_eq!(caller, Caller::Authenticated("alice".into()));
        assert_eq!(cookie.as_deref(), Some("issued-alice"));
        let later = headers(&[
            (header::COOKIE, "other=1; tm_session=issued-alice"),
            (header::AUTHORIZATION, "Basic d3Jvbmc="),
        ]);
        assert_eq!(
            identify(&access, &later).await.unwrap(),
            (Caller::Authenticated("alice".into()), None)
        );
    }

    #[tokio::test]
    async fn missing_or_wrong_credentials_are_refused() {
        let access = Access::Authenticated(Arc::new(Fake));
        for h in [
            headers(&[]),
            headers(&[(header::AUTHORIZATION, "Basic d3Jvbmc=")]),
            headers(&[(header::AUTHORIZATION, "Bearer nope")]),
            headers(&[(header::COOKIE, "tm_session=forged")]),
        ] {
            assert!(matches!(
                identify(&access, &h).await,
                Err(Error::Unauthenticated(_))
            ));
        }
        let token = headers(&[(header::AUTHORIZATION, "Bearer static-token")]);
        assert_eq!(
            identify(&access, &token).await.unwrap().0,
            Caller::Authenticated("static token".into())
        );
        assert_eq!(
            login_token(&access, &token).await.unwrap().as_deref(),
            Some("static-token")
        );
        let refused = Access::Refused("no authentication on 0.0.0.0".into());
        assert!(matches!(
            identify(&refused, &token).await,
            Err(Error::Forbidden(_))
        ));
        assert_eq!(
            identify(&Access::Open, &HeaderMap::new()).await.unwrap().0,
            Caller::Anonymous
        );
    }
}
