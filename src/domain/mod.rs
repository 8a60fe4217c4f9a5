//! The pure core: releases, policies, votes and the lifecycle. No I/O, no clock: `now` comes
//! in as an argument, and decisions come out as new state, audit events and effects.

pub mod checklist;
pub mod contract;
pub mod effect;
pub mod gates;
pub mod ids;
pub mod lifecycle;
pub mod lookup;
pub mod order;
pub mod parts;
pub mod policy;
pub mod poll;
pub mod refusal;
pub mod release;
pub mod rollout;
pub mod stats;
pub mod text;
pub mod windows;

pub use effect::{Action, Audience, Effect, Notice, TimerKind};
pub use ids::{ReleaseId, RoleId, UserId};
pub use lifecycle::{Event, Transition};
pub use policy::{Policies, Policy, Role, Slot};
pub use poll::{Ballot, Choice, Tally};
pub use refusal::Refusal;
pub use release::{
    Deployment, Milestone, PlanRequest, ProblemReport, Release, ReleaseKind, ReleaseState,
    RollbackRequest, Version,
};
