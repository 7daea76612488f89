//! Wiring of the chat source: which chat server to read, and its counters
//! on `/metrics`.
use std::sync::Arc;

use crate::chat::{ChatAddr, ChatArgs, ChatAuth, ChatClient, ChatSource};
use crate::config::Config;
use crate::metrics::{ChatCounts, Metrics};

use super::TwitchSource;

/// Starts the chat client (joining no channel yet): `TM_CHAT_ADDR`, else the
/// simulator's chat server in sim mode, else Twitch's; as the logged-in
/// user when their token has `chat:read`, else anonymous.
pub fn start_chat(config: &Config, source: &TwitchSource) -> anyhow::Result<Arc<ChatClient>> {
    let addr = match (&config.chat.addr, &source.sim) {
        (Some(a), _) => a.clone(),
        (None, Some(sim)) => sim.chat_url(),
        (None, None) => crate::chat::addr::TWITCH_CHAT_ADDR.to_owned(),
    };
    let addr: ChatAddr = addr.parse()?;
    let mut args = ChatArgs::new(addr, source.clock.clone());
    args.buffer_bytes = usize::try_from(config.chat.buffer_bytes).unwrap_or(usize::MAX);
    match source
        .user
        .as_ref()
        .and_then(|u| Some((u.chat_login()?, &u.tokens)))
    {
        Some((login, tokens)) => {
            tracing::info!(login, "chat reads as the logged-in user");
            args.auth = ChatAuth::User {
                login: login.to_owned(),
                tokens: Arc::clone(tokens),
            };
        }
        None => tracing::info!("chat reads anonymously"),
    }
    Ok(Arc::new(ChatClient::start(args)?))
}

/// `/metrics` reads the chat client's counters at every scrape.
pub(super) fn probe_chat(metrics: &Metrics, chat: Arc<dyn ChatSource>) {
    metrics.chat_probe(move || {
        let s = chat.stats();
        ChatCounts {
            lines: s.lines,
            messages: s.messages,
            unparsable: s.unparsable,
            reconnects: s.reconnects,
            dropped: s.dropped,
            joined: s.joined,
            connections: s.connections,
            buffered: s.buffered,
            buffered_bytes: s.buffered_bytes,
        }
    });
}
