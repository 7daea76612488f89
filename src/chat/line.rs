//! One line from the chat server as the pipeline keeps it: the raw line
//! (always, for bronze), when it arrived, its channel, and what it says —
//! a chat message (parsed, with its emotes and sentiment score), a channel
//! event (subs, raids, timeouts, deleted messages, notices, room modes), or
//! the reason it could not be read. Parsing uses the `twitch-irc` crate's
//! IRCv3 message parser.
use chrono::{DateTime, Utc};
use twitch_irc::message::{IRCMessage, PrivmsgMessage, ServerMessageParseError};

use super::sentiment::Scorer;

/// A line received from the chat server.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    /// When the client read it (the pipeline's clock).
    pub received_at: DateTime<Utc>,
    /// Channel login (no `#`), when the line names one.
    pub channel: Option<String>,
    /// The line exactly as received, without the line ending.
    pub raw: String,
    /// What the line says.
    pub kind: LineKind,
}

/// What a [`ChatLine`] says.
#[derive(Debug, Clone, PartialEq)]
pub enum LineKind {
    /// A chat message (`PRIVMSG`).
    Message(ChatMessage),
    /// Something that happened in a channel (`USERNOTICE`, `CLEARCHAT`,
    /// `CLEARMSG`, `NOTICE`, `ROOMSTATE`, …).
    Event(ChatEvent),
    /// A line that is not valid IRC, or a chat message missing what Twitch
    /// always sends; kept raw and counted.
    Unparsable(String),
}

/// A chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Twitch's message id (`id` tag).
    pub id: String,
    /// Channel id (`room-id` tag).
    pub room_id: String,
    /// Sender's user id.
    pub user_id: String,
    /// Sender's login.
    pub login: String,
    /// Sender's display name.
    pub display_name: String,
    /// The text (without the `/me` wrapping).
    pub text: String,
    /// Sent with `/me`.
    pub is_action: bool,
    /// Emote codes in the order they appear: Twitch's (from the `emotes`
    /// tag) and the emote lexicon's third-party ones (plain text on IRC).
    pub emotes: Vec<String>,
    /// Bits cheered, if any.
    pub bits: Option<u64>,
    /// When Twitch stamped it (`tmi-sent-ts`); chat minutes are counted by this.
    pub sent_at: DateTime<Utc>,
    /// Sentiment in [-1, 1] ([`Scorer::score`]).
    pub sentiment: f64,
}

/// A channel event, kept with its command and the tags worth a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEvent {
    /// IRC command, e.g. `USERNOTICE`.
    pub command: String,
    /// The `msg-id` tag (`sub`, `raid`, `msg_channel_suspended`, …).
    pub msg_id: Option<String>,
    /// The trailing text, if any.
    pub text: Option<String>,
}

impl ChatLine {
    /// The chat message, if the line is one.
    pub fn message(&self) -> Option<&ChatMessage> {
        match &self.kind {
            LineKind::Message(m) => Some(m),
            _ => None,
        }
    }

    /// Bytes this line holds in memory, roughly (what the buffer bound counts).
    pub fn approx_bytes(&self) -> usize {
        let strings = self.raw.len() + self.channel.as_ref().map_or(0, String::len);
        let kind = match &self.kind {
            LineKind::Message(m) => {
                m.id.len()
                    + m.room_id.len()
                    + m.user_id.len()
                    + m.login.len()
                    + m.display_name.len()
                    + m.text.len()
                    + m.emotes.iter().map(|e| e.len() + 24).sum::<usize>()
            }
            LineKind::Event(e) => {
                e.command.len()
                    + e.msg_id.as_ref().map_or(0, String::len)
                    + e.text.as_ref().map_or(0, String::len)
            }
            LineKind::Unparsable(r) => r.len(),
        };
        std::mem::size_of::<Self>() + std::mem::size_of::<ChatMessage>() + strings + kind
    }
}

/// What the connection must do about a line besides keeping it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Nothing.
    None,
    /// Answer `PING` with `PONG :<arg>`.
    Ping(String),
    /// The server will close this connection: reconnect now.
    Reconnect,
    /// `001`: logged in.
    Welcome,
    /// A user (maybe us) joined a channel.
    Joined {
        /// Who.
        login: String,
        /// Where.
        channel: String,
    },
    /// A user (maybe us) left a channel.
    Parted {
        /// Who.
        login: String,
        /// Where.
        channel: String,
    },
    /// A server notice outside any channel (e.g. a refused login).
    ServerNotice(String),
}

/// Commands that are protocol chatter, not channel content: answered or
/// tracked by the connection, never buffered.
fn is_protocol(command: &str) -> bool {
    matches!(
        command,
        "PING" | "PONG" | "CAP" | "JOIN" | "PART" | "RECONNECT" | "GLOBALUSERSTATE" | "USERSTATE"
    ) || command.bytes().all(|b| b.is_ascii_digit())
}

/// Parses one line (without its line ending), received at `at`. Returns
/// what to keep (`None` for protocol chatter) and what the connection must do.
pub fn parse_line(raw: &str, at: DateTime<Utc>, scorer: &Scorer) -> (Option<ChatLine>, Control) {
    let keep = |channel: Option<String>, kind: LineKind| ChatLine {
        received_at: at,
        channel,
        raw: raw.to_owned(),
        kind,
    };
    let irc = match IRCMessage::parse(raw) {
        Ok(m) => m,
        Err(e) => {
            return (
                Some(keep(
                    channel_guess(raw),
                    LineKind::Unparsable(e.to_string()),
                )),
                Control::None,
            );
        }
    };
    let channel = irc
        .params
        .first()
        .and_then(|p| p.strip_prefix('#'))
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let control = control_of(&irc, channel.as_deref());
    if is_protocol(&irc.command) {
        return (None, control);
    }
    let kind = if irc.command == "PRIVMSG" {
        if let Some((tag, value)) = tag_twitch_irc_panics_on(&irc) {
            LineKind::Unparsable(format!("PRIVMSG with a malformed {tag} tag: {value:?}"))
        } else {
            match PrivmsgMessage::try_from(irc) {
                Ok(m) => LineKind::Message(message(m, scorer)),
                Err(e) => LineKind::Unparsable(reason(&e)),
            }
        }
    } else {
        let msg_id = irc.tags.0.get("msg-id").filter(|v| !v.is_empty()).cloned();
        let text = if irc.params.len() > 1 {
            irc.params.last().cloned()
        } else {
            None
        };
        LineKind::Event(ChatEvent {
            command: irc.command,
            msg_id,
            text,
        })
    };
    (Some(keep(channel, kind)), control)
}

fn control_of(irc: &IRCMessage, channel: Option<&str>) -> Control {
    let nick = || {
        irc.prefix.as_ref().and_then(|p| match p {
            twitch_irc::message::IRCPrefix::Full { nick, .. } => Some(nick.clone()),
            twitch_irc::message::IRCPrefix::HostOnly { .. } => None,
        })
    };
    match (irc.command.as_str(), channel) {
        ("PING", _) => Control::Ping(irc.params.first().cloned().unwrap_or_default()),
        ("RECONNECT", _) => Control::Reconnect,
        ("001", _) => Control::Welcome,
        ("JOIN", Some(c)) => nick().map_or(Control::None, |login| Control::Joined {
            login,
            channel: c.to_owned(),
        }),
        ("PART", Some(c)) => nick().map_or(Control::None, |login| Control::Parted {
            login,
            channel: c.to_owned(),
        }),
        ("NOTICE", None) => Control::ServerNotice(irc.params.last().cloned().unwrap_or_default()),
        _ => Control::None,
    }
}

fn message(m: PrivmsgMessage, scorer: &Scorer) -> ChatMessage {
    let native: Vec<&str> = m.emotes.iter().map(|e| e.code.as_str()).collect();
    let sentiment = scorer.score(&m.message_text, &native);
    // Twitch's emotes where they are, then the third-party ones by position in the text.
    let mut emotes: Vec<(usize, String)> = m
        .emotes
        .iter()
        .map(|e| (e.char_range.start, e.code.clone()))
        .collect();
    let mut pos = 0;
    for tok in m.message_text.split(' ') {
        let chars = tok.chars().count();
        if !tok.is_empty() && scorer.emote(tok).is_some() && !native.contains(&tok) {
            emotes.push((pos, tok.to_owned()));
        }
        pos += chars + 1;
    }
    emotes.sort_by_key(|(p, _)| *p);
    ChatMessage {
        id: m.message_id,
        room_id: m.channel_id,
        user_id: m.sender.id,
        login: m.sender.login,
        display_name: m.sender.name,
        is_action: m.is_action,
        emotes: emotes.into_iter().map(|(_, c)| c).collect(),
        bits: m.bits,
        sent_at: m.server_timestamp,
        sentiment,
        text: m.message_text,
    }
}

/// A tag that twitch-irc would panic on instead of refusing, with its
/// value: a `color` that is not ASCII (it slices the seven bytes of
/// `#RRGGBB` at fixed offsets, which may fall inside a character), or an
/// `emotes` range that ends before it starts or at the largest index (it
/// subtracts the two unchecked: a panic where overflow is checked, a wrapped
/// length where it is not). Other malformed values are left to twitch-irc,
/// which refuses them.
fn tag_twitch_irc_panics_on(irc: &IRCMessage) -> Option<(&'static str, &str)> {
    let tags = &irc.tags.0;
    if let Some(color) = tags.get("color")
        && !color.is_ascii()
    {
        return Some(("color", color));
    }
    let emotes = tags.get("emotes")?;
    let backwards = emotes
        .split('/')
        .filter_map(|emote| emote.split_once(':'))
        .flat_map(|(_, ranges)| ranges.split(','))
        .filter_map(|range| range.split_once('-'))
        .any(
            |(start, end)| match (start.parse::<usize>(), end.parse::<usize>()) {
                (Ok(start), Ok(end)) => end < start || end == usize::MAX,
                _ => false,
            },
        );
    backwards.then_some(("emotes", emotes.as_str()))
}

/// A short reason (the crate's messages repeat the whole line).
fn reason(e: &ServerMessageParseError) -> String {
    use ServerMessageParseError as E;
    match e {
        E::MissingTag(_, k) => format!("PRIVMSG without the {k} tag"),
        E::MissingTagValue(_, k) => format!("PRIVMSG with an empty {k} tag"),
        E::MalformedTagValue(_, k, v) => format!("PRIVMSG with a malformed {k} tag: {v:?}"),
        E::MissingParameter(_, i) => format!("PRIVMSG without parameter {i}"),
        E::MalformedChannel(_) => "PRIVMSG with a malformed channel".into(),
        E::MalformedParameter(_, i) => format!("PRIVMSG with a malformed parameter {i}"),
        E::MissingPrefix(_) => "PRIVMSG without a prefix".into(),
        E::MissingNickname(_) => "PRIVMSG without a nickname".into(),
        E::MismatchedCommand(_) => "not a PRIVMSG".into(),
    }
}

/// The channel of a line that is not valid IRC, if a `#channel` word shows it.
fn channel_guess(raw: &str) -> Option<String> {
    raw.split(' ')
        .find_map(|w| w.strip_prefix('#'))
        .map(|c| c.trim_end_matches(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_'))
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests;
