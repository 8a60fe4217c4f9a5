//! The records a release carries beside its state: its checklist items, its overrides and its
//! retrospectives. The rules that change them live with their phases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// An item of a release's checklist, and who ticked it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub section: String,
    pub item: String,
    pub ticked_by: Option<String>,
    pub ticked_at: Option<DateTime<Utc>>,
}

/// An override of one release, from its request to its post-mortem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub requested_by: UserId,
    pub requested_by_name: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// What it let through, once it has.
    pub used_for: Option<String>,
    pub postmortem: Option<String>,
    pub postmortem_by: Option<String>,
    pub postmortem_at: Option<DateTime<Utc>>,
}

impl Override {
    /// Whether it has not let anything through yet.
    pub fn is_open(&self) -> bool {
        self.used_for.is_none()
    }
}

/// One person's answers to a release's retrospective.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retrospective {
    pub by: String,
    pub went_well: String,
    pub improve: String,
    pub actions: String,
    pub at: DateTime<Utc>,
}
