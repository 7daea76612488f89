//! The chat client: keeps the watched channels joined over as many IRC
//! connections as they need (Twitch advises about 100 channels per
//! connection), shares one JOIN rate limit between them, and puts every line
//! read into the [`ChatBuffer`] for the ingest cycle.
//!
//! Each connection ([`conn`]) logs in (anonymous `justinfan…` or a user
//! token), asks for tags and commands, joins its channels at the rate the
//! shared [`JoinLimiter`] allows, answers `PING`, reconnects at once on
//! `RECONNECT` and with capped, jittered backoff after a failure, and joins
//! all its channels again on every new connection.
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::addr::ChatAddr;
use super::buffer::ChatBuffer;
use super::line::ChatLine;
use super::sentiment::Scorer;
use super::stats::{ChatStats, ChatStatsSnapshot};
use super::{ChatSource, Result};
use crate::clock::SharedClock;
use crate::twitch::TokenSource;

mod conn;
mod io;
mod limit;

pub use limit::{JoinLimit, JoinLimiter, backoff};

/// Twitch's advice: about 100 channels per connection.
pub const CHANNELS_PER_CONNECTION: usize = 100;

/// How the client logs in.
#[derive(Clone, Default)]
pub enum ChatAuth {
    /// Read-only, no account: `NICK justinfan<digits>`.
    #[default]
    Anonymous,
    /// A user's token with the `chat:read` scope (`twitch-monitor login`),
    /// asked of its source at every login, and renewed when the server
    /// refuses it.
    User {
        /// The token's user login (the IRC nick).
        login: String,
        /// The refreshing user token (shared with the Helix client).
        tokens: Arc<dyn TokenSource>,
    },
}

impl fmt::Debug for ChatAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::User { login, .. } => f
                .debug_struct("User")
                .field("login", login)
                .finish_non_exhaustive(),
        }
    }
}

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct ChatArgs {
    /// The chat server.
    pub addr: ChatAddr,
    /// Login.
    pub auth: ChatAuth,
    /// Receive times, the JOIN rate limit and reconnect backoff run on it.
    pub clock: SharedClock,
    /// Bound of the buffer between cycles, in bytes.
    pub buffer_bytes: usize,
    /// Channels per connection (Twitch: about 100).
    pub channels_per_connection: usize,
    /// JOINs allowed per window, shared by all connections.
    pub join_limit: JoinLimit,
    /// Longest silence from the server before the client pings it; twice
    /// this without an answer drops the connection (real time).
    pub idle_timeout: Duration,
}

impl ChatArgs {
    /// Twitch's defaults: anonymous, 100 channels per connection, 20 JOINs
    /// per 10 s, a 64 MiB buffer.
    pub fn new(addr: ChatAddr, clock: SharedClock) -> Self {
        Self {
            addr,
            auth: ChatAuth::Anonymous,
            clock,
            buffer_bytes: 64 << 20,
            channels_per_connection: CHANNELS_PER_CONNECTION,
            join_limit: JoinLimit::default(),
            idle_timeout: Duration::from_secs(5 * 60),
        }
    }
}

/// State shared by the handle and the connection tasks.
struct Shared {
    args: ChatArgs,
    tls: Option<tokio_rustls::TlsConnector>,
    buffer: ChatBuffer,
    stats: Arc<ChatStats>,
    limiter: JoinLimiter,
    scorer: &'static Scorer,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("args", &self.args)
            .field("tls", &self.tls.is_some())
            .field("buffer", &self.buffer)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// One connection's channels and task.
#[derive(Debug)]
struct Shard {
    channels: watch::Sender<BTreeSet<String>>,
    task: JoinHandle<()>,
}

/// A running chat client (a cheap handle over its connection tasks, which
/// stop when it is dropped or shut down).
#[derive(Debug)]
pub struct ChatClient {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    stop: watch::Sender<bool>,
    shards: Mutex<Vec<Shard>>,
}

impl ChatClient {
    /// Starts a client with no channels (see [`ChatSource::set_channels`]).
    /// Must be called inside a tokio runtime, which runs its connections.
    pub fn start(args: ChatArgs) -> Result<Self> {
        let tls = if args.addr.tls {
            Some(io::tls_connector()?)
        } else {
            None
        };
        let stats = Arc::new(ChatStats::default());
        let shared = Arc::new(Shared {
            buffer: ChatBuffer::new(args.buffer_bytes, stats.clone()),
            limiter: JoinLimiter::new(args.join_limit),
            stats,
            tls,
            scorer: Scorer::builtin(),
            args,
        });
        Ok(Self {
            shared,
            runtime: tokio::runtime::Handle::current(),
            stop: watch::channel(false).0,
            shards: Mutex::new(Vec::new()),
        })
    }

    /// The shared counters (live, not a copy).
    pub fn stats_handle(&self) -> Arc<ChatStats> {
        self.shared.stats.clone()
    }

    /// The buffer the connections fill.
    pub fn buffer(&self) -> &ChatBuffer {
        &self.shared.buffer
    }

    /// Channels each connection is meant to be in, by connection.
    pub fn assignment(&self) -> Vec<BTreeSet<String>> {
        self.shards()
            .iter()
            .map(|s| s.channels.borrow().clone())
            .collect()
    }

    /// Closes every connection and waits for the tasks to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let shards = std::mem::take(&mut *self.shards());
        for s in shards {
            let _ = s.task.await;
        }
    }

    fn shards(&self) -> MutexGuard<'_, Vec<Shard>> {
        self.shards.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ChatClient {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A login as IRC wants it (lower case, no `#`), or `None` if it cannot be one.
pub fn normalize_channel(c: &str) -> Option<String> {
    let c = c.trim().trim_start_matches('#').to_ascii_lowercase();
    let ok =
        !c.is_empty() && c.len() <= 25 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(c)
}

/// Spreads `want` over connections of `per` channels: channels keep their
/// connection, new ones fill the first with room, and new connections are
/// added when all are full. Returns the new sets (never fewer than `current`).
fn assign(
    current: &[BTreeSet<String>],
    want: &BTreeSet<String>,
    per: usize,
) -> Vec<BTreeSet<String>> {
    let per = per.max(1);
    let mut sets: Vec<BTreeSet<String>> = current
        .iter()
        .map(|s| s.intersection(want).cloned().collect())
        .collect();
    for c in want {
        if sets.iter().any(|s| s.contains(c)) {
            continue;
        }
        match sets.iter_mut().find(|s| s.len() < per) {
            Some(s) => {
                s.insert(c.clone());
            }
            None => sets.push(BTreeSet::from([c.clone()])),
        }
    }
    sets
}

impl ChatSource for ChatClient {
    fn drain(&self) -> Vec<ChatLine> {
        self.shared.buffer.drain()
    }

    fn restore(&self, lines: Vec<ChatLine>) {
        self.shared.buffer.restore(lines);
    }

    fn set_channels(&self, channels: &[String]) {
        let want: BTreeSet<String> = channels
            .iter()
            .filter_map(|c| {
                let n = normalize_channel(c);
                if n.is_none() {
                    tracing::warn!(channel = %c, "not a Twitch login; not joined");
                }
                n
            })
            .collect();
        let mut shards = self.shards();
        let current: Vec<BTreeSet<String>> =
            shards.iter().map(|s| s.channels.borrow().clone()).collect();
        let sets = assign(&current, &want, self.shared.args.channels_per_connection);
        for (i, set) in sets.into_iter().enumerate() {
            match shards.get(i) {
                Some(s) => {
                    s.channels.send_if_modified(|c| {
                        let changed = *c != set;
                        *c = set;
                        changed
                    });
                }
                None => {
                    let (tx, rx) = watch::channel(set);
                    let task = self.runtime.spawn(conn::run(
                        self.shared.clone(),
                        i,
                        rx,
                        self.stop.subscribe(),
                    ));
                    shards.push(Shard { channels: tx, task });
                }
            }
        }
    }

    fn stats(&self) -> ChatStatsSnapshot {
        self.shared.stats.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn channels_keep_their_connection_and_fill_the_first_with_room() {
        let s = assign(&[], &set(&["a", "b", "c"]), 2);
        assert_eq!(s, vec![set(&["a", "b"]), set(&["c"])]);
        // "a" leaves, "d" and "e" come: "d" takes the free place, "e" joins "c".
        let s = assign(&s, &set(&["b", "c", "d", "e"]), 2);
        assert_eq!(s, vec![set(&["b", "d"]), set(&["c", "e"])]);
        // Everyone leaves: the connections stay (idle), empty.
        let s = assign(&s, &set(&[]), 2);
        assert_eq!(s, vec![set(&[]), set(&[])]);
        // 1,000 channels at 100 per connection: 10 connections.
        let many: BTreeSet<String> = (0..1000).map(|i| format!("c{i:04}")).collect();
        let s = assign(&s, &many, 100);
        assert_eq!(s.len(), 10);
        assert!(s.iter().all(|c| c.len() == 100));
    }

    #[test]
    fn channel_names_are_normalized_or_refused() {
        assert_eq!(normalize_channel("#Shroud ").as_deref(), Some("shroud"));
        assert_eq!(normalize_channel("a_b_1").as_deref(), Some("a_b_1"));
        assert_eq!(normalize_channel(""), None);
        assert_eq!(normalize_channel("two words"), None);
        assert_eq!(normalize_channel("x,y"), None);
        assert_eq!(normalize_channel(&"a".repeat(26)), None);
    }

    /// A fixed token.
    #[derive(Debug)]
    struct Fixed;

    #[async_trait::async_trait]
    impl TokenSource for Fixed {
        async fn current(&self) -> crate::twitch::Result<(crate::twitch::AccessToken, u64)> {
            Ok((crate::twitch::AccessToken::new("sekrit-token"), 1))
        }
        async fn renew(&self, _: u64) -> crate::twitch::Result<()> {
            Ok(())
        }
        fn kind(&self) -> crate::twitch::TokenKind {
            crate::twitch::TokenKind::User
        }
    }

    #[test]
    fn the_token_never_prints() {
        let auth = ChatAuth::User {
            login: "me".into(),
            tokens: Arc::new(Fixed),
        };
        assert!(!format!("{auth:?}").contains("sekrit"));
    }
}
