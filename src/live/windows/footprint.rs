//! What the windows hold, in bytes by part: for the live-day benchmark,
//! which prints it beside the process's RSS. Counts the room reserved
//! (capacity), not only the room used, and leaves out the allocator's own
//! overhead, so it is a floor for what the heap holds.
use std::collections::VecDeque;
use std::mem::size_of;

use super::Tracked;

/// Bytes held by the live views' per-streamer windows, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Streamers tracked (live, or seen in the last 24 hours).
    pub streamers: usize,
    /// The map's entries themselves (key, `Tracked`, the map's room) and
    /// the strings they own (user id, login, last stream id).
    pub entries: usize,
    /// The last hour of viewer samples and their peak candidates.
    pub hour: usize,
    /// The 24-hour rings of viewer and follower steps (and the day's
    /// weightless samples, if any).
    pub day: usize,
    /// Follower totals of the last hour.
    pub followers: usize,
    /// The samples kept for the 5-minute change.
    pub recent: usize,
}

impl Footprint {
    /// Every part together.
    pub fn total(&self) -> usize {
        self.entries + self.hour + self.day + self.followers + self.recent
    }

    /// Adds one streamer's windows (`key` is its map key).
    pub(crate) fn add(&mut self, key: &str, t: &Tracked) {
        fn room<T>(deque: &VecDeque<T>) -> usize {
            deque.capacity() * size_of::<T>()
        }
        self.streamers += 1;
        let stream_id = t.last_sample.as_ref().map_or(0, |(_, s)| s.capacity());
        self.entries += key.len() + t.login.capacity() + stream_id;
        self.hour += room(&t.hour.samples) + room(&t.hour.peak);
        self.day += t.day.footprint();
        self.followers += room(&t.followers_hour.totals);
        self.recent += room(&t.recent);
    }

    /// Adds the map's own room: `capacity` entries of a key and a `Tracked`.
    pub(crate) fn add_map(&mut self, capacity: usize) {
        self.entries += capacity * (size_of::<String>() + size_of::<Tracked>() + 1);
    }
}
