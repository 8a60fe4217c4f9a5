//! Stories of overrides: asked with a reason, approved by another exec, spent once, and a
//! post-mortem left open until filed.

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::domain::lifecycle::deploy;
use crate::domain::lifecycle::deploy::tests::{approved, deployer, t0};
use crate::domain::lifecycle::inputs::Plan;
use crate::domain::lifecycle::rollback;
use crate::domain::policy::Policy;
use crate::domain::release::{ReleaseKind, ReleaseState};
use crate::domain::rollout::Rollout;
use crate::domain::windows::Windows;
use crate::domain::Tally;
use crate::domain::UserId;

fn exec(id: u64, name: &'static str) -> Person<'static> {
    Person {
        id: UserId(id),
        name,
        roles: &[Role::Exec],
    }
}

fn plan(rollout: &Rollout, past_guardrails: bool) -> Plan<'_> {
    Plan {
        rollout,
        executor: false,
        gates: None,
        past_guardrails,
        order: None,
    }
}

/// Windows closed all the time: every deploy is refused until overridden.
fn blackout() -> Windows {
    let always = crate::domain::windows::Window {
        schedule: "0 0 0 * * *".parse().unwrap(),
        duration: TimeDelta::days(2),
    };
    Windows {
        timezone: chrono_tz::UTC,
        allow: Vec::new(),
        blackout: vec![always],
    }
}

fn deploy_now(
    release: &Release,
    rollout: &Rollout,
    windows: &Windows,
) -> Result<Transition, Refusal> {
    let policy = Policy::default_for(ReleaseKind::Patch);
    let none: [Release; 0] = [];
    past_guardrails(release, "deploy", |past| {
        deploy::start(
            release,
            &Tally::new(&policy, UserId(1)),
            &none,
            windows,
            plan(rollout, past),
            deployer(),
            t0(),
        )
    })
}

#[test]
fn a_deploy_refused_in_a_blackout_goes_through_once_after_an_exec_approves() {
    let rollout = Rollout::default();
    let (release, _) = approved();
    assert!(matches!(
        deploy_now(&release, &rollout, &blackout()),
        Err(Refusal::InBlackout { .. })
    ));
    let asked = request(&release, deployer(), "security fix cannot wait", t0()).unwrap();
    let [Effect::Notify {
        audience: Audience::Releases,
        notice: Notice::OverrideRequested { .. },
    }] = &asked.effects[..]
    else {
        panic!(
            "the request goes to the releases channel: {:?}",
            asked.effects
        );
    };
    // Not approved yet: still refused.
    assert!(deploy_now(&asked.release, &rollout, &blackout()).is_err());
    let approved_step = approve(&asked.release, exec(40, "Cyd"), t0()).unwrap();
    assert_eq!(open_postmortems(&approved_step.release), 1);
    let deployed = deploy_now(&approved_step.release, &rollout, &blackout()).unwrap();
    assert_eq!(deployed.release.state, ReleaseState::Deploying);
    assert_eq!(
        deployed.events[0],
        Event::OverrideUsed {
            action: "deploy".into(),
            guardrail: "in_blackout".into()
        }
    );
    let used = &deployed.release.overrides[0];
    assert_eq!(used.used_for.as_deref(), Some("deploy"));
    // Spent: the same release in the same blackout is refused again.
    let mut again = deployed.release.clone();
    again.state = ReleaseState::Approved;
    assert!(matches!(
        deploy_now(&again, &rollout, &blackout()),
        Err(Refusal::InBlackout { .. })
    ));
}

#[test]
fn an_unused_override_is_not_spent_on_a_request_the_guardrails_allow() {
    let rollout = Rollout::default();
    let (release, _) = approved();
    let asked = request(&release, deployer(), "just in case", t0()).unwrap();
    let approved_step = approve(&asked.release, exec(40, "Cyd"), t0()).unwrap();
    let deployed = deploy_now(&approved_step.release, &rollout, &Windows::always_open()).unwrap();
    assert_eq!(deployed.release.overrides[0].used_for, None);
    assert!(!deployed
        .events
        .iter()
        .any(|e| matches!(e, Event::OverrideUsed { .. })));
}

#[test]
fn the_requester_cannot_approve_their_own_override_and_only_execs_approve() {
    let (release, _) = approved();
    let requester = Person {
        id: UserId(5),
        name: "Dee",
        roles: &[Role::Deployer, Role::Exec],
    };
    let asked = request(&release, requester, "urgent", t0()).unwrap();
    assert_eq!(
        approve(&asked.release, requester, t0()),
        Err(Refusal::OwnOverride)
    );
    assert_eq!(
        approve(&asked.release, deployer(), t0()),
        Err(Refusal::NotAnExec)
    );
    assert_eq!(
        approve(&release, exec(40, "Cyd"), t0()),
        Err(Refusal::NoOverrideAsked)
    );
    assert_eq!(
        request(&asked.release, deployer(), "again", t0()),
        Err(Refusal::OverrideAlreadyAsked)
    );
    let nobody = Person {
        id: UserId(9),
        name: "Sam",
        roles: &[Role::Team],
    };
    assert!(matches!(
        request(&release, nobody, "x y z", t0()),
        Err(Refusal::CannotRequestOverride { .. })
    ));
    let mut cancelled = release.clone();
    cancelled.state = ReleaseState::Cancelled;
    assert_eq!(
        request(&cancelled, deployer(), "x y z", t0()),
        Err(Refusal::NothingToOverride {
            state: ReleaseState::Cancelled
        })
    );
}

#[test]
fn an_approved_override_is_not_approved_again_by_a_second_exec() {
    let (release, _) = approved();
    let asked = request(&release, deployer(), "urgent", t0()).unwrap();
    let approved = approve(&asked.release, exec(40, "Cyd"), t0()).unwrap();
    assert_eq!(
        approve(&approved.release, exec(41, "Bo"), t0()),
        Err(Refusal::NoOverrideAsked)
    );
}

#[test]
fn only_the_guardrails_may_be_overridden() {
    let at = t0();
    let overridable = [
        (Refusal::OutsideWindow { next_open: None }, "outside_window"),
        (
            Refusal::InBlackout {
                until: at,
                next_open: None,
            },
            "in_blackout",
        ),
        (
            Refusal::ChecklistOpen { items: Vec::new() },
            "checklist_open",
        ),
        (
            Refusal::RollbackWindowClosed { closed_at: at },
            "rollback_window_closed",
        ),
        (Refusal::ChecksFailed { items: Vec::new() }, "checks_failed"),
        (
            Refusal::OrderNotMet {
                environment: "production".into(),
                after: "staging".into(),
                completed_at: None,
                soak_ends: None,
            },
            "environment_order",
        ),
    ];
    for (refusal, name) in overridable {
        assert_eq!(guardrail(&refusal), Some(name), "{refusal:?}");
    }
    for refusal in [
        Refusal::NotAnExec,
        Refusal::NoOverrideAsked,
        Refusal::UnknownRelease,
        Refusal::PipelineOnly {
            item: "All tests passing in CI".into(),
        },
    ] {
        assert_eq!(guardrail(&refusal), None, "{refusal:?}");
    }
}

#[test]
fn a_rollback_after_the_window_goes_through_only_with_an_override() {
    let rollout = Rollout::default();
    let policy = Policy::default_for(ReleaseKind::Patch);
    let (mut release, _) = approved();
    let finished = Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap();
    release.state = ReleaseState::Deploying;
    let started = deploy::start(
        &{
            let mut r = release.clone();
            r.state = ReleaseState::Approved;
            r
        },
        &Tally::new(&policy, UserId(1)),
        &[] as &[Release],
        &Windows::always_open(),
        plan(&rollout, false),
        deployer(),
        t0(),
    )
    .unwrap();
    release = started.release;
    release.state = ReleaseState::Completed;
    release.deployment.as_mut().unwrap().finished_at = Some(finished);
    let late = finished + TimeDelta::hours(5);
    let roll = |release: &Release| {
        past_guardrails(release, "rollback", |past| {
            rollback::roll_back(
                release,
                &policy,
                deployer(),
                "errors",
                plan(&rollout, past),
                late,
            )
        })
    };
    assert!(matches!(
        roll(&release),
        Err(Refusal::RollbackWindowClosed { .. })
    ));
    let asked = request(&release, deployer(), "found a data bug", late).unwrap();
    let approved_step = approve(&asked.release, exec(40, "Cyd"), late).unwrap();
    let rolled = roll(&approved_step.release).unwrap();
    assert_eq!(rolled.release.state, ReleaseState::RolledBack);
    assert_eq!(
        rolled.release.overrides[0].used_for.as_deref(),
        Some("rollback")
    );
}

#[test]
fn a_post_mortem_stays_open_until_filed() {
    let (release, _) = approved();
    let asked = request(&release, deployer(), "urgent", t0()).unwrap();
    assert_eq!(
        open_postmortems(&asked.release),
        0,
        "opened by the approval"
    );
    assert_eq!(
        file_postmortem(&asked.release, deployer(), "text", t0()),
        Err(Refusal::NoPostmortemOpen)
    );
    let approved_step = approve(&asked.release, exec(40, "Cyd"), t0()).unwrap();
    let filed = file_postmortem(
        &approved_step.release,
        deployer(),
        "the blackout rule now has an exception",
        t0() + TimeDelta::days(1),
    )
    .unwrap();
    assert_eq!(open_postmortems(&filed.release), 0);
    let done = &filed.release.overrides[0];
    assert_eq!(done.postmortem_by.as_deref(), Some("Dee"));
    assert_eq!(done.postmortem_at, Some(t0() + TimeDelta::days(1)));
    assert!(matches!(filed.events[..], [Event::PostmortemFiled { .. }]));
}
