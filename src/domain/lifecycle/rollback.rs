//! The rollback phase's rules: a rollback is always allowed while a deployment runs, and after
//! it completes only within the release type's rollback window.

use chrono::{DateTime, Utc};

use crate::domain::policy::Policy;
use crate::domain::refusal::Refusal;
use crate::domain::release::{Release, ReleaseState};

/// Whether `release` may be rolled back at `now` under its type's `policy`.
pub fn may_roll_back(
    release: &Release,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let nothing = Refusal::NothingToRollBack {
        state: release.state,
    };
    match release.state {
        ReleaseState::Deploying | ReleaseState::Halted | ReleaseState::Verifying => Ok(()),
        ReleaseState::Completed => {
            let finished = release.deployment.as_ref().and_then(|d| d.finished_at);
            let closes_at = finished.ok_or(nothing)? + policy.rollback_window;
            if now < closes_at {
                Ok(())
            } else {
                Err(Refusal::RollbackWindowClosed {
                    closed_at: closes_at,
                })
            }
        }
        _ => Err(nothing),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::domain::lifecycle::poll::plan;
    use crate::domain::release::{Deployment, PlanRequest, ReleaseKind};
    use crate::domain::{ReleaseId, UserId};
    use ReleaseState::{
        Approved, Cancelled, Completed, Deploying, Expired, Halted, Planned, Rejected, RolledBack,
        RollingBack, Verifying, Voting,
    };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    /// A patch in `state` whose rollout finished at `t0`.
    fn in_state(state: ReleaseState) -> Release {
        let request = PlanRequest::parse("1.4.1", "patch", "Fix login", None, None).unwrap();
        let mut release = plan(ReleaseId(3), request, UserId(1), TimeDelta::hours(1), t0()).release;
        release.state = state;
        release.deployment = Some(Deployment {
            started_by: UserId(2),
            started_at: t0() - TimeDelta::hours(30),
            stage: 3,
            stage_started_at: t0() - TimeDelta::hours(25),
            halted_for: TimeDelta::zero(),
            finished_at: Some(t0()),
        });
        release
    }

    #[test]
    fn a_running_deployment_can_always_be_rolled_back() {
        let policy = Policy::default_for(ReleaseKind::Patch);
        let later = t0() + TimeDelta::days(30);
        let outcome = |state| may_roll_back(&in_state(state), &policy, later).err();
        let nothing = |state| Some(Refusal::NothingToRollBack { state });
        let got: Vec<_> = ReleaseState::ALL
            .into_iter()
            .map(|s| (s, outcome(s)))
            .collect();
        let closed = Some(Refusal::RollbackWindowClosed {
            closed_at: t0() + TimeDelta::hours(4),
        });
        assert_eq!(
            got,
            vec![
                (Planned, nothing(Planned)),
                (Voting, nothing(Voting)),
                (Approved, nothing(Approved)),
                (Rejected, nothing(Rejected)),
                (Expired, nothing(Expired)),
                (Cancelled, nothing(Cancelled)),
                (Deploying, None),
                (Halted, None),
                (Verifying, None),
                (Completed, closed),
                (RollingBack, nothing(RollingBack)),
                (RolledBack, nothing(RolledBack)),
            ]
        );
    }

    #[test]
    fn a_completed_release_can_be_rolled_back_inside_its_window_only() {
        let patch = Policy::default_for(ReleaseKind::Patch);
        let release = in_state(Completed);
        let just_inside = t0() + TimeDelta::hours(4) - TimeDelta::seconds(1);
        assert_eq!(may_roll_back(&release, &patch, just_inside), Ok(()));
        assert_eq!(
            may_roll_back(&release, &patch, t0() + TimeDelta::hours(4)),
            Err(Refusal::RollbackWindowClosed {
                closed_at: t0() + TimeDelta::hours(4)
            })
        );
        let major = Policy::default_for(ReleaseKind::Major);
        assert_eq!(
            may_roll_back(&release, &major, t0() + TimeDelta::days(2)),
            Ok(())
        );
    }

    #[test]
    fn a_completed_release_with_no_rollout_on_record_has_nothing_to_roll_back() {
        let mut release = in_state(Completed);
        release.deployment = None;
        let patch = Policy::default_for(ReleaseKind::Patch);
        assert_eq!(
            may_roll_back(&release, &patch, t0()),
            Err(Refusal::NothingToRollBack { state: Completed })
        );
    }
}
