//! The timings of a release: how long its poll stays open, the stages its rollout climbs, how
//! often it reports progress, and how long it is verified before it is complete.

use chrono::{DateTime, TimeDelta, Utc};

/// The rollout as the config sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// At least one stage; percents strictly increase and the last is 100.
    pub stages: Vec<Stage>,
    pub progress_every: TimeDelta,
    /// How long the release is watched after the last stage before it is complete.
    pub verify_for: TimeDelta,
    /// How long a poll stays open.
    pub vote_ttl: TimeDelta,
    /// How long verification waits for someone to claim on call before pinging the release
    /// managers.
    pub oncall_within: TimeDelta,
}

/// One step of the rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Like `canary`, or `10%` when the config gives no name.
    pub name: String,
    pub percent: u8,
    /// How long the stage runs, once its deploy action succeeded, before the next may start.
    pub hold: TimeDelta,
}

impl Rollout {
    /// The stage at `index`, if the rollout has one there.
    pub fn stage(&self, index: u8) -> Option<&Stage> {
        self.stages.get(usize::from(index))
    }

    /// The stage's name, or its place when the schedule no longer has it.
    pub fn stage_name(&self, index: u8) -> String {
        self.stage(index)
            .map_or_else(|| format!("stage {}", index + 1), |s| s.name.clone())
    }

    /// Whether `index` is the last stage.
    pub fn is_last(&self, index: u8) -> bool {
        usize::from(index) + 1 >= self.stages.len()
    }

    /// When each stage would start if every action succeeded at once, from `start`, and when
    /// the verification would end: the schedule a start notice announces.
    pub fn planned(&self, start: DateTime<Utc>) -> (Vec<(&Stage, DateTime<Utc>)>, DateTime<Utc>) {
        let mut at = start;
        let mut stages = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            stages.push((stage, at));
            at += stage.hold;
        }
        (stages, at + self.verify_for)
    }

    /// The first progress tick due strictly after `now`, counted from the deployment's start:
    /// ticks missed while the bot was down are skipped, not replayed.
    pub fn next_tick(&self, started: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        let every = self.progress_every.num_milliseconds().max(1);
        let elapsed = (now - started).num_milliseconds().max(0);
        started + TimeDelta::milliseconds((elapsed / every + 1) * every)
    }
}

impl Default for Rollout {
    /// The contract's defaults: canary 1% for 30m, 10% for 2h, 50% for 4h, then 100%, with
    /// progress every 15m, 24h of verification and a 24h poll.
    fn default() -> Rollout {
        let stage = |name: &str, percent, hold| Stage {
            name: name.to_owned(),
            percent,
            hold,
        };
        Rollout {
            stages: vec![
                stage("canary", 1, TimeDelta::minutes(30)),
                stage("10%", 10, TimeDelta::hours(2)),
                stage("50%", 50, TimeDelta::hours(4)),
                stage("100%", 100, TimeDelta::zero()),
            ],
            progress_every: TimeDelta::minutes(15),
            verify_for: TimeDelta::hours(24),
            vote_ttl: TimeDelta::hours(24),
            oncall_within: TimeDelta::minutes(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    #[test]
    fn the_default_schedule_takes_six_and_a_half_hours_then_a_day_of_verification() {
        let rollout = Rollout::default();
        let (stages, verified) = rollout.planned(t0());
        let starts: Vec<_> = stages.iter().map(|(s, at)| (s.percent, *at)).collect();
        assert_eq!(
            starts,
            [
                (1, t0()),
                (10, t0() + TimeDelta::minutes(30)),
                (50, t0() + TimeDelta::minutes(150)),
                (100, t0() + TimeDelta::minutes(390)),
            ]
        );
        assert_eq!(
            verified,
            t0() + TimeDelta::minutes(390) + TimeDelta::hours(24)
        );
    }

    #[test]
    fn stages_are_found_by_index_and_the_last_is_known() {
        let rollout = Rollout::default();
        assert_eq!(rollout.stage(1).map(|s| s.percent), Some(10));
        assert_eq!(rollout.stage(4), None);
        assert!(!rollout.is_last(2));
        assert!(rollout.is_last(3));
    }

    #[test]
    fn progress_ticks_fall_on_their_marks_and_skip_missed_ones() {
        let rollout = Rollout::default();
        let tick = |minutes| rollout.next_tick(t0(), t0() + TimeDelta::minutes(minutes));
        assert_eq!(tick(0), t0() + TimeDelta::minutes(15));
        assert_eq!(tick(14), t0() + TimeDelta::minutes(15));
        assert_eq!(
            tick(15),
            t0() + TimeDelta::minutes(30),
            "a tick due now is not due again"
        );
        assert_eq!(
            tick(97),
            t0() + TimeDelta::minutes(105),
            "after downtime, the next mark"
        );
    }
}
