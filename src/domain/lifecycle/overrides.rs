//! Overrides: the only way past a guardrail. Someone asks with a reason, a member of `exec`
//! other than them approves, the refused action may then go through once, and a post-mortem
//! stays open until someone files it.

use chrono::{DateTime, Utc};

use super::inputs::Person;
use super::{Event, Transition};
use crate::domain::effect::{Audience, Effect, Notice};
use crate::domain::parts::Override;
use crate::domain::policy::Role;
use crate::domain::refusal::Refusal;
use crate::domain::release::Release;

/// The guardrail behind `refusal`, when an override may let the request through.
pub fn guardrail(refusal: &Refusal) -> Option<&'static str> {
    match refusal {
        Refusal::OutsideWindow { .. } => Some("outside_window"),
        Refusal::InBlackout { .. } => Some("in_blackout"),
        Refusal::ChecklistOpen { .. } => Some("checklist_open"),
        Refusal::ChecksFailed { .. } => Some("checks_failed"),
        Refusal::OrderNotMet { .. } => Some("environment_order"),
        Refusal::RollbackWindowClosed { .. } => Some("rollback_window_closed"),
        _ => None,
    }
}

/// Who may ask for an override: whoever may deploy, roll back or halt, or lead.
const REQUESTERS: [Role; 3] = [Role::Deployer, Role::ReleaseManager, Role::Lead];

/// `by` asks to override the next refused action on `release`.
pub fn request(
    release: &Release,
    by: Person<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !by.roles.iter().any(|role| REQUESTERS.contains(role)) {
        return Err(Refusal::CannotRequestOverride {
            roles: REQUESTERS.to_vec(),
        });
    }
    if release.state.is_final() && release.state != crate::domain::ReleaseState::Completed {
        return Err(Refusal::NothingToOverride {
            state: release.state,
        });
    }
    if release.overrides.iter().any(Override::is_open) {
        return Err(Refusal::OverrideAlreadyAsked);
    }
    let reason = super::poll::parse_reason(Some(reason))?;
    let mut next = release.clone();
    next.overrides.push(Override {
        requested_by: by.id,
        requested_by_name: by.name.to_owned(),
        reason: reason.clone(),
        requested_at: now,
        approved_by: None,
        approved_at: None,
        used_for: None,
        postmortem: None,
        postmortem_by: None,
        postmortem_at: None,
    });
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::OverrideRequested {
            by: by.name.to_owned(),
            reason: reason.clone(),
        }],
        effects: vec![Effect::Notify {
            audience: Audience::Releases,
            notice: Notice::OverrideRequested {
                version: release.version.to_string(),
                by: by.name.to_owned(),
                reason,
            },
        }],
    })
}

/// An exec approves the open request; the requester's own click does not count.
pub fn approve(
    release: &Release,
    by: Person<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !by.roles.contains(&Role::Exec) {
        return Err(Refusal::NotAnExec);
    }
    let mut next = release.clone();
    let pending = next
        .overrides
        .iter_mut()
        .find(|o| o.is_open() && o.approved_by.is_none())
        .ok_or(Refusal::NoOverrideAsked)?;
    if pending.requested_by == by.id {
        return Err(Refusal::OwnOverride);
    }
    pending.approved_by = Some(by.name.to_owned());
    pending.approved_at = Some(now);
    let requested_by = pending.requested_by_name.clone();
    let reason = pending.reason.clone();
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::OverrideApproved {
            by: by.name.to_owned(),
            requested_by: requested_by.clone(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::Notify {
                audience: Audience::Thread,
                notice: Notice::OverrideApproved {
                    version: release.version.to_string(),
                    by: by.name.to_owned(),
                    requested_by,
                    reason,
                },
            },
        ],
    })
}

/// `attempt` decides a request; when a guardrail refuses it and an approved override is
/// waiting, it is decided again past the guardrail, and the override is spent on it.
pub fn past_guardrails(
    release: &Release,
    action: &str,
    attempt: impl Fn(bool) -> Result<Transition, Refusal>,
) -> Result<Transition, Refusal> {
    let refusal = match attempt(false) {
        Ok(step) => return Ok(step),
        Err(refusal) => refusal,
    };
    let approved = release
        .overrides
        .iter()
        .position(|o| o.is_open() && o.approved_by.is_some());
    let (Some(at), Some(guardrail)) = (approved, guardrail(&refusal)) else {
        return Err(refusal);
    };
    let mut step = attempt(true)?;
    if let Some(used) = step.release.overrides.get_mut(at) {
        used.used_for = Some(action.to_owned());
    }
    step.events.insert(
        0,
        Event::OverrideUsed {
            action: action.to_owned(),
            guardrail: guardrail.to_owned(),
        },
    );
    Ok(step)
}

/// `by` files the post-mortem of the release's oldest approved override that has none.
pub fn file_postmortem(
    release: &Release,
    by: Person<'_>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    let text = super::poll::parse_reason(Some(text))?;
    let mut next = release.clone();
    let open = next
        .overrides
        .iter_mut()
        .find(|o| o.approved_by.is_some() && o.postmortem.is_none())
        .ok_or(Refusal::NoPostmortemOpen)?;
    open.postmortem = Some(text.clone());
    open.postmortem_by = Some(by.name.to_owned());
    open.postmortem_at = Some(now);
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::PostmortemFiled {
            by: by.name.to_owned(),
            text: text.clone(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::Notify {
                audience: Audience::Thread,
                notice: Notice::PostmortemFiled {
                    version: release.version.to_string(),
                    by: by.name.to_owned(),
                    text,
                },
            },
        ],
    })
}

/// How many approved overrides of `release` still wait for their post-mortem.
pub fn open_postmortems(release: &Release) -> usize {
    release
        .overrides
        .iter()
        .filter(|o| o.approved_by.is_some() && o.postmortem.is_none())
        .count()
}

#[cfg(test)]
#[path = "overrides_tests.rs"]
mod tests;
