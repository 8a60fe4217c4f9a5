//! The lifecycle up to deployment: plan, vote, expire, cancel. Each step returns the new
//! release, the audit events and the effects for the service to carry out.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::ids::{ReleaseId, UserId};
use super::policy::{Policy, Role};
use super::poll::{self, Ballot, Choice, Tally};
use super::release::{bounded_text, PlanRequest, Release, ReleaseState, MAX_REASON};

/// What happened, as written to the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Planned {
        version: String,
        kind: String,
        environment: String,
        summary: String,
    },
    VoteCast {
        choice: Choice,
        roles: Vec<Role>,
        reason: Option<String>,
    },
    Approved {
        approvers: Vec<UserId>,
    },
    Rejected {
        reason: String,
    },
    Expired,
    Cancelled {
        reason: String,
        by: String,
    },
}

/// A notice posted to the release thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

/// Work the service must do once the transition is committed (or within its transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Post the release card in the releases channel.
    PostCard,
    /// Start the release thread on the card.
    OpenThread,
    /// Edit the card to show the latest state.
    RefreshCard,
    /// Post a notice to the release thread.
    Notify(Notice),
    /// Expire the poll at this time unless it is decided first.
    ScheduleExpiry(DateTime<Utc>),
    CancelExpiry,
}

/// Why a request was turned down; shown only to the person who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotEligible {
        needed: Vec<Role>,
    },
    PollClosed {
        state: ReleaseState,
    },
    AuthorCannotApprove,
    ReasonRequired,
    /// The reason is too long; the text says by how much.
    InvalidReason(String),
    NotAllowedToCancel,
    CannotCancel {
        state: ReleaseState,
    },
}

/// A committed-to-be step of the lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub release: Release,
    pub ballot: Option<Ballot>,
    pub actor: Option<UserId>,
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
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
    };
    Transition {
        release,
        ballot: None,
        actor: Some(author),
        events: vec![event],
        effects: vec![
            Effect::PostCard,
            Effect::OpenThread,
            Effect::ScheduleExpiry(expires_at),
        ],
    }
}

/// Applies one click. `history` is every accepted ballot so far, oldest first.
pub fn vote(
    release: &Release,
    policy: &Policy,
    history: &[Ballot],
    cast: &Ballot,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
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
    if !policy.is_eligible(&cast.roles) {
        let needed = policy.approvers.iter().map(|slot| slot.role).collect();
        return Err(Refusal::NotEligible { needed });
    }
    if cast.choice == Choice::Go && cast.voter == release.author {
        return Err(Refusal::AuthorCannotApprove);
    }
    let cast = &Ballot {
        reason: match cast.choice {
            Choice::NoGo => Some(parse_reason(cast.reason.as_deref())?),
            Choice::Go => None,
        },
        ..cast.clone()
    };
    let unchanged =
        poll::latest_of(history, cast.voter).is_some_and(|previous| previous.choice == cast.choice);
    if unchanged {
        return Ok(Transition {
            release: release.clone(),
            ballot: None,
            actor: Some(cast.voter),
            events: Vec::new(),
            effects: Vec::new(),
        });
    }

    let after = Tally::count(policy, release.author, history.iter().chain([cast]));
    let mut next = release.clone();
    let mut events = vec![Event::VoteCast {
        choice: cast.choice,
        roles: cast.roles.clone(),
        reason: cast.reason.clone(),
    }];
    let mut effects = vec![Effect::RefreshCard];
    if let Some(veto) = after.veto() {
        let reason = veto.reason.clone().unwrap_or_default();
        decide(&mut next, ReleaseState::Rejected, Some(reason.clone()), now);
        events.push(Event::Rejected { reason });
        effects.extend([Effect::Notify(Notice::Rejected), Effect::CancelExpiry]);
    } else if after.is_approved() {
        decide(&mut next, ReleaseState::Approved, None, now);
        let approvers = after
            .slots
            .iter()
            .flat_map(|s| s.filled_by.iter().copied())
            .collect();
        events.push(Event::Approved { approvers });
        effects.extend([Effect::Notify(Notice::Approved), Effect::CancelExpiry]);
    }
    Ok(Transition {
        release: next,
        actor: Some(cast.voter),
        ballot: Some(cast.clone()),
        events,
        effects,
    })
}

/// Ends an undecided poll whose time to live has passed; `None` when there is nothing to do.
pub fn expire(release: &Release, now: DateTime<Utc>) -> Option<Transition> {
    if !release.state.is_open() || now < release.expires_at {
        return None;
    }
    let mut next = release.clone();
    decide(&mut next, ReleaseState::Expired, None, now);
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![Event::Expired],
        effects: vec![Effect::RefreshCard, Effect::Notify(Notice::Expired)],
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
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(actor),
        events: vec![Event::Cancelled {
            reason,
            by: actor_name.to_owned(),
        }],
        effects: vec![
            Effect::RefreshCard,
            Effect::Notify(Notice::Cancelled),
            Effect::CancelExpiry,
        ],
    })
}

/// A veto's or cancellation's reason: trimmed, present, and short enough to show.
pub fn parse_reason(text: Option<&str>) -> Result<String, Refusal> {
    match text.map(str::trim) {
        None | Some("") => Err(Refusal::ReasonRequired),
        Some(text) => bounded_text("reason", text, MAX_REASON).map_err(Refusal::InvalidReason),
    }
}

fn decide(release: &mut Release, state: ReleaseState, reason: Option<String>, now: DateTime<Utc>) {
    release.state = state;
    release.decided_at = Some(now);
    release.decision_reason = reason;
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
