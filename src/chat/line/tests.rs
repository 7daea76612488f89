use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 30).unwrap()
}

fn parse(raw: &str) -> (Option<ChatLine>, Control) {
    parse_line(raw, at(), Scorer::builtin())
}

const PRIVMSG: &str = "@badge-info=;badges=;color=#0000FF;display-name=JuN1oRRRR;emotes=25:0-4;flags=;id=e9d998c3-36f1-430f-89ec-6b887c28af36;mod=0;room-id=11148817;subscriber=0;tmi-sent-ts=1594545155039;turbo=0;user-id=29803735;user-type= :jun1orrrr!jun1orrrr@jun1orrrr.tmi.twitch.tv PRIVMSG #pajlada :Kappa good KEKW";

#[test]
fn a_chat_message_is_parsed_scored_and_kept_raw() {
    let (line, control) = parse(PRIVMSG);
    assert_eq!(control, Control::None);
    let line = line.unwrap();
    assert_eq!(line.raw, PRIVMSG);
    assert_eq!(line.channel.as_deref(), Some("pajlada"));
    assert_eq!(line.received_at, at());
    let m = line.message().unwrap();
    assert_eq!(m.id, "e9d998c3-36f1-430f-89ec-6b887c28af36");
    assert_eq!(
        (m.user_id.as_str(), m.login.as_str()),
        ("29803735", "jun1orrrr")
    );
    assert_eq!(m.display_name, "JuN1oRRRR");
    assert_eq!(m.text, "Kappa good KEKW");
    assert_eq!(m.sent_at, Utc.timestamp_millis_opt(1594545155039).unwrap());
    // Kappa from the tag, KEKW (FFZ) from the lexicon, in text order.
    assert_eq!(m.emotes, ["Kappa", "KEKW"]);
    // Kappa 0, good 1.9, KEKW 4 × 0.637 = 2.548: 4.448 / sqrt(4.448² + 15).
    assert!((m.sentiment - 0.754_172).abs() < 1e-5, "{}", m.sentiment);
}

#[test]
fn actions_lose_their_wrapping() {
    let raw = PRIVMSG
        .replace(":Kappa good KEKW", ":\u{1}ACTION waves\u{1}")
        .replace("emotes=25:0-4", "emotes=");
    let (line, _) = parse(&raw);
    let m = line.unwrap().message().cloned().unwrap();
    assert!(m.is_action);
    assert_eq!(m.text, "waves");
    assert!(m.emotes.is_empty());
}

#[test]
fn protocol_lines_are_answered_not_kept() {
    assert_eq!(
        parse("PING :tmi.twitch.tv"),
        (None, Control::Ping("tmi.twitch.tv".into()))
    );
    assert_eq!(
        parse(":tmi.twitch.tv RECONNECT"),
        (None, Control::Reconnect)
    );
    assert_eq!(
        parse(":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!"),
        (None, Control::Welcome)
    );
    assert_eq!(
        parse(":justinfan1!justinfan1@justinfan1.tmi.twitch.tv JOIN #pajlada"),
        (
            None,
            Control::Joined {
                login: "justinfan1".into(),
                channel: "pajlada".into()
            }
        )
    );
    assert_eq!(
        parse(":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands").0,
        None
    );
}

#[test]
fn channel_events_are_kept_with_their_msg_id() {
    let raw = "@msg-id=raid;msg-param-viewerCount=1234;room-id=1;system-msg=1234\\sraiders;tmi-sent-ts=1 :tmi.twitch.tv USERNOTICE #pajlada";
    let (line, control) = parse(raw);
    assert_eq!(control, Control::None);
    let line = line.unwrap();
    assert_eq!(line.channel.as_deref(), Some("pajlada"));
    assert_eq!(
        line.kind,
        LineKind::Event(ChatEvent {
            command: "USERNOTICE".into(),
            msg_id: Some("raid".into()),
            text: None
        })
    );
    let (line, control) = parse(":tmi.twitch.tv NOTICE * :Login authentication failed");
    assert_eq!(
        control,
        Control::ServerNotice("Login authentication failed".into())
    );
    assert_eq!(line.unwrap().channel, None);
    let (line, _) = parse("@target-msg-id=abc :tmi.twitch.tv CLEARMSG #pajlada :bad words");
    match line.unwrap().kind {
        LineKind::Event(e) => {
            assert_eq!(e.command, "CLEARMSG");
            assert_eq!(e.text.as_deref(), Some("bad words"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_lines_are_kept_raw_with_a_reason() {
    for raw in [
        "@badtags",
        "@a=b :prefix",
        ":nick!u@h PRIVMSG #pajlada",
        "@room-id=1 :nick!u@h PRIVMSG #pajlada :no tags",
        "@badge-info=;badges=;color=;display-name=X;emotes=;id=1;room-id=1;tmi-sent-ts=notanumber;user-id=1 :x!x@x PRIVMSG #pajlada :hi",
        "@badge-info=;badges=;color=;display-name=X;emotes=25:0-;id=1;room-id=1;tmi-sent-ts=1;user-id=1 :x!x@x PRIVMSG #pajlada :hi",
        // Found by fuzzing: an emote range that ends before it starts, or
        // at the largest index, made twitch-irc overflow (a panic in debug).
        "@badge-info=;badges=;color=;display-name=X;emotes=25:8-4;id=1;room-id=1;tmi-sent-ts=1;user-id=1 :x!x@x PRIVMSG #pajlada :hi",
        "@badge-info=;badges=;color=;display-name=X;emotes=25:0-1/1:0-18446744073709551615;id=1;room-id=1;tmi-sent-ts=1;user-id=1 :x!x@x PRIVMSG #pajlada :hi",
        // Found by fuzzing: a seven-byte color that is not ASCII made
        // twitch-irc slice inside a character (a panic in any build).
        "@badge-info=;badges=;color=#0\u{436}00F;display-name=X;emotes=;id=1;room-id=1;tmi-sent-ts=1;user-id=1 :x!x@x PRIVMSG #pajlada :hi",
    ] {
        let (line, control) = parse(raw);
        assert_eq!(control, Control::None, "{raw}");
        let line = line.unwrap_or_else(|| panic!("{raw} was not kept"));
        assert_eq!(line.raw, raw);
        match &line.kind {
            LineKind::Unparsable(why) => assert!(!why.is_empty()),
            other => panic!("{raw}: {other:?}"),
        }
        if raw.contains("#pajlada") {
            assert_eq!(line.channel.as_deref(), Some("pajlada"), "{raw}");
        }
    }
}
