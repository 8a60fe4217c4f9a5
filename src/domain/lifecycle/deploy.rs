//! The deploy phase's rules. At most one release is deploying, halted, verifying or rolling
//! back in an environment at a time; the store backs this with a partial unique index.

use crate::domain::refusal::Refusal;
use crate::domain::release::Release;

/// Whether `release` may take its environment's deploy lock, given the other releases there.
pub fn check_deploy_lock<T: AsRef<Release>>(
    release: &Release,
    others: &[T],
) -> Result<(), Refusal> {
    let holder = others.iter().map(AsRef::as_ref).find(|other| {
        other.id != release.id
            && other.environment == release.environment
            && other.state.holds_deploy_lock()
    });
    match holder {
        Some(holder) => Err(Refusal::DeployLocked {
            holder: holder.version.to_string(),
            environment: holder.environment.clone(),
            state: holder.state,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::domain::lifecycle::poll::plan;
    use crate::domain::release::{PlanRequest, ReleaseState};
    use crate::domain::{ReleaseId, UserId};

    fn release(id: i64, version: &str, environment: &str, state: ReleaseState) -> Release {
        let request =
            PlanRequest::parse(version, "patch", "Fix login", None, Some(environment)).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let mut release = plan(ReleaseId(id), request, UserId(1), TimeDelta::hours(1), now).release;
        release.state = state;
        release
    }

    #[test]
    fn a_rollout_in_progress_holds_its_environment() {
        let next = release(2, "1.5.0", "production", ReleaseState::Approved);
        for state in [
            ReleaseState::Deploying,
            ReleaseState::Halted,
            ReleaseState::Verifying,
            ReleaseState::RollingBack,
        ] {
            let running = [release(1, "1.4.0", "production", state)];
            assert_eq!(
                check_deploy_lock(&next, &running),
                Err(Refusal::DeployLocked {
                    holder: "1.4.0".into(),
                    environment: "production".into(),
                    state
                })
            );
        }
    }

    #[test]
    fn other_environments_and_finished_rollouts_leave_it_free() {
        let next = release(2, "1.5.0", "production", ReleaseState::Approved);
        let others = [
            release(1, "1.4.0", "staging", ReleaseState::Deploying),
            release(3, "1.3.0", "production", ReleaseState::Completed),
            release(4, "1.2.0", "production", ReleaseState::RolledBack),
        ];
        assert_eq!(check_deploy_lock(&next, &others), Ok(()));
    }

    #[test]
    fn a_release_does_not_lock_itself_out() {
        let halted = release(1, "1.4.0", "production", ReleaseState::Halted);
        assert_eq!(
            check_deploy_lock(&halted, std::slice::from_ref(&halted)),
            Ok(())
        );
    }
}
