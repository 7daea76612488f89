//! Evaluation on every core. With 100,000 live streams a cycle's evaluation
//! is tens of milliseconds of work whose parts do not touch the same memory
//! (distinct channels, distinct rules), so it is split over the machine's
//! cores with scoped threads; below a few thousand streams the split costs
//! more than it saves and everything runs on the calling thread.
use std::cell::Cell;
use std::cmp::Reverse;

/// Work (streams, rows or hits) below which nothing is split.
const MIN_SPLIT: usize = 4_096;

/// Most threads an evaluation uses: the gain flattens where memory, not
/// the cores, is what each part waits on.
const MAX_THREADS: usize = 4;

thread_local! {
    /// A split forced on this thread (see [`with_parts`]).
    static FORCED: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs `f` with every split on this thread made `n` parts whatever the
/// work and the cores, so that tests can compare splits with no split.
#[cfg(test)]
pub(crate) fn with_parts<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let before = FORCED.replace(Some(n.max(1)));
    let out = f();
    FORCED.set(before);
    out
}

/// How many parts to split `work` units into.
pub(crate) fn parts(work: usize) -> usize {
    if let Some(n) = FORCED.get() {
        return n;
    }
    if work < MIN_SPLIT {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
}

/// Runs `f` on every job, `parts` jobs at a time, and returns the results in
/// job order. Jobs go, heaviest first by `cost`, to the part with the least
/// work so far; the calling thread runs one part itself.
pub(crate) fn map<J, R>(
    jobs: Vec<J>,
    cost: impl Fn(&J) -> usize,
    f: impl Fn(J) -> R + Sync,
) -> Vec<R>
where
    J: Send,
    R: Send,
{
    let costs: Vec<usize> = jobs.iter().map(&cost).collect();
    let n = parts(costs.iter().sum()).min(jobs.len());
    if n <= 1 {
        return jobs.into_iter().map(f).collect();
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| Reverse(costs[i]));
    let mut jobs: Vec<Option<J>> = jobs.into_iter().map(Some).collect();
    let mut bins: Vec<(usize, Vec<(usize, J)>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for i in order {
        if let (Some(bin), Some(job)) = (bins.iter_mut().min_by_key(|b| b.0), jobs[i].take()) {
            bin.0 += costs[i];
            bin.1.push((i, job));
        }
    }
    let f = &f;
    let run = move |bin: Vec<(usize, J)>| -> Vec<(usize, R)> {
        bin.into_iter().map(|(i, job)| (i, f(job))).collect()
    };
    let mut out: Vec<Option<R>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let mut bins = bins.into_iter().map(|b| b.1);
        let here = bins.next().unwrap_or_default();
        let others: Vec<_> = bins.map(|bin| s.spawn(move || run(bin))).collect();
        let mut done = run(here);
        for h in others {
            done.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        for (i, r) in done {
            out[i] = Some(r);
        }
    });
    out.into_iter().flatten().collect()
}

/// Splits `0..len` into `parts` contiguous ranges of nearly equal length.
pub(crate) fn ranges(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|p| len * p / parts..len * (p + 1) / parts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_job_order_whatever_the_split() {
        let jobs: Vec<usize> = (0..10_000).collect();
        // Costs out of order, so bins take jobs out of order.
        let out = map(jobs, |j| (j * 7919) % 10_000, |j| j * 2);
        assert_eq!(out, (0..10_000).map(|j| j * 2).collect::<Vec<_>>());
        assert_eq!(map(Vec::<u8>::new(), |_| 1, |j| j), Vec::<u8>::new());
    }

    #[test]
    fn ranges_cover_everything_once() {
        for (len, parts) in [(0, 2), (1, 2), (7, 3), (100_000, 2), (5, 8)] {
            let r = ranges(len, parts);
            assert_eq!(r.len(), parts);
            assert_eq!(r.first().map(|r| r.start), Some(0));
            assert_eq!(r.last().map(|r| r.end), Some(len));
            assert!(r.windows(2).all(|w| w[0].end == w[1].start));
        }
    }
}
