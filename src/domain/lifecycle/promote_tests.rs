//! Stories of promotion: a completed release is planned again in the next environment, once.

use chrono::TimeDelta;

use super::*;
use crate::domain::effect::GateView;
use crate::domain::gates::Watch;
use crate::domain::ids::{ReleaseId, UserId};
use crate::domain::lifecycle::deploy::tests::{approved, at, deployer, manager, t0};
use crate::domain::release::{Deployment, ProblemReport};

/// The approved patch, completed in staging at t0 + 2h after an hour of verification, with
/// two problem reports, from a pipeline's commit.
fn completed_in_staging() -> Release {
    let (mut release, _) = approved();
    release.environment = "staging".into();
    release.origin = Origin {
        token: Some("ci".into()),
        commit: Some("3f9c2ab".into()),
        commit_time: Some(t0() - TimeDelta::hours(3)),
        build_url: Some("https://ci.example.com/runs/812".into()),
        artifact: Some("app@sha256:ab".into()),
        idempotency_key: Some("run-812".into()),
        ..Origin::default()
    };
    release.state = ReleaseState::Completed;
    let report = |name: &str, text: &str| ProblemReport {
        by: UserId(8),
        name: name.into(),
        text: text.into(),
        at: at(70),
    };
    release.deployment = Some(Deployment {
        started_by: UserId(5),
        started_by_name: "Dee".into(),
        started_at: t0(),
        stage: 3,
        stage_started_at: at(60),
        clock_ends_at: None,
        verify_started_at: Some(at(60)),
        halted_at: None,
        halted_for: TimeDelta::zero(),
        rollback: None,
        finished_at: Some(at(120)),
        watch: Watch::default(),
        reports: vec![report("Ana", "slow search"), report("Bo", "a 500 once")],
        on_call: None,
    });
    release
}

fn gates() -> GateView {
    GateView {
        at: at(119).timestamp(),
        error_rate: Some("0.10%".into()),
        max_error_rate: Some("1.00%".into()),
        p99: Some("120 ms".into()),
        max_p99: Some("240 ms".into()),
        baseline_p99: Some("118 ms".into()),
    }
}

const NOBODY: [Release; 0] = [];

#[test]
fn a_promotion_carries_the_release_and_the_evidence_of_how_it_went() {
    let staging = completed_in_staging();
    let plan = promotion(&staging, "production", deployer(), &NOBODY, Some(gates())).unwrap();
    assert_eq!(plan.environment, "production");
    assert_eq!(
        (plan.version.clone(), plan.kind),
        (staging.version.clone(), staging.kind)
    );
    assert_eq!(plan.summary, staging.summary);
    let origin = &plan.origin;
    assert_eq!(origin.promoted_from, Some(staging.id));
    assert_eq!(origin.commit.as_deref(), Some("3f9c2ab"));
    assert_eq!(origin.commit_time, staging.origin.commit_time);
    assert_eq!(origin.artifact.as_deref(), Some("app@sha256:ab"));
    assert_eq!(
        origin.token, None,
        "the person who promotes plans it, not the pipeline"
    );
    assert_eq!(origin.idempotency_key, None);
    assert_eq!(
        origin.evidence,
        Some(Evidence {
            environment: "staging".into(),
            completed_at: at(120),
            verified_for_secs: 3600,
            reports: vec!["Ana: slow search".into(), "Bo: a 500 once".into()],
            report_count: 2,
            error_rate: Some("0.10%".into()),
            p99: Some("120 ms".into()),
        })
    );
    let by_manager = promotion(&staging, "production", manager(), &NOBODY, None).unwrap();
    assert_eq!(by_manager.origin.evidence.unwrap().error_rate, None);
}

#[test]
fn only_a_completed_release_is_promoted_by_a_deployer_or_release_manager() {
    let staging = completed_in_staging();
    let lead = Person {
        id: UserId(7),
        name: "Lee",
        roles: &[Role::Lead, Role::Team],
    };
    assert_eq!(
        promotion(&staging, "production", lead, &NOBODY, None),
        Err(Refusal::CannotPromoteRoles {
            roles: PROMOTERS.to_vec()
        })
    );
    let mut verifying = staging.clone();
    verifying.state = ReleaseState::Verifying;
    assert_eq!(
        promotion(&verifying, "production", deployer(), &NOBODY, None),
        Err(Refusal::CannotPromote {
            state: ReleaseState::Verifying
        })
    );
}

#[test]
fn a_second_click_finds_the_promotion_and_a_live_plan_is_not_planned_over() {
    let staging = completed_in_staging();
    let plan = promotion(&staging, "production", deployer(), &NOBODY, None).unwrap();
    let promoted = crate::domain::lifecycle::poll::plan(
        ReleaseId(20),
        plan,
        UserId(5),
        TimeDelta::hours(24),
        at(130),
    )
    .release;
    assert_eq!(
        promotion(
            &staging,
            "production",
            deployer(),
            std::slice::from_ref(&promoted),
            None
        ),
        Err(Refusal::AlreadyPromoted {
            environment: "production".into(),
            state: ReleaseState::Voting
        })
    );
    let mut planned_by_hand = promoted.clone();
    planned_by_hand.origin.promoted_from = None;
    assert!(matches!(
        promotion(&staging, "production", deployer(), &[planned_by_hand], None),
        Err(Refusal::AlreadyPlanned { .. })
    ));
    let mut rejected = promoted;
    rejected.state = ReleaseState::Rejected;
    assert!(
        promotion(&staging, "production", deployer(), &[rejected], None).is_ok(),
        "a rejected promotion may be promoted again"
    );
}
