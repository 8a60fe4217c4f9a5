//! The records a release carries beside its state: its checklist items, its overrides and its
//! retrospectives. The rules that change them live with their phases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{ReleaseId, UserId};

/// An item of a release's checklist, and who ticked it: a person, or for an item only a
/// pipeline may tick, the pipeline's report, which may say it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub section: String,
    pub item: String,
    pub ticked_by: Option<String>,
    pub ticked_at: Option<DateTime<Utc>>,
    /// Only the pipeline door's check endpoint may tick it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub by_pipeline: bool,
    /// The pipeline reported it failed: it blocks `/deploy` until a later report passes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// Where the pipeline's report can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where an item stands, as the card and the pipeline door show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    Open,
    Passed,
    Failed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Open => "open",
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
        }
    }
}

impl Check {
    pub fn status(&self) -> CheckStatus {
        match (&self.ticked_by, self.failed) {
            (None, _) => CheckStatus::Open,
            (Some(_), false) => CheckStatus::Passed,
            (Some(_), true) => CheckStatus::Failed,
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// Where a release came from when a pipeline planned it or a promotion carried it over:
/// the card shows it, and lead time counts from its commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The API token that planned it, when a pipeline did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The release in the environment before, whose completion this one was promoted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<ReleaseId>,
    /// The pipeline's `Idempotency-Key`: the same key plans nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How the release it was promoted from went, as its card shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// How a release went in the environment before, as a promotion carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub environment: String,
    pub completed_at: DateTime<Utc>,
    /// How long it was verified at 100%.
    pub verified_for_secs: i64,
    /// The first few problem reports, as `name: text`.
    pub reports: Vec<String>,
    pub report_count: usize,
    /// The metric gates' last reading, when they watched it.
    pub error_rate: Option<String>,
    pub p99: Option<String>,
}

impl Origin {
    /// Whether there is nothing to tell: a release planned from chat.
    pub fn is_empty(&self) -> bool {
        *self == Origin::default()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_people_tick_is_stored_as_before_pipelines_existed() {
        let check = Check {
            section: "Documentation".into(),
            item: "CHANGELOG".into(),
            ticked_by: None,
            ticked_at: None,
            by_pipeline: false,
            failed: false,
            url: None,
        };
        assert_eq!(
            serde_json::to_value(&check).unwrap(),
            serde_json::json!({ "section": "Documentation", "item": "CHANGELOG", "ticked_by": null, "ticked_at": null })
        );
        let failed = Check {
            ticked_by: Some("token:ci".into()),
            by_pipeline: true,
            failed: true,
            url: Some("https://ci.example.com/1".into()),
            ..check
        };
        let stored = serde_json::to_value(&failed).unwrap();
        assert_eq!(
            (&stored["by_pipeline"], &stored["failed"]),
            (&serde_json::json!(true), &serde_json::json!(true))
        );
        assert_eq!(serde_json::from_value::<Check>(stored).unwrap(), failed);
        assert_eq!(failed.status(), CheckStatus::Failed);
    }

    #[test]
    fn an_origin_is_empty_only_when_it_tells_nothing() {
        assert!(Origin::default().is_empty());
        let from_ci = Origin {
            token: Some("ci".into()),
            ..Origin::default()
        };
        assert!(!from_ci.is_empty());
        let promoted = Origin {
            promoted_from: Some(ReleaseId(7)),
            ..Origin::default()
        };
        assert!(!promoted.is_empty());
    }
}
