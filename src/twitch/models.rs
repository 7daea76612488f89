//! Helix JSON shapes (serde), shared by the client, the simulator's server and
//! bronze replay. Pure parsing lives here so a raw payload kept in bronze can be
//! turned back into typed rows without a network call.
use serde::{Deserialize, Serialize};

/// A live stream as `/streams` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// Stream id: changes on every (re)start.
    pub id: String,
    /// Broadcaster id: stable across renames.
    pub user_id: String,
    /// Broadcaster login.
    pub user_login: String,
    /// Broadcaster display name.
    pub user_name: String,
    /// Category id ("" when none).
    #[serde(default)]
    pub game_id: String,
    /// Category name ("" when none).
    #[serde(default)]
    pub game_name: String,
    /// Always "live" for listed streams.
    #[serde(default, rename = "type")]
    pub stream_type: String,
    /// Stream title.
    #[serde(default)]
    pub title: String,
    /// Free-form tags (may be null).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Current viewers.
    pub viewer_count: u64,
    /// RFC 3339 start time.
    pub started_at: String,
    /// ISO 639-1 language or "other".
    #[serde(default)]
    pub language: String,
    /// Thumbnail URL template.
    #[serde(default)]
    pub thumbnail_url: String,
    /// Deprecated, always empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_ids: Vec<String>,
    /// Deprecated, always false.
    #[serde(default)]
    pub is_mature: bool,
}

/// A user as `/users` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Login (changes on rename).
    pub login: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// `admin`, `global_mod`, `staff` or "".
    #[serde(default, rename = "type")]
    pub user_type: String,
    /// `partner`, `affiliate` or "".
    #[serde(default)]
    pub broadcaster_type: String,
    /// Channel description.
    #[serde(default)]
    pub description: String,
    /// Profile image URL.
    #[serde(default)]
    pub profile_image_url: String,
    /// Offline image URL.
    #[serde(default)]
    pub offline_image_url: String,
    /// Deprecated and meaningless.
    #[serde(default)]
    pub view_count: u64,
    /// RFC 3339 account creation time.
    pub created_at: String,
}

/// Channel information as `/channels` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Broadcaster id.
    pub broadcaster_id: String,
    /// Broadcaster login.
    pub broadcaster_login: String,
    /// Broadcaster display name.
    #[serde(default)]
    pub broadcaster_name: String,
    /// Broadcast language.
    #[serde(default)]
    pub broadcaster_language: String,
    /// Current category id.
    #[serde(default)]
    pub game_id: String,
    /// Current category name.
    #[serde(default)]
    pub game_name: String,
    /// Current title.
    #[serde(default)]
    pub title: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Stream delay in seconds.
    #[serde(default)]
    pub delay: u64,
}

/// A category as `/games` and `/games/top` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Game {
    /// Category id.
    pub id: String,
    /// Category name.
    pub name: String,
    /// Box art URL template.
    #[serde(default)]
    pub box_art_url: String,
    /// IGDB id ("" when unknown).
    #[serde(default)]
    pub igdb_id: String,
}

/// `pagination` object: `{}` at the end, `{"cursor": "..."}` otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// Opaque cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The envelope of every Helix list response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Envelope<T> {
    /// The items.
    // `deserialize_with` stops serde from inferring `T: Deserialize`: say it.
    #[serde(
        deserialize_with = "null_as_default",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub data: Vec<T>,
    /// Present on paginated endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// `/channels/followers` only; may be missing: unknown, never zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl<T> Envelope<T> {
    /// The next-page cursor, if any and non-empty.
    pub fn cursor(&self) -> Option<&str> {
        self.pagination
            .as_ref()?
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
    }
}

/// A follower from `/channels/followers` (empty with app tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follower {
    /// Follower id.
    pub user_id: String,
    /// Follower login.
    pub user_login: String,
    /// Follower display name.
    #[serde(default)]
    pub user_name: String,
    /// RFC 3339 follow time.
    pub followed_at: String,
}

/// Helix error body: `{"error": "...", "status": N, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Short reason phrase (missing on the auth host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// HTTP status.
    pub status: u16,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// `POST /oauth2/token` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Seconds until expiry.
    pub expires_in: u64,
    /// "bearer".
    #[serde(default)]
    pub token_type: String,
}

/// `GET /oauth2/validate` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateResponse {
    /// Client id the token belongs to.
    pub client_id: String,
    /// Granted scopes (empty for app tokens).
    #[serde(default, deserialize_with = "null_as_default")]
    pub scopes: Vec<String>,
    /// Seconds until expiry.
    pub expires_in: u64,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses one Helix list page.
pub fn parse_page<T: for<'de> Deserialize<'de>>(body: &[u8]) -> serde_json::Result<Envelope<T>> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_streams_page_with_nulls_and_end_of_pagination() {
        let body = br#"{"data":[{"id":"1","user_id":"9","user_login":"a","user_name":"A",
            "game_id":"33","game_name":"G","type":"live","title":"t","tags":null,
            "viewer_count":5,"started_at":"2026-01-01T00:00:00Z","language":"en",
            "thumbnail_url":"x","tag_ids":[],"is_mature":false}],"pagination":{}}"#;
        let page: Envelope<Stream> = parse_page(body).unwrap();
        assert_eq!(page.data.len(), 1);
        assert!(page.data[0].tags.is_empty());
        assert_eq!(page.cursor(), None);
    }

    #[test]
    fn follower_total_may_be_missing() {
        let page: Envelope<Follower> = parse_page(br#"{"data":[],"pagination":{}}"#).unwrap();
        assert_eq!(page.total, None);
        let page: Envelope<Follower> = parse_page(br#"{"data":[],"total":0}"#).unwrap();
        assert_eq!(page.total, Some(0));
    }
}
