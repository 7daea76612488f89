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

#[test]
fn an_hour_window_moves_its_base_when_offsets_outgrow_their_32_bits() {
    // (minute, viewers, weight in ms) pushed, and the window's answer
    // recomputed from those still inside it.
    let mut w = Window::new(TimeDelta::hours(1));
    let mut pushed: Vec<(i64, i64, i64)> = Vec::new();
    // A stream live for 51 days, a sample every 10 minutes: the window is
    // never empty, so its offsets pass u32::MAX ms (49.7 days) and the base
    // moves under samples it keeps. Then 60 days off, and the first sample
    // after that comes before any prune.
    let day = 24 * 60;
    let minutes = (0..51 * day).step_by(10).chain(111 * day..111 * day + 90);
    for (i, minute) in minutes.enumerate() {
        let viewers = 100 + (i as i64 * 37) % 250;
        let weight = if i % 5 == 0 { 0 } else { 60_000 };
        w.push(at(minute), viewers, weight);
        pushed.push((minute, viewers, weight));
        let now = at(minute);
        let inside: Vec<_> = pushed
            .iter()
            .rev()
            .take_while(|p| at(p.0) > now - TimeDelta::hours(1))
            .collect();
        let weight: i64 = inside.iter().map(|p| p.2).sum();
        let weighted: i64 = inside.iter().map(|p| p.1 * p.2).sum();
        let avg = if weight > 0 {
            weighted as f64 / weight as f64
        } else {
            inside.iter().map(|p| p.1).sum::<i64>() as f64 / inside.len() as f64
        };
        w.prune(now);
        assert_eq!(w.avg(), Some(avg), "minute {minute}");
        assert_eq!(
            w.peak(),
            inside.iter().map(|p| p.1).max(),
            "minute {minute}"
        );
        assert!(w.samples.len() == inside.len(), "minute {minute}");
    }
    assert!(w.base > ms(at(111 * day)) - 3_600_000);
}
