//! The local Helix server: speaks the Helix API (OAuth, pagination,
//! rate-limit headers, error bodies) over the simulated [`World`], so the
//! real client is exercised over real HTTP in demo mode and in tests. Faults
//! real Twitch produces can be switched on at runtime ([`Faults`]).
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::sim::World;
use crate::sim::chat::SimChat;
use crate::sim::irc::{IrcServer, IrcServerArgs};

mod bucket;
mod faults;
mod grants;
mod helix;
mod oauth;

pub use bucket::RateLimit;
pub use faults::Faults;
pub use grants::{BearerCounts, OAuthStats, UserKnobs};

use bucket::{Bucket, RateState};
use faults::FaultState;
use helix::{PageFaults, Params, Reply};
use oauth::Tokens;

/// Requests kept in the log for tests to inspect; older ones are dropped.
/// `serve` on the simulator keeps it too: 100,000 (the cap before) held
/// 14 MiB at 12,000 channels, more with the long id lists of `users` pages.
const LOG_CAP: usize = 10_000;

/// What can go wrong running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener has no usable local address.
    #[error("cannot read the listener's address: {0}")]
    Addr(#[source] std::io::Error),
    /// Serving failed.
    #[error("the Helix server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("the Helix server task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// The chat server could not listen.
    #[error("the chat server cannot listen: {0}")]
    Chat(#[source] std::io::Error),
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct SimServerArgs {
    /// The world served (shared with whoever else drives it).
    pub world: Arc<Mutex<World>>,
    /// Simulated time: token expiry, the rate-limit bucket, world advance.
    pub clock: SharedClock,
    /// The one app the auth host knows.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Bucket size and window (`points == 0`: unlimited).
    pub rate_limit: RateLimit,
    /// Faults switched on from the start.
    pub faults: Faults,
    /// Seed of issued token values (and of the chat).
    pub seed: u64,
    /// Chat volume of generated channels (1 = about 25 messages a minute per
    /// 1,000 viewers; 0 = silent).
    pub chat_rate: f64,
}

impl SimServerArgs {
    /// Defaults like Twitch's: 800 points per minute, tokens for ~58 days.
    pub fn new(world: World, clock: SharedClock) -> Self {
        Self {
            world: Arc::new(Mutex::new(world)),
            clock,
            client_id: "simclientid0000000000000000000".into(),
            client_secret: "simclientsecret000000000000000".into(),
            token_ttl: Duration::from_secs(5_000_000),
            rate_limit: RateLimit::default(),
            faults: Faults::default(),
            seed: 0,
            chat_rate: 1.0,
        }
    }
}

/// Server counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Responses by endpoint (`streams`, `channels/followers`, `oauth2/token`…) and status.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// 429s sent (bucket and storms).
    pub rate_limited: u64,
    /// Requests the bucket refused.
    pub over_bucket: u64,
    /// Longest run of requests the bucket refused: 0 for a client that
    /// respects the headers.
    pub max_over_bucket: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
}

impl ServerStats {
    /// Responses sent for `endpoint`, any status.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.requests.get(endpoint).map_or(0, |m| m.values().sum())
    }
    /// Responses sent for `endpoint` with `status`.
    pub fn count_status(&self, endpoint: &str, status: u16) -> u64 {
        self.requests
            .get(endpoint)
            .and_then(|m| m.get(&status))
            .copied()
            .unwrap_or(0)
    }
}

/// One request as the server saw it (form bodies, which carry the secret,
/// are never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Endpoint without prefix, e.g. `streams` or `oauth2/token`.
    pub endpoint: String,
    /// The raw query string.
    pub query: String,
    /// Status sent.
    pub status: u16,
}

/// Mutable server state behind one lock.
#[derive(Debug)]
struct Control {
    tokens: Tokens,
    bucket: Option<Bucket>,
    faults: FaultState,
    stats: ServerStats,
    log: VecDeque<RequestRecord>,
    helix_requests: u64,
}

/// State shared by handlers.
#[derive(Debug)]
struct Shared {
    // std mutexes: every critical section is short and never awaits (the
    // world lock covers one page computation), so a blocking lock is cheaper
    // than an async one and cannot be held across a suspension point.
    world: Arc<Mutex<World>>,
    control: Mutex<Control>,
    clock: SharedClock,
    client_id: String,
    client_secret: String,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts, logs and turns a reply into an HTTP response.
    fn finish(
        &self,
        endpoint: &str,
        query: &str,
        reply: Reply,
        rate: Option<RateState>,
    ) -> Response {
        {
            let mut c = self.control();
            *c.stats
                .requests
                .entry(endpoint.to_owned())
                .or_default()
                .entry(reply.status)
                .or_default() += 1;
            if reply.status == 429 {
                c.stats.rate_limited += 1;
            }
            if c.log.len() >= LOG_CAP {
                c.log.pop_front();
            }
            c.log.push_back(RequestRecord {
                endpoint: endpoint.to_owned(),
                query: query.to_owned(),
                status: reply.status,
            });
        }
        let mut resp = Response::new(Body::from(reply.body));
        *resp.status_mut() =
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(r) = rate {
            if r.limit > 0 {
                h.insert("ratelimit-limit", HeaderValue::from(r.limit));
                h.insert("ratelimit-remaining", HeaderValue::from(r.remaining));
            }
            h.insert("ratelimit-reset", HeaderValue::from(r.reset));
        }
        resp
    }
}

impl Control {
    fn rate(&mut self, now: DateTime<Utc>) -> Option<RateState> {
        self.bucket.as_mut().map(|b| b.state(now))
    }

    /// Everything before the endpoint runs: revocation, auth, 429s, 5xx.
    /// `Err` is the reply to send instead.
    fn gate(
        &mut self,
        headers: &HeaderMap,
        client_id: &str,
        endpoint: &str,
        now: DateTime<Utc>,
    ) -> (Result<PageFaults, Reply>, Option<RateState>) {
        self.helix_requests += 1;
        if self.faults.revoke_now(self.helix_requests, endpoint) {
            self.tokens.revoke_all();
        }
        let kind = match self.tokens.authorize(headers, client_id, now) {
            Ok(kind) => kind,
            Err(reply) => return (Err(reply), self.rate(now)),
        };
        if let Some(reply) = self.tokens.users.bearer(endpoint, kind) {
            return (Err(reply), self.rate(now));
        }
        if self.faults.storm() {
            // A storm says "come back in a second" even when the bucket is full.
            let soon = now.timestamp() + 1;
            let rate = self.rate(now).map_or(
                RateState {
                    limit: 0,
                    remaining: 0,
                    reset: soon,
                },
                |r| RateState {
                    remaining: 0,
                    reset: r.reset.max(soon),
                    ..r
                },
            );
            return (Err(Reply::error(429, "Request limit exceeded")), Some(rate));
        }
        if let Some(b) = &mut self.bucket
            && !b.take(now)
        {
            return (
                Err(Reply::error(429, "Request limit exceeded")),
                Some(b.state(now)),
            );
        }
        let rate = self.rate(now);
        if self.faults.server_error() {
            return (Err(Reply::error(500, "")), rate);
        }
        let drop_total = endpoint == "channels/followers" && self.faults.missing_total();
        (
            Ok(PageFaults {
                drop_total,
                ..self.faults.paging()
            }),
            rate,
        )
    }
}

/// A running server; shuts down when dropped (use [`SimServer::shutdown`]
/// to wait for it and see its errors).
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    irc: Option<IrcServer>,
}

/// Starts the chat server beside the Helix one, on the same IP and a free
/// port; a user login needs a live user token of the simulated user.
fn start_irc(
    ip: std::net::IpAddr,
    mut irc: IrcServerArgs,
    shared: &Arc<Shared>,
) -> Result<IrcServer> {
    let std_listener = std::net::TcpListener::bind((ip, 0)).map_err(Error::Chat)?;
    std_listener.set_nonblocking(true).map_err(Error::Chat)?;
    let listener = TcpListener::from_std(std_listener).map_err(Error::Chat)?;
    let server = Arc::downgrade(shared);
    irc.login_check = Some(Arc::new(move |nick: &str, token: &str| {
        server.upgrade().is_some_and(|s| {
            let now = s.clock.now();
            let c = s.control();
            nick == c.tokens.users.knobs.user_login && c.tokens.users.is_live(token, now)
        })
    }));
    IrcServer::start(listener, irc).map_err(Error::Chat)
}

impl SimServer {
    /// Serves on an already-bound listener (bind `127.0.0.1:0` in tests).
    pub fn start(listener: TcpListener, args: SimServerArgs) -> Result<Self> {
        let addr = listener.local_addr().map_err(Error::Addr)?;
        let chat = Arc::new(SimChat::new(args.world.clone(), args.seed, args.chat_rate));
        let mut irc = IrcServerArgs::new(chat, args.clock.clone());
        irc.seed = args.seed;
        let now = args.clock.now();
        let shared = Arc::new(Shared {
            world: args.world,
            control: Mutex::new(Control {
                tokens: Tokens::new(args.seed, args.token_ttl),
                bucket: Bucket::new(args.rate_limit, now),
                faults: FaultState::new(args.faults),
                stats: ServerStats::default(),
                log: VecDeque::new(),
                helix_requests: 0,
            }),
            clock: args.clock,
            client_id: args.client_id,
            client_secret: args.client_secret,
        });
        let irc = start_irc(addr.ip(), irc, &shared)?;
        let app = Router::new()
            .route("/oauth2/token", post(token))
            .route("/oauth2/validate", get(validate))
            .route("/oauth2/device", post(grants::device))
            .route("/activate", get(grants::activate))
            .route("/helix/{*endpoint}", get(helix_get))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            // A dropped sender means the handle is gone: stop too.
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { serve.await });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
            irc: Some(irc),
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Helix base URL, e.g. `http://127.0.0.1:PORT/helix`.
    pub fn helix_url(&self) -> String {
        format!("http://{}/helix", self.addr)
    }
    /// OAuth base URL, e.g. `http://127.0.0.1:PORT/oauth2`.
    pub fn auth_url(&self) -> String {
        format!("http://{}/oauth2", self.addr)
    }
    /// The chat server's address for the chat client: `irc://127.0.0.1:PORT`.
    pub fn chat_url(&self) -> String {
        self.irc.as_ref().map(IrcServer::url).unwrap_or_default()
    }
    /// The chat server (script chat through [`IrcServer::chat`]).
    pub fn irc(&self) -> Option<&IrcServer> {
        self.irc.as_ref()
    }
    /// The client id the auth host accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }
    /// The client secret the auth host accepts.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }
    /// The world served.
    pub fn world(&self) -> Arc<Mutex<World>> {
        self.shared.world.clone()
    }
    /// The fault knobs as they stand (spent counters are lower).
    pub fn faults(&self) -> Faults {
        self.shared.control().faults.get()
    }
    /// Replaces every fault knob (and reseeds their draws).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.control().faults.set(faults);
    }
    /// Edits fault knobs in place.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        self.shared.control().faults.update(f);
    }
    /// Revokes every issued access token, app and user: the next Helix call gets 401.
    pub fn revoke_tokens(&self) {
        self.shared.control().tokens.revoke_all();
    }
    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        let c = self.shared.control();
        let mut s = c.stats.clone();
        s.tokens_issued = c.tokens.issued();
        if let Some(b) = &c.bucket {
            s.over_bucket = b.refused();
            s.max_over_bucket = b.max_over();
        }
        s
    }
    /// The most recent requests (up to 10,000), oldest first.
    pub fn requests_log(&self) -> Vec<RequestRecord> {
        self.shared.control().log.iter().cloned().collect()
    }

    /// Stops accepting, lets in-flight requests finish, and reports how serving ended.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(irc) = self.irc.take() {
            irc.shutdown().await;
        }
        match self.task.take() {
            Some(task) => task.await.map_err(Error::Task)?.map_err(Error::Serve),
            None => Ok(()),
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn token(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    grants::hang(&s).await;
    let now = s.clock.now();
    let reply = s
        .control()
        .tokens
        .issue(&body, &s.client_id, &s.client_secret, now);
    s.finish("oauth2/token", "", reply, None)
}

async fn validate(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    grants::hang(&s).await;
    let now = s.clock.now();
    let reply = s.control().tokens.validate(&headers, &s.client_id, now);
    s.finish("oauth2/validate", "", reply, None)
}

async fn helix_get(
    State(s): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let delay = s.control().faults.latency();
    if !delay.is_zero() {
        // Real time on purpose: client request timeouts are real time.
        tokio::time::sleep(delay).await;
    }
    let now = s.clock.now();
    let (gate, rate) = s.control().gate(&headers, &s.client_id, &endpoint, now);
    let reply = match gate {
        Err(reply) => reply,
        Ok(page_faults) => {
            let params = Params::parse(&query);
            let reply = {
                let mut world = s.world.lock().unwrap_or_else(|p| p.into_inner());
                world.advance_to(now);
                helix::answer(&world, &endpoint, &params, page_faults)
            };
            let fault = if reply.status == 200 {
                s.control().faults.body_fault()
            } else {
                None
            };
            match fault {
                Some(fault) => Reply {
                    status: 200,
                    body: fault.apply(reply.body),
                },
                None => reply,
            }
        }
    };
    s.finish(&endpoint, &query, reply, rate)
}
