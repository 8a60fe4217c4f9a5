//! On call during verification: the thread asks who is on call when verification starts,
//! the release managers are pinged once if nobody claims in time, and the completion notice
//! names whoever was.

use chrono::{DateTime, Utc};

use super::inputs::{Person, Plan};
use super::{Event, Transition};
use crate::domain::effect::{Audience, Effect, Notice, TimerKind};
use crate::domain::policy::Role;
use crate::domain::refusal::Refusal;
use crate::domain::release::{OnCall, Release, ReleaseState};

/// Who may claim on call.
pub const ON_CALL: [Role; 3] = [Role::Deployer, Role::ReleaseManager, Role::Lead];

/// What verification starting asks of the thread: who is on call, by when.
pub fn asked(release: &Release, plan: Plan<'_>, now: DateTime<Utc>) -> [Effect; 2] {
    [
        Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::OnCallAsked {
                version: release.version.to_string(),
                within_minutes: plan.rollout.oncall_within.num_minutes(),
            },
        },
        Effect::ScheduleTimer {
            timer: TimerKind::OnCallDue,
            at: now + plan.rollout.oncall_within,
        },
    ]
}

/// `by` says they are on call for the verification; a later claim takes over.
pub fn claim(release: &Release, by: Person<'_>, now: DateTime<Utc>) -> Result<Transition, Refusal> {
    if !by.roles.iter().any(|role| ON_CALL.contains(role)) {
        return Err(Refusal::CannotBeOnCall {
            roles: ON_CALL.to_vec(),
        });
    }
    let Some(deployment) = release
        .deployment
        .as_ref()
        .filter(|_| release.state == ReleaseState::Verifying)
    else {
        return Err(Refusal::NotVerifying {
            state: release.state,
        });
    };
    if deployment.on_call.as_ref().is_some_and(|on| on.by == by.id) {
        return Ok(Transition::unchanged(release, Some(by.id)));
    }
    let mut next = release.clone();
    if let Some(d) = next.deployment.as_mut() {
        d.on_call = Some(OnCall {
            by: by.id,
            name: by.name.to_owned(),
            at: now,
        });
    }
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::OnCallClaimed {
            by: by.name.to_owned(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::CancelTimer(TimerKind::OnCallDue),
        ],
    })
}

/// The time to claim on call passed: the release managers are pinged once, unless someone
/// claimed or the verification is over.
pub fn deadline_passed(release: &Release) -> Option<Transition> {
    let deployment = release.deployment.as_ref()?;
    if release.state != ReleaseState::Verifying || deployment.on_call.is_some() {
        return None;
    }
    Some(Transition {
        release: release.clone(),
        ballot: None,
        actor: None,
        events: vec![Event::OnCallUnclaimed],
        effects: vec![Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::OnCallNeeded {
                version: release.version.to_string(),
            },
        }],
    })
}

#[cfg(test)]
#[path = "oncall_tests.rs"]
mod tests;
