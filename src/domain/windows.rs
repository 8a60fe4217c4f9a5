//! Deployment windows, in Argo CD's convention: a window opens at each firing of its cron
//! schedule, in the team's timezone, and lasts its duration. A deployment may start inside
//! an allow window (anywhere, when there are none) and never inside a blackout.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::refusal::Refusal;

/// One window: it opens at each firing of `schedule` and stays open for `duration`.
#[derive(Clone, Debug)]
pub struct Window {
    pub schedule: cron::Schedule,
    pub duration: TimeDelta,
}

/// The allow and blackout windows, read in one timezone.
#[derive(Clone, Debug)]
pub struct Windows {
    pub timezone: Tz,
    pub allow: Vec<Window>,
    pub blackout: Vec<Window>,
}

/// How far ahead the next opening is looked for before giving up.
const HORIZON: TimeDelta = TimeDelta::days(400);

impl Window {
    /// When the opening that contains `at` closes; `None` when `at` is outside the window.
    fn closes_after(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // An opening contains `at` when it fired in (at - duration, at].
        let since = (at - self.duration).with_timezone(&tz);
        self.schedule
            .after(&since)
            .map(|fired| fired.with_timezone(&Utc))
            .take_while(|fired| *fired <= at)
            .last()
            .map(|fired| fired + self.duration)
    }

    /// The first opening strictly after `at`.
    fn opens_after(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&at.with_timezone(&tz))
            .next()
            .map(|fired| fired.with_timezone(&Utc))
    }
}

impl Windows {
    /// No window limits anything.
    pub fn always_open() -> Windows {
        Windows {
            timezone: Tz::UTC,
            allow: Vec::new(),
            blackout: Vec::new(),
        }
    }

    /// Whether a deployment may start at `now`; the refusal names the next time it may.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if let Some(until) = self.blackout_until(now) {
            return Err(Refusal::InBlackout {
                until,
                next_open: self.next_open(now),
            });
        }
        if !self.allows(now) {
            return Err(Refusal::OutsideWindow {
                next_open: self.next_open(now),
            });
        }
        Ok(())
    }

    /// The earliest moment at or after `now` when a deployment may start, within a year or so.
    pub fn next_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut at = now;
        while at < now + HORIZON {
            if let Some(until) = self.blackout_until(at) {
                at = until;
            } else if self.allows(at) {
                return Some(at);
            } else {
                at = self
                    .allow
                    .iter()
                    .filter_map(|w| w.opens_after(self.timezone, at))
                    .min()?;
            }
        }
        None
    }

    fn allows(&self, at: DateTime<Utc>) -> bool {
        self.allow.is_empty()
            || self
                .allow
                .iter()
                .any(|w| w.closes_after(self.timezone, at).is_some())
    }

    /// When the blackouts containing `at` are all over; `None` when none contains it.
    fn blackout_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blackout
            .iter()
            .filter_map(|w| w.closes_after(self.timezone, at))
            .max()
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
