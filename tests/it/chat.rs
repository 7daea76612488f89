//! The real chat client against the simulator's IRC server over loopback:
//! scripted chat gives hand-computed minute rows, a RECONNECT loses and
//! doubles nothing, malformed lines are kept and counted, PINGs are answered,
//! the JOIN rate holds — all on a `ManualClock`, so no test waits for time.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::eventually;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::net::TcpListener;
use twitch_monitor::chat::{
    ChatArgs, ChatClient, ChatLine, ChatMinute, ChatSource, LineKind, chat_minutes,
};
use twitch_monitor::clock::{Clock, ManualClock};
use twitch_monitor::sim::chat::{Notice, SimChat};
use twitch_monitor::sim::irc::IrcServer;
use twitch_monitor::sim::world::ScriptedChannel;
use twitch_monitor::sim::{SimServer, SimServerArgs, World, WorldConfig};

mod python;
mod serve;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_040, 0).unwrap()
}

fn secs(s: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(s)
}

/// A simulator with scripted channels (all live) on a manual clock, and a chat client.
struct Fixture {
    server: SimServer,
    clock: ManualClock,
    client: ChatClient,
}

impl Fixture {
    async fn start(channels: &[&str], tweak: impl FnOnce(&mut ChatArgs)) -> Self {
        let clock = ManualClock::new(t0());
        let mut world = World::new(WorldConfig {
            channels: 0,
            start: t0(),
            ..Default::default()
        });
        for login in channels {
            let id = world
                .add_scripted_channel(ScriptedChannel {
                    login: (*login).into(),
                    ..Default::default()
                })
                .unwrap();
            world.go_live(&id, "", "scripted", 1_000).unwrap();
        }
        let args = SimServerArgs::new(world, Arc::new(clock.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SimServer::start(listener, args).unwrap();
        let mut chat_args =
            ChatArgs::new(server.chat_url().parse().unwrap(), Arc::new(clock.clone()));
        tweak(&mut chat_args);
        let client = ChatClient::start(chat_args).unwrap();
        Self {
            server,
            clock,
            client,
        }
    }

    fn irc(&self) -> &IrcServer {
        self.server.irc().unwrap()
    }

    fn chat(&self) -> &Arc<SimChat> {
        self.irc().chat()
    }

    async fn join(&self, channels: &[&str]) {
        let want: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
        self.client.set_channels(&want);
        let n = channels.len() as u64;
        eventually("the joins", || self.client.stats().joined == n).await;
    }

    /// Moves simulated time to `t` and waits until the client holds `n` chat messages in all.
    async fn run_until(&self, t: DateTime<Utc>, n: u64) {
        self.clock.set(t);
        eventually(&format!("{n} messages"), || {
            self.client.stats().messages >= n
        })
        .await;
    }

    async fn stop(self) {
        self.client.shutdown().await;
        self.server.shutdown().await.unwrap();
    }
}

fn ids(lines: &[ChatLine]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.message().map(|m| m.id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_chat_gives_hand_computed_minutes() {
    let f = Fixture::start(&["alpha", "beta"], |_| {}).await;
    f.join(&["alpha", "beta"]).await;
    let chat = f.chat();
    // Scores (see the scorer's unit tests): good 0.440434, not good -0.341238,
    // PogChamp 0.564983, bad -0.542326, Kappa 0; "good PogChamp PogChamp"
    // sums 1.9 + 2 × 2.652 (no word modifies another) before normalising.
    chat.say("alpha", secs(1), "amy", "good").unwrap();
    chat.say("alpha", secs(20), "bob", "not good").unwrap();
    chat.say("alpha", secs(39), "amy", "PogChamp").unwrap();
    chat.say("alpha", secs(41), "cat", "bad").unwrap();
    chat.say("alpha", secs(45), "cat", "Kappa").unwrap();
    chat.say("beta", secs(10), "dan", "good PogChamp PogChamp")
        .unwrap();
    chat.notice("beta", secs(11), "eve", Notice::Sub).unwrap();
    f.run_until(secs(200), 6).await;
    let lines = f.client.drain();
    let notices = lines
        .iter()
        .filter(|l| matches!(&l.kind, LineKind::Event(e) if e.command == "USERNOTICE"));
    assert_eq!(notices.count(), 1);
    // And the room modes Twitch sends after each JOIN.
    let rooms = lines
        .iter()
        .filter(|l| matches!(&l.kind, LineKind::Event(e) if e.command == "ROOMSTATE"));
    assert_eq!(rooms.count(), 2);
    let rows = chat_minutes(&lines);
    let m0 = t0();
    let m1 = t0() + TimeDelta::minutes(1) - TimeDelta::seconds(20);
    assert_eq!(m0.timestamp() % 60, 20, "t0 is 20 s into a minute");
    // t0 is :20 into a minute: alpha's first minute has good (amy), not good
    // (bob), PogChamp (amy); +41 s and +45 s fall in the next one.
    let want_first = (0.440434 - 0.341238 + 0.564983) / 3.0;
    let beta = 1.9 + 2.0 * 4.0 * 0.663;
    let beta = beta / (beta * beta + 15f64).sqrt();
    let expect = [
        (
            "alpha",
            m0 - TimeDelta::seconds(20),
            3,
            2,
            want_first,
            2,
            1,
            vec!["PogChamp"],
        ),
        (
            "alpha",
            m1,
            2,
            1,
            (-0.542326 + 0.0) / 2.0,
            0,
            1,
            vec!["Kappa"],
        ),
        (
            "beta",
            m0 - TimeDelta::seconds(20),
            1,
            1,
            beta,
            1,
            0,
            vec!["PogChamp"],
        ),
    ];
    assert_eq!(rows.len(), expect.len(), "{rows:#?}");
    for (row, (ch, minute, messages, chatters, mean, pos, neg, emotes)) in rows.iter().zip(expect) {
        let ChatMinute {
            channel,
            minute: m,
            messages: n,
            unique_chatters,
            sentiment_mean,
            positive,
            negative,
            top_emotes,
        } = row;
        assert_eq!(
            (channel.as_str(), *m, *n, *unique_chatters),
            (ch, minute, messages, chatters),
            "{row:?}"
        );
        assert!((sentiment_mean - mean).abs() < 1e-5, "{row:?}: want {mean}");
        assert_eq!((*positive, *negative), (pos, neg), "{row:?}");
        assert_eq!(top_emotes, &emotes, "{row:?}");
    }
    assert_eq!(f.client.stats().unparsable, 0);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_mid_stream_loses_and_doubles_nothing_after_the_rejoin() {
    let f = Fixture::start(&["alpha", "beta"], |_| {}).await;
    f.join(&["alpha", "beta"]).await;
    let mut before = HashSet::new();
    for i in 0..50 {
        before.insert(
            f.chat()
                .say("alpha", secs(1 + i % 30), &format!("u{i}"), "hi")
                .unwrap(),
        );
    }
    f.run_until(secs(31), 50).await;
    f.irc().reconnect_all();
    eventually("the reconnect and the re-joins", || {
        let s = f.client.stats();
        s.reconnects == 1 && s.joined == 2 && f.irc().joins().len() == 4
    })
    .await;
    let mut after = HashSet::new();
    for i in 0..80 {
        let ch = if i % 2 == 0 { "alpha" } else { "beta" };
        after.insert(
            f.chat()
                .say(ch, secs(40 + i % 50), &format!("v{i}"), "hello")
                .unwrap(),
        );
    }
    f.run_until(secs(120), 130).await;
    let got = ids(&f.client.drain());
    let unique: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a message arrived twice");
    assert_eq!(
        unique,
        before.union(&after).cloned().collect::<HashSet<_>>()
    );
    assert_eq!(f.irc().stats().reconnects, 1);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_are_kept_raw_and_counted_and_pings_answered() {
    let f = Fixture::start(&["alpha"], |_| {}).await;
    f.join(&["alpha"]).await;
    let bad = [
        "@badtags-without-a-command",
        "@room-id=1 :x!x@x PRIVMSG #alpha :a message without Twitch's tags",
        ":x!x@x PRIVMSG #alpha",
    ];
    for (i, raw) in bad.iter().enumerate() {
        f.chat().raw("alpha", secs(1 + i as i64), raw);
    }
    f.chat()
        .say("alpha", secs(10), "amy", "still here")
        .unwrap();
    f.run_until(secs(20), 1).await;
    eventually("3 unparsable lines", || f.client.stats().unparsable == 3).await;
    f.irc().ping_all();
    eventually("a PONG", || f.irc().stats().pongs >= 1).await;
    let lines = f.client.drain();
    let kept: Vec<&str> = lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Unparsable(_)))
        .map(|l| l.raw.as_str())
        .collect();
    assert_eq!(kept, bad);
    assert_eq!(ids(&lines).len(), 1);
    let s = f.client.stats();
    assert_eq!((s.unparsable, s.messages, s.reconnects), (3, 1, 0));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_keep_to_twenty_per_ten_seconds_without_real_waiting() {
    let logins: Vec<String> = (0..45).map(|i| format!("chan{i:02}")).collect();
    let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
    let f = Fixture::start(&refs, |a| a.channels_per_connection = 30).await;
    let started = Instant::now();
    f.join(&refs).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited in real time"
    );
    let joins = f.irc().joins();
    assert_eq!(joins.len(), 45);
    // Two connections (30 + 15 channels) share one limit: 20 at t0, 20 at
    // +10 s, 5 at +20 s. The server stamps a JOIN when it reads it (never
    // earlier than it was sent), so at most 20·k can be stamped before +10·k s.
    for k in 1..=3 {
        let before = joins.iter().filter(|j| j.at < secs(10 * k)).count();
        assert!(
            before <= 20 * k as usize,
            "{before} JOINs before +{}s",
            10 * k
        );
    }
    let waited = f.clock.now() - t0();
    assert!(
        waited >= TimeDelta::seconds(20) && waited < TimeDelta::seconds(21),
        "{waited}"
    );
    assert_eq!(
        f.client
            .assignment()
            .iter()
            .map(|s| s.len())
            .collect::<Vec<_>>(),
        [30, 15]
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_command_prints_a_chat_address_that_serves_chat() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .arg("sim")
        .env("TM_SIM_ADDR", "127.0.0.1:0")
        .env("TM_SIM_CHANNELS", "30")
        .env("TM_SIM_ALL_LIVE", "true")
        .env("TM_SIM_SPEED", "600")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut addr, mut channels) = (None, Vec::new());
    while let Some(line) = out.next_line().await.unwrap() {
        if let Some(a) = line.strip_prefix("TM_CHAT_ADDR=") {
            addr = Some(a.to_owned());
        }
        if let Some((_, list)) = line.split_once("TM_CHANNELS=") {
            channels = list.split(',').map(str::to_owned).collect();
            break;
        }
    }
    let addr = addr.expect("no TM_CHAT_ADDR line");
    assert!(addr.starts_with("irc://127.0.0.1:"), "{addr}");
    let client = ChatClient::start(ChatArgs::new(
        addr.parse().unwrap(),
        Arc::new(twitch_monitor::clock::SystemClock),
    ))
    .unwrap();
    client.set_channels(&channels);
    eventually("the joins", || {
        client.stats().joined == channels.len() as u64
    })
    .await;
    // 600x: ten simulated minutes a second; every channel is live.
    eventually("chat", || client.stats().messages > 0).await;
    client.shutdown().await;
    child.kill().await.unwrap();
}
