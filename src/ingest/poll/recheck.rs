//! Streams a paged sweep skipped. Helix lists `/streams` by viewer count,
//! and when counts move between two page requests a stream can move from a
//! page not yet read to one already read: it is on neither. (At 100,000
//! live streams a one-second sweep on the simulator at 30× missed up to 12%
//! of them.) The channels a sweep listed last cycle and not this one are
//! asked for once more by id, 100 a request, with the sweep's own filters
//! (Helix ANDs them), so a channel still live in the sweep's scope is not
//! shown offline for a cycle. Those that ended are simply not listed again.
//!
//! Only sweeps of a moving list are checked: not a top-N cut (a stream that
//! fell below the cut is rightly missing) and not logins or ids (one page
//! per 100, nothing moves between pages). The second ask costs at most one
//! request per [`PAGES_PER_ASK`] pages of the sweep, so a sweep stopped by
//! the page cap (whose tail moves beyond the cap from cycle to cycle) is
//! not extended by id instead.
use std::collections::HashSet;

use crate::twitch::StreamQuery;

/// Sweep pages per request of the second ask (at 100,000 streams the sweep
/// reads 1,000 pages and skipped at most 13,035 streams, 131 requests).
pub const PAGES_PER_ASK: usize = 4;

/// The user ids each sweep listed in the cycle before.
#[derive(Debug, Clone, Default)]
pub struct Sweeps {
    listed: Vec<(StreamQuery, HashSet<String>)>,
}

impl Sweeps {
    /// Whether `query` pages through a list that can move under it.
    pub fn rechecked(query: &StreamQuery) -> bool {
        query.limit.is_none() && query.user_ids.is_empty() && query.user_logins.is_empty()
    }

    /// The recheck of `query` after a sweep of `pages` pages that listed
    /// `listed` without an error: the channels it listed the cycle before
    /// and not now (the lowest ids when more are missing than
    /// [`PAGES_PER_ASK`] allows, so requests are the same for the same
    /// state), or `None`.
    pub fn missed(
        &self,
        query: &StreamQuery,
        listed: &HashSet<String>,
        pages: usize,
    ) -> Option<StreamQuery> {
        let before = &self.listed.iter().find(|(q, _)| q == query)?.1;
        let mut missed: Vec<&String> = before.difference(listed).collect();
        if missed.is_empty() {
            return None;
        }
        let room = pages.div_ceil(PAGES_PER_ASK).max(1) * 100;
        if missed.len() > room {
            missed.select_nth_unstable(room - 1);
            missed.truncate(room);
        }
        missed.sort_unstable();
        let missed = missed.into_iter().cloned().collect();
        Some(StreamQuery {
            user_ids: missed,
            ..query.clone()
        })
    }

    /// Remembers what `query` listed this cycle, the recheck's finds
    /// included. After a sweep that failed part-way, what it listed is
    /// added to what the cycle before listed: the rest may still be live.
    pub fn remember(&mut self, query: &StreamQuery, listed: HashSet<String>, complete: bool) {
        match self.listed.iter_mut().find(|(q, _)| q == query) {
            Some((_, before)) if !complete => before.extend(listed),
            Some((_, before)) => *before = listed,
            None => self.listed.push((query.clone(), listed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> HashSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_sweep_asks_again_for_what_it_listed_before_and_not_now() {
        let german = StreamQuery {
            languages: vec!["de".into()],
            ..Default::default()
        };
        let mut sweeps = Sweeps::default();
        // The first sweep has nothing to compare with.
        assert_eq!(sweeps.missed(&german, &ids(&["1", "2", "3"]), 1), None);
        sweeps.remember(&german, ids(&["1", "2", "3"]), true);
        let again = sweeps.missed(&german, &ids(&["2", "4"]), 1).unwrap();
        assert_eq!(again.user_ids, ["1", "3"]);
        assert_eq!(again.languages, ["de"], "the sweep's filters are kept");
        // Another sweep's memory is its own.
        assert_eq!(sweeps.missed(&StreamQuery::default(), &ids(&[]), 1), None);

        // A sweep that failed part-way keeps what the one before listed.
        sweeps.remember(&german, ids(&["2", "4"]), false);
        let after_failure = sweeps.missed(&german, &ids(&[]), 1).unwrap();
        assert_eq!(after_failure.user_ids, ["1", "2", "3", "4"]);
        sweeps.remember(&german, ids(&["4"]), true);
        assert_eq!(sweeps.missed(&german, &ids(&["4"]), 1), None);
    }

    #[test]
    fn the_second_ask_is_bounded_by_the_sweeps_pages() {
        let all = StreamQuery::default();
        let mut sweeps = Sweeps::default();
        let before: HashSet<String> = (0..1000).map(|i| format!("{i:04}")).collect();
        sweeps.remember(&all, before, true);
        // A sweep of 5 pages (two requests' worth) now lists none of them.
        let again = sweeps.missed(&all, &HashSet::new(), 5).unwrap();
        let want: Vec<String> = (0..200).map(|i| format!("{i:04}")).collect();
        assert_eq!(again.user_ids, want);
        assert_eq!(
            sweeps
                .missed(&all, &HashSet::new(), 4)
                .unwrap()
                .user_ids
                .len(),
            100
        );
    }

    #[test]
    fn only_sweeps_of_a_moving_list_are_rechecked() {
        let q = |f: fn(&mut StreamQuery)| {
            let mut q = StreamQuery::default();
            f(&mut q);
            Sweeps::rechecked(&q)
        };
        assert!(q(|_| {}));
        assert!(q(|q| q.game_ids = vec!["33".into()]));
        assert!(!q(|q| q.limit = Some(100)));
        assert!(!q(|q| q.user_logins = vec!["a".into()]));
        assert!(!q(|q| q.user_ids = vec!["1".into()]));
    }
}
