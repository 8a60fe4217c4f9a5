//! Why a request was turned down: the rules of the domain, each shown only to the person who
//! asked, with what they need to know to do better.

use chrono::{DateTime, Utc};

use super::policy::Role;
use super::release::{ReleaseKind, ReleaseState};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Planning takes one of these roles, and the person holds none.
    NotAPlanner {
        planners: Vec<Role>,
    },
    /// The voter holds none of the roles the release's policy takes votes from.
    NotEligible {
        kind: ReleaseKind,
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
    /// A live release of this version already exists in the environment.
    AlreadyPlanned {
        environment: String,
        state: ReleaseState,
    },
    UnknownRelease,
    /// The version lives in several environments; the person must say which.
    AmbiguousVersion {
        environments: Vec<String>,
    },
    /// Another release holds the environment's deploy lock.
    DeployLocked {
        holder: String,
        environment: String,
        state: ReleaseState,
    },
    /// There is no rollout in progress or recently completed to undo.
    NothingToRollBack {
        state: ReleaseState,
    },
    /// The release completed and its type's rollback window has passed.
    RollbackWindowClosed {
        closed_at: DateTime<Utc>,
    },
    /// Outside every allow window; `next_open` is the next time a deployment may start.
    OutsideWindow {
        next_open: Option<DateTime<Utc>>,
    },
    /// Inside a blackout, which lasts `until`.
    InBlackout {
        until: DateTime<Utc>,
        next_open: Option<DateTime<Utc>>,
    },
    /// Only an approved release can start deploying.
    NotApproved {
        state: ReleaseState,
    },
    /// Starting and rolling back a deployment takes the deployer role (rolling back, also
    /// the release manager's).
    NotADeployer,
    /// Halting and resuming take the release manager role.
    NotAReleaseManager,
    /// Only a running deployment or verification can be halted.
    CannotHalt {
        state: ReleaseState,
    },
    /// Only a halted deployment can be resumed.
    NotHalted {
        state: ReleaseState,
    },
    AlreadyRollingBack,
    /// A `/rollback` without a version, while nothing rolls out.
    NothingRunning,
    /// A `/rollback` without a version, while several releases roll out; it lists them.
    SeveralRunning {
        versions: Vec<String>,
    },
    /// Problems are reported while a release rolls out, not before or after.
    NotRollingOut {
        state: ReleaseState,
    },
    /// One problem report per person per release counts.
    AlreadyReported,
    /// Ticking the checklist takes one of these roles.
    CannotTick {
        roles: Vec<Role>,
    },
    /// The checklist is fixed once the rollout starts.
    ChecklistClosed {
        state: ReleaseState,
    },
    /// A menu of a checklist section the release does not have.
    StaleChecklist,
    /// `/deploy` waits for these required items.
    ChecklistOpen {
        items: Vec<String>,
    },
    /// A pipeline reported these items failed, each with its link when it gave one.
    ChecksFailed {
        items: Vec<(String, Option<String>)>,
    },
    /// The environment follows `after`, where the version has not completed, or completed
    /// and still soaks until `soak_ends`.
    OrderNotMet {
        environment: String,
        after: String,
        completed_at: Option<DateTime<Utc>>,
        soak_ends: Option<DateTime<Utc>>,
    },
    /// A promotion of this release was planned already.
    AlreadyPromoted {
        environment: String,
        state: ReleaseState,
    },
    /// Only a completed release in an environment with `next` is promoted.
    CannotPromote {
        state: ReleaseState,
    },
    /// Promoting takes the deployer or release manager role.
    CannotPromoteRoles {
        roles: Vec<Role>,
    },
    /// Claiming on call takes one of these roles.
    CannotBeOnCall {
        roles: Vec<Role>,
    },
    /// On call is claimed during verification only.
    NotVerifying {
        state: ReleaseState,
    },
    /// Only a pipeline may tick this item.
    PipelineOnly {
        item: String,
    },
    /// A pipeline reported on an item the release's checklist does not have; these it has.
    UnknownItem {
        items: Vec<String>,
    },
    /// Asking for an override takes one of these roles.
    CannotRequestOverride {
        roles: Vec<Role>,
    },
    /// A release that ended without deploying has no guardrail left to pass.
    NothingToOverride {
        state: ReleaseState,
    },
    /// An override of the release is already asked for or approved and not used yet.
    OverrideAlreadyAsked,
    /// Approving an override takes the exec role.
    NotAnExec,
    /// No override of the release waits for approval.
    NoOverrideAsked,
    /// Whoever asked for an override cannot approve it.
    OwnOverride,
    /// The release has no approved override whose post-mortem is still to be filed.
    NoPostmortemOpen,
    /// A retrospective waits until the release completed or was rolled back.
    NotFinished {
        state: ReleaseState,
    },
}
