//! The rollback phase's rules: a rollback is always allowed while a deployment runs, and after
//! it completes only within the release type's rollback window.

use chrono::{DateTime, Utc};

use super::inputs::{Outcome, Person, Plan};
use super::{Event, Transition};
use crate::domain::contract::Contract;
use crate::domain::effect::{Action, Audience, Effect, Notice, TimerKind, MAX_PROBLEM};
use crate::domain::ids::UserId;
use crate::domain::policy::{Policy, Role};
use crate::domain::refusal::Refusal;
use crate::domain::release::{Release, ReleaseState, RollbackRequest};
use crate::domain::text::excerpt;

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
            // The window of the release's contract, or of its type's policy before contracts.
            let window = release
                .contract
                .as_ref()
                .map_or(policy.rollback_window, Contract::rollback_window);
            let closes_at = finished.ok_or(nothing)? + window;
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

/// A deployer or release manager rolls the release back: the executor's rollback action
/// runs, and everyone who saw the start hears of it. With no executor there is nothing to
/// wait for, and the release is rolled back at once.
pub fn roll_back(
    release: &Release,
    policy: &Policy,
    by: Person<'_>,
    reason: &str,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !by
        .roles
        .iter()
        .any(|r| matches!(r, Role::Deployer | Role::ReleaseManager))
    {
        return Err(Refusal::NotADeployer);
    }
    if release.state == ReleaseState::RollingBack {
        return retry(release, by, plan);
    }
    let reason = super::poll::parse_reason(Some(reason))?;
    match may_roll_back(release, policy, now) {
        Err(Refusal::RollbackWindowClosed { .. }) if plan.past_guardrails => {}
        other => other?,
    }
    begin(release, (by.name, Some(by.id)), reason, plan, now)
}

/// Starts rolling `release` back for `reason`, asked by a person or by gonogo itself.
pub(super) fn begin(
    release: &Release,
    (by, actor): (&str, Option<UserId>),
    reason: String,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    let mut next = release.clone();
    let Some(d) = next.deployment.as_mut() else {
        return Err(Refusal::NothingToRollBack {
            state: release.state,
        });
    };
    let stage = d.stage;
    d.rollback = Some(RollbackRequest {
        by: by.to_owned(),
        reason: reason.clone(),
        requested_at: now,
        failed_at: None,
    });
    d.halted_at = None;
    d.clock_ends_at = None;
    // A completed release finishes again, when its rollback does.
    d.finished_at = None;
    next.state = ReleaseState::RollingBack;
    let stage_name = plan.rollout.stage_name(stage);
    let mut step = Transition {
        release: next,
        ballot: None,
        actor,
        events: vec![Event::RollbackStarted {
            by: by.to_owned(),
            reason: reason.clone(),
            stage: stage_name.clone(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::CancelTimer(TimerKind::StageHold),
            Effect::CancelTimer(TimerKind::VerificationEnd),
            Effect::CancelTimer(TimerKind::ProgressTick),
            Effect::CancelTimer(TimerKind::GateCheck),
        ],
    };
    if plan.executor {
        step.effects.extend([
            Effect::RunAction(Action::Rollback { stage }),
            Effect::Notify {
                audience: Audience::Everyone,
                notice: Notice::RollingBack {
                    version: release.version.to_string(),
                    by: by.to_owned(),
                    reason,
                    stage: stage_name,
                },
            },
        ]);
        Ok(step)
    } else {
        let done = rollback_finished(&step.release, &Outcome::Succeeded, plan, now)
            .ok_or(Refusal::AlreadyRollingBack)?;
        step.release = done.release;
        step.events.extend(done.events);
        step.effects.extend(done.effects);
        Ok(step)
    }
}

/// A rollback whose action failed runs again when asked; one still running is not doubled.
fn retry(release: &Release, by: Person<'_>, plan: Plan<'_>) -> Result<Transition, Refusal> {
    let mut next = release.clone();
    let d = next
        .deployment
        .as_mut()
        .ok_or(Refusal::AlreadyRollingBack)?;
    let request = d.rollback.as_mut().ok_or(Refusal::AlreadyRollingBack)?;
    if request.failed_at.take().is_none() || !plan.executor {
        return Err(Refusal::AlreadyRollingBack);
    }
    let stage = d.stage;
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::RollbackRetried {
            by: by.name.to_owned(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::RunAction(Action::Rollback { stage }),
        ],
    })
}

/// The rollback action came back. Success ends the release `rolled_back` and tells everyone
/// who saw the start; a failure leaves it `rolling_back`, never reported as done.
pub fn rollback_finished(
    release: &Release,
    outcome: &Outcome,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    if release.state != ReleaseState::RollingBack {
        return None;
    }
    let RollbackRequest {
        by,
        reason,
        requested_at,
        ..
    } = deployment.rollback.clone()?;
    let stage = plan.rollout.stage_name(deployment.stage);
    let version = release.version.to_string();
    let mut next = release.clone();
    match outcome {
        Outcome::Succeeded => {
            next.state = ReleaseState::RolledBack;
            next.deployment.as_mut()?.finished_at = Some(now);
            let restore_secs = (now - requested_at).num_seconds();
            let retro = super::retro::prompt(&next);
            Some(Transition {
                release: next,
                ballot: None,
                actor: None,
                events: vec![Event::RolledBack { restore_secs }],
                effects: vec![
                    Effect::RefreshCard,
                    Effect::Notify {
                        audience: Audience::Everyone,
                        notice: Notice::RolledBack {
                            version,
                            by,
                            reason,
                            stage,
                            restore_secs,
                        },
                    },
                    retro,
                ],
            })
        }
        Outcome::Failed(problem) => Some(Transition {
            release: {
                if let Some(request) = next.deployment.as_mut().and_then(|d| d.rollback.as_mut()) {
                    request.failed_at = Some(now);
                }
                next
            },
            ballot: None,
            actor: None,
            events: vec![Event::ActionFinished {
                action: "rollback".to_owned(),
                stage: stage.clone(),
                problem: Some(problem.clone()),
            }],
            effects: vec![
                Effect::RefreshCard,
                Effect::Notify {
                    audience: Audience::Everyone,
                    notice: Notice::ActionFailed {
                        version,
                        action: "rollback".to_owned(),
                        stage,
                        problem: excerpt(problem, MAX_PROBLEM),
                    },
                },
            ],
        }),
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
            started_by_name: "Dee".into(),
            started_at: t0() - TimeDelta::hours(30),
            stage: 3,
            stage_started_at: t0() - TimeDelta::hours(25),
            clock_ends_at: None,
            verify_started_at: Some(t0() - TimeDelta::hours(24)),
            halted_at: None,
            halted_for: TimeDelta::zero(),
            rollback: None,
            finished_at: Some(t0()),
            watch: crate::domain::gates::Watch::default(),
            reports: Vec::new(),
            on_call: None,
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
