//! Wiring of the dashboard and data API: who may read data over HTTP, from
//! the Flight SQL authentication settings (the HTTP module never sees the
//! Flight module; this is where the two meet).
use std::net::SocketAddr;

use tonic::metadata::{Ascii, MetadataMap, MetadataValue};

use crate::clock::SharedClock;
use crate::config::{FlightAuth, FlightConfig};
use crate::flight::{Authenticator, Principal};
use crate::http::{Access, Credentials};

/// The HTTP access rule for `config` (Flight SQL's users and tokens) on
/// `http_addr`: open on loopback without authentication, refused on any
/// other address unless unauthenticated serving was allowed explicitly.
pub fn access(config: &FlightConfig, http_addr: SocketAddr, clock: SharedClock) -> Access {
    match config.auth {
        FlightAuth::None if http_addr.ip().is_loopback() || config.allow_unauthenticated => {
            Access::Open
        }
        FlightAuth::None => Access::Refused(format!(
            "the dashboard's data is not served without authentication on {http_addr}: \
             configure TM_FLIGHT_AUTH, or allow unauthenticated access explicitly \
             (TM_FLIGHT_ALLOW_UNAUTHENTICATED=true)"
        )),
        FlightAuth::Basic | FlightAuth::Bearer => Access::Authenticated(std::sync::Arc::new(
            FlightCredentials(Authenticator::new(config, clock)),
        )),
    }
}

/// Flight SQL's authenticator behind the HTTP credentials seam, through its
/// public entry points only (`check`, `handshake`).
struct FlightCredentials(Authenticator);

fn metadata(authorization: &str) -> Result<MetadataMap, String> {
    let value: MetadataValue<Ascii> = authorization
        .parse()
        .map_err(|_| "malformed authorization header".to_owned())?;
    let mut map = MetadataMap::new();
    map.insert("authorization", value);
    Ok(map)
}

#[async_trait::async_trait]
impl Credentials for FlightCredentials {
    async fn check(&self, authorization: &str) -> Result<String, String> {
        match self.0.check(&metadata(authorization)?).await {
            Ok(Principal::User(name)) => Ok(name),
            Ok(Principal::StaticToken) => Ok("static token".into()),
            Ok(Principal::Anonymous) => Ok("anonymous".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn login(&self, authorization: &str) -> Result<Option<String>, String> {
        self.0
            .handshake(&metadata(authorization)?, &[])
            .await
            .map_err(|e| e.to_string())
    }
}
