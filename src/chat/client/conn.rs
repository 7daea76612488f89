//! One IRC connection's life: connect, log in, join its channels at the
//! shared rate, read lines into the buffer, answer `PING`, and start over —
//! at once after `RECONNECT`, after a jittered backoff after a failure —
//! joining every channel again each time.
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::sync::watch;

use super::io::{BoxIo, LineReader, connect};
use super::{ChatAuth, Shared, backoff};
use crate::chat::line::{Control, LineKind, parse_line};
use crate::chat::stats::ChatStats;
use crate::chat::{ChatLine, Error, Result};

/// A connection that stayed up this long resets the backoff.
const STABLE: std::time::Duration = std::time::Duration::from_secs(60);
/// Time allowed for one write.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a session ended.
enum Ended {
    /// The handle asked to stop.
    Stop,
    /// The server asked us to reconnect.
    Reconnect,
    /// No channels are left for this connection.
    Idle,
    /// Something failed; back off before the next try.
    Failed(Error),
}

/// Runs connection `shard` until `stop` turns true (or its sender goes away).
pub(super) async fn run(
    shared: Arc<Shared>,
    shard: usize,
    mut channels: watch::Receiver<BTreeSet<String>>,
    mut stop: watch::Receiver<bool>,
) {
    let clock = shared.args.clock.clone();
    let mut failures = 0u32;
    // A connection after a lost one (not the first, not one after idling).
    let mut reconnecting = false;
    loop {
        if *stop.borrow() {
            return;
        }
        if channels.borrow().is_empty() {
            tokio::select! {
                r = channels.changed() => if r.is_err() { return },
                _ = stop.changed() => return,
            }
            continue;
        }
        if reconnecting {
            ChatStats::add(&shared.stats.reconnects, 1);
        }
        let started = std::time::Instant::now();
        let ended = session(&shared, &mut channels, &mut stop).await;
        if started.elapsed() >= STABLE {
            failures = 0;
        }
        reconnecting = !matches!(ended, Ended::Idle);
        match ended {
            Ended::Stop => return,
            Ended::Idle => {}
            Ended::Reconnect => {
                tracing::info!(shard, addr = %shared.args.addr, "chat: reconnecting");
            }
            Ended::Failed(e) => {
                failures += 1;
                let wait = backoff(failures);
                tracing::warn!(
                    shard,
                    "chat: {e}; reconnecting in {:.1} s",
                    wait.as_secs_f64()
                );
                tokio::select! {
                    _ = clock.sleep(wait) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The IRC nick for `auth`.
fn nick(auth: &ChatAuth) -> String {
    match auth {
        ChatAuth::Anonymous => format!("justinfan{}", rand::random_range(10_000..100_000u32)),
        ChatAuth::User { login, .. } => login.to_ascii_lowercase(),
    }
}

/// The write side of a connection.
struct Writer<'a> {
    half: WriteHalf<BoxIo>,
    addr: &'a str,
}

impl Writer<'_> {
    async fn send(&mut self, line: &str) -> Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let io = |source| Error::Io {
            addr: self.addr.to_owned(),
            source,
        };
        match tokio::time::timeout(WRITE_TIMEOUT, self.half.write_all(&bytes)).await {
            Ok(r) => r.map_err(io),
            Err(_) => Err(Error::Timeout {
                addr: self.addr.to_owned(),
                during: "writing",
            }),
        }
    }
}

/// Keeps a line; counts it.
fn keep(shared: &Shared, line: ChatLine) {
    let s = &shared.stats;
    match &line.kind {
        LineKind::Message(_) => ChatStats::add(&s.messages, 1),
        LineKind::Unparsable(why) => {
            ChatStats::add(&s.unparsable, 1);
            tracing::debug!(channel = ?line.channel, "chat: unparsable line kept raw: {why}");
        }
        LineKind::Event(_) => {}
    }
    shared.buffer.push(line);
}

/// One connection, from connect to close.
async fn session(
    shared: &Shared,
    channels: &mut watch::Receiver<BTreeSet<String>>,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let addr = shared.args.addr.to_string();
    let io = tokio::select! {
        r = connect(&shared.args.addr, shared.tls.as_ref()) => match r {
            Ok(io) => io,
            Err(e) => return Ended::Failed(e),
        },
        _ = stop.changed() => return Ended::Stop,
    };
    let (read, write) = tokio::io::split(io);
    let mut reader = LineReader::new(read);
    let mut writer = Writer {
        half: write,
        addr: &addr,
    };
    ChatStats::add(&shared.stats.connections, 1);
    let mut joined: BTreeSet<String> = BTreeSet::new();
    let ended = Session {
        shared,
        nick: nick(&shared.args.auth),
        joined: &mut joined,
        sent_join: BTreeSet::new(),
        welcomed: false,
        generation: None,
    }
    .run(&mut reader, &mut writer, channels, stop)
    .await;
    ChatStats::sub(&shared.stats.joined, joined.len() as u64);
    ChatStats::sub(&shared.stats.connections, 1);
    let _ = writer.half.shutdown().await;
    ended
}

struct Session<'a> {
    shared: &'a Shared,
    nick: String,
    /// Channels the server confirmed (its JOIN echo).
    joined: &'a mut BTreeSet<String>,
    /// Channels a JOIN was sent for on this connection.
    sent_join: BTreeSet<String>,
    welcomed: bool,
    /// The generation of the user token sent at login, if one was.
    generation: Option<u64>,
}

impl Session<'_> {
    async fn run(
        mut self,
        reader: &mut LineReader<tokio::io::ReadHalf<BoxIo>>,
        writer: &mut Writer<'_>,
        channels: &mut watch::Receiver<BTreeSet<String>>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        if let Err(e) = self.login(writer).await {
            return Ended::Failed(e);
        }
        let clock = self.shared.args.clock.clone();
        let idle = self.shared.args.idle_timeout;
        let mut pinged = false;
        // Channels are compared only when something may have changed: on
        // start, a new channel set, the welcome, and when a JOIN may go.
        let mut dirty = true;
        let mut join_at: Option<DateTime<Utc>> = None;
        loop {
            if dirty {
                dirty = false;
                let want = channels.borrow_and_update().clone();
                if want.is_empty() {
                    return Ended::Idle;
                }
                let now = clock.now();
                join_at = match self.sync_channels(&want, writer, now).await {
                    Ok(wait) => {
                        wait.map(|w| now + chrono::TimeDelta::from_std(w).unwrap_or_default())
                    }
                    Err(e) => return Ended::Failed(e),
                };
            }
            let join_timer = async {
                match join_at {
                    Some(t) => clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.changed() => return Ended::Stop,
                r = tokio::time::timeout(idle, reader.next_line()) => match r {
                    Err(_) if !pinged => {
                        // Quiet for a while: ask whether the server is still there.
                        pinged = true;
                        if let Err(e) = writer.send("PING :tmi.twitch.tv").await {
                            return Ended::Failed(e);
                        }
                    }
                    Err(_) => {
                        return Ended::Failed(Error::Timeout { addr: writer.addr.to_owned(), during: "waiting for the server" });
                    }
                    Ok(Err(source)) => return Ended::Failed(Error::Io { addr: writer.addr.to_owned(), source }),
                    Ok(Ok(None)) => return Ended::Failed(Error::Closed { addr: writer.addr.to_owned() }),
                    Ok(Ok(Some(raw))) => {
                        pinged = false;
                        let was_welcomed = self.welcomed;
                        if let Some(ended) = self.on_line(raw, writer, clock.now()).await {
                            return ended;
                        }
                        dirty |= self.welcomed && !was_welcomed;
                    }
                },
                r = channels.changed() => {
                    if r.is_err() {
                        return Ended::Stop;
                    }
                    dirty = true;
                }
                _ = join_timer => dirty = true,
            }
        }
    }

    async fn login(&mut self, writer: &mut Writer<'_>) -> Result<()> {
        if let ChatAuth::User { tokens, .. } = &self.shared.args.auth {
            let (token, generation) = tokens
                .current()
                .await
                .map_err(|e| Error::Token(e.to_string()))?;
            self.generation = Some(generation);
            let token = token.expose().trim_start_matches("oauth:");
            writer.send(&format!("PASS oauth:{token}")).await?;
        }
        writer.send(&format!("NICK {}", self.nick)).await?;
        writer
            .send("CAP REQ :twitch.tv/tags twitch.tv/commands")
            .await
    }

    /// Sends the PARTs and as many JOINs as the limit allows; returns how
    /// long until the next JOIN may go, if one is waiting.
    async fn sync_channels(
        &mut self,
        want: &BTreeSet<String>,
        writer: &mut Writer<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        if !self.welcomed {
            return Ok(None);
        }
        let gone: Vec<String> = self.sent_join.difference(want).cloned().collect();
        for c in gone {
            writer.send(&format!("PART #{c}")).await?;
            self.sent_join.remove(&c);
        }
        let todo: Vec<String> = want.difference(&self.sent_join).cloned().collect();
        for c in todo {
            match self.shared.limiter.try_take(now) {
                Ok(()) => {
                    writer.send(&format!("JOIN #{c}")).await?;
                    self.sent_join.insert(c);
                }
                Err(wait) => return Ok(Some(wait)),
            }
        }
        Ok(None)
    }

    /// Handles one line; `Some` ends the session.
    async fn on_line(
        &mut self,
        raw: super::io::RawLine,
        writer: &mut Writer<'_>,
        now: DateTime<Utc>,
    ) -> Option<Ended> {
        let shared = self.shared;
        ChatStats::add(&shared.stats.lines, 1);
        if let Some(defect) = raw.defect {
            keep(
                shared,
                ChatLine {
                    received_at: now,
                    channel: None,
                    raw: raw.text,
                    kind: LineKind::Unparsable(defect.into()),
                },
            );
            return None;
        }
        if raw.text.is_empty() {
            return None;
        }
        let (line, control) = parse_line(&raw.text, now, shared.scorer);
        if let Some(line) = line {
            keep(shared, line);
        }
        match control {
            Control::None => None,
            Control::Ping(arg) => writer
                .send(&format!("PONG :{arg}"))
                .await
                .err()
                .map(Ended::Failed),
            Control::Reconnect => Some(Ended::Reconnect),
            Control::Welcome => {
                self.welcomed = true;
                None
            }
            Control::Joined { login, channel } if login.eq_ignore_ascii_case(&self.nick) => {
                if self.joined.insert(channel) {
                    ChatStats::add(&shared.stats.joined, 1);
                }
                None
            }
            Control::Parted { login, channel } if login.eq_ignore_ascii_case(&self.nick) => {
                if self.joined.remove(&channel) {
                    ChatStats::sub(&shared.stats.joined, 1);
                }
                None
            }
            Control::Joined { .. } | Control::Parted { .. } => None,
            Control::ServerNotice(text) => {
                let refused = text.contains("Login authentication failed")
                    || text.contains("Improperly formatted auth")
                    || text.contains("Invalid NICK");
                if !refused {
                    return None;
                }
                // A refused user token is renewed before the next login
                // (unless another user of the token already did).
                if let (ChatAuth::User { tokens, .. }, Some(generation)) =
                    (&shared.args.auth, self.generation)
                    && let Err(e) = tokens.renew(generation).await
                {
                    tracing::warn!("chat: the user token could not be renewed: {e}");
                }
                Some(Ended::Failed(Error::LoginRefused {
                    addr: writer.addr.to_owned(),
                    notice: text,
                }))
            }
        }
    }
}
