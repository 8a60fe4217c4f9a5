//! Promotion: a release that completed in an environment with `next` is planned again there,
//! carrying what it was and the evidence of how it went.

use super::inputs::Person;
use crate::domain::effect::GateView;
use crate::domain::parts::{Evidence, Origin};
use crate::domain::policy::Role;
use crate::domain::refusal::Refusal;
use crate::domain::release::{PlanRequest, Release, ReleaseState};
use crate::domain::text::excerpt;

/// Who may promote: whoever may deploy, or manages releases.
pub const PROMOTERS: [Role; 2] = [Role::Deployer, Role::ReleaseManager];

/// How many problem reports the evidence quotes, and how much of each.
const QUOTED_REPORTS: usize = 3;
const REPORT_EXCERPT: usize = 120;

/// The plan that promotes `release` to `next`, by `by`. `in_next` holds the releases of its
/// version in `next`: a live one refuses the promotion, as a second click or another plan.
/// `gates` is the metric gates' last reading of its rollout, when they watched it.
pub fn promotion<T: AsRef<Release>>(
    release: &Release,
    next: &str,
    by: Person<'_>,
    in_next: &[T],
    gates: Option<GateView>,
) -> Result<PlanRequest, Refusal> {
    if !by.roles.iter().any(|role| PROMOTERS.contains(role)) {
        return Err(Refusal::CannotPromoteRoles {
            roles: PROMOTERS.to_vec(),
        });
    }
    let live = in_next
        .iter()
        .map(AsRef::as_ref)
        .find(|r| r.environment == next && !r.state.ended_unshipped());
    if let Some(live) = live {
        return Err(if live.origin.promoted_from == Some(release.id) {
            Refusal::AlreadyPromoted {
                environment: live.environment.clone(),
                state: live.state,
            }
        } else {
            Refusal::AlreadyPlanned {
                environment: live.environment.clone(),
                state: live.state,
            }
        });
    }
    let completed = release
        .deployment
        .as_ref()
        .and_then(|d| Some((d, d.finished_at?)))
        .filter(|_| release.state == ReleaseState::Completed);
    let Some((deployment, completed_at)) = completed else {
        return Err(Refusal::CannotPromote {
            state: release.state,
        });
    };
    let verified_for_secs = deployment
        .verify_started_at
        .map_or(0, |started| (completed_at - started).num_seconds());
    let evidence = Evidence {
        environment: release.environment.clone(),
        completed_at,
        verified_for_secs,
        reports: deployment
            .reports
            .iter()
            .take(QUOTED_REPORTS)
            .map(|r| format!("{}: {}", r.name, excerpt(&r.text, REPORT_EXCERPT)))
            .collect(),
        report_count: deployment.reports.len(),
        error_rate: gates.as_ref().and_then(|g| g.error_rate.clone()),
        p99: gates.and_then(|g| g.p99),
    };
    let from = &release.origin;
    Ok(PlanRequest {
        version: release.version.clone(),
        kind: release.kind,
        summary: release.summary.clone(),
        changelog: release.changelog.clone(),
        environment: next.to_owned(),
        origin: Origin {
            token: None,
            commit: from.commit.clone(),
            commit_time: from.commit_time,
            build_url: from.build_url.clone(),
            artifact: from.artifact.clone(),
            promoted_from: Some(release.id),
            idempotency_key: None,
            evidence: Some(evidence),
        },
    })
}

#[cfg(test)]
#[path = "promote_tests.rs"]
mod tests;
