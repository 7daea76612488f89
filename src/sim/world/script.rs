//! The scripting API: hand-built channels and explicit events, so integration
//! tests can set up exact, hand-computable scenarios. Scripted channels never
//! change by themselves; calling any of these on a generated channel turns it
//! into a scripted one (its random dynamics stop).
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

use super::{Error, Result, World, dynamics::Chan, names};
use crate::twitch::models::User;

/// A channel added by [`World::add_scripted_channel`]. Empty strings take the
/// defaults noted on each field.
#[derive(Debug, Clone)]
pub struct ScriptedChannel {
    /// User id (numeric string); `None` assigns the next of 1000001, 1000002, ...
    pub user_id: Option<String>,
    /// Login (a-z, 0-9, `_`).
    pub login: String,
    /// Display name ("" → the login).
    pub display_name: String,
    /// Account creation time (default 2020-01-01T00:00:00Z).
    pub created_at: DateTime<Utc>,
    /// Follower total.
    pub followers: u64,
    /// Broadcast language ("" → "en").
    pub language: String,
    /// `partner`, `affiliate` or "".
    pub broadcaster_type: String,
    /// Channel description.
    pub description: String,
    /// Category id of the channel ("" → none).
    pub game_id: String,
    /// Channel title.
    pub title: String,
    /// Channel tags.
    pub tags: Vec<String>,
}

impl Default for ScriptedChannel {
    fn default() -> Self {
        Self {
            user_id: None,
            login: String::new(),
            display_name: String::new(),
            created_at: Utc
                .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            followers: 0,
            language: String::new(),
            broadcaster_type: String::new(),
            description: String::new(),
            game_id: String::new(),
            title: String::new(),
            tags: Vec::new(),
        }
    }
}

impl World {
    /// Adds a scripted channel (offline); returns its user id.
    pub fn add_scripted_channel(&mut self, spec: ScriptedChannel) -> Result<String> {
        if !names::valid_login(&spec.login) {
            return Err(Error::InvalidLogin(spec.login));
        }
        if self.taken.contains(&spec.login) {
            return Err(Error::LoginTaken(spec.login));
        }
        let game = self.game_index(&spec.game_id)?;
        let id = match spec.user_id {
            Some(id) if self.users.iter().any(|u| u.id == id) => {
                return Err(Error::UserIdTaken(id));
            }
            Some(id) => id,
            None => loop {
                let id = self.next_scripted_id.to_string();
                self.next_scripted_id += 1;
                if !self.users.iter().any(|u| u.id == id) {
                    break id;
                }
            },
        };
        let i = self.chans.len();
        let display_name = if spec.display_name.is_empty() {
            spec.login.clone()
        } else {
            spec.display_name
        };
        self.users.push(User {
            id: id.clone(),
            login: spec.login.clone(),
            display_name,
            user_type: String::new(),
            broadcaster_type: spec.broadcaster_type,
            description: spec.description,
            profile_image_url: String::new(),
            offline_image_url: String::new(),
            view_count: 0,
            created_at: spec.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        });
        self.chans.push(Chan {
            scripted: true,
            language: if spec.language.is_empty() {
                "en".into()
            } else {
                spec.language
            },
            game,
            title: spec.title,
            tags: spec.tags,
            followers: spec.followers,
            ..Chan::default()
        });
        self.taken.insert(spec.login.clone());
        self.by_id.insert(id.clone(), i);
        self.by_login.insert(spec.login, i);
        self.generation += 1;
        Ok(id)
    }

    /// Starts a stream now (`started_at` = the world's current time, to the
    /// second) with the given category ("" → none), title and viewers;
    /// returns the stream id.
    pub fn go_live(
        &mut self,
        user_id: &str,
        game_id: &str,
        title: &str,
        viewers: u64,
    ) -> Result<String> {
        let i = self.scripted(user_id)?;
        if self.chans[i].slot.is_some() {
            return Err(Error::AlreadyLive(user_id.into()));
        }
        let game = self.game_index(game_id)?;
        let c = &mut self.chans[i];
        c.game = game;
        title.clone_into(&mut c.title);
        let id = self.open_stream(i, self.now, viewers);
        self.resort();
        Ok(id)
    }

    /// Sets the viewer count of a live stream.
    pub fn set_viewers(&mut self, user_id: &str, viewers: u64) -> Result<()> {
        let i = self.scripted(user_id)?;
        let slot = self.chans[i]
            .slot
            .ok_or_else(|| Error::NotLive(user_id.into()))?;
        self.live[slot].viewer_count = viewers;
        self.resort();
        Ok(())
    }

    /// Ends the stream.
    pub fn go_offline(&mut self, user_id: &str) -> Result<()> {
        let i = self.scripted(user_id)?;
        if self.chans[i].slot.is_none() {
            return Err(Error::NotLive(user_id.into()));
        }
        self.close_stream(i);
        self.resort();
        Ok(())
    }

    /// A restart: the stream ends and a new one (new id, `started_at` = now)
    /// begins at once with the same category, title and viewers; returns the
    /// new stream id.
    pub fn restart(&mut self, user_id: &str) -> Result<String> {
        let i = self.scripted(user_id)?;
        let slot = self.chans[i]
            .slot
            .ok_or_else(|| Error::NotLive(user_id.into()))?;
        let viewers = self.live[slot].viewer_count;
        self.close_stream(i);
        let id = self.open_stream(i, self.now, viewers);
        self.resort();
        Ok(id)
    }

    /// A raid: `raider`'s stream ends and its viewers join `target`'s
    /// stream (both scripted from now on); returns the viewers moved. Fires
    /// a viewer-gain alert on the target and an offline one on the raider.
    pub fn raid(&mut self, raider: &str, target: &str) -> Result<u64> {
        let r = self.scripted(raider)?;
        let t = self.scripted(target)?;
        let from = self.chans[r]
            .slot
            .ok_or_else(|| Error::NotLive(raider.into()))?;
        let to = self.chans[t]
            .slot
            .ok_or_else(|| Error::NotLive(target.into()))?;
        let moved = self.live[from].viewer_count;
        self.live[to].viewer_count += moved;
        self.close_stream(r);
        self.resort();
        Ok(moved)
    }

    /// A crash: the stream keeps running but keeps only `keep` (0..1) of
    /// its viewers (a technical failure, a rival event); returns the new count.
    pub fn crash(&mut self, user_id: &str, keep: f64) -> Result<u64> {
        let i = self.scripted(user_id)?;
        let slot = self.chans[i]
            .slot
            .ok_or_else(|| Error::NotLive(user_id.into()))?;
        let v = &mut self.live[slot].viewer_count;
        *v = (*v as f64 * keep.clamp(0.0, 1.0)).round() as u64;
        let viewers = *v;
        self.resort();
        Ok(viewers)
    }

    /// Adds `n` followers at once (a follower spike); returns the new total.
    pub fn gain_followers(&mut self, user_id: &str, n: u64) -> Result<u64> {
        let i = self.scripted(user_id)?;
        self.chans[i].followers += n;
        self.generation += 1;
        Ok(self.chans[i].followers)
    }

    /// Renames a user (same id; display name becomes the new login). The old
    /// login stays reserved.
    pub fn rename(&mut self, user_id: &str, new_login: &str) -> Result<()> {
        let i = self.scripted(user_id)?;
        if !names::valid_login(new_login) {
            return Err(Error::InvalidLogin(new_login.into()));
        }
        if self.taken.contains(new_login) {
            return Err(Error::LoginTaken(new_login.into()));
        }
        self.taken.insert(new_login.into());
        self.rename_index(i, new_login.into(), new_login.into());
        self.generation += 1;
        Ok(())
    }

    /// Bans a user: its stream ends and it disappears from users, streams,
    /// channels and followers.
    pub fn ban(&mut self, user_id: &str) -> Result<()> {
        let i = self
            .index(user_id)
            .ok_or_else(|| Error::UnknownUser(user_id.into()))?;
        self.ban_index(i);
        self.resort();
        Ok(())
    }

    /// Sets the follower total.
    pub fn set_followers(&mut self, user_id: &str, n: u64) -> Result<()> {
        let i = self.scripted(user_id)?;
        self.chans[i].followers = n;
        self.generation += 1;
        Ok(())
    }

    /// Sets the channel's category ("" → none), and the live stream's.
    pub fn set_game(&mut self, user_id: &str, game_id: &str) -> Result<()> {
        let i = self.scripted(user_id)?;
        self.chans[i].game = self.game_index(game_id)?;
        self.sync_stream(i);
        self.resort();
        Ok(())
    }

    /// Sets the channel's title, and the live stream's.
    pub fn set_title(&mut self, user_id: &str, title: &str) -> Result<()> {
        let i = self.scripted(user_id)?;
        title.clone_into(&mut self.chans[i].title);
        self.sync_stream(i);
        self.generation += 1;
        Ok(())
    }

    /// Whether a channel is scripted (its chat is only what tests script, too).
    pub fn is_scripted(&self, user_id: &str) -> bool {
        self.index(user_id).is_some_and(|i| self.chans[i].scripted)
    }

    /// Channel index of `user_id`, now frozen as scripted.
    fn scripted(&mut self, user_id: &str) -> Result<usize> {
        let i = self
            .index(user_id)
            .ok_or_else(|| Error::UnknownUser(user_id.into()))?;
        let c = &mut self.chans[i];
        if !c.scripted {
            c.scripted = true;
            // A generated channel caught mid-restart stays offline until scripted otherwise.
            c.d = Default::default();
        }
        Ok(i)
    }

    fn game_index(&self, game_id: &str) -> Result<Option<usize>> {
        if game_id.is_empty() {
            return Ok(None);
        }
        self.game_by_id
            .get(game_id)
            .map(|&g| Some(g))
            .ok_or_else(|| Error::UnknownGame(game_id.into()))
    }
}
