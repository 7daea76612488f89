//! The simulator's Twitch chat server: IRC over TCP on a loopback port with
//! Twitch's behaviour — anonymous `justinfan` or `oauth:` logins, `CAP`
//! acknowledgements, JOIN replies with `ROOMSTATE`, `NOTICE` for channels
//! that do not exist, `PING`s the client must answer, `RECONNECT` on demand,
//! and writes cut at random points so lines arrive split across TCP reads.
//! It serves the lines of [`SimChat`] for the channels each connection
//! joined, from the moment it joined, on the simulator's clock.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::chat::SimChat;
use crate::clock::SharedClock;

mod conn;

/// Decides a user login: `(nick, token without "oauth:")` → accepted.
pub type LoginCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Everything the chat server needs.
#[derive(Clone)]
pub struct IrcServerArgs {
    /// What the channels say.
    pub chat: Arc<SimChat>,
    /// Simulated time: which lines are due, JOIN times.
    pub clock: SharedClock,
    /// How often (real time) each connection sends what became due.
    pub tick: Duration,
    /// How often (real time) the server pings each connection (`None`: only on demand).
    pub ping_every: Option<Duration>,
    /// Seed of the points where writes are cut.
    pub seed: u64,
    /// Checks a user login's nick and token (`None`: any `oauth:` token
    /// passes); anonymous `justinfan` logins never need one.
    pub login_check: Option<LoginCheck>,
}

impl std::fmt::Debug for IrcServerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrcServerArgs")
            .field("tick", &self.tick)
            .field("ping_every", &self.ping_every)
            .field("seed", &self.seed)
            .field("login_check", &self.login_check.is_some())
            .finish_non_exhaustive()
    }
}

impl IrcServerArgs {
    /// Defaults: lines sent every 50 ms, a `PING` every 4 minutes.
    pub fn new(chat: Arc<SimChat>, clock: SharedClock) -> Self {
        Self {
            chat,
            clock,
            tick: Duration::from_millis(50),
            ping_every: Some(Duration::from_secs(240)),
            seed: 0,
            login_check: None,
        }
    }
}

/// Counters of the chat server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IrcStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open: u64,
    /// Logins accepted.
    pub logins: u64,
    /// Logins refused.
    pub logins_refused: u64,
    /// `PING`s sent.
    pub pings: u64,
    /// `PONG`s received.
    pub pongs: u64,
    /// `RECONNECT`s sent.
    pub reconnects: u64,
    /// Chat lines (`PRIVMSG` and the rest of channel content) sent.
    pub lines: u64,
}

/// One JOIN as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRecord {
    /// The channel.
    pub channel: String,
    /// The client's nick.
    pub nick: String,
    /// Simulated time of the JOIN.
    pub at: DateTime<Utc>,
}

/// Something the test (or the simulator) tells open connections to do.
#[derive(Debug, Clone)]
enum Cmd {
    Reconnect,
    Ping,
    Raw(String),
}

#[derive(Debug, Default)]
struct Control {
    stats: IrcStats,
    joins: Vec<JoinRecord>,
    conns: HashMap<u64, mpsc::UnboundedSender<Cmd>>,
    next_id: u64,
}

#[derive(Debug)]
struct Shared {
    args: IrcServerArgs,
    control: Mutex<Control>,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn broadcast(&self, cmd: &Cmd) {
        self.control()
            .conns
            .retain(|_, tx| tx.send(cmd.clone()).is_ok());
    }
}

/// A running chat server; stops when dropped (or on [`IrcServer::shutdown`]).
#[derive(Debug)]
pub struct IrcServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl IrcServer {
    /// Serves on an already-bound listener.
    pub fn start(listener: TcpListener, args: IrcServerArgs) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            args,
            control: Mutex::new(Control::default()),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept(listener, shared.clone(), stopped));
        Ok(Self {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The address as the chat client takes it: `irc://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("irc://{}", self.addr)
    }
    /// What the channels say (script it here).
    pub fn chat(&self) -> &Arc<SimChat> {
        &self.shared.args.chat
    }
    /// Counters so far.
    pub fn stats(&self) -> IrcStats {
        self.shared.control().stats.clone()
    }
    /// Every JOIN received so far, in order.
    pub fn joins(&self) -> Vec<JoinRecord> {
        self.shared.control().joins.clone()
    }
    /// Sends `RECONNECT` to every open connection and closes it, as Twitch
    /// does before a restart.
    pub fn reconnect_all(&self) {
        self.shared.broadcast(&Cmd::Reconnect);
    }
    /// Sends `PING` to every open connection now.
    pub fn ping_all(&self) {
        self.shared.broadcast(&Cmd::Ping);
    }
    /// Sends a raw line (malformed ones too) to every open connection now.
    pub fn send_raw_all(&self, line: &str) {
        self.shared.broadcast(&Cmd::Raw(line.to_owned()));
    }

    /// Closes every connection and stops accepting.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for IrcServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let (tx, rx) = mpsc::unbounded_channel();
                    let id = {
                        let mut c = shared.control();
                        c.next_id += 1;
                        c.stats.connections += 1;
                        c.stats.open += 1;
                        let id = c.next_id;
                        c.conns.insert(id, tx);
                        id
                    };
                    conns.spawn(conn::serve(stream, shared.clone(), id, rx, stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!("sim chat: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    while conns.join_next().await.is_some() {}
}
