//! Twitch's IRC lines as the simulated chat server writes them: `PRIVMSG`
//! with the full IRCv3 tag set, `USERNOTICE` (subs, raids), `CLEARCHAT`,
//! `CLEARMSG`, `ROOMSTATE`, `NOTICE`, and the login and JOIN replies.
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::mix;

/// Twitch's global emotes the simulator marks in the `emotes` tag, with ids.
const TWITCH_EMOTES: &[(&str, &str)] = &[
    ("Kappa", "25"),
    ("Keepo", "1902"),
    ("KappaPride", "55338"),
    ("PogChamp", "305954156"),
    ("KomodoHype", "81273"),
    ("LUL", "425618"),
    ("4Head", "354"),
    ("BibleThump", "86"),
    ("ResidentSleeper", "245"),
    ("Kreygasm", "41"),
    ("SeemsGood", "64138"),
    ("DansGame", "33"),
    ("WutFace", "28087"),
    ("NotLikeThis", "58765"),
    ("FailFish", "360"),
    ("SwiftRage", "34"),
    ("BabyRage", "22639"),
    ("PJSalt", "36"),
    ("CoolStoryBob", "123171"),
    ("Jebaited", "114836"),
    ("HeyGuys", "30259"),
    ("VoHiYo", "81274"),
    ("HSCheers", "444572"),
    ("CoolCat", "58127"),
    ("PopCorn", "724216"),
    ("BloodTrail", "69"),
    ("MrDestructoid", "28"),
    ("TheIlluminati", "145315"),
    ("<3", "9"),
    (":)", "1"),
    (":(", "2"),
    (":D", "3"),
];

/// A chatter as the tags show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chatter {
    pub(crate) user_id: String,
    pub(crate) login: String,
    pub(crate) display_name: String,
    pub(crate) color: &'static str,
    pub(crate) subscriber: bool,
}

impl Chatter {
    /// A chatter named `login`, with an id and colour derived from it.
    pub(crate) fn named(login: &str) -> Self {
        let h = login
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| mix(h, u64::from(b)));
        const COLORS: &[&str] = &["#FF0000", "#1E90FF", "#9ACD32", "#FF69B4", "#DAA520", ""];
        Self {
            user_id: (100_000_000 + h % 900_000_000).to_string(),
            login: login.to_owned(),
            display_name: login.to_owned(),
            color: COLORS[(h >> 32) as usize % COLORS.len()],
            subscriber: h % 5 == 0,
        }
    }
}

/// Escapes an IRCv3 tag value.
pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The `emotes` tag of `text`: Twitch emotes by id, then character ranges.
pub(crate) fn emotes_tag(text: &str) -> String {
    let mut found: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
    let mut pos = 0;
    for tok in text.split(' ') {
        let n = tok.chars().count();
        if let Some((_, id)) = TWITCH_EMOTES.iter().find(|(code, _)| *code == tok) {
            match found.iter_mut().find(|(i, _)| i == id) {
                Some((_, ranges)) => ranges.push((pos, pos + n - 1)),
                None => found.push((id, vec![(pos, pos + n - 1)])),
            }
        }
        pos += n + 1;
    }
    let mut out = String::new();
    for (k, (id, ranges)) in found.iter().enumerate() {
        if k > 0 {
            out.push('/');
        }
        out.push_str(id);
        out.push(':');
        for (j, (a, b)) in ranges.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "{a}-{b}");
        }
    }
    out
}

/// A uuid-shaped message id from a number.
pub(crate) fn message_id(n: u64) -> String {
    let a = mix(n, 1);
    let b = mix(n, 2);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// A chat message line.
pub(crate) fn privmsg(
    channel: &str,
    room_id: &str,
    who: &Chatter,
    id: &str,
    at: DateTime<Utc>,
    text: &str,
) -> String {
    let sub = u8::from(who.subscriber);
    let badges = if who.subscriber { "subscriber/0" } else { "" };
    let badge_info = if who.subscriber { "subscriber/3" } else { "" };
    format!(
        "@badge-info={badge_info};badges={badges};client-nonce={nonce};color={color};display-name={name};\
         emotes={emotes};first-msg=0;flags=;id={id};mod=0;returning-chatter=0;room-id={room_id};\
         subscriber={sub};tmi-sent-ts={ts};turbo=0;user-id={uid};user-type= \
         :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}",
        nonce = &id[..8],
        color = who.color,
        name = escape(&who.display_name),
        emotes = emotes_tag(text),
        ts = at.timestamp_millis(),
        uid = who.user_id,
        login = who.login,
    )
}

/// What a `USERNOTICE` announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A new subscription.
    Sub,
    /// A raid from another channel.
    Raid {
        /// The raiding channel's login.
        from: String,
        /// Viewers it brings.
        viewers: u64,
    },
}

/// A `USERNOTICE` line.
pub(crate) fn usernotice(
    channel: &str,
    room_id: &str,
    who: &Chatter,
    id: &str,
    at: DateTime<Utc>,
    notice: &Notice,
) -> String {
    let (msg_id, params, system) = match notice {
        Notice::Sub => (
            "sub",
            "msg-param-cumulative-months=1;msg-param-months=0;msg-param-should-share-streak=0;\
             msg-param-sub-plan-name=Channel\\sSubscription;msg-param-sub-plan=1000;"
                .to_owned(),
            format!("{} subscribed at Tier 1.", who.display_name),
        ),
        Notice::Raid { from, viewers } => (
            "raid",
            format!(
                "msg-param-displayName={from};msg-param-login={from};\
                 msg-param-profileImageURL=https://static-cdn.jtvnw.net/jtv_user_pictures/{from}-70x70.png;\
                 msg-param-viewerCount={viewers};"
            ),
            format!("{viewers} raiders from {from} have joined!"),
        ),
    };
    format!(
        "@badge-info=;badges=;color={color};display-name={name};emotes=;flags=;id={id};login={login};\
         mod=0;msg-id={msg_id};{params}room-id={room_id};subscriber=0;system-msg={system};\
         tmi-sent-ts={ts};user-id={uid};user-type= :tmi.twitch.tv USERNOTICE #{channel}",
        color = who.color,
        name = escape(&who.display_name),
        login = who.login,
        system = escape(&system),
        ts = at.timestamp_millis(),
        uid = who.user_id,
    )
}

/// A timeout (`CLEARCHAT` for one user).
pub(crate) fn clearchat(channel: &str, room_id: &str, who: &Chatter, at: DateTime<Utc>) -> String {
    format!(
        "@ban-duration=600;room-id={room_id};target-user-id={};tmi-sent-ts={} :tmi.twitch.tv CLEARCHAT #{channel} :{}",
        who.user_id,
        at.timestamp_millis(),
        who.login
    )
}

/// A deleted message (`CLEARMSG`).
pub(crate) fn clearmsg(
    channel: &str,
    room_id: &str,
    who: &Chatter,
    target: &str,
    at: DateTime<Utc>,
    text: &str,
) -> String {
    format!(
        "@login={};room-id={room_id};target-msg-id={target};tmi-sent-ts={} :tmi.twitch.tv CLEARMSG #{channel} :{text}",
        who.login,
        at.timestamp_millis()
    )
}

/// The room's modes, sent after a JOIN.
pub(crate) fn roomstate(channel: &str, room_id: &str) -> String {
    format!(
        "@emote-only=0;followers-only=-1;r9k=0;room-id={room_id};slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #{channel}"
    )
}

/// The replies to a JOIN of `channel` by `nick`.
pub(crate) fn join_replies(nick: &str, channel: &str, room_id: &str) -> Vec<String> {
    vec![
        format!(":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #{channel}"),
        format!(
            "@badge-info=;badges=;color=;display-name={nick};emote-sets=0;mod=0;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #{channel}"
        ),
        roomstate(channel, room_id),
        format!(":{nick}.tmi.twitch.tv 353 {nick} = #{channel} :{nick}"),
        format!(":{nick}.tmi.twitch.tv 366 {nick} #{channel} :End of /NAMES list"),
    ]
}

/// The replies to a successful login.
pub(crate) fn welcome(nick: &str) -> Vec<String> {
    [
        ("001", "Welcome, GLHF!"),
        ("002", "Your host is tmi.twitch.tv"),
        ("003", "This server is rather new"),
        ("004", "-"),
        ("375", "-"),
        ("372", "You are in a maze of twisty passages, all alike."),
        ("376", ">"),
    ]
    .iter()
    .map(|(code, text)| format!(":tmi.twitch.tv {code} {nick} :{text}"))
    .collect()
}

/// The NOTICE for a channel that does not exist (or is banned).
pub(crate) fn no_such_channel(channel: &str) -> String {
    format!(
        "@msg-id=msg_channel_suspended :tmi.twitch.tv NOTICE #{channel} :This channel does not exist or has been suspended."
    )
}

#[cfg(test)]
mod tests {
    use twitch_irc::message::{IRCMessage, PrivmsgMessage, ServerMessage};

    use super::*;

    #[test]
    fn lines_parse_as_twitch_lines() {
        let at = DateTime::<Utc>::from_timestamp(1_767_600_000, 123_000_000).unwrap();
        let who = Chatter::named("pixelfox");
        let line = privmsg(
            "chan",
            "42",
            &who,
            &message_id(7),
            at,
            "Kappa hi Kappa <3 ünï 😂",
        );
        let m = PrivmsgMessage::try_from(IRCMessage::parse(&line).unwrap()).unwrap();
        assert_eq!(m.message_text, "Kappa hi Kappa <3 ünï 😂");
        let codes: Vec<&str> = m.emotes.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["Kappa", "Kappa", "<3"]);
        assert_eq!(m.server_timestamp, at);
        assert_eq!(m.sender.login, "pixelfox");
        for line in [
            usernotice("chan", "42", &who, "id1", at, &Notice::Sub),
            usernotice(
                "chan",
                "42",
                &who,
                "id2",
                at,
                &Notice::Raid {
                    from: "big".into(),
                    viewers: 500,
                },
            ),
            clearchat("chan", "42", &who, at),
            clearmsg("chan", "42", &who, "id3", at, "bad words"),
            roomstate("chan", "42"),
            no_such_channel("chan"),
        ] {
            let irc = IRCMessage::parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            ServerMessage::try_from(irc).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
        assert_ne!(message_id(1), message_id(2));
        assert_eq!(message_id(1).len(), 36);
    }
}
