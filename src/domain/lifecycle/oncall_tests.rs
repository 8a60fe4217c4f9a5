//! Stories of on call during verification.

use chrono::TimeDelta;

use super::*;
use crate::domain::ids::UserId;
use crate::domain::lifecycle::deploy::tests::{approved, at, deployer, manager, t0};
use crate::domain::release::Deployment;
use crate::domain::rollout::Rollout;

/// The approved patch, verifying since t0.
fn verifying() -> Release {
    let (mut release, _) = approved();
    release.state = ReleaseState::Verifying;
    release.deployment = Some(Deployment {
        started_by: UserId(5),
        started_by_name: "Dee".into(),
        started_at: t0() - TimeDelta::hours(1),
        stage: 3,
        stage_started_at: t0(),
        clock_ends_at: Some(t0() + TimeDelta::hours(24)),
        verify_started_at: Some(t0()),
        halted_at: None,
        halted_for: TimeDelta::zero(),
        rollback: None,
        finished_at: None,
        watch: crate::domain::gates::Watch::default(),
        reports: Vec::new(),
        on_call: None,
    });
    release
}

fn on_call(release: &Release) -> Option<&str> {
    let on = release.deployment.as_ref()?.on_call.as_ref()?;
    Some(&on.name)
}

#[test]
fn verification_asks_who_is_on_call_and_sets_the_deadline() {
    let rollout = Rollout {
        oncall_within: TimeDelta::minutes(20),
        ..Rollout::default()
    };
    let plan = Plan::by_hand(&rollout);
    let [asked, deadline] = asked(&verifying(), plan, t0());
    assert_eq!(
        asked,
        Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::OnCallAsked {
                version: "1.4.1".into(),
                within_minutes: 20
            }
        }
    );
    assert_eq!(
        deadline,
        Effect::ScheduleTimer {
            timer: TimerKind::OnCallDue,
            at: at(20)
        }
    );
}

#[test]
fn a_claim_puts_someone_on_call_and_a_later_one_takes_over() {
    let claimed = claim(&verifying(), deployer(), at(3)).unwrap();
    assert_eq!(on_call(&claimed.release), Some("Dee"));
    assert_eq!(claimed.events, [Event::OnCallClaimed { by: "Dee".into() }]);
    assert!(claimed
        .effects
        .contains(&Effect::CancelTimer(TimerKind::OnCallDue)));
    let again = claim(&claimed.release, deployer(), at(4)).unwrap();
    assert!(
        again.events.is_empty(),
        "the same claim twice changes nothing"
    );
    let handed = claim(&claimed.release, manager(), at(5)).unwrap();
    assert_eq!(on_call(&handed.release), Some("Remy"));
}

#[test]
fn only_the_on_call_roles_claim_and_only_during_verification() {
    let team = Person {
        id: UserId(7),
        name: "Tam",
        roles: &[Role::Team],
    };
    assert_eq!(
        claim(&verifying(), team, at(1)),
        Err(Refusal::CannotBeOnCall {
            roles: ON_CALL.to_vec()
        })
    );
    let (approved, _) = approved();
    assert_eq!(
        claim(&approved, deployer(), at(1)),
        Err(Refusal::NotVerifying {
            state: ReleaseState::Approved
        })
    );
}

#[test]
fn nobody_claiming_in_time_pings_the_release_managers_once() {
    let step = deadline_passed(&verifying()).expect("a ping");
    assert_eq!(step.events, [Event::OnCallUnclaimed]);
    assert_eq!(
        step.effects,
        [Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::OnCallNeeded {
                version: "1.4.1".into()
            }
        }]
    );
    let claimed = claim(&verifying(), deployer(), at(3)).unwrap().release;
    assert_eq!(deadline_passed(&claimed), None, "someone is on call");
    let mut completed = verifying();
    completed.state = ReleaseState::Completed;
    assert_eq!(deadline_passed(&completed), None, "verification is over");
}
