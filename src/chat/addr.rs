//! Where the chat client connects: `ircs://host:port` (TLS, Twitch's
//! default) or `irc://host:port` (plain TCP: the simulator and tests).
use std::fmt;
use std::str::FromStr;

use super::Error;

/// Twitch's chat server over TLS.
pub const TWITCH_CHAT_ADDR: &str = "ircs://irc.chat.twitch.tv:6697";

/// A chat server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAddr {
    /// TLS (`ircs://`) or plain TCP (`irc://`).
    pub tls: bool,
    /// Host name or IP address.
    pub host: String,
    /// TCP port (default 6697 with TLS, 6667 without).
    pub port: u16,
}

impl ChatAddr {
    /// `host:port`, for connecting and for messages.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl Default for ChatAddr {
    fn default() -> Self {
        Self {
            tls: true,
            host: "irc.chat.twitch.tv".into(),
            port: 6697,
        }
    }
}

impl fmt::Display for ChatAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "ircs" } else { "irc" };
        write!(f, "{scheme}://{}", self.authority())
    }
}

impl FromStr for ChatAddr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |message: &str| Error::Addr {
            addr: redact(s),
            message: message.to_owned(),
        };
        let url = url::Url::parse(s.trim()).map_err(|e| {
            bad(&format!(
                "{e}; expected ircs://host:port or irc://host:port"
            ))
        })?;
        let tls = match url.scheme() {
            "ircs" => true,
            "irc" => false,
            _ => return Err(bad("the scheme must be ircs (TLS) or irc (plain TCP)")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
            return Err(bad("only a scheme, a host and a port are allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // A token in an address would end up in logs.
            return Err(bad(
                "no credentials in the address; the token is a setting of its own",
            ));
        }
        let port = url.port().unwrap_or(if tls { 6697 } else { 6667 });
        Ok(Self { tls, host, port })
    }
}

/// The address with any `user:password@` part blanked, for error messages.
fn redact(s: &str) -> String {
    match (s.find("://"), s.rfind('@')) {
        (Some(i), Some(at)) if at > i => format!("{}***{}", &s[..i + 3], &s[at..]),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes_with_default_ports() {
        let a: ChatAddr = TWITCH_CHAT_ADDR.parse().unwrap();
        assert_eq!(a, ChatAddr::default());
        let a: ChatAddr = "irc://127.0.0.1:4567".parse().unwrap();
        assert_eq!((a.tls, a.host.as_str(), a.port), (false, "127.0.0.1", 4567));
        assert_eq!(a.to_string(), "irc://127.0.0.1:4567");
        let a: ChatAddr = "irc://localhost".parse().unwrap();
        assert_eq!(a.port, 6667);
        let a: ChatAddr = "ircs://[::1]:7000".parse().unwrap();
        assert_eq!(
            (a.host.as_str(), a.authority()),
            ("::1", "[::1]:7000".into())
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        for bad in [
            "127.0.0.1:6667",
            "http://irc.chat.twitch.tv",
            "wss://irc-ws.chat.twitch.tv",
            "irc://",
            "irc://host:1/path",
            "irc://user:oauth-token@host:1",
        ] {
            let e = bad.parse::<ChatAddr>().unwrap_err();
            assert!(matches!(e, Error::Addr { .. }), "{bad}: {e}");
            assert!(!e.to_string().contains("oauth-token"), "{e}");
        }
    }
}
