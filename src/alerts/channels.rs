//! The channels alert evaluation remembers: their records in one vector
//! and a small index from user id to position. The index stays in cache
//! where a map of whole records (over 400 bytes each) does not: with
//! 100,000 channels a look-up in such a map cost two cache misses, most of
//! the evaluation's time. Walking every channel walks one vector.
//!
//! Twitch user ids are decimal numbers, so the index keys those by value
//! (16 bytes an entry, no string hashing or comparing); any other id is
//! keyed by its text.
use compact_str::CompactString;

use super::frame::FastMap;
use super::state::Chan;

/// User id → channel record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Channels {
    numeric: FastMap<u64, u32>,
    text: FastMap<CompactString, u32>,
    slots: Vec<(CompactString, Chan)>,
}

/// An id's index key.
enum Key<'a> {
    Number(u64),
    Text(&'a str),
}

/// The key of `id`: its value when it is a canonical decimal number (no
/// sign, no leading zero, at most 19 digits, so distinct texts never share
/// a value), else its text.
fn key(id: &str) -> Key<'_> {
    let b = id.as_bytes();
    let canonical = !b.is_empty()
        && b.len() <= 19
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1);
    if !canonical {
        return Key::Text(id);
    }
    Key::Number(b.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

impl Channels {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, id: &str) -> Option<usize> {
        let i = match key(id) {
            Key::Number(n) => self.numeric.get(&n),
            Key::Text(t) => self.text.get(t),
        };
        i.map(|&i| i as usize)
    }

    fn set_slot(&mut self, id: &CompactString, i: usize) {
        match key(id) {
            Key::Number(n) => self.numeric.insert(n, i as u32),
            Key::Text(_) => self.text.insert(id.clone(), i as u32),
        };
    }

    fn remove_slot(&mut self, id: &str) {
        match key(id) {
            Key::Number(n) => self.numeric.remove(&n),
            Key::Text(t) => self.text.remove(t),
        };
    }

    /// The slot of `id`'s record, if it has one (see [`Self::at`]).
    pub(crate) fn find(&self, id: &str) -> Option<u32> {
        self.slot(id).map(|i| i as u32)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Chan> {
        self.slot(id).map(|i| &self.slots[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Chan> {
        self.slot(id).map(|i| &mut self.slots[i].1)
    }

    /// The record of `id`, a fresh one if it has none.
    pub(crate) fn get_or_insert(&mut self, id: &str) -> &mut Chan {
        let slot = self.slot_or_insert(id);
        self.at_mut(slot)
    }

    /// The slot of `id`'s record (see [`Self::at_mut`]), a fresh record's
    /// if it has none.
    pub(crate) fn slot_or_insert(&mut self, id: &str) -> u32 {
        if let Some(i) = self.slot(id) {
            return i as u32;
        }
        let i = self.slots.len();
        let id = CompactString::from(id);
        self.set_slot(&id, i);
        self.slots.push((id, Chan::default()));
        i as u32
    }

    /// The record at `slot`, valid until a record is removed.
    pub(crate) fn at_mut(&mut self, slot: u32) -> &mut Chan {
        &mut self.slots[slot as usize].1
    }

    /// The record at `slot` (as passed to [`Self::retain`]'s closure) and its id.
    pub(crate) fn at(&self, slot: u32) -> (&str, &Chan) {
        let (k, c) = &self.slots[slot as usize];
        (k.as_str(), c)
    }

    /// The records split into `n` parts of consecutive slots, each
    /// writable on its own (by its own thread).
    pub(crate) fn parts_mut(&mut self, n: usize) -> Vec<Part<'_>> {
        let mut rest = self.slots.as_mut_slice();
        let mut parts = Vec::with_capacity(n);
        for r in super::par::ranges(rest.len(), n) {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(r.len());
            rest = tail;
            parts.push(Part {
                first: r.start as u32,
                slots: head,
            });
        }
        parts
    }

    /// (user id, record), in no particular order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Chan)> {
        self.slots.iter().map(|(k, c)| (k.as_str(), c))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|(k, _)| k.as_str())
    }

    /// Keeps the records for which `keep` (which may change them) is true.
    /// `keep` also gets the slot a kept record ends up in, valid until the
    /// channels next change (see [`Self::at`]).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u32, &mut Chan) -> bool) {
        let mut i = 0;
        while i < self.slots.len() {
            if keep(i as u32, &mut self.slots[i].1) {
                i += 1;
                continue;
            }
            let (gone, _) = self.slots.swap_remove(i);
            self.remove_slot(&gone);
            // The last record moved into `i`; it is checked next.
            if let Some((moved, _)) = self.slots.get(i) {
                let moved = moved.clone();
                self.set_slot(&moved, i);
            }
        }
    }
}

/// The records of a range of consecutive slots (see [`Channels::parts_mut`]).
pub(crate) struct Part<'c> {
    first: u32,
    slots: &'c mut [(CompactString, Chan)],
}

impl Part<'_> {
    /// Whether `slot` is in this part.
    pub(crate) fn holds(&self, slot: u32) -> bool {
        slot >= self.first && ((slot - self.first) as usize) < self.slots.len()
    }

    /// The record at `slot`, which must be in this part.
    pub(crate) fn at(&self, slot: u32) -> &Chan {
        &self.slots[(slot - self.first) as usize].1
    }

    /// The record at `slot`, which must be in this part.
    pub(crate) fn at_mut(&mut self, slot: u32) -> &mut Chan {
        &mut self.slots[(slot - self.first) as usize].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_text_ids_do_not_alias() {
        let mut ch = Channels::default();
        let ids = [
            "1",
            "01",
            "+1",
            "0",
            "",
            "18446744073709551615",
            "9999999999999999999",
            "abc",
        ];
        for (n, id) in ids.iter().enumerate() {
            ch.get_or_insert(id).login = format!("c{n}");
        }
        assert_eq!(ch.len(), ids.len());
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(
                ch.get(id).map(|c| c.login.as_str()),
                Some(format!("c{n}").as_str())
            );
        }
        // Removing some moves others between slots; the rest stay found.
        ch.retain(|_, c| !matches!(c.login.as_str(), "c0" | "c4"));
        assert!(ch.get("1").is_none() && ch.get("").is_none());
        for id in ["01", "+1", "0", "abc", "9999999999999999999"] {
            assert!(ch.get(id).is_some(), "{id}");
        }
    }
}
