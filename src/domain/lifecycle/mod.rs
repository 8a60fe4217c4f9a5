//! The release lifecycle, one file per phase. Each step is a pure function of (state, input,
//! now) that returns the next state with its audit events and effects, or a refusal.

pub mod deploy;
pub mod inputs;
pub mod oncall;
pub mod overrides;
pub mod poll;
pub mod promote;
pub mod reports;
pub mod retro;
pub mod rollback;
pub mod watch;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::effect::TimerKind;
use super::gates::Look;
use super::ids::UserId;
use super::policy::Role;
use super::poll::{Ballot, Choice};
use super::release::Release;

/// What happened, as written to the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Planned {
        version: String,
        kind: String,
        environment: String,
        summary: String,
        /// What a pipeline or a promotion told of it: lead time counts from its commit.
        #[serde(skip_serializing_if = "is_empty_origin")]
        origin: Box<crate::domain::parts::Origin>,
    },
    VoteCast {
        choice: Choice,
        roles: Vec<Role>,
        reason: Option<String>,
    },
    Approved {
        approvers: Vec<UserId>,
        /// Why no poll was held, when none was: the environment takes no approval.
        #[serde(skip_serializing_if = "Option::is_none")]
        without_poll: Option<String>,
        /// The rollback contract fixed with the approval.
        #[serde(skip_serializing_if = "Option::is_none")]
        contract: Option<crate::domain::contract::Contract>,
    },
    Rejected {
        reason: String,
    },
    Expired,
    Cancelled {
        reason: String,
        by: String,
    },
    DeployStarted {
        by: String,
    },
    ActionFinished {
        action: String,
        stage: String,
        /// Why it failed; `None` when it succeeded.
        problem: Option<String>,
    },
    StageStarted {
        stage: String,
    },
    VerificationStarted,
    /// Someone said they are on call for the verification.
    OnCallClaimed {
        by: String,
    },
    /// Nobody claimed on call in time; the release managers were pinged.
    OnCallUnclaimed,
    Completed {
        minutes: i64,
    },
    Halted {
        by: String,
        reason: String,
    },
    Resumed {
        by: String,
    },
    RollbackStarted {
        by: String,
        reason: String,
        stage: String,
    },
    RollbackRetried {
        by: String,
    },
    RolledBack {
        /// Rollback requested → rollback confirmed: the time to restore.
        restore_secs: i64,
    },
    OverrideRequested {
        by: String,
        reason: String,
    },
    OverrideApproved {
        by: String,
        requested_by: String,
    },
    /// An approved override let `action` past the `guardrail` that refused it.
    OverrideUsed {
        action: String,
        guardrail: String,
    },
    PostmortemFiled {
        by: String,
        text: String,
    },
    RetrospectiveFiled {
        by: String,
        went_well: String,
        improve: String,
        actions: String,
    },
    ChecklistTicked {
        section: String,
        item: String,
        by: String,
    },
    /// A pipeline reported an item `passed` or `failed`.
    CheckReported {
        section: String,
        item: String,
        status: String,
        url: Option<String>,
        by: String,
    },
    ChecklistUnticked {
        section: String,
        item: String,
        by: String,
        reason: String,
    },
    /// Someone reported a problem from chat; `count` reports are in so far.
    ProblemReported {
        by: String,
        text: String,
        count: usize,
    },
    /// The metric gates read healthy; `baseline` marks the reading taken before the first
    /// stage, which later latencies are judged against.
    GatesRead {
        error_rate: Option<String>,
        p99: Option<String>,
        baseline: bool,
    },
}

#[allow(clippy::borrowed_box)] // serde's `skip_serializing_if` passes the field by reference
fn is_empty_origin(origin: &Box<crate::domain::parts::Origin>) -> bool {
    origin.is_empty()
}

/// One step of the lifecycle, to be committed whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub release: Release,
    /// The vote this step records, if it records one.
    pub ballot: Option<Ballot>,
    pub actor: Option<UserId>,
    pub events: Vec<Event>,
    pub effects: Vec<super::Effect>,
}

impl Transition {
    /// A step that changes nothing, such as a repeated click.
    pub fn unchanged(release: &Release, actor: Option<UserId>) -> Transition {
        Transition {
            release: release.clone(),
            ballot: None,
            actor,
            events: Vec::new(),
            effects: Vec::new(),
        }
    }
}

/// What time alone has made due by `now`, such as the end of a poll whose timer has not
/// fired yet. Every request is decided against the release after this step, so a late vote
/// finds the poll expired rather than open.
pub fn catch_up(release: &Release, now: DateTime<Utc>) -> Option<Transition> {
    poll::expire(release, now)
}

/// The step a timer of `kind`, due at `due`, takes when it fires at `now`; `None` when it has
/// nothing left to do. `look` is the metric gates' reading taken as it fired, when they
/// watch rollouts.
pub fn on_timer(
    release: &Release,
    kind: TimerKind,
    plan: inputs::Plan<'_>,
    (due, now): (DateTime<Utc>, DateTime<Utc>),
    look: Option<&Look>,
) -> Option<Transition> {
    match kind {
        TimerKind::PollExpiry => poll::expire(release, now),
        TimerKind::StageHold => {
            let step = deploy::hold_ended(release, plan, now);
            watch::guarded(release, plan, look, now, step)
        }
        TimerKind::VerificationEnd => {
            let step = deploy::verification_ended(release, now);
            watch::guarded(release, plan, look, now, step)
        }
        TimerKind::ProgressTick => deploy::progress_due(release, plan, due, now),
        TimerKind::GateCheck => watch::gate_checked(release, plan, look, now),
        TimerKind::OnCallDue => oncall::deadline_passed(release),
    }
}

/// Whether timers of `kind` need a fresh look at the metric gates to fire.
pub fn needs_look(kind: TimerKind) -> bool {
    matches!(
        kind,
        TimerKind::StageHold | TimerKind::VerificationEnd | TimerKind::GateCheck
    )
}

#[cfg(test)]
mod matrix_tests;
