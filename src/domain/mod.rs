//! The pure core: releases, policies and votes. No I/O, no clock: `now` comes in as an argument.

pub mod ids;
pub mod policy;
pub mod poll;
pub mod release;
pub mod transition;

pub use ids::{ReleaseId, RoleId, UserId};
pub use policy::{Policies, Policy, Role, Slot};
pub use poll::{Ballot, Choice, Tally};
pub use release::{PlanRequest, Release, ReleaseKind, ReleaseState, Version};
pub use transition::{Effect, Event, Refusal, Transition};
