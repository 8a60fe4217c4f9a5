//! Environments that follow one another: a deploy in an environment with `after` waits until
//! the same version completed there, and has soaked for `soak` since.

use chrono::{DateTime, TimeDelta, Utc};

use super::refusal::Refusal;
use super::release::{Release, ReleaseState};

/// When the newest completion among `before` (the version's releases in the environment
/// followed) happened, if any completed.
pub fn last_completed<T: AsRef<Release>>(before: &[T]) -> Option<DateTime<Utc>> {
    before
        .iter()
        .map(AsRef::as_ref)
        .filter(|release| release.state == ReleaseState::Completed)
        .filter_map(|release| release.deployment.as_ref()?.finished_at)
        .max()
}

/// What the order of environments asks of a deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order<'a> {
    /// The environment deployed to.
    pub environment: &'a str,
    /// The environment the version must have completed in first.
    pub after: &'a str,
    pub soak: TimeDelta,
    /// When the same version last completed there, if it has.
    pub completed_at: Option<DateTime<Utc>>,
}

impl Order<'_> {
    /// Refuses a deploy before the version completed in `after` and soaked there: the
    /// refusal says which is missing, and when the soak ends.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        let refuse = |completed_at, soak_ends| {
            Err(Refusal::OrderNotMet {
                environment: self.environment.to_owned(),
                after: self.after.to_owned(),
                completed_at,
                soak_ends,
            })
        };
        match self.completed_at {
            None => refuse(None, None),
            Some(completed) if now < completed + self.soak => {
                refuse(Some(completed), Some(completed + self.soak))
            }
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    fn order(completed_at: Option<DateTime<Utc>>) -> Order<'static> {
        Order {
            environment: "production",
            after: "staging",
            soak: TimeDelta::hours(2),
            completed_at,
        }
    }

    #[test]
    fn a_version_that_never_completed_before_is_refused() {
        assert_eq!(
            order(None).check(t0()),
            Err(Refusal::OrderNotMet {
                environment: "production".into(),
                after: "staging".into(),
                completed_at: None,
                soak_ends: None,
            })
        );
    }

    #[test]
    fn a_version_is_refused_until_its_soak_ends_and_no_longer() {
        let completed = order(Some(t0()));
        let ends = t0() + TimeDelta::hours(2);
        assert_eq!(
            completed.check(ends - TimeDelta::milliseconds(1)),
            Err(Refusal::OrderNotMet {
                environment: "production".into(),
                after: "staging".into(),
                completed_at: Some(t0()),
                soak_ends: Some(ends),
            })
        );
        assert_eq!(completed.check(ends), Ok(()));
    }

    #[test]
    fn only_a_completion_counts_and_the_newest_one() {
        let rollout = crate::domain::rollout::Rollout::default();
        let plan = crate::domain::lifecycle::inputs::Plan::by_hand(&rollout);
        let started = crate::domain::lifecycle::deploy::tests::start_with(plan).release;
        let ended = |state, hours| {
            let mut release = started.clone();
            release.state = state;
            if let Some(d) = release.deployment.as_mut() {
                d.finished_at = Some(t0() + TimeDelta::hours(hours));
            }
            release
        };
        let before = [
            ended(ReleaseState::Completed, 1),
            ended(ReleaseState::RolledBack, 5),
            ended(ReleaseState::Completed, 3),
        ];
        assert_eq!(last_completed(&before), Some(t0() + TimeDelta::hours(3)));
        assert_eq!(
            last_completed(&before[1..2]),
            None,
            "a rollback is no completion"
        );
        assert_eq!(last_completed::<Release>(&[]), None);
    }

    #[test]
    fn without_a_soak_completion_is_enough() {
        let order = Order {
            soak: TimeDelta::zero(),
            ..order(Some(t0()))
        };
        assert_eq!(order.check(t0()), Ok(()));
    }
}
