//! Which release a person means, and whether a version may be planned: the rules that turn a
//! typed version into one release.

use super::ids::UserId;
use super::parts::Origin;
use super::refusal::Refusal;
use super::release::{PlanRequest, Release};

/// One live release per version and environment: `same_version` holds every release of the
/// version being planned, and one that is still alive in `environment` refuses the plan.
pub fn ensure_unplanned<T: AsRef<Release>>(
    same_version: &[T],
    environment: &str,
) -> Result<(), Refusal> {
    match same_version
        .iter()
        .map(AsRef::as_ref)
        .find(|r| r.environment == environment && !r.state.ended_unshipped())
    {
        Some(live) => Err(Refusal::AlreadyPlanned {
            environment: live.environment.clone(),
            state: live.state,
        }),
        None => Ok(()),
    }
}

/// The live release an identical earlier plan made, if any: a pipeline that sends its plan
/// again, having lost the answer, gets that release instead of a conflict.
pub fn same_plan<'a, T: AsRef<Release>>(
    same_version: &'a [T],
    request: &PlanRequest,
    author: UserId,
) -> Option<&'a T> {
    same_version.iter().find(|r| {
        let r = r.as_ref();
        !r.state.ended_unshipped() && is_same_plan(r, request, author)
    })
}

/// Whether `release` is what planning `request` as `author` made: the same fields, build
/// metadata and the origin included, whatever became of it since. The idempotency key is
/// not a field: it names the request.
pub fn is_same_plan(release: &Release, request: &PlanRequest, author: UserId) -> bool {
    let origin = |origin: &Origin| Origin {
        idempotency_key: None,
        ..origin.clone()
    };
    release.version.to_string() == request.version.to_string()
        && release.environment == request.environment
        && release.kind == request.kind
        && release.summary == request.summary
        && release.changelog == request.changelog
        && release.author == author
        && origin(&release.origin) == origin(&request.origin)
}

/// The release meant by a version: `found` holds every release of it, newest first. Named an
/// environment, only that one counts; otherwise the version must live in just one.
pub fn pick<T: AsRef<Release>>(found: Vec<T>, environment: Option<&str>) -> Result<T, Refusal> {
    let mut found = found;
    if let Some(environment) = environment.map(str::trim) {
        found.retain(|r| r.as_ref().environment == environment);
    }
    let mut environments: Vec<String> = found
        .iter()
        .map(|r| r.as_ref().environment.clone())
        .collect();
    environments.sort();
    environments.dedup();
    if environments.len() > 1 {
        return Err(Refusal::AmbiguousVersion { environments });
    }
    found.into_iter().next().ok_or(Refusal::UnknownRelease)
}

/// The release a `/rollback` without a version means: the one rolling out now (in
/// `environment`, when named). `running` holds every release holding a deploy lock.
pub fn pick_running<T: AsRef<Release>>(
    running: Vec<T>,
    environment: Option<&str>,
) -> Result<T, Refusal> {
    let mut running = running;
    if let Some(environment) = environment.map(str::trim) {
        running.retain(|r| r.as_ref().environment == environment);
    }
    if running.len() > 1 {
        let versions = running
            .iter()
            .map(|r| format!("{} ({})", r.as_ref().version, r.as_ref().environment))
            .collect();
        return Err(Refusal::SeveralRunning { versions });
    }
    running.into_iter().next().ok_or(Refusal::NothingRunning)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::domain::lifecycle::poll::plan;
    use crate::domain::release::{PlanRequest, ReleaseState};
    use crate::domain::{ReleaseId, UserId};

    fn release(id: i64, environment: &str, state: ReleaseState) -> Release {
        let request =
            PlanRequest::parse("1.4.0", "minor", "Faster search", None, Some(environment)).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let mut release = plan(ReleaseId(id), request, UserId(1), TimeDelta::hours(1), now).release;
        release.state = state;
        release
    }

    /// The plan a pipeline sent for release 1 of `release(…)`, with its key.
    fn pipelines_plan() -> PlanRequest {
        let mut request =
            PlanRequest::parse("1.4.0", "minor", "Faster search", None, Some("production"))
                .unwrap();
        request.origin = Origin {
            token: Some("ci".into()),
            commit: Some("3f9c2ab".into()),
            idempotency_key: Some("run-1".into()),
            ..Origin::default()
        };
        request
    }

    fn planned_by_pipeline(state: ReleaseState) -> Release {
        let mut release = release(1, "production", state);
        release.origin = pipelines_plan().origin;
        release
    }

    #[test]
    fn the_same_plan_again_finds_the_release_it_made_whatever_its_key() {
        let made = [planned_by_pipeline(ReleaseState::Voting)];
        assert_eq!(
            same_plan(&made, &pipelines_plan(), UserId(1)).map(|r| r.id),
            Some(ReleaseId(1))
        );
        let mut other_key = pipelines_plan();
        other_key.origin.idempotency_key = Some("run-2".into());
        assert!(same_plan(&made, &other_key, UserId(1)).is_some());
        let completed = [planned_by_pipeline(ReleaseState::Completed)];
        assert!(same_plan(&completed, &pipelines_plan(), UserId(1)).is_some());
        let rejected = [planned_by_pipeline(ReleaseState::Rejected)];
        assert!(
            same_plan(&rejected, &pipelines_plan(), UserId(1)).is_none(),
            "a release that ended unshipped is no answer to a plan"
        );
    }

    /// A change of one field of a plan.
    type Change = fn(&mut PlanRequest);

    #[test]
    fn a_plan_that_differs_in_any_field_is_another_plan() {
        let made = planned_by_pipeline(ReleaseState::Voting);
        let changed: [(&str, Change); 7] = [
            ("build metadata", |r| {
                r.version = crate::domain::Version::parse("1.4.0+b").unwrap();
            }),
            ("environment", |r| r.environment = "staging".into()),
            ("type", |r| r.kind = crate::domain::ReleaseKind::Major),
            ("summary", |r| r.summary = "Slower search".into()),
            ("changelog", |r| r.changelog = Some("notes".into())),
            ("commit", |r| r.origin.commit = Some("4e0d3bc".into())),
            ("token", |r| r.origin.token = Some("other".into())),
        ];
        for (field, change) in changed {
            let mut request = pipelines_plan();
            change(&mut request);
            assert!(!is_same_plan(&made, &request, UserId(1)), "{field}");
        }
        assert!(
            !is_same_plan(&made, &pipelines_plan(), UserId(2)),
            "planned for someone else"
        );
        assert!(is_same_plan(&made, &pipelines_plan(), UserId(1)));
    }

    #[test]
    fn a_live_release_blocks_planning_its_version_again_in_its_environment() {
        let live = [release(1, "production", ReleaseState::Approved)];
        assert_eq!(
            ensure_unplanned(&live, "production"),
            Err(Refusal::AlreadyPlanned {
                environment: "production".into(),
                state: ReleaseState::Approved
            })
        );
        assert_eq!(ensure_unplanned(&live, "staging"), Ok(()));
    }

    #[test]
    fn a_release_that_ended_unshipped_frees_its_version() {
        let ended = [
            release(1, "production", ReleaseState::Rejected),
            release(2, "production", ReleaseState::RolledBack),
        ];
        assert_eq!(ensure_unplanned(&ended, "production"), Ok(()));
        let shipped = [release(3, "production", ReleaseState::Completed)];
        assert!(ensure_unplanned(&shipped, "production").is_err());
    }

    #[test]
    fn a_version_in_one_environment_needs_no_environment_named() {
        let found = vec![
            release(2, "staging", ReleaseState::Voting),
            release(1, "staging", ReleaseState::Expired),
        ];
        assert_eq!(pick(found, None).unwrap().id, ReleaseId(2), "the newest");
    }

    #[test]
    fn a_version_in_two_environments_asks_which() {
        let found = || {
            vec![
                release(2, "staging", ReleaseState::Voting),
                release(1, "production", ReleaseState::Voting),
            ]
        };
        assert_eq!(
            pick(found(), None),
            Err(Refusal::AmbiguousVersion {
                environments: vec!["production".into(), "staging".into()]
            })
        );
        assert_eq!(
            pick(found(), Some(" production ")).unwrap().id,
            ReleaseId(1)
        );
        assert_eq!(pick(found(), Some("qa")), Err(Refusal::UnknownRelease));
        assert_eq!(
            pick(Vec::<Release>::new(), None),
            Err(Refusal::UnknownRelease)
        );
    }

    #[test]
    fn a_rollback_without_a_version_means_the_one_release_rolling_out() {
        let one = || vec![release(4, "production", ReleaseState::Deploying)];
        assert_eq!(pick_running(one(), None).unwrap().id, ReleaseId(4));
        assert_eq!(
            pick_running(one(), Some("staging")),
            Err(Refusal::NothingRunning)
        );
        assert_eq!(
            pick_running(Vec::<Release>::new(), None),
            Err(Refusal::NothingRunning)
        );
        let two = || {
            vec![
                release(4, "production", ReleaseState::Deploying),
                release(5, "staging", ReleaseState::Halted),
            ]
        };
        assert_eq!(
            pick_running(two(), None),
            Err(Refusal::SeveralRunning {
                versions: vec!["1.4.0 (production)".into(), "1.4.0 (staging)".into()]
            })
        );
        assert_eq!(
            pick_running(two(), Some(" staging ")).unwrap().id,
            ReleaseId(5)
        );
    }
}
