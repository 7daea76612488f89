//! A deterministic Twitch world (STUB: replaced by the real simulator).
//! The API below is the contract the local Helix server builds on.
use chrono::{DateTime, Utc};

use crate::twitch::models::{Channel, Game, Stream, User};

/// How to build a world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Same seed, same world.
    pub seed: u64,
    /// Number of channels.
    pub channels: usize,
    /// Simulated time at creation.
    pub start: DateTime<Utc>,
}

/// The simulated world: users, their channels and live streams, categories.
#[derive(Debug)]
pub struct World {
    now: DateTime<Utc>,
    users: Vec<User>,
    streams: Vec<Stream>,
    games: Vec<Game>,
}

impl World {
    /// Builds the world at `cfg.start`.
    pub fn new(cfg: WorldConfig) -> Self {
        let games = vec![Game {
            id: "1".into(),
            name: "Just Chatting".into(),
            box_art_url: String::new(),
            igdb_id: String::new(),
        }];
        let users: Vec<User> = (0..cfg.channels)
            .map(|i| User {
                id: (1000 + i).to_string(),
                login: format!("user{i}"),
                display_name: format!("User{i}"),
                user_type: String::new(),
                broadcaster_type: String::new(),
                description: String::new(),
                profile_image_url: String::new(),
                offline_image_url: String::new(),
                view_count: 0,
                created_at: "2020-01-01T00:00:00Z".into(),
            })
            .collect();
        let streams = users
            .iter()
            .enumerate()
            .map(|(i, u)| Stream {
                id: (5000 + i).to_string(),
                user_id: u.id.clone(),
                user_login: u.login.clone(),
                user_name: u.display_name.clone(),
                game_id: "1".into(),
                game_name: "Just Chatting".into(),
                stream_type: "live".into(),
                title: "hello".into(),
                tags: vec![],
                viewer_count: (cfg.channels - i) as u64,
                started_at: cfg.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                language: "en".into(),
                thumbnail_url: String::new(),
                tag_ids: vec![],
                is_mature: false,
            })
            .collect();
        Self {
            now: cfg.start,
            users,
            streams,
            games,
        }
    }
    /// Advances the world to `now` (no-op if `now` is not later).
    pub fn advance_to(&mut self, now: DateTime<Utc>) {
        self.now = self.now.max(now);
    }
    /// The world's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    /// Live streams, sorted by viewers descending (as `/streams` lists them).
    pub fn live_streams(&self) -> &[Stream] {
        &self.streams
    }
    /// A user by id (banned users are absent).
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
    /// A user by login.
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }
    /// Channel information of a user.
    pub fn channel(&self, id: &str) -> Option<Channel> {
        let u = self.user(id)?;
        Some(Channel {
            broadcaster_id: u.id.clone(),
            broadcaster_login: u.login.clone(),
            broadcaster_name: u.display_name.clone(),
            broadcaster_language: "en".into(),
            game_id: "1".into(),
            game_name: "Just Chatting".into(),
            title: "hello".into(),
            tags: vec![],
            delay: 0,
        })
    }
    /// Follower total of a user.
    pub fn followers(&self, id: &str) -> Option<u64> {
        self.user(id).map(|_| 100)
    }
    /// Every category.
    pub fn games(&self) -> &[Game] {
        &self.games
    }
    /// Categories by current viewers, descending.
    pub fn top_games(&self) -> Vec<Game> {
        self.games.clone()
    }
    /// Logins of every (non-banned) user.
    pub fn logins(&self) -> Vec<String> {
        self.users.iter().map(|u| u.login.clone()).collect()
    }
}
