//! What a decision asks the world to do: post or edit the card, tell an audience a fact, set
//! or clear a timer. The service carries effects out; nothing here performs them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contract::ContractView;

/// How much of a release's summary a start notice quotes: the whole notice must fit Discord's
/// 2,000 characters beside a twenty-stage schedule and the stakeholder mention.
pub const NOTICE_SUMMARY: usize = 150;
/// How much of an executor's complaint a failure notice quotes.
pub const MAX_PROBLEM: usize = 500;

/// Work the service must do in the transaction that commits the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Post the release card in the releases channel.
    PostCard,
    /// Start the release thread on the card.
    OpenThread,
    /// Edit the card to show the latest state.
    RefreshCard,
    /// Tell `audience` what happened; the notice carries every fact it reports.
    Notify { audience: Audience, notice: Notice },
    /// Fire `timer` at `at`, replacing a pending timer of the same kind.
    ScheduleTimer { timer: TimerKind, at: DateTime<Utc> },
    /// Drop the pending timer of this kind, if any.
    CancelTimer(TimerKind),
    /// Ask the executor to act on the world; its outcome comes back as a new request.
    RunAction(Action),
}

/// What the executor is asked to do. One durable job exists per (release, action, stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Roll the stage at index `stage` out to `percent` of traffic.
    Deploy { stage: u8, percent: u8 },
    /// Undo the release, from the stage it had reached.
    Rollback { stage: u8 },
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Deploy { .. } => "deploy",
            Action::Rollback { .. } => "rollback",
        }
    }

    pub fn stage(self) -> u8 {
        match self {
            Action::Deploy { stage, .. } | Action::Rollback { stage } => stage,
        }
    }
}

/// Who a notice is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The release's thread, where the people following the release read along.
    Thread,
    /// The releases channel and every stakeholder channel; the stakeholder role is pinged in
    /// the stakeholder channels only.
    Everyone,
    /// The releases channel only, where the people who approve read.
    Releases,
}

/// A fact worth telling, with everything its message shows: renderers never look facts up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Notice {
    Approved {
        version: String,
        /// Who filled the approver slots, by display name.
        approvers: Vec<String>,
    },
    Rejected {
        version: String,
        by: String,
        reason: String,
    },
    Expired {
        version: String,
    },
    Cancelled {
        version: String,
        by: String,
        reason: String,
    },
    /// A rollout started.
    Started {
        version: String,
        kind: String,
        summary: String,
        environment: String,
        approvers: Vec<String>,
        by: String,
        /// Each stage with when it would start if every action succeeded at once.
        stages: Vec<PlannedStage>,
        /// When the verification would end, as a Unix timestamp.
        verified_at: i64,
        /// Whether an executor acts on each stage; without one only the schedule runs.
        executor: bool,
        /// The rollback contract the release was approved under.
        contract: Option<Box<ContractView>>,
    },
    /// Where a running rollout stands, posted every `progress_every`.
    Progress {
        version: String,
        phase: String,
        stage: String,
        percent: u8,
        /// Whole minutes in the current stage or verification.
        minutes_in: i64,
        /// When the next stage starts or the verification ends, if that is scheduled.
        next_at: Option<i64>,
        /// Since when the rollout is halted, if it is.
        halted_since: Option<i64>,
        /// Whether this notice also covers ticks missed while gonogo was down.
        catching_up: bool,
        /// The metric gates' last reading, when they watch the release.
        gates: Option<Box<GateView>>,
        /// Whole minutes the gates went without a look since the last notice, if they did.
        unwatched_minutes: Option<i64>,
    },
    /// The verification passed: the release is complete.
    Completed {
        version: String,
        summary: String,
        changelog: Option<String>,
        minutes: i64,
        /// Who was on call during the verification, if anyone claimed it.
        #[serde(default)]
        on_call: Option<String>,
    },
    /// Verification started: who is on call?
    OnCallAsked {
        version: String,
        within_minutes: i64,
    },
    /// Nobody claimed on call in time: the release managers are pinged.
    OnCallNeeded {
        version: String,
    },
    /// An executor action failed; a person must retry the stage or roll back.
    ActionFailed {
        version: String,
        action: String,
        stage: String,
        problem: String,
    },
    Halted {
        version: String,
        by: String,
        reason: String,
    },
    Resumed {
        version: String,
        by: String,
    },
    RollingBack {
        version: String,
        by: String,
        reason: String,
        stage: String,
    },
    /// Someone asks an exec to let the release past a guardrail once.
    OverrideRequested {
        version: String,
        by: String,
        reason: String,
    },
    OverrideApproved {
        version: String,
        by: String,
        requested_by: String,
        reason: String,
    },
    PostmortemFiled {
        version: String,
        by: String,
        text: String,
    },
    /// A finished release's thread asks for the retrospective, with a button.
    RetrospectivePrompt {
        version: String,
        /// `completed` or `rolled_back`.
        outcome: String,
    },
    RetrospectiveFiled {
        version: String,
        by: String,
    },
    /// Someone reported a problem; `limit` more than that many roll the release back.
    ProblemReported {
        version: String,
        by: String,
        text: String,
        count: usize,
        limit: u32,
    },
    RolledBack {
        version: String,
        by: String,
        reason: String,
        stage: String,
        /// Rollback requested → rollback confirmed, in seconds.
        restore_secs: i64,
    },
}

/// The metric gates' last reading of a rollout against its thresholds, as people read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateView {
    /// When it was read, as a Unix timestamp.
    pub at: i64,
    pub error_rate: Option<String>,
    pub max_error_rate: Option<String>,
    pub p99: Option<String>,
    pub max_p99: Option<String>,
    pub baseline_p99: Option<String>,
}

/// One stage of a start notice's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStage {
    pub name: String,
    pub percent: u8,
    /// When it would start, as a Unix timestamp.
    pub at: i64,
}

/// What a timer is for; a release has at most one pending timer of each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The poll's time to live ends.
    PollExpiry,
    /// The current stage's hold ends: the next stage, or the verification, starts.
    StageHold,
    /// The verification period ends: the release is complete.
    VerificationEnd,
    /// A progress notice is due.
    ProgressTick,
    /// The metric gates are due a look.
    GateCheck,
    /// The time to claim on call during verification ends.
    OnCallDue,
}

impl TimerKind {
    pub const ALL: [TimerKind; 6] = [
        TimerKind::PollExpiry,
        TimerKind::StageHold,
        TimerKind::VerificationEnd,
        TimerKind::ProgressTick,
        TimerKind::GateCheck,
        TimerKind::OnCallDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::PollExpiry => "poll_expiry",
            TimerKind::StageHold => "stage_hold",
            TimerKind::VerificationEnd => "verification_end",
            TimerKind::ProgressTick => "progress_tick",
            TimerKind::GateCheck => "gate_check",
            TimerKind::OnCallDue => "on_call_due",
        }
    }

    pub fn parse(text: &str) -> Option<TimerKind> {
        TimerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_kinds_round_trip_through_their_stored_names() {
        for kind in TimerKind::ALL {
            assert_eq!(TimerKind::parse(kind.as_str()), Some(kind));
        }
        let names: Vec<_> = TimerKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "poll_expiry",
                "stage_hold",
                "verification_end",
                "progress_tick",
                "gate_check",
                "on_call_due"
            ]
        );
        assert_eq!(TimerKind::parse("stage_advance"), None);
    }

    #[test]
    fn actions_name_their_job_and_stage() {
        let deploy = Action::Deploy {
            stage: 2,
            percent: 50,
        };
        let rollback = Action::Rollback { stage: 3 };
        assert_eq!((deploy.name(), deploy.stage()), ("deploy", 2));
        assert_eq!((rollback.name(), rollback.stage()), ("rollback", 3));
    }

    #[test]
    fn a_notice_is_stored_as_its_facts_under_the_state_it_reports() {
        let notice = Notice::Cancelled {
            version: "1.4.0".into(),
            by: "Avery".into(),
            reason: "scope changed".into(),
        };
        let json = serde_json::to_value(&notice).unwrap();
        assert_eq!(json["state"], "cancelled");
        assert_eq!(json["by"], "Avery");
        assert_eq!(serde_json::from_value::<Notice>(json).unwrap(), notice);
    }
}
