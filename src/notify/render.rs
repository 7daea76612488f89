//! Message → request body for each receiver: Slack Block Kit, a Discord
//! embed, or the generic webhook's JSON. Texts are cut to each receiver's
//! documented limits, so a long stream title never gets a message refused.
use serde_json::{Value, json};

use super::{Message, TargetKind};

/// The body `kind` receives for `message`, as the bytes that are sent (and,
/// for the generic webhook, signed).
pub fn render(kind: TargetKind, message: &Message) -> Vec<u8> {
    let body = match kind {
        TargetKind::Slack => slack_body(message),
        TargetKind::Discord => discord_body(message),
        TargetKind::Webhook => webhook_body(message),
    };
    // Serializing a `Value` cannot fail (keys are strings).
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Slack's limits (Block Kit reference): header text 150, section text
/// 3,000, a section's fields 10 of 2,000 each, a context element 2,000.
mod slack {
    pub(super) const HEADER: usize = 150;
    pub(super) const TEXT: usize = 3000;
    pub(super) const FIELDS: usize = 10;
    pub(super) const FIELD: usize = 2000;
    pub(super) const CONTEXT: usize = 2000;
    /// The notification fallback `text`; Slack truncates at 40,000.
    pub(super) const FALLBACK: usize = 4000;
}

/// Discord's embed limits: title 256, description 4,096, 25 fields with
/// names of 256 and values of 1,024, footer 2,048; 6,000 characters in all.
mod discord {
    pub(super) const TITLE: usize = 256;
    pub(super) const DESCRIPTION: usize = 4096;
    pub(super) const FIELDS: usize = 25;
    pub(super) const FIELD_NAME: usize = 256;
    pub(super) const FIELD_VALUE: usize = 1024;
    pub(super) const FOOTER: usize = 2048;
    pub(super) const TOTAL: usize = 6000;
}

/// The name Discord shows as the webhook's author.
const DISCORD_USERNAME: &str = "twitch-monitor";

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook body: a header, the text (with the link), the
/// figures as section fields, and a context line; `text` is the fallback
/// shown in notifications.
pub fn slack_body(m: &Message) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&m.title, slack::HEADER), "emoji": true},
    })];
    let mut text = slack_escape(&m.text);
    if let Some(url) = &m.url {
        // Slack links are <url|label>; a URL never holds `|` or `>` unescaped.
        let url = url.replace('|', "%7C").replace('>', "%3E");
        let link = format!("<{url}|{}>", slack_escape(&cut(&m.title, 200)));
        text = if text.is_empty() {
            link
        } else {
            format!("{text}\n{link}")
        };
    }
    if !text.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut(&text, slack::TEXT)},
        }));
    }
    for chunk in m.fields.chunks(slack::FIELDS) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|f| {
                let text = format!("*{}*\n{}", slack_escape(&f.name), slack_escape(&f.value));
                json!({"type": "mrkdwn", "text": cut(&text, slack::FIELD)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !m.footer.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": cut(&slack_escape(&m.footer), slack::CONTEXT)}],
        }));
    }
    let fallback = if m.text.is_empty() {
        m.title.clone()
    } else {
        format!("{}: {}", m.title, m.text)
    };
    json!({"text": cut(&fallback, slack::FALLBACK), "blocks": blocks})
}

/// A Discord "execute webhook" body with one embed. Mentions are disabled:
/// a stream title saying `@everyone` must not ping a server.
pub fn discord_body(m: &Message) -> Value {
    let title = cut(&m.title, discord::TITLE);
    let footer = cut(&m.footer, discord::FOOTER);
    // Fields first; the description gets what is left of the 6,000 total.
    let mut used = title.chars().count() + footer.chars().count();
    let mut fields = Vec::new();
    for f in m.fields.iter().take(discord::FIELDS) {
        let name = cut(&f.name, discord::FIELD_NAME);
        let value = cut(&f.value, discord::FIELD_VALUE);
        // Discord refuses empty field names and values.
        let name = if name.is_empty() {
            "\u{200b}".into()
        } else {
            name
        };
        let value = if value.is_empty() {
            "\u{200b}".into()
        } else {
            value
        };
        let n = name.chars().count() + value.chars().count();
        if used + n > discord::TOTAL - 100 {
            break;
        }
        used += n;
        fields.push(json!({"name": name, "value": value, "inline": true}));
    }
    let room = discord::DESCRIPTION.min(discord::TOTAL.saturating_sub(used));
    let mut embed = json!({
        "title": title,
        "description": cut(&m.text, room),
        "color": m.color & 0x00FF_FFFF,
        "fields": fields,
        "timestamp": m.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(url) = &m.url {
        embed["url"] = json!(url);
    }
    if !footer.is_empty() {
        embed["footer"] = json!({"text": footer});
    }
    json!({
        "username": DISCORD_USERNAME,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

/// The generic webhook's body (documented in the README):
/// `{"type", "id", "timestamp", "title", "text", "url", "fields", "data"}`.
pub fn webhook_body(m: &Message) -> Value {
    json!({
        "type": m.event,
        "id": m.key,
        "timestamp": m.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "title": m.title,
        "text": m.text,
        "url": m.url,
        "fields": m.fields,
        "data": m.data,
    })
}
