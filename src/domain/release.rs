//! A release and the values it is built from, each parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::contract::Contract;
use super::gates::Watch;
use super::ids::{ReleaseId, UserId};
use super::parts::{Check, Origin, Override, Retrospective};
use super::text::{bounded_text, short_name};

/// The environment a release is planned in, and whose figures are shown, when none is named.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// Longest text accepted for a summary; it must fit an embed description with room to spare.
pub const MAX_SUMMARY: usize = 1000;
/// Longest changelog text or link.
pub const MAX_CHANGELOG: usize = 1000;
/// Longest reason for a No-Go, a cancellation or an override.
pub const MAX_REASON: usize = 500;

/// The kind of release, which selects its approval policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    Hotfix,
    Patch,
    Minor,
    Major,
}

impl ReleaseKind {
    pub const ALL: [ReleaseKind; 4] = [
        ReleaseKind::Hotfix,
        ReleaseKind::Patch,
        ReleaseKind::Minor,
        ReleaseKind::Major,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Hotfix => "hotfix",
            ReleaseKind::Patch => "patch",
            ReleaseKind::Minor => "minor",
            ReleaseKind::Major => "major",
        }
    }
}

impl fmt::Display for ReleaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a release type; use hotfix, patch, minor or major")
            })
    }
}

/// Where a release is in its lifecycle; the names are the ones stored in `releases.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    Planned,
    Voting,
    Approved,
    Rejected,
    Expired,
    Cancelled,
    Deploying,
    Halted,
    Verifying,
    Completed,
    RollingBack,
    RolledBack,
}

impl ReleaseState {
    pub const ALL: [ReleaseState; 12] = [
        ReleaseState::Planned,
        ReleaseState::Voting,
        ReleaseState::Approved,
        ReleaseState::Rejected,
        ReleaseState::Expired,
        ReleaseState::Cancelled,
        ReleaseState::Deploying,
        ReleaseState::Halted,
        ReleaseState::Verifying,
        ReleaseState::Completed,
        ReleaseState::RollingBack,
        ReleaseState::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Planned => "planned",
            ReleaseState::Voting => "voting",
            ReleaseState::Approved => "approved",
            ReleaseState::Rejected => "rejected",
            ReleaseState::Expired => "expired",
            ReleaseState::Cancelled => "cancelled",
            ReleaseState::Deploying => "deploying",
            ReleaseState::Halted => "halted",
            ReleaseState::Verifying => "verifying",
            ReleaseState::Completed => "completed",
            ReleaseState::RollingBack => "rolling_back",
            ReleaseState::RolledBack => "rolled_back",
        }
    }

    /// Whether the poll still takes votes.
    pub fn is_open(self) -> bool {
        matches!(self, ReleaseState::Planned | ReleaseState::Voting)
    }

    /// Whether a release in this state holds its environment's deploy lock: at most one does.
    pub fn holds_deploy_lock(self) -> bool {
        matches!(
            self,
            ReleaseState::Deploying
                | ReleaseState::Halted
                | ReleaseState::Verifying
                | ReleaseState::RollingBack
        )
    }

    /// Whether nothing more will happen to the release: shipped, rolled back or never shipped.
    pub fn is_final(self) -> bool {
        self == ReleaseState::Completed || self.ended_unshipped()
    }

    /// Whether the release ended without shipping, so its version may be planned again.
    pub fn ended_unshipped(self) -> bool {
        matches!(
            self,
            ReleaseState::Rejected
                | ReleaseState::Expired
                | ReleaseState::Cancelled
                | ReleaseState::RolledBack
        )
    }
}

impl fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown release state `{s}`"))
    }
}

/// What a pipeline waits for a release to reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// The poll is over.
    Decided,
    /// The rollout reached verification.
    Deployed,
    /// Nothing more will happen to it.
    Finished,
}

impl Milestone {
    pub fn as_str(self) -> &'static str {
        match self {
            Milestone::Decided => "decided",
            Milestone::Deployed => "deployed",
            Milestone::Finished => "finished",
        }
    }

    /// Whether a release that settled this milestone in `state` may go ahead: approved and
    /// not rolling back, for a decision; verifying or completed, for a deployment or an end.
    pub fn means_go(self, state: ReleaseState) -> bool {
        use ReleaseState as S;
        match self {
            Milestone::Decided => matches!(
                state,
                S::Approved | S::Deploying | S::Halted | S::Verifying | S::Completed
            ),
            Milestone::Deployed | Milestone::Finished => {
                matches!(state, S::Verifying | S::Completed)
            }
        }
    }

    /// Whether a release in `state` has settled this milestone: reached it, or ended where
    /// it never will, so a pipeline waiting on it stops waiting either way.
    pub fn settled(self, state: ReleaseState) -> bool {
        match self {
            Milestone::Decided => !state.is_open(),
            Milestone::Deployed => {
                matches!(state, ReleaseState::Verifying | ReleaseState::Completed)
                    || state.ended_unshipped()
            }
            Milestone::Finished => state.is_final(),
        }
    }
}

impl FromStr for Milestone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "decided" => Ok(Milestone::Decided),
            "deployed" => Ok(Milestone::Deployed),
            "finished" => Ok(Milestone::Finished),
            other => Err(format!(
                "`{other}` is not a milestone; use decided, deployed or finished"
            )),
        }
    }
}

/// A semantic version such as `1.4.0` or `2.0.0-rc.1`. Two versions that differ only in build
/// metadata (`1.4.0+a`, `1.4.0+b`) are the same version, as semver says; the metadata is kept
/// for display.
#[derive(Clone, Debug)]
pub struct Version(semver::Version);

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        let (a, b) = (&self.0, &other.0);
        (a.major, a.minor, a.patch, &a.pre) == (b.major, b.minor, b.patch, &b.pre)
    }
}

impl Eq for Version {}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let v = &self.0;
        (v.major, v.minor, v.patch, &v.pre).hash(state);
    }
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let text = text.trim();
        if text.len() > 64 {
            return Err("a version is at most 64 characters long".to_owned());
        }
        semver::Version::parse(text).map(Version).map_err(|_| {
            let hint = if text.starts_with('v') {
                " (without the leading `v`)"
            } else {
                ""
            };
            format!("`{text}` is not a semantic version; write it like 1.4.0 or 2.0.0-rc.1{hint}")
        })
    }
}

impl Version {
    /// The version without its build metadata: what identifies it.
    pub fn key(&self) -> String {
        let v = &self.0;
        semver::Version {
            build: semver::BuildMetadata::EMPTY,
            ..v.clone()
        }
        .to_string()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A release as the domain sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub id: ReleaseId,
    pub version: Version,
    pub kind: ReleaseKind,
    pub state: ReleaseState,
    pub summary: String,
    pub changelog: Option<String>,
    pub environment: String,
    pub author: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why the poll ended as it did: the veto or cancellation reason.
    pub decision_reason: Option<String>,
    /// The rollout, once someone has started it.
    pub deployment: Option<Deployment>,
    /// The rollback contract fixed when the poll approved it.
    pub contract: Option<Contract>,
    /// The checklist its type requires, as ticked so far.
    pub checklist: Vec<Check>,
    /// Overrides asked for it, oldest first.
    pub overrides: Vec<Override>,
    /// Its retrospectives, one per person, once it finished.
    pub retrospectives: Vec<Retrospective>,
    /// The pipeline or promotion it came from; empty when planned from chat.
    pub origin: Origin,
}

impl AsRef<Release> for Release {
    fn as_ref(&self) -> &Release {
        self
    }
}

/// Who asked for a rollback, why, and when: the rollback notices repeat it, and the time to
/// restore counts from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackRequest {
    pub by: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    /// When its action last failed, until someone retries it.
    pub failed_at: Option<DateTime<Utc>>,
}

/// Where a started rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub started_by: UserId,
    pub started_by_name: String,
    pub started_at: DateTime<Utc>,
    /// The index of the current stage in the rollout's stages.
    pub stage: u8,
    pub stage_started_at: DateTime<Utc>,
    /// When the running clock ends: the current stage's hold, once its action succeeded, or
    /// the verification. `None` while the stage's action runs.
    pub clock_ends_at: Option<DateTime<Utc>>,
    /// When the verification started, once it has.
    pub verify_started_at: Option<DateTime<Utc>>,
    /// Since when it is halted, while it is.
    pub halted_at: Option<DateTime<Utc>>,
    /// Time spent halted so far, which does not count toward a stage's hold.
    pub halted_for: TimeDelta,
    /// The rollback someone asked for, once they have.
    pub rollback: Option<RollbackRequest>,
    /// When it completed or finished rolling back.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the metric gates have seen of it.
    pub watch: Watch,
    /// Problems people reported from chat, one per person, oldest first.
    pub reports: Vec<ProblemReport>,
    /// Who is on call for its verification, once someone claimed it.
    pub on_call: Option<OnCall>,
}

/// Someone on call during a release's verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCall {
    pub by: UserId,
    pub name: String,
    pub at: DateTime<Utc>,
}

/// A problem someone reported from chat while the release rolled out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemReport {
    pub by: UserId,
    pub name: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// What `/release plan` asks for, already parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRequest {
    pub version: Version,
    pub kind: ReleaseKind,
    pub summary: String,
    pub changelog: Option<String>,
    pub environment: String,
    /// What a pipeline or a promotion tells about it; empty from chat.
    pub origin: Origin,
}

impl PlanRequest {
    /// Parses the raw command options, naming the first one that is wrong.
    pub fn parse(
        version: &str,
        kind: &str,
        summary: &str,
        changelog: Option<&str>,
        environment: Option<&str>,
    ) -> Result<PlanRequest, String> {
        Self::parse_each(version, kind, summary, changelog, environment)
            .map_err(|mut wrong| wrong.swap_remove(0).1)
    }

    /// Parses the raw options, naming every one that is wrong, each by its option's name.
    pub fn parse_each(
        version: &str,
        kind: &str,
        summary: &str,
        changelog: Option<&str>,
        environment: Option<&str>,
    ) -> Result<PlanRequest, Vec<(&'static str, String)>> {
        fn check<T>(
            wrong: &mut Vec<(&'static str, String)>,
            option: &'static str,
            parsed: Result<T, String>,
        ) -> Option<T> {
            parsed.map_err(|problem| wrong.push((option, problem))).ok()
        }
        let mut wrong = Vec::new();
        let version = check(&mut wrong, "version", Version::parse(version));
        let kind = check(&mut wrong, "type", kind.parse());
        let summary = check(
            &mut wrong,
            "summary",
            bounded_text("summary", summary, MAX_SUMMARY),
        );
        let changelog = check(
            &mut wrong,
            "changelog",
            changelog
                .map(|text| bounded_text("changelog", text, MAX_CHANGELOG))
                .transpose(),
        );
        let environment = check(
            &mut wrong,
            "environment",
            environment_name(environment.unwrap_or(DEFAULT_ENVIRONMENT)),
        );
        match (version, kind, summary, changelog, environment) {
            (Some(version), Some(kind), Some(summary), Some(changelog), Some(environment)) => {
                Ok(PlanRequest {
                    version,
                    kind,
                    summary,
                    changelog,
                    environment,
                    origin: Origin::default(),
                })
            }
            _ => Err(wrong),
        }
    }
}

/// An environment name: up to 32 lowercase letters, digits, `-` or `_`.
pub fn environment_name(name: &str) -> Result<String, String> {
    short_name(name).ok_or_else(|| {
        format!(
            "`{}` is not an environment name; use up to 32 lowercase letters, digits, `-` or `_`",
            name.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_be_semantic() {
        assert_eq!(Version::parse(" 1.4.0 ").unwrap().to_string(), "1.4.0");
        assert_eq!(
            Version::parse("2.0.0-rc.1").unwrap().to_string(),
            "2.0.0-rc.1"
        );
        assert!(Version::parse("1.4")
            .unwrap_err()
            .contains("not a semantic version"));
        assert!(Version::parse("v1.4.0")
            .unwrap_err()
            .contains("leading `v`"));
        assert!(Version::parse(&"1".repeat(65)).unwrap_err().contains("64"));
    }

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in ReleaseState::ALL {
            assert_eq!(state.as_str().parse::<ReleaseState>(), Ok(state));
        }
        assert_eq!(ReleaseState::RolledBack.as_str(), "rolled_back");
        assert_eq!(ReleaseState::RollingBack.to_string(), "rolling_back");
        assert_eq!(ReleaseKind::Hotfix.to_string(), "hotfix");
        assert!(
            ReleaseState::Expired.ended_unshipped() && ReleaseState::RolledBack.ended_unshipped()
        );
        assert!(
            !ReleaseState::Voting.ended_unshipped() && !ReleaseState::Completed.ended_unshipped()
        );
    }

    #[test]
    fn a_version_may_be_64_characters_long_and_no_longer() {
        let longest = format!("1.0.0-{}", "a".repeat(58));
        assert_eq!(Version::parse(&longest).unwrap().to_string(), longest);
        let too_long = format!("{longest}a");
        assert_eq!(
            Version::parse(&too_long).unwrap_err(),
            "a version is at most 64 characters long"
        );
    }

    #[test]
    fn texts_are_bounded_in_characters_not_bytes() {
        assert_eq!(
            bounded_text("summary", &"é".repeat(10), 10)
                .unwrap()
                .chars()
                .count(),
            10
        );
        assert_eq!(
            bounded_text("summary", &"é".repeat(11), 10).unwrap_err(),
            "the summary is 11 characters long; the limit is 10"
        );
    }

    #[test]
    fn build_metadata_is_shown_but_does_not_make_another_version() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let hash = |v: &Version| {
            let mut h = DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        let a = Version::parse("1.4.0+a").unwrap();
        let b = Version::parse("1.4.0+b").unwrap();
        assert_eq!(a, b);
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(a.to_string(), "1.4.0+a");
        assert_eq!(a.key(), "1.4.0");
        let rc = Version::parse("1.4.0-rc.1+b").unwrap();
        assert_eq!(rc.key(), "1.4.0-rc.1");
        for other in ["1.4.0-rc.1", "1.4.1", "1.5.0", "2.4.0"] {
            let other = Version::parse(other).unwrap();
            assert_ne!(a, other, "{other}");
            assert_ne!(hash(&a), hash(&other), "{other}");
        }
    }

    #[test]
    fn environment_names_are_short_lowercase_words() {
        let env = |name| PlanRequest::parse("1.4.0", "minor", "x", None, Some(name));
        assert_eq!(env(" prod-eu_2 ").unwrap().environment, "prod-eu_2");
        let longest = "a".repeat(32);
        assert_eq!(env(&longest).unwrap().environment, longest);
        let too_long = "a".repeat(33);
        for bad in ["", "  ", "Prod", "prod eu", "prod.eu", &too_long] {
            assert!(
                env(bad).unwrap_err().contains("not an environment name"),
                "{bad:?}"
            );
        }
        for single in ["a", "7", "-", "_"] {
            assert!(env(single).is_ok(), "{single:?}");
        }
    }

    #[test]
    fn only_shipped_rolled_back_and_unshipped_releases_are_final() {
        let final_states: Vec<_> = ReleaseState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(ReleaseState::as_str)
            .collect();
        assert_eq!(
            final_states,
            [
                "rejected",
                "expired",
                "cancelled",
                "completed",
                "rolled_back"
            ]
        );
    }

    #[test]
    fn a_milestone_settles_when_reached_or_out_of_reach() {
        let settled = |milestone: Milestone| -> Vec<&str> {
            ReleaseState::ALL
                .into_iter()
                .filter(|state| milestone.settled(*state))
                .map(ReleaseState::as_str)
                .collect()
        };
        assert_eq!(
            settled(Milestone::Decided),
            [
                "approved",
                "rejected",
                "expired",
                "cancelled",
                "deploying",
                "halted",
                "verifying",
                "completed",
                "rolling_back",
                "rolled_back"
            ]
        );
        assert_eq!(
            settled(Milestone::Deployed),
            [
                "rejected",
                "expired",
                "cancelled",
                "verifying",
                "completed",
                "rolled_back"
            ]
        );
        assert_eq!(
            settled(Milestone::Finished),
            [
                "rejected",
                "expired",
                "cancelled",
                "completed",
                "rolled_back"
            ]
        );
        assert_eq!("deployed".parse(), Ok(Milestone::Deployed));
        assert!("shipped"
            .parse::<Milestone>()
            .unwrap_err()
            .contains("decided, deployed or finished"));
    }

    #[test]
    fn only_a_running_rollout_holds_the_deploy_lock() {
        let holders: Vec<_> = ReleaseState::ALL
            .into_iter()
            .filter(|s| s.holds_deploy_lock())
            .collect();
        assert_eq!(
            holders,
            [
                ReleaseState::Deploying,
                ReleaseState::Halted,
                ReleaseState::Verifying,
                ReleaseState::RollingBack
            ]
        );
    }

    #[test]
    fn a_plan_request_can_name_every_bad_option_at_once() {
        let long = "x".repeat(MAX_CHANGELOG + 1);
        let wrong =
            PlanRequest::parse_each("v1", "giant", " ", Some(&long), Some("Prod!")).unwrap_err();
        let options: Vec<&str> = wrong.iter().map(|(option, _)| *option).collect();
        assert_eq!(
            options,
            ["version", "type", "summary", "changelog", "environment"]
        );
        assert_eq!(
            PlanRequest::parse("v1", "giant", "x", None, None).unwrap_err(),
            wrong[0].1,
            "one option at a time names the first"
        );
    }

    #[test]
    fn plan_requests_name_the_bad_option() {
        let ok = PlanRequest::parse("1.4.0", "minor", "Faster search", None, None).unwrap();
        assert_eq!(ok.environment, "production");
        assert!(PlanRequest::parse("1.4.0", "giant", "x", None, None)
            .unwrap_err()
            .contains("release type"));
        assert!(PlanRequest::parse("1.4.0", "minor", "  ", None, None)
            .unwrap_err()
            .contains("summary is empty"));
        let long = "x".repeat(MAX_SUMMARY + 1);
        assert!(PlanRequest::parse("1.4.0", "minor", &long, None, None)
            .unwrap_err()
            .contains("limit is 1000"));
        assert!(
            PlanRequest::parse("1.4.0", "minor", "x", None, Some("Prod!"))
                .unwrap_err()
                .contains("environment")
        );
    }
}
