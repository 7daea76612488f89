//! One client connection of the simulated chat server.
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};

use super::{Cmd, JoinRecord, Shared};
use crate::sim::chat::format;

/// Longest line the server reads from a client.
const MAX_CLIENT_LINE: usize = 8 * 1024;

struct Conn {
    shared: Arc<Shared>,
    nick: Option<String>,
    /// The token of `PASS oauth:<token>` (checked at `NICK`).
    pass: Option<String>,
    welcomed: bool,
    /// Joined channels: room id and the time up to which lines were sent.
    joined: BTreeMap<String, (String, DateTime<Utc>)>,
    out: Vec<u8>,
    rng: ChaCha8Rng,
}

pub(super) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    id: u64,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    mut stop: watch::Receiver<bool>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut tick = tokio::time::interval(shared.args.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ping_every = shared
        .args
        .ping_every
        .unwrap_or(std::time::Duration::from_secs(365 * 24 * 3600));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut c = Conn {
        rng: ChaCha8Rng::seed_from_u64(shared.args.seed ^ id),
        shared,
        nick: None,
        pass: None,
        welcomed: false,
        joined: BTreeMap::new(),
        out: Vec::new(),
    };
    loop {
        let keep_going = tokio::select! {
            _ = stop.changed() => false,
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Reconnect) => {
                    c.push(":tmi.twitch.tv RECONNECT");
                    c.shared.control().stats.reconnects += 1;
                    let _ = c.flush(&mut write).await;
                    false
                }
                Some(Cmd::Ping) => c.ping(),
                Some(Cmd::Raw(l)) => {
                    c.push(&l);
                    true
                }
                None => false,
            },
            line = lines.next_line() => match line {
                Ok(Some(l)) if l.len() <= MAX_CLIENT_LINE => c.on_client_line(l.trim_end_matches('\r')),
                _ => false,
            },
            _ = tick.tick() => {
                c.pump();
                true
            }
            _ = ping.tick() => c.ping(),
        };
        if c.flush(&mut write).await.is_err() || !keep_going {
            break;
        }
    }
    let _ = write.shutdown().await;
    let mut ctl = c.shared.control();
    ctl.stats.open = ctl.stats.open.saturating_sub(1);
    ctl.conns.remove(&id);
}

impl Conn {
    fn push(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn ping(&mut self) -> bool {
        if self.welcomed {
            self.push("PING :tmi.twitch.tv");
            self.shared.control().stats.pings += 1;
        }
        true
    }

    /// Writes what is pending, cut at random points (a line often arrives
    /// in two or more TCP reads, several lines often in one).
    async fn flush(&mut self, write: &mut OwnedWriteHalf) -> std::io::Result<()> {
        let out = std::mem::take(&mut self.out);
        let mut rest = &out[..];
        while !rest.is_empty() {
            let n = self.rng.random_range(1..=1_400).min(rest.len());
            write.write_all(&rest[..n]).await?;
            write.flush().await?;
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Sends the lines that became due on the joined channels.
    fn pump(&mut self) {
        if self.joined.is_empty() {
            return;
        }
        let now = self.shared.args.clock.now();
        let chat = self.shared.args.chat.clone();
        let mut sent = 0u64;
        let channels: Vec<String> = self.joined.keys().cloned().collect();
        for ch in channels {
            let Some((_, since)) = self.joined.get(&ch).cloned() else {
                continue;
            };
            if now <= since {
                continue;
            }
            for l in chat.lines(&ch, since, now) {
                self.push(&l.line);
                sent += 1;
            }
            if let Some(entry) = self.joined.get_mut(&ch) {
                entry.1 = now;
            }
        }
        if sent > 0 {
            self.shared.control().stats.lines += sent;
        }
    }

    /// Handles one client line; `false` closes the connection.
    fn on_client_line(&mut self, line: &str) -> bool {
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd.to_ascii_uppercase().as_str() {
            "PASS" => {
                self.pass = rest
                    .trim()
                    .strip_prefix("oauth:")
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                true
            }
            "NICK" => {
                let nick = rest.trim().to_ascii_lowercase();
                let anonymous = nick.starts_with("justinfan");
                let accepted = anonymous
                    || self.pass.as_deref().is_some_and(|token| {
                        self.shared
                            .args
                            .login_check
                            .as_ref()
                            .is_none_or(|check| check(&nick, token))
                    });
                // The token is not kept past the login.
                self.pass = None;
                if !accepted {
                    self.push(":tmi.twitch.tv NOTICE * :Login authentication failed");
                    self.shared.control().stats.logins_refused += 1;
                    return false;
                }
                for l in format::welcome(&nick) {
                    self.push(&l);
                }
                self.shared.control().stats.logins += 1;
                self.nick = Some(nick);
                self.welcomed = true;
                true
            }
            "CAP" => {
                let caps = rest.split_once(':').map_or("", |(_, c)| c);
                self.push(&format!(":tmi.twitch.tv CAP * ACK :{caps}"));
                true
            }
            "JOIN" if self.welcomed => {
                let nick = self.nick.clone().unwrap_or_default();
                let now = self.shared.args.clock.now();
                for ch in rest.trim().split(',') {
                    let ch = ch.trim().trim_start_matches('#').to_ascii_lowercase();
                    if ch.is_empty() {
                        continue;
                    }
                    self.shared.control().joins.push(JoinRecord {
                        channel: ch.clone(),
                        nick: nick.clone(),
                        at: now,
                    });
                    match self.shared.args.chat.room_id(&ch) {
                        Some(room) => {
                            for l in format::join_replies(&nick, &ch, &room) {
                                self.push(&l);
                            }
                            self.joined.insert(ch, (room, now));
                        }
                        None => self.push(&format::no_such_channel(&ch)),
                    }
                }
                true
            }
            "PART" if self.welcomed => {
                let nick = self.nick.clone().unwrap_or_default();
                for ch in rest.trim().split(',') {
                    let ch = ch.trim().trim_start_matches('#').to_ascii_lowercase();
                    if self.joined.remove(&ch).is_some() {
                        self.push(&format!(":{nick}!{nick}@{nick}.tmi.twitch.tv PART #{ch}"));
                    }
                }
                true
            }
            "PING" => {
                let arg = rest.trim_start_matches(':');
                self.push(&format!(":tmi.twitch.tv PONG tmi.twitch.tv :{arg}"));
                true
            }
            "PONG" => {
                self.shared.control().stats.pongs += 1;
                true
            }
            "QUIT" => false,
            _ => {
                if self.welcomed {
                    self.push(&format!(
                        ":tmi.twitch.tv 421 {} {cmd} :Unknown command",
                        self.nick.as_deref().unwrap_or("*")
                    ));
                }
                true
            }
        }
    }
}
