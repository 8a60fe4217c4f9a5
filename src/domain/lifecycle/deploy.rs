//! The deploy phase: start, the stage engine (action → hold → next stage → verification →
//! complete), progress, halt and resume. At most one release is deploying, halted, verifying
//! or rolling back in an environment at a time; the store backs this with a unique index.

use chrono::{DateTime, TimeDelta, Utc};

use super::inputs::{Outcome, Person, Plan};
use super::{Event, Transition};
use crate::domain::effect::{
    Action, Audience, Effect, Notice, PlannedStage, TimerKind, MAX_PROBLEM, NOTICE_SUMMARY,
};
use crate::domain::gates::Watch;
use crate::domain::ids::UserId;
use crate::domain::policy::Role;
use crate::domain::poll::Tally;
use crate::domain::refusal::Refusal;
use crate::domain::release::{Deployment, Release, ReleaseState};
use crate::domain::text::excerpt;
use crate::domain::windows::Windows;

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

/// Starts the rollout of an approved release: its first stage, the start notice to everyone
/// and the progress clock. `tally` is its poll's standing, for the approvers' names;
/// `others` are the releases of its environment, for the deploy lock.
pub fn start<T: AsRef<Release>>(
    release: &Release,
    tally: &Tally,
    others: &[T],
    windows: &Windows,
    plan: Plan<'_>,
    by: Person<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if release.state != ReleaseState::Approved {
        return Err(Refusal::NotApproved {
            state: release.state,
        });
    }
    if !by.roles.contains(&Role::Deployer) {
        return Err(Refusal::NotADeployer);
    }
    check_deploy_lock(release, others)?;
    if !plan.past_guardrails {
        crate::domain::checklist::check_ticked(release)?;
        windows.check(now)?;
        if let Some(order) = plan.order {
            order.check(now)?;
        }
    }
    let approvers = tally
        .seated()
        .into_iter()
        .map(|ballot| ballot.voter_name.clone())
        .collect();
    let (stages, verified_at) = plan.rollout.planned(now);
    let notice = Notice::Started {
        version: release.version.to_string(),
        kind: release.kind.to_string(),
        summary: excerpt(&release.summary, NOTICE_SUMMARY),
        environment: release.environment.clone(),
        approvers,
        by: by.name.to_owned(),
        stages: stages
            .into_iter()
            .map(|(stage, at)| PlannedStage {
                name: stage.name.clone(),
                percent: stage.percent,
                at: at.timestamp(),
            })
            .collect(),
        verified_at: verified_at.timestamp(),
        executor: plan.executor,
        contract: release
            .contract
            .as_ref()
            .map(|contract| Box::new(contract.view(plan.gates))),
    };
    let mut next = release.clone();
    next.state = ReleaseState::Deploying;
    next.deployment = Some(Deployment {
        started_by: by.id,
        started_by_name: by.name.to_owned(),
        started_at: now,
        stage: 0,
        stage_started_at: now,
        clock_ends_at: None,
        verify_started_at: None,
        halted_at: None,
        halted_for: TimeDelta::zero(),
        rollback: None,
        finished_at: None,
        watch: Watch::default(),
        reports: Vec::new(),
        on_call: None,
    });
    let mut effects = vec![
        Effect::RefreshCard,
        Effect::Notify {
            audience: Audience::Everyone,
            notice,
        },
        Effect::ScheduleTimer {
            timer: TimerKind::ProgressTick,
            at: plan.rollout.next_tick(now, now),
        },
    ];
    effects.extend(match plan.gates {
        // The first stage waits for the baseline, read just before it.
        Some(_) => vec![Effect::ScheduleTimer {
            timer: TimerKind::GateCheck,
            at: now,
        }],
        None => run_stage(&mut next, plan, now),
    });
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::DeployStarted {
            by: by.name.to_owned(),
        }],
        effects,
    })
}

/// An executor action came back. Outcomes that no longer match the release (a stage it has
/// left, a rollback it is not in) change nothing.
pub fn action_finished(
    release: &Release,
    action: Action,
    outcome: &Outcome,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    match action {
        Action::Deploy { stage, .. } if stage == deployment.stage => {
            deploy_finished(release, stage, outcome, plan, now)
        }
        Action::Rollback { .. } => super::rollback::rollback_finished(release, outcome, plan, now),
        // An outcome for a stage the rollout has left changes nothing.
        Action::Deploy { .. } => None,
    }
}

fn deploy_finished(
    release: &Release,
    stage: u8,
    outcome: &Outcome,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let running = matches!(
        release.state,
        ReleaseState::Deploying | ReleaseState::Halted
    );
    let deployment = release.deployment.as_ref()?;
    if !running || deployment.clock_ends_at.is_some() {
        return None;
    }
    let mut next = release.clone();
    let name = plan.rollout.stage_name(stage);
    let event = Event::ActionFinished {
        action: "deploy".to_owned(),
        stage: name.clone(),
        problem: match outcome {
            Outcome::Succeeded => None,
            Outcome::Failed(problem) => Some(problem.clone()),
        },
    };
    let mut effects = vec![Effect::RefreshCard];
    match outcome {
        Outcome::Succeeded => {
            let hold = plan
                .rollout
                .stage(stage)
                .map_or(TimeDelta::zero(), |s| s.hold);
            let next_deployment = next.deployment.as_mut()?;
            // Halted meanwhile, the whole hold waits for the resume.
            let ends = next_deployment.halted_at.unwrap_or(now) + hold;
            next_deployment.clock_ends_at = Some(ends);
            // A halted rollout keeps its hold for when it resumes.
            if next.state == ReleaseState::Deploying {
                effects.push(Effect::ScheduleTimer {
                    timer: TimerKind::StageHold,
                    at: ends,
                });
            }
        }
        Outcome::Failed(problem) => {
            if next.state == ReleaseState::Deploying {
                next.state = ReleaseState::Halted;
                next.deployment.as_mut()?.halted_at = Some(now);
            }
            effects.push(Effect::Notify {
                audience: Audience::Thread,
                notice: Notice::ActionFailed {
                    version: release.version.to_string(),
                    action: "deploy".to_owned(),
                    stage: name,
                    problem: excerpt(problem, MAX_PROBLEM),
                },
            });
        }
    }
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![event],
        effects,
    })
}

/// The current stage's hold ended: the next stage starts, or after the last, the verification.
/// A stage with no action to run and no hold ends as it starts, in the same step: a round trip
/// through the timer table would only make the next stage late.
pub fn hold_ended(release: &Release, plan: Plan<'_>, now: DateTime<Utc>) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    if release.state != ReleaseState::Deploying
        || deployment.clock_ends_at.is_none_or(|at| at > now)
    {
        return None;
    }
    let mut next = release.clone();
    let mut effects = vec![Effect::RefreshCard];
    let mut events = Vec::new();
    loop {
        let d = next.deployment.as_mut()?;
        if plan.rollout.is_last(d.stage) {
            next.state = ReleaseState::Verifying;
            let ends = now + plan.rollout.verify_for;
            d.verify_started_at = Some(now);
            d.clock_ends_at = Some(ends);
            effects.push(Effect::ScheduleTimer {
                timer: TimerKind::VerificationEnd,
                at: ends,
            });
            events.push(Event::VerificationStarted);
            let asked = super::oncall::asked(&next, plan, now);
            effects.extend(asked);
            break;
        }
        d.stage += 1;
        d.stage_started_at = now;
        d.clock_ends_at = None;
        events.push(Event::StageStarted {
            stage: plan.rollout.stage_name(d.stage),
        });
        let holds = plan
            .rollout
            .stage(d.stage)
            .is_some_and(|stage| stage.hold > TimeDelta::zero());
        if plan.executor || holds {
            effects.extend(run_stage(&mut next, plan, now));
            break;
        }
    }
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events,
        effects,
    })
}

/// The verification period passed: the release is complete, and everyone hears so.
pub fn verification_ended(release: &Release, now: DateTime<Utc>) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    if release.state != ReleaseState::Verifying
        || deployment.clock_ends_at.is_none_or(|at| at > now)
    {
        return None;
    }
    let mut next = release.clone();
    next.state = ReleaseState::Completed;
    let d = next.deployment.as_mut()?;
    d.finished_at = Some(now);
    d.clock_ends_at = None;
    let minutes = (now - deployment.started_at).num_minutes();
    let retro = super::retro::prompt(&next);
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![Event::Completed { minutes }],
        effects: vec![
            Effect::RefreshCard,
            Effect::CancelTimer(TimerKind::ProgressTick),
            Effect::CancelTimer(TimerKind::GateCheck),
            Effect::CancelTimer(TimerKind::OnCallDue),
            Effect::Notify {
                audience: Audience::Everyone,
                notice: Notice::Completed {
                    version: release.version.to_string(),
                    summary: excerpt(&release.summary, NOTICE_SUMMARY),
                    changelog: release.changelog.clone(),
                    minutes,
                    on_call: deployment.on_call.as_ref().map(|on| on.name.clone()),
                },
            },
            retro,
        ],
    })
}

/// A progress notice is due at `due`: it goes to the thread, and the next one is set. One
/// notice covers every tick missed while gonogo was down.
pub fn progress_due(
    release: &Release,
    plan: Plan<'_>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    let phase = match release.state {
        ReleaseState::Deploying | ReleaseState::Halted | ReleaseState::Verifying => release.state,
        _ => return None,
    };
    let in_phase_since = deployment
        .verify_started_at
        .unwrap_or(deployment.stage_started_at);
    let stage = plan.rollout.stage(deployment.stage);
    let notice = Notice::Progress {
        version: release.version.to_string(),
        phase: phase.to_string(),
        stage: plan.rollout.stage_name(deployment.stage),
        percent: stage.map_or(0, |s| s.percent),
        minutes_in: (now - in_phase_since).num_minutes(),
        next_at: deployment
            .clock_ends_at
            .filter(|_| phase != ReleaseState::Halted)
            .map(|at| at.timestamp()),
        halted_since: deployment.halted_at.map(|at| at.timestamp()),
        catching_up: now - due >= plan.rollout.progress_every,
        gates: plan
            .gates_for(release)
            .and_then(|gates| gates.view(&deployment.watch))
            .map(Box::new),
        unwatched_minutes: deployment.watch.unwatched_secs.map(|secs| secs / 60),
    };
    // Reported once: the next notice starts afresh.
    let mut next = release.clone();
    if let Some(d) = next.deployment.as_mut() {
        d.watch.unwatched_secs = None;
    }
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: Vec::new(),
        effects: vec![
            Effect::Notify {
                audience: Audience::Thread,
                notice,
            },
            Effect::ScheduleTimer {
                timer: TimerKind::ProgressTick,
                at: plan.rollout.next_tick(deployment.started_at, now),
            },
        ],
    })
}

/// A release manager pauses the stage clock; the remaining hold waits for the resume.
pub fn halt(
    release: &Release,
    by: Person<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !by.roles.contains(&Role::ReleaseManager) {
        return Err(Refusal::NotAReleaseManager);
    }
    let reason = super::poll::parse_reason(Some(reason))?;
    if !matches!(
        release.state,
        ReleaseState::Deploying | ReleaseState::Verifying
    ) {
        return Err(Refusal::CannotHalt {
            state: release.state,
        });
    }
    pause(release, by.name, Some(by.id), reason, now).ok_or(Refusal::CannotHalt {
        state: release.state,
    })
}

/// Halts a running rollout for `reason`, whoever asks: a person, or gonogo itself when the
/// gates have no reading. The stage clock stops, and so does the watch until the resume.
pub(super) fn pause(
    release: &Release,
    by: &str,
    actor: Option<UserId>,
    reason: String,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let mut next = release.clone();
    next.state = ReleaseState::Halted;
    next.deployment.as_mut()?.halted_at = Some(now);
    Some(Transition {
        release: next,
        ballot: None,
        actor,
        events: vec![Event::Halted {
            by: by.to_owned(),
            reason: reason.clone(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::CancelTimer(TimerKind::StageHold),
            Effect::CancelTimer(TimerKind::VerificationEnd),
            Effect::CancelTimer(TimerKind::GateCheck),
            Effect::Notify {
                audience: Audience::Thread,
                notice: Notice::Halted {
                    version: release.version.to_string(),
                    by: by.to_owned(),
                    reason,
                },
            },
        ],
    })
}

/// Continues a halted rollout with what remained of its clock. A stage whose action had not
/// succeeded (it failed, or it was still running) runs its action again: the Retry button.
pub fn resume(
    release: &Release,
    by: Person<'_>,
    plan: Plan<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    let not_halted = Refusal::NotHalted {
        state: release.state,
    };
    if !(by.roles.contains(&Role::ReleaseManager) || by.roles.contains(&Role::Deployer)) {
        return Err(Refusal::NotAReleaseManager);
    }
    if release.state != ReleaseState::Halted {
        return Err(not_halted);
    }
    let mut next = release.clone();
    let d = next.deployment.as_mut().ok_or(not_halted.clone())?;
    let halted_at = d.halted_at.take().ok_or(not_halted)?;
    d.halted_for += now - halted_at;
    let mut effects = vec![Effect::RefreshCard];
    match (d.verify_started_at, d.clock_ends_at) {
        (Some(_), Some(ends)) => {
            let at = now + (ends - halted_at).max(TimeDelta::zero());
            d.clock_ends_at = Some(at);
            next.state = ReleaseState::Verifying;
            effects.push(Effect::ScheduleTimer {
                timer: TimerKind::VerificationEnd,
                at,
            });
        }
        (None, Some(ends)) => {
            let at = now + (ends - halted_at).max(TimeDelta::zero());
            d.clock_ends_at = Some(at);
            next.state = ReleaseState::Deploying;
            effects.push(Effect::ScheduleTimer {
                timer: TimerKind::StageHold,
                at,
            });
        }
        (_, None) => {
            next.state = ReleaseState::Deploying;
            // A stage still waiting for its baseline gets it from the look below first.
            if plan.gates.is_none() || d.watch.baselined {
                effects.extend(run_stage(&mut next, plan, now));
            }
        }
    }
    if plan.gates.is_some() {
        // Nothing goes on without a fresh look at the metrics.
        effects.push(Effect::ScheduleTimer {
            timer: TimerKind::GateCheck,
            at: now,
        });
    }
    effects.push(Effect::Notify {
        audience: Audience::Thread,
        notice: Notice::Resumed {
            version: release.version.to_string(),
            by: by.name.to_owned(),
        },
    });
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::Resumed {
            by: by.name.to_owned(),
        }],
        effects,
    })
}

/// Sets the current stage going: its action runs, or with no executor its hold starts now.
pub(super) fn run_stage(release: &mut Release, plan: Plan<'_>, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(d) = release.deployment.as_mut() else {
        return Vec::new();
    };
    let Some(stage) = plan.rollout.stage(d.stage) else {
        return Vec::new();
    };
    if plan.executor {
        vec![Effect::RunAction(Action::Deploy {
            stage: d.stage,
            percent: stage.percent,
        })]
    } else {
        let ends = now + stage.hold;
        d.clock_ends_at = Some(ends);
        vec![Effect::ScheduleTimer {
            timer: TimerKind::StageHold,
            at: ends,
        }]
    }
}

/// The stage's name, as notices and the audit trail show it.
#[cfg(test)]
#[path = "deploy_tests.rs"]
pub(crate) mod tests;
