//! The profiles the running state keeps: each user's `silver.streamers`
//! versions reduced to what cycles read — the login and account creation time
//! (gold's logins of streamers not seen live, rising stars' account ages), the
//! version's span, and a fingerprint of the profile fields whose change opens
//! a new version. The full rows are in the lake; kept whole here, the profile
//! text (descriptions, image URLs) of every channel ever seen cost about
//! 0.8 KB per user, for good, where a version here is about 0.15 KB.
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};

use super::silver::{StreamerRow, parse_time};
use crate::twitch::models::User;

/// Each user's versions, oldest first, by user id.
pub type Profiles = BTreeMap<String, Vec<Version>>;

/// One `silver.streamers` version as the running state keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The login.
    pub login: Box<str>,
    /// Parsed account creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Version start.
    pub valid_from: DateTime<Utc>,
    /// Version end (None while current).
    pub valid_to: Option<DateTime<Utc>>,
    /// Whether this is the current version.
    pub is_current: bool,
    /// Cycle that wrote this version.
    pub cycle_id: i64,
    /// [`fingerprint`] of the profile.
    profile: u64,
}

impl Version {
    /// The state's version of lake row `r`.
    pub fn of(r: &StreamerRow) -> Self {
        Self::new(
            profile_text(&r.user),
            r.created_at,
            r.valid_from,
            r.cycle_id,
        )
        .ended(r.valid_to, r.is_current)
    }

    /// A current version of the profile made of `text` and `created_at`,
    /// valid from `valid_from`, written by cycle `cycle_id`.
    pub fn new(
        text: ProfileText<'_>,
        created_at: Option<DateTime<Utc>>,
        valid_from: DateTime<Utc>,
        cycle_id: i64,
    ) -> Self {
        Self {
            login: text[0].into(),
            created_at,
            valid_from,
            valid_to: None,
            is_current: true,
            cycle_id,
            profile: fingerprint(text, created_at),
        }
    }

    /// This version with its end as the lake has it.
    pub fn ended(self, valid_to: Option<DateTime<Utc>>, is_current: bool) -> Self {
        Self {
            valid_to,
            is_current,
            ..self
        }
    }
}

/// The stored text fields of a profile, in this order: login, display name,
/// broadcaster type, user type, description, profile image URL.
/// (`offline_image_url` and `view_count` are not stored, so never a change.)
pub type ProfileText<'a> = [&'a str; 6];

/// The [`ProfileText`] of a Helix user.
pub fn profile_text(u: &User) -> ProfileText<'_> {
    [
        &u.login,
        &u.display_name,
        &u.broadcaster_type,
        &u.user_type,
        &u.description,
        &u.profile_image_url,
    ]
}

/// A hash of a profile's stored fields — its text and creation time — equal
/// for equal profiles, as stored in the lake or as Helix sent them.
fn fingerprint(text: ProfileText<'_>, created_at: Option<DateTime<Utc>>) -> u64 {
    let mut h = DefaultHasher::new();
    (text, created_at).hash(&mut h);
    h.finish()
}

/// Records `u` as observed at `at` in cycle `cycle_id`; a new or changed
/// profile becomes the current version (the previous one is closed at `at`)
/// and its row goes to `new`.
pub fn upsert(
    profiles: &mut Profiles,
    new: &mut Vec<StreamerRow>,
    u: User,
    at: DateTime<Utc>,
    cycle_id: i64,
) {
    let history = profiles.entry(u.id.clone()).or_default();
    // The lake's SCD2 merge keeps one version per key and commit: a second
    // change within one cycle replaces this cycle's version, as it will.
    let this_cycle = |r: &Version| r.is_current && r.cycle_id == cycle_id && r.valid_from < at;
    if history.last().is_some_and(this_cycle)
        && let Some(undone) = history.pop()
    {
        new.retain(|r| r.user.id != u.id);
        if let Some(previous) = history
            .last_mut()
            .filter(|p| p.valid_to == Some(undone.valid_from))
        {
            previous.is_current = true;
            previous.valid_to = None;
        }
    }
    let created_at = parse_time(&u.created_at);
    let version = Version::new(profile_text(&u), created_at, at, cycle_id);
    if let Some(current) = history.iter_mut().rev().find(|r| r.is_current) {
        // Unchanged, or already applied by a replayed cycle.
        if current.profile == version.profile || current.valid_from >= at {
            return;
        }
        current.is_current = false;
        current.valid_to = Some(at);
    }
    // Most users have one version for good: no room for more.
    history.reserve_exact(1);
    history.push(version);
    new.push(StreamerRow {
        created_at,
        user: u,
        valid_from: at,
        valid_to: None,
        is_current: true,
        cycle_id,
    });
}

/// The login of `user_id`'s profile version valid just before `at`.
pub fn login_before<'a>(
    profiles: &'a Profiles,
    user_id: &str,
    at: DateTime<Utc>,
) -> Option<&'a str> {
    profiles
        .get(user_id)?
        .iter()
        .filter(|r| r.valid_from < at)
        .max_by_key(|r| r.valid_from)
        .map(|r| &*r.login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{state, tables};
    use crate::schema::Table;

    fn alice() -> User {
        User {
            id: "u1".into(),
            login: "alice".into(),
            display_name: "Alice".into(),
            user_type: String::new(),
            broadcaster_type: "affiliate".into(),
            description: "speedruns".into(),
            profile_image_url: "https://img/a.png".into(),
            offline_image_url: "https://img/off.png".into(),
            view_count: 7,
            created_at: "2016-12-14T20:32:28Z".into(),
        }
    }

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::TimeDelta::minutes(min)
    }

    #[test]
    fn each_stored_field_makes_a_version_and_the_others_do_not() {
        type Change = fn(&mut User);
        let changes: [(Change, bool); 9] = [
            (|u| u.login = "alicia".into(), true),
            (|u| u.display_name = "ALICE".into(), true),
            (|u| u.user_type = "staff".into(), true),
            (|u| u.broadcaster_type = "partner".into(), true),
            (|u| u.description = "speedruns, sometimes".into(), true),
            (|u| u.profile_image_url = "https://img/b.png".into(), true),
            (|u| u.created_at = "2016-12-14T20:32:29Z".into(), true),
            (|u| u.offline_image_url = String::new(), false),
            (|u| u.view_count = 8, false),
        ];
        for (i, (change, versioned)) in changes.into_iter().enumerate() {
            let (mut profiles, mut new) = (Profiles::new(), Vec::new());
            upsert(&mut profiles, &mut new, alice(), at(1), 1);
            let mut u = alice();
            change(&mut u);
            upsert(&mut profiles, &mut new, u, at(2), 2);
            assert_eq!(new.len(), 1 + usize::from(versioned), "change {i}");
            assert_eq!(profiles["u1"].len(), new.len(), "change {i}");
        }
    }

    #[test]
    fn versions_read_back_from_the_lake_are_the_ones_kept_so_no_restart_adds_one() {
        let (mut kept, mut new) = (Profiles::new(), Vec::new());
        upsert(&mut kept, &mut new, alice(), at(1), 1);
        let mut renamed = alice();
        renamed.login = "alicia".into();
        upsert(&mut kept, &mut new, renamed.clone(), at(2), 2);
        // What the lake's SCD2 merge stores: the first version closed.
        new[0].is_current = false;
        new[0].valid_to = Some(at(2));
        let batch = tables::streamers(&Table::Streamers.schema(), new.iter()).unwrap();
        let mut loaded = Profiles::new();
        for (id, v) in state::streamers(&[batch]).unwrap() {
            loaded.entry(id).or_default().push(v);
        }
        assert_eq!(loaded, kept);
        let mut again = Vec::new();
        upsert(&mut loaded, &mut again, renamed, at(3), 3);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(login_before(&loaded, "u1", at(2)), Some("alice"));
        assert_eq!(login_before(&loaded, "u1", at(3)), Some("alicia"));
    }
}
