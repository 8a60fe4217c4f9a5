//! Windows in UTC and in a timezone with daylight saving.

use std::str::FromStr as _;

use chrono::{TimeZone, Utc};

use super::*;

fn window(cron: &str, duration: TimeDelta) -> Window {
    Window {
        schedule: cron::Schedule::from_str(cron).unwrap(),
        duration,
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// Monday to Thursday, 09:00 for eight hours, in `timezone`.
fn office_hours(timezone: Tz) -> Windows {
    Windows {
        timezone,
        allow: vec![window("0 0 9 * * Mon-Thu", TimeDelta::hours(8))],
        blackout: Vec::new(),
    }
}

#[test]
fn with_no_windows_a_deployment_may_start_at_any_time() {
    let windows = Windows::always_open();
    for at in [utc(2026, 3, 7, 3, 0), utc(2026, 12, 25, 23, 59)] {
        assert_eq!(windows.check(at), Ok(()));
        assert_eq!(windows.next_open(at), Some(at));
    }
}

#[test]
fn an_allow_window_is_open_from_its_firing_for_its_duration() {
    let windows = office_hours(Tz::UTC);
    // 2026-03-03 is a Tuesday.
    assert_eq!(
        windows.check(utc(2026, 3, 3, 9, 0)),
        Ok(()),
        "opens on the firing"
    );
    assert_eq!(windows.check(utc(2026, 3, 3, 16, 59)), Ok(()));
    assert_eq!(
        windows.check(utc(2026, 3, 3, 17, 0)),
        Err(Refusal::OutsideWindow {
            next_open: Some(utc(2026, 3, 4, 9, 0))
        }),
        "closed once its duration has passed"
    );
    assert_eq!(
        windows.check(utc(2026, 3, 3, 8, 59)),
        Err(Refusal::OutsideWindow {
            next_open: Some(utc(2026, 3, 3, 9, 0))
        })
    );
}

#[test]
fn after_thursday_the_next_opening_is_monday() {
    let windows = office_hours(Tz::UTC);
    // 2026-03-06 is a Friday.
    assert_eq!(
        windows.check(utc(2026, 3, 6, 10, 0)),
        Err(Refusal::OutsideWindow {
            next_open: Some(utc(2026, 3, 9, 9, 0))
        })
    );
}

#[test]
fn a_blackout_wins_over_an_allow_window_and_names_when_it_ends() {
    let mut windows = Windows {
        timezone: Tz::UTC,
        allow: Vec::new(),
        blackout: vec![window("0 0 0 20 Dec *", TimeDelta::days(13))],
    };
    let christmas_eve = utc(2026, 12, 24, 10, 0);
    assert_eq!(
        windows.check(christmas_eve),
        Err(Refusal::InBlackout {
            until: utc(2027, 1, 2, 0, 0),
            next_open: Some(utc(2027, 1, 2, 0, 0))
        })
    );
    assert_eq!(windows.check(utc(2026, 12, 19, 23, 59)), Ok(()));
    assert_eq!(
        windows.check(utc(2027, 1, 2, 0, 0)),
        Ok(()),
        "the blackout has ended"
    );

    windows.allow = office_hours(Tz::UTC).allow;
    // 2027-01-02 is a Saturday: the first allow opening after the blackout is Monday the 4th.
    assert_eq!(
        windows.check(christmas_eve),
        Err(Refusal::InBlackout {
            until: utc(2027, 1, 2, 0, 0),
            next_open: Some(utc(2027, 1, 4, 9, 0))
        })
    );
}

#[test]
fn overlapping_blackouts_end_when_the_last_of_them_does() {
    let windows = Windows {
        timezone: Tz::UTC,
        allow: Vec::new(),
        blackout: vec![
            window("0 0 12 * * *", TimeDelta::hours(2)),
            window("0 0 13 * * *", TimeDelta::hours(2)),
        ],
    };
    assert_eq!(
        windows.check(utc(2026, 3, 3, 13, 30)),
        Err(Refusal::InBlackout {
            until: utc(2026, 3, 3, 15, 0),
            next_open: Some(utc(2026, 3, 3, 15, 0))
        })
    );
    assert_eq!(
        windows.next_open(utc(2026, 3, 3, 12, 30)),
        Some(utc(2026, 3, 3, 15, 0)),
        "the second blackout starts before the first ends"
    );
}

#[test]
fn windows_follow_local_time_across_the_start_of_daylight_saving() {
    let berlin = office_hours(Tz::Europe__Berlin);
    // Thursday 2026-03-26, Berlin is UTC+1: nine o'clock is 08:00 UTC.
    assert_eq!(
        berlin.check(utc(2026, 3, 26, 7, 30)),
        Err(Refusal::OutsideWindow {
            next_open: Some(utc(2026, 3, 26, 8, 0))
        })
    );
    assert_eq!(
        berlin.check(utc(2026, 3, 26, 15, 59)),
        Ok(()),
        "16:59 in Berlin"
    );
    // Clocks go forward on Sunday the 29th; on Monday nine o'clock is 07:00 UTC.
    assert_eq!(
        berlin.check(utc(2026, 3, 26, 16, 0)),
        Err(Refusal::OutsideWindow {
            next_open: Some(utc(2026, 3, 30, 7, 0))
        })
    );
    assert_eq!(berlin.check(utc(2026, 3, 30, 7, 30)), Ok(()));
}

#[test]
fn windows_follow_local_time_across_the_end_of_daylight_saving() {
    let berlin = Windows {
        timezone: Tz::Europe__Berlin,
        allow: Vec::new(),
        blackout: vec![window("0 0 22 * * Sat", TimeDelta::hours(10))],
    };
    // Saturday 2026-10-24, Berlin is UTC+2: the blackout starts at 20:00 UTC and, as clocks
    // go back overnight, its ten hours still end at 06:00 UTC.
    assert_eq!(berlin.check(utc(2026, 10, 24, 19, 59)), Ok(()));
    assert_eq!(
        berlin.check(utc(2026, 10, 24, 20, 0)),
        Err(Refusal::InBlackout {
            until: utc(2026, 10, 25, 6, 0),
            next_open: Some(utc(2026, 10, 25, 6, 0))
        })
    );
    // A week later Berlin is UTC+1: the same blackout starts at 21:00 UTC.
    assert_eq!(berlin.check(utc(2026, 10, 31, 20, 30)), Ok(()));
    assert!(berlin.check(utc(2026, 10, 31, 21, 0)).is_err());
}

#[test]
fn a_schedule_that_never_opens_has_no_next_opening() {
    let windows = Windows {
        timezone: Tz::UTC,
        allow: vec![window("0 0 9 * * * 2020", TimeDelta::hours(1))],
        blackout: Vec::new(),
    };
    assert_eq!(
        windows.check(utc(2026, 3, 3, 9, 30)),
        Err(Refusal::OutsideWindow { next_open: None })
    );
}

#[test]
fn an_opening_beyond_the_horizon_is_not_named() {
    // 400 days after 2026-03-03 09:00 UTC is 2027-04-07 09:00 UTC.
    let windows = Windows {
        timezone: Tz::UTC,
        allow: vec![window("0 0 9 7 Apr * 2027", TimeDelta::hours(1))],
        blackout: Vec::new(),
    };
    assert_eq!(windows.next_open(utc(2026, 3, 3, 9, 0)), None);
    assert_eq!(
        windows.next_open(utc(2026, 3, 3, 9, 1)),
        Some(utc(2027, 4, 7, 9, 0)),
        "a minute later it is inside the horizon"
    );
}
