//! The channels alert evaluation remembers: their records in one vector
//! and a small index from user id to position. The index (about 32 bytes
//! a channel, ids of up to 24 bytes held inline) stays in cache where a
//! map of whole records (over 400 bytes each) does not: with 100,000
//! channels a look-up in such a map cost two cache misses, most of the
//! evaluation's time. Walking every channel walks one vector.
use compact_str::CompactString;

use super::frame::FastMap;
use super::state::Chan;

/// User id → channel record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Channels {
    index: FastMap<CompactString, u32>,
    slots: Vec<(CompactString, Chan)>,
}

impl Channels {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Chan> {
        let &i = self.index.get(id)?;
        self.slots.get(i as usize).map(|s| &s.1)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Chan> {
        let &i = self.index.get(id)?;
        self.slots.get_mut(i as usize).map(|s| &mut s.1)
    }

    /// The record of `id`, a fresh one if it has none.
    pub(crate) fn get_or_insert(&mut self, id: &str) -> &mut Chan {
        let i = match self.index.get(id) {
            Some(&i) => i as usize,
            None => {
                let i = self.slots.len();
                let id = CompactString::from(id);
                self.index.insert(id.clone(), i as u32);
                self.slots.push((id, Chan::default()));
                i
            }
        };
        &mut self.slots[i].1
    }

    /// (user id, record), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Chan)> {
        self.slots.iter().map(|(k, c)| (k.as_str(), c))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|(k, _)| k.as_str())
    }

    /// Keeps the records for which `keep` (which may change them) is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut Chan) -> bool) {
        let mut i = 0;
        while i < self.slots.len() {
            if keep(&mut self.slots[i].1) {
                i += 1;
                continue;
            }
            let (gone, _) = self.slots.swap_remove(i);
            self.index.remove(&gone);
            // The last record moved into `i`; it is checked next.
            if let Some((moved, _)) = self.slots.get(i)
                && let Some(slot) = self.index.get_mut(moved)
            {
                *slot = i as u32;
            }
        }
    }
}
