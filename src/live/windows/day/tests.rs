//! The ring against plain recomputations from every sample.
use chrono::TimeDelta;

use super::super::Window;
use super::*;

/// A step, in minutes.
const S: i64 = STEP.num_minutes();
const DAY: i64 = 24 * 60;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::minutes(minute) + TimeDelta::seconds(7)
}

/// What the ring stands for, from every sample: those in the steps that
/// overlap the 24 hours before `now`.
fn from_every_sample(
    samples: &[(i64, i64, i64)],
    now: DateTime<Utc>,
) -> (Option<f64>, Option<i64>) {
    let keep = step_of(ms(now - RETENTION));
    let inside: Vec<_> = samples
        .iter()
        .filter(|s| step_of(ms(at(s.0))) >= keep)
        .collect();
    let weight: i128 = inside.iter().map(|s| i128::from(s.2)).sum();
    let weighted: i128 = inside
        .iter()
        .map(|s| i128::from(s.1) * i128::from(s.2))
        .sum();
    let avg = match (inside.len(), weight) {
        (0, _) => None,
        (_, 0) => Some(inside.iter().map(|s| s.1 as f64).sum::<f64>() / inside.len() as f64),
        _ => Some(weighted as f64 / weight as f64),
    };
    (avg, inside.iter().map(|s| s.1).max())
}

/// [`DayRing::gained`] from every read: the newest total − the first total
/// of the oldest step that overlaps the 24 hours before `now`.
fn gained_from_every_read(reads: &[(i64, i64)], now: DateTime<Utc>) -> Option<i64> {
    let keep = step_of(ms(now - RETENTION));
    let first = reads.iter().find(|r| step_of(ms(at(r.0))) >= keep)?;
    Some(reads.last()?.1 - first.1)
}

#[test]
fn steps_agree_with_samples_inside_the_day() {
    let (mut exact, mut ring) = (Window::new(RETENTION), DayRing::new());
    for m in 0..10 * S {
        let viewers = (m * 37) % 1000;
        exact.push(at(m), viewers, 60_000);
        ring.sample(at(m), viewers, 60_000);
    }
    exact.prune(at(10 * S));
    ring.prune(at(10 * S));
    assert_eq!(ring.avg(), exact.avg());
    assert_eq!(ring.peak(), exact.peak());
    assert_eq!(ring.used(), 10);
}

#[test]
fn a_step_leaves_when_it_ends_24_hours_ago() {
    let mut w = DayRing::new();
    // Minutes 0 and 5 share a step; the peak is in it.
    w.sample(at(0), 900, 0);
    w.sample(at(5), 100, 300_000);
    w.sample(at(S + 30), 10, 600_000);
    // 24 h after the step's last minute it still overlaps the day.
    w.prune(at(DAY + S - 1));
    assert_eq!(w.peak(), Some(900));
    assert_eq!(w.avg(), Some((100.0 * 5.0 + 10.0 * 10.0) / 15.0));
    // 24 h after its end it has gone, its peak with it.
    w.prune(at(DAY + S));
    assert_eq!(w.peak(), Some(10));
    assert_eq!(w.avg(), Some(10.0));
    w.prune(at(DAY + 2 * S));
    assert!(w.is_empty());
    assert_eq!((w.avg(), w.peak(), w.gained()), (None, None, None));
}

#[test]
fn a_falling_audience_finds_its_peak_in_the_oldest_step_left() {
    let mut w = DayRing::new();
    let viewers = |minute: i64| 100_000 - minute * 50;
    for m in 0..DAY {
        w.sample(at(m), viewers(m), 60_000);
    }
    for now in [DAY + 9, DAY + 300, 2 * DAY - 11] {
        w.prune(at(now));
        let oldest = (now - DAY) / S * S;
        assert_eq!(w.peak(), Some(viewers(oldest)), "at minute {now}");
    }
}

#[test]
fn absurd_viewer_counts_saturate_the_sums_and_leave_with_their_step() {
    let mut w = DayRing::new();
    w.sample(at(0), i64::MAX, 600_000);
    w.sample(at(1), i64::MAX, 60_000);
    w.sample(at(S + 20), 10, 600_000);
    assert_eq!(w.peak(), Some(i64::MAX));
    assert!(w.avg().is_some_and(f64::is_finite));
    // The window's sums are the sums of its steps, saturated or not: once
    // the absurd step has left, the average is the ordinary sample's.
    w.prune(at(DAY + S));
    assert_eq!((w.avg(), w.peak()), (Some(10.0), Some(10)));
    w.prune(at(DAY + 2 * S));
    assert!(w.is_empty());
    assert_eq!((w.weighted, w.weight), (0, 0));
}

#[test]
fn a_day_of_weightless_samples_averages_them_plainly_until_their_steps_leave() {
    let mut w = DayRing::new();
    w.sample(at(0), 10, 0);
    w.sample(at(3), 20, 0);
    w.sample(at(S + 12), 40, 0);
    assert_eq!(w.avg(), Some((10.0 + 20.0 + 40.0) / 3.0));
    // Minutes 0 and 3 leave with their step, 24 h after it ends.
    w.prune(at(DAY + S - 1));
    assert_eq!(w.avg(), Some((10.0 + 20.0 + 40.0) / 3.0));
    w.prune(at(DAY + S));
    assert_eq!(w.avg(), Some(40.0));
    // A weighted sample outweighs them all.
    w.sample(at(DAY + S + 1), 7, 60_000);
    assert_eq!(w.avg(), Some(7.0));
    w.prune(at(2 * DAY + 2 * S));
    assert!(w.is_empty() && w.weightless.is_empty());
    assert_eq!(w.avg(), None);
}

#[test]
fn followers_gained_over_the_steps() {
    let mut f = DayRing::new();
    f.read(at(0), 100);
    f.read(at(S + 15), 130);
    f.read(at(S + 19), 150);
    f.read(at(3 * S), 170);
    assert_eq!(f.gained(), Some(70));
    assert_eq!(f.used(), 3);
    assert_eq!((f.avg(), f.peak()), (None, None));
    f.prune(at(DAY + S));
    assert_eq!(f.gained(), Some(40));
    // The step of reads 130 and 150 leaves 24 h after it ends.
    f.prune(at(DAY + 2 * S));
    assert_eq!(f.gained(), Some(0));
    f.prune(at(DAY + 4 * S));
    assert!(f.is_empty());
    assert_eq!(f.gained(), None);
}

#[test]
fn a_step_a_day_after_the_newest_makes_room_without_a_prune() {
    let mut w = DayRing::new();
    w.sample(at(0), 500, 60_000);
    w.read(at(0), 10);
    // Back two days later, before any prune: the old step is outside
    // every window that holds the new one, and leaves.
    w.sample(at(2 * DAY), 7, 60_000);
    w.read(at(2 * DAY), 12);
    assert_eq!(
        (w.avg(), w.peak(), w.gained()),
        (Some(7.0), Some(7), Some(0))
    );
    assert_eq!(w.used(), 1);
    // A sample a ring's length or more before the newest is ignored.
    w.sample(at(2 * DAY - SPAN * S), 1_000, 60_000);
    assert_eq!(w.peak(), Some(7));
    // One inside it, older than the oldest, extends the ring back.
    w.sample(at(2 * DAY - (SPAN - 1) * S), 9, 60_000);
    assert_eq!((w.avg(), w.peak(), w.used()), (Some(8.0), Some(9), 2));
}

/// Three days of samples and reads with gaps (offline stretches from minutes
/// to more than a day), pruned as cycles do, against the recomputations.
#[test]
fn the_ring_agrees_with_every_sample_over_days_with_gaps() {
    let mut w = DayRing::new();
    let (mut samples, mut reads) = (Vec::new(), Vec::new());
    let mut rng = 0x2545_f491_u64;
    let mut next = || {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        rng >> 33
    };
    let (mut minute, mut total) = (0_i64, 1_000_i64);
    while minute < 4 * DAY {
        let viewers = (next() % 5_000) as i64;
        let weight = [0, 60_000, 60_000, 300_000][(next() % 4) as usize];
        w.sample(at(minute), viewers, weight);
        samples.push((minute, viewers, weight));
        if next() % 3 == 0 {
            total += (next() % 50) as i64 - 10;
            w.read(at(minute), total);
            reads.push((minute, total));
        }
        w.prune(at(minute));
        assert_eq!(
            (w.avg(), w.peak()),
            from_every_sample(&samples, at(minute)),
            "minute {minute}"
        );
        assert_eq!(
            w.gained(),
            gained_from_every_read(&reads, at(minute)),
            "minute {minute}"
        );
        minute += match next() % 100 {
            0 => DAY + 2 * S,
            1..=4 => 3 * S / 2,
            5..=20 => 7,
            _ => 1,
        };
        // Idle stretches are pruned too, as every cycle prunes every streamer.
        w.prune(at(minute - 1));
        assert_eq!(
            (w.avg(), w.peak()),
            from_every_sample(&samples, at(minute - 1))
        );
        assert!(w.used() <= SLOTS);
    }
}
