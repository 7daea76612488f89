//! The windows against plain recomputations.
use super::*;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::minutes(minute) + TimeDelta::seconds(7)
}

#[test]
fn hour_windows_give_their_room_back_and_a_streamer_gone_a_day_is_idle() {
    let mut t = Tracked::new();
    // Live for two days, a sample and a follower total a minute.
    for m in 0..2 * 24 * 60 {
        t.sample("alpha", "s1", at(0), at(m), 500 + m % 7);
        t.followers(at(m), 1_000 + m);
        t.prune(at(m));
    }
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
}

/// What the day's `gained` stands for, from every total read: the newest
/// total minus the first total read in the steps that overlap the last 24
/// hours.
fn gained_from_every_read(reads: &[(DateTime<Utc>, i64)], now: DateTime<Utc>) -> Option<i64> {
    let keep = day::step_of(ms(now - RETENTION));
    let oldest = reads.iter().find(|(at, _)| day::step_of(ms(*at)) >= keep)?;
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
            t.day.gained(),
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
    // An unchanged total an hour long is one entry, not one per read.
    let mut steady = Tracked::new();
    for m in (0..2 * 24 * 60).step_by(15) {
        steady.followers(at(m), 5_000);
        steady.prune(at(m));
    }
    assert_eq!(steady.followers_hour.totals.len(), 1);
    assert_eq!(steady.day.gained(), Some(0));
}
