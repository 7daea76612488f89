//! Twitch chat, the second source beside Helix: an IRC client that joins the
//! watched channels ([`client`]), reads every line into [`ChatLine`]s
//! (parsed, scored for sentiment, received-at stamped; malformed lines kept
//! raw), and holds them in a bounded [`ChatBuffer`] until the ingest cycle
//! drains them ([`ChatSource::drain`]); [`minutes`] turns drained lines into
//! `silver.chat_minutes` rows.
//!
//! Imports only `config` and `clock` (beside `twitch` in the module order);
//! knows IRC and text, never Arrow or Delta.
pub mod addr;
pub mod buffer;
pub mod client;
pub mod line;
pub mod minutes;
pub mod sentiment;
pub mod stats;

pub use addr::ChatAddr;
pub use buffer::ChatBuffer;
pub use client::{ChatArgs, ChatAuth, ChatClient};
pub use line::{ChatEvent, ChatLine, ChatMessage, LineKind, parse_line};
pub use minutes::{ChatMinute, MinuteFold, chat_minutes};
pub use sentiment::Scorer;
pub use stats::{ChatStats, ChatStatsSnapshot};

/// What can go wrong in the chat client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `TM_CHAT_ADDR` is not an `irc://` or `ircs://` address.
    #[error("invalid chat address {addr:?}: {message}")]
    Addr {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        message: String,
    },
    /// TLS could not be set up (no usable root certificates, bad server name).
    #[error("cannot set up TLS for chat: {0}")]
    Tls(String),
    /// Connecting, reading or writing failed.
    #[error("chat connection to {addr} failed: {source}")]
    Io {
        /// The server.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer in time.
    #[error("chat server {addr} timed out while {during}")]
    Timeout {
        /// The server.
        addr: String,
        /// What the client was doing.
        during: &'static str,
    },
    /// The server refused the login (bad or expired token).
    #[error("chat server {addr} refused the login: {notice}")]
    LoginRefused {
        /// The server.
        addr: String,
        /// The server's notice.
        notice: String,
    },
    /// No user token could be had for the login (Twitch's auth host
    /// refused or did not answer).
    #[error("no Twitch user token for the chat login: {0}")]
    Token(String),
    /// The server closed the connection.
    #[error("chat server {addr} closed the connection")]
    Closed {
        /// The server.
        addr: String,
    },
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The chat seam the ingest cycle holds as `Arc<dyn ChatSource>`: a
/// [`ChatClient`] in production, anything that yields lines in tests.
pub trait ChatSource: Send + Sync + std::fmt::Debug {
    /// Every line received and not yet drained, oldest first, with its
    /// receive time. Lines arriving during the call go to the next drain.
    fn drain(&self) -> Vec<ChatLine>;
    /// Puts drained lines back in front (a cycle that could not commit them):
    /// they are drained again, ahead of newer lines, and never dropped.
    fn restore(&self, lines: Vec<ChatLine>);
    /// Makes the joined channels (logins, any case, `#` optional) these;
    /// joins and parts happen in the background at Twitch's join rate.
    fn set_channels(&self, channels: &[String]);
    /// Counters so far.
    fn stats(&self) -> ChatStatsSnapshot;
}
