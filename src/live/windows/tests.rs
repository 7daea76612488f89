//! The windows against plain recomputations.
use super::*;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::minutes(minute) + TimeDelta::seconds(7)
}

#[test]
fn day_steps_agree_with_samples_inside_the_day() {
    let (mut exact, mut steps) = (Window::new(RETENTION), StepWindow::new());
    for m in 0..600 {
        let viewers = (m * 37) % 1000;
        exact.push(at(m), viewers, 60_000);
        steps.push(at(m), viewers, 60_000);
    }
    exact.prune(at(600));
    steps.prune(at(600));
    assert_eq!(steps.avg(), exact.avg());
    assert_eq!(steps.peak(), exact.peak());
    // One sample a minute: ten per step.
    assert_eq!(steps.steps.len(), 60);
}

#[test]
fn a_day_step_leaves_with_its_newest_sample() {
    let mut w = StepWindow::new();
    // Minutes 0 and 5 share a step; the peak is in it.
    w.push(at(0), 900, 0);
    w.push(at(5), 100, 300_000);
    w.push(at(30), 10, 600_000);
    // 24 h after minute 0 the step still has minute 5 inside the day.
    w.prune(at(24 * 60));
    assert_eq!(w.peak(), Some(900));
    assert_eq!(w.avg(), Some((100.0 * 5.0 + 10.0 * 10.0) / 15.0));
    // 24 h after minute 5 the whole step is gone, its peak with it.
    w.prune(at(24 * 60 + 5));
    assert_eq!(w.peak(), Some(10));
    assert_eq!(w.avg(), Some(10.0));
    w.prune(at(24 * 60 + 30));
    assert!(w.is_empty());
    assert_eq!((w.avg(), w.peak()), (None, None));
}

#[test]
fn a_falling_audience_keeps_one_peak_candidate_per_step() {
    let mut w = StepWindow::new();
    let viewers = |minute: i64| 100_000 - minute * 50;
    for m in 0..24 * 60 {
        w.push(at(m), viewers(m), 60_000);
    }
    // A sample a minute, each below the last: one candidate per step (its
    // first sample), not one per sample.
    assert_eq!(w.steps.len(), 144);
    assert_eq!(w.peak.len(), 144);
    // Each step takes its candidate with it: the peak is the first sample
    // of the oldest step left.
    for now in [24 * 60 + 9, 24 * 60 + 300, 2 * 24 * 60 - 11] {
        w.prune(at(now));
        let oldest = step_of(w.steps[0].last) / 60_000;
        assert_eq!(w.peak(), Some(viewers(oldest)), "at minute {now}");
        assert_eq!(w.peak.len(), w.steps.len());
    }
}

#[test]
fn absurd_viewer_counts_saturate_the_sums_and_leave_with_their_step() {
    let mut w = StepWindow::new();
    w.push(at(0), i64::MAX, 600_000);
    w.push(at(1), i64::MAX, 60_000);
    w.push(at(20), 10, 600_000);
    assert_eq!(w.peak(), Some(i64::MAX));
    assert!(w.avg().is_some_and(f64::is_finite));
    // The window's sums are the sums of its steps, saturated or not: once
    // the absurd step has left, the average is the ordinary sample's.
    w.prune(at(24 * 60 + 1));
    assert_eq!((w.avg(), w.peak()), (Some(10.0), Some(10)));
    w.prune(at(24 * 60 + 20));
    assert!(w.is_empty());
    assert_eq!((w.weighted, w.weight), (0, 0));
}

#[test]
fn a_day_of_weightless_samples_averages_them_plainly_until_their_steps_leave() {
    let mut w = StepWindow::new();
    w.push(at(0), 10, 0);
    w.push(at(3), 20, 0);
    w.push(at(12), 40, 0);
    assert_eq!(w.avg(), Some((10.0 + 20.0 + 40.0) / 3.0));
    // Minutes 0 and 3 leave with their step, at minute 3 + 24 h.
    w.prune(at(24 * 60 + 2));
    assert_eq!(w.avg(), Some((10.0 + 20.0 + 40.0) / 3.0));
    w.prune(at(24 * 60 + 3));
    assert_eq!(w.avg(), Some(40.0));
    // A weighted sample outweighs them all.
    w.push(at(24 * 60 + 4), 7, 60_000);
    assert_eq!(w.avg(), Some(7.0));
    w.prune(at(2 * 24 * 60 + 4));
    assert!(w.is_empty() && w.weightless.is_empty());
    assert_eq!(w.avg(), None);
}

#[test]
fn followers_gained_over_day_steps() {
    let mut f = StepTotals::new();
    f.push(at(0), 100);
    f.push(at(15), 130);
    f.push(at(19), 150);
    f.push(at(45), 170);
    assert_eq!(f.gained(), Some(70));
    assert_eq!(f.steps.len(), 3);
    f.prune(at(24 * 60 + 1));
    assert_eq!(f.gained(), Some(40));
    // The step of minutes 15 and 19 leaves with minute 19.
    f.prune(at(24 * 60 + 19));
    assert_eq!(f.gained(), Some(0));
    f.prune(at(24 * 60 + 45));
    assert!(f.is_empty());
    assert_eq!(f.gained(), None);
}

#[test]
fn windows_hold_no_more_room_than_a_day_needs_and_give_it_back() {
    let mut t = Tracked::new();
    // Live for two days, a sample and a follower total a minute.
    for m in 0..2 * 24 * 60 {
        t.sample("alpha", "s1", at(0), at(m), 500 + m % 7);
        t.followers(at(m), 1_000 + m);
        t.prune(at(m));
    }
    assert!(t.day.steps.len() <= DAY_STEPS);
    assert!(t.day.steps.capacity() <= DAY_STEPS);
    assert!(t.followers_day.steps.capacity() <= DAY_STEPS);
    let busy = t.hour.samples.capacity();
    assert!(busy >= 60);
    // Offline: an hour later the hour window is empty and gives its room
    // back; a day later everything has gone and the streamer is idle.
    let end = 2 * 24 * 60;
    t.prune(at(end + 61));
    assert!(t.hour.samples.is_empty());
    assert!(t.hour.samples.capacity() <= 8);
    assert!(t.followers_hour.totals.capacity() <= 8);
    assert!(t.day.avg().is_some_and(|v| (500.0..507.0).contains(&v)));
    t.prune(at(end + 24 * 60 + 20));
    assert!(t.is_idle());
    assert!(t.day.steps.capacity() <= 8 && t.followers_day.steps.capacity() <= 8);
}

/// What [`StepTotals::gained`] stands for, from every total read: the newest
/// total minus the first total of the oldest step that still has a read in
/// the last 24 hours.
fn gained_from_every_read(reads: &[(DateTime<Utc>, i64)], now: DateTime<Utc>) -> Option<i64> {
    let cutoff = now - RETENTION;
    let last_of_step = |start: i64| {
        reads
            .iter()
            .rfind(|(at, _)| step_of(ms(*at)) == start)
            .map(|r| r.0)
    };
    let oldest = reads
        .iter()
        .find(|(at, _)| last_of_step(step_of(ms(*at))).is_some_and(|last| last > cutoff))?;
    Some(reads.last()?.1 - oldest.1)
}

#[test]
fn follower_windows_drop_repeated_totals_and_answer_the_same() {
    let mut t = Tracked::new();
    let mut reads = Vec::new();
    // Three days of a read every 15 minutes (7 on some), mostly unchanged,
    // sometimes up, sometimes down, sometimes back to an earlier total.
    let mut rng = 0x2545_f491_u64;
    let (mut minute, mut total) = (0, 1_000);
    while minute < 3 * 24 * 60 {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        total += match rng >> 60 {
            0 => 5,
            1 => -3,
            2 => 40,
            _ => 0,
        };
        t.followers(at(minute), total);
        reads.push((at(minute), total));
        t.prune(at(minute));
        let now = at(minute);
        assert_eq!(
            t.followers_day.gained(),
            gained_from_every_read(&reads, now),
            "minute {minute}"
        );
        let hour: Vec<_> = reads
            .iter()
            .filter(|r| r.0 > now - TimeDelta::hours(1))
            .collect();
        assert_eq!(
            t.followers_hour.gained(),
            Some(hour.last().unwrap().1 - hour.first().unwrap().1),
            "minute {minute}"
        );
        minute += if rng & 1 == 0 { 15 } else { 7 };
    }
    // An unchanged total a day long is one step, not one per read.
    let mut steady = Tracked::new();
    for m in (0..2 * 24 * 60).step_by(15) {
        steady.followers(at(m), 5_000);
        steady.prune(at(m));
    }
    assert_eq!(steady.followers_day.steps.len(), 1);
    assert_eq!(steady.followers_hour.totals.len(), 1);
    assert_eq!(steady.followers_day.gained(), Some(0));
}
