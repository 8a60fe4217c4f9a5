//! The poll phase: plan, vote, expire, cancel. A poll ends as soon as its outcome is certain.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Event, Transition};
use crate::domain::contract::Contract;
use crate::domain::effect::{Audience, Effect, Notice, TimerKind};
use crate::domain::ids::{ReleaseId, UserId};
use crate::domain::parts::Origin;
use crate::domain::policy::{Policy, Role};
use crate::domain::poll::{Ballot, Choice, Tally};
use crate::domain::refusal::Refusal;
use crate::domain::release::{PlanRequest, Release, ReleaseState, MAX_REASON};
use crate::domain::text::bounded_text;

/// Whether someone holding `roles` may plan a release: it takes one of the `planners` roles.
pub fn may_plan(roles: &[Role], planners: &[Role]) -> Result<(), Refusal> {
    if roles.iter().any(|role| planners.contains(role)) {
        Ok(())
    } else {
        Err(Refusal::NotAPlanner {
            planners: planners.to_vec(),
        })
    }
}

/// Opens the poll for a new release: voting starts at once and ends after `vote_ttl`.
pub fn plan(
    id: ReleaseId,
    request: PlanRequest,
    author: UserId,
    vote_ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Transition {
    let expires_at = now + vote_ttl;
    let event = Event::Planned {
        version: request.version.to_string(),
        kind: request.kind.to_string(),
        environment: request.environment.clone(),
        summary: request.summary.clone(),
        origin: Box::new(Origin {
            idempotency_key: None,
            ..request.origin.clone()
        }),
    };
    let release = Release {
        id,
        version: request.version,
        kind: request.kind,
        state: ReleaseState::Voting,
        summary: request.summary,
        changelog: request.changelog,
        environment: request.environment,
        author,
        created_at: now,
        expires_at,
        decided_at: None,
        decision_reason: None,
        deployment: None,
        contract: None,
        checklist: Vec::new(),
        overrides: Vec::new(),
        retrospectives: Vec::new(),
        origin: request.origin,
    };
    Transition {
        release,
        ballot: None,
        actor: Some(author),
        events: vec![event],
        effects: vec![
            Effect::PostCard,
            Effect::OpenThread,
            Effect::ScheduleTimer {
                timer: TimerKind::PollExpiry,
                at: expires_at,
            },
        ],
    }
}

/// Whether `voter`, holding `roles`, may cast `choice` on the poll now. The No-Go button asks
/// this before opening its modal, so nobody types a reason only to be refused.
pub fn may_vote(
    release: &Release,
    policy: &Policy,
    voter: UserId,
    roles: &[Role],
    choice: Choice,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if !release.state.is_open() {
        return Err(Refusal::PollClosed {
            state: release.state,
        });
    }
    if now >= release.expires_at {
        return Err(Refusal::PollClosed {
            state: ReleaseState::Expired,
        });
    }
    if !policy.is_eligible(roles) {
        let needed = policy.approvers.iter().map(|slot| slot.role).collect();
        return Err(Refusal::NotEligible {
            kind: release.kind,
            needed,
        });
    }
    if choice == Choice::Go && voter == release.author {
        return Err(Refusal::AuthorCannotApprove);
    }
    Ok(())
}

/// Applies one click to the poll's standing `tally`, which counts it when it changes a vote.
pub fn vote(
    release: &Release,
    policy: &Policy,
    tally: &mut Tally,
    cast: &Ballot,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    may_vote(release, policy, cast.voter, &cast.roles, cast.choice, now)?;
    let cast = &Ballot {
        reason: match cast.choice {
            Choice::NoGo => Some(parse_reason(cast.reason.as_deref())?),
            Choice::Go => None,
        },
        ..cast.clone()
    };
    let unchanged = tally
        .latest_of(cast.voter)
        .is_some_and(|previous| previous.choice == cast.choice);
    if unchanged {
        return Ok(Transition::unchanged(release, Some(cast.voter)));
    }

    tally.cast(cast.clone());
    let after = &*tally;
    let mut next = release.clone();
    let mut events = vec![Event::VoteCast {
        choice: cast.choice,
        roles: cast.roles.clone(),
        reason: cast.reason.clone(),
    }];
    let mut effects = vec![Effect::RefreshCard];
    let version = release.version.to_string();
    if let Some(veto) = after.veto() {
        let reason = veto.reason.clone().unwrap_or_default();
        decide(&mut next, ReleaseState::Rejected, Some(reason.clone()), now);
        events.push(Event::Rejected {
            reason: reason.clone(),
        });
        let by = veto.voter_name.clone();
        effects.extend(poll_ended(Notice::Rejected {
            version,
            by,
            reason,
        }));
    } else if after.is_approved() {
        decide(&mut next, ReleaseState::Approved, None, now);
        let seated = after.seated();
        events.push(Event::Approved {
            approvers: seated.iter().map(|b| b.voter).collect(),
            without_poll: None,
            contract: None,
        });
        let approvers = seated.iter().map(|b| b.voter_name.clone()).collect();
        effects.extend(poll_ended(Notice::Approved { version, approvers }));
    }
    Ok(Transition {
        release: next,
        actor: Some(cast.voter),
        ballot: Some(cast.clone()),
        events,
        effects,
    })
}

/// The plan of a release in an environment that holds no go/no-go poll (`approval =
/// false`): approved as it is planned, and the audit says why.
pub fn approve_without_poll(mut step: Transition, now: DateTime<Utc>) -> Transition {
    let environment = step.release.environment.clone();
    decide(&mut step.release, ReleaseState::Approved, None, now);
    step.effects
        .retain(|effect| !matches!(effect, Effect::ScheduleTimer { .. }));
    step.events.push(Event::Approved {
        approvers: Vec::new(),
        without_poll: Some(format!(
            "the {environment} environment takes no go/no-go poll (approval = false)"
        )),
        contract: None,
    });
    step
}

/// Ends an undecided poll whose time to live has passed; `None` when there is nothing to do.
pub fn expire(release: &Release, now: DateTime<Utc>) -> Option<Transition> {
    if !release.state.is_open() || now < release.expires_at {
        return None;
    }
    let mut next = release.clone();
    decide(&mut next, ReleaseState::Expired, None, now);
    let version = release.version.to_string();
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![Event::Expired],
        effects: vec![
            Effect::RefreshCard,
            Effect::Notify {
                audience: Audience::Thread,
                notice: Notice::Expired { version },
            },
        ],
    })
}

/// Withdraws a release before it deploys. Its author, a release manager or an exec may do so.
pub fn cancel(
    release: &Release,
    actor: UserId,
    actor_name: &str,
    actor_roles: &[Role],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    let allowed = actor == release.author
        || actor_roles
            .iter()
            .any(|r| matches!(r, Role::ReleaseManager | Role::Exec));
    if !allowed {
        return Err(Refusal::NotAllowedToCancel);
    }
    let reason = parse_reason(Some(reason))?;
    if !matches!(
        release.state,
        ReleaseState::Planned | ReleaseState::Voting | ReleaseState::Approved
    ) {
        return Err(Refusal::CannotCancel {
            state: release.state,
        });
    }
    let mut next = release.clone();
    decide(
        &mut next,
        ReleaseState::Cancelled,
        Some(reason.clone()),
        now,
    );
    let notice = Notice::Cancelled {
        version: release.version.to_string(),
        by: actor_name.to_owned(),
        reason: reason.clone(),
    };
    let mut effects = vec![Effect::RefreshCard];
    effects.extend(poll_ended(notice));
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(actor),
        events: vec![Event::Cancelled {
            reason,
            by: actor_name.to_owned(),
        }],
        effects,
    })
}

/// A veto's or cancellation's reason: trimmed, present, and short enough to show.
pub fn parse_reason(text: Option<&str>) -> Result<String, Refusal> {
    match text.map(str::trim) {
        None | Some("") => Err(Refusal::ReasonRequired),
        Some(text) => bounded_text("reason", text, MAX_REASON).map_err(Refusal::InvalidReason),
    }
}

/// A decided poll tells its thread and needs its expiry no more.
fn poll_ended(notice: Notice) -> [Effect; 2] {
    [
        Effect::Notify {
            audience: Audience::Thread,
            notice,
        },
        Effect::CancelTimer(TimerKind::PollExpiry),
    ]
}

fn decide(release: &mut Release, state: ReleaseState, reason: Option<String>, now: DateTime<Utc>) {
    release.state = state;
    release.decided_at = Some(now);
    release.decision_reason = reason;
}

/// Whether `step` approves a release that has no rollback contract yet.
pub fn awaits_contract(step: &Transition) -> bool {
    step.release.state == ReleaseState::Approved && step.release.contract.is_none()
}

/// Fixes `contract` on the release `step` approves, once; the approval's audit event
/// records it.
pub fn fix_on_approval(step: &mut Transition, contract: Contract) {
    if !awaits_contract(step) {
        return;
    }
    for event in &mut step.events {
        if let Event::Approved {
            contract: fixed, ..
        } = event
        {
            *fixed = Some(contract.clone());
        }
    }
    step.release.contract = Some(contract);
}

#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
