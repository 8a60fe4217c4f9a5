//! Stories of problem reports from chat, on a hand-driven clock.

use super::*;
use crate::domain::effect::{Action, TimerKind};
use crate::domain::lifecycle::deploy::tests::{actions, approved, at, notices, start_with};
use crate::domain::rollout::Rollout;

fn plan(rollout: &Rollout) -> Plan<'_> {
    Plan {
        rollout,
        executor: true,
        gates: None,
        past_guardrails: false,
        order: None,
    }
}

fn rolling_out(rollout: &Rollout) -> Release {
    start_with(plan(rollout)).release
}

fn stakeholder(n: u64) -> Person<'static> {
    let names = ["Ana", "Bo", "Cy", "Di", "Ed"];
    Person {
        id: UserId(100 + n),
        name: names[usize::try_from(n).unwrap() % names.len()],
        roles: &[],
    }
}

#[test]
fn a_report_is_told_to_the_thread_and_counted_once_per_person() {
    let rollout = Rollout::default();
    let release = rolling_out(&rollout);
    let first = report_problem(
        &release,
        (plan(&rollout), 3),
        stakeholder(0),
        "Checkout 500s",
        at(3),
    )
    .unwrap();
    assert_eq!(first.release.state, ReleaseState::Deploying);
    assert_eq!(first.actor, Some(UserId(100)));
    assert_eq!(
        first.events,
        [Event::ProblemReported {
            by: "Ana".into(),
            text: "Checkout 500s".into(),
            count: 1
        }]
    );
    let [(
        Audience::Thread,
        Notice::ProblemReported {
            count: 1, limit: 3, ..
        },
    )] = notices(&first)[..]
    else {
        panic!("one thread notice: {:?}", notices(&first));
    };
    let again = report_problem(
        &first.release,
        (plan(&rollout), 3),
        stakeholder(0),
        "Still",
        at(4),
    );
    assert_eq!(again, Err(Refusal::AlreadyReported));
}

#[test]
fn more_reports_than_the_limit_roll_the_release_back_quoting_them() {
    let rollout = Rollout::default();
    let mut release = rolling_out(&rollout);
    for n in 0..3 {
        let step = report_problem(
            &release,
            (plan(&rollout), 3),
            stakeholder(n),
            &format!("problem {n}"),
            at(5),
        )
        .unwrap();
        assert_eq!(step.release.state, ReleaseState::Deploying, "{n} reports");
        release = step.release;
    }
    let fourth = report_problem(
        &release,
        (plan(&rollout), 3),
        stakeholder(3),
        "problem 3",
        at(6),
    )
    .unwrap();
    assert_eq!(fourth.release.state, ReleaseState::RollingBack);
    assert_eq!(actions(&fourth), [Action::Rollback { stage: 0 }]);
    assert!(fourth
        .effects
        .contains(&Effect::CancelTimer(TimerKind::StageHold)));
    let rollback = fourth
        .release
        .deployment
        .as_ref()
        .unwrap()
        .rollback
        .clone()
        .unwrap();
    assert_eq!(rollback.by, GONOGO);
    assert_eq!(
        rollback.reason,
        "4 problem reports, more than the 3 allowed: “problem 0” (Ana); “problem 1” (Bo); \
         “problem 2” (Cy); “problem 3” (Di)"
    );
    assert!(matches!(
        fourth.events[..],
        [
            Event::ProblemReported { count: 4, .. },
            Event::RollbackStarted { .. }
        ]
    ));
}

#[test]
fn a_limit_of_zero_rolls_back_on_the_first_report() {
    let rollout = Rollout::default();
    let step = report_problem(
        &rolling_out(&rollout),
        (plan(&rollout), 0),
        stakeholder(0),
        "down",
        at(1),
    )
    .unwrap();
    assert_eq!(step.release.state, ReleaseState::RollingBack);
}

#[test]
fn problems_are_reported_only_while_the_release_rolls_out() {
    let rollout = Rollout::default();
    let (approved, _) = approved();
    assert_eq!(
        report_problem(&approved, (plan(&rollout), 3), stakeholder(0), "x", at(1)),
        Err(Refusal::NotRollingOut {
            state: ReleaseState::Approved
        })
    );
    let mut halted = rolling_out(&rollout);
    halted.state = ReleaseState::Halted;
    assert!(report_problem(&halted, (plan(&rollout), 3), stakeholder(0), "x y", at(1)).is_ok());
    let reported = report_problem(&halted, (plan(&rollout), 3), stakeholder(0), "x y", at(1))
        .unwrap()
        .release;
    let mut done = reported;
    done.state = ReleaseState::Completed;
    assert_eq!(
        may_report(&done, UserId(1)),
        Err(Refusal::NotRollingOut {
            state: ReleaseState::Completed
        })
    );
    assert_eq!(
        may_report(&done, stakeholder(0).id),
        Err(Refusal::AlreadyReported),
        "who reported hears that first"
    );
}

#[test]
fn a_report_needs_words_and_fits_the_reason_limit() {
    let rollout = Rollout::default();
    let release = rolling_out(&rollout);
    assert_eq!(
        report_problem(&release, (plan(&rollout), 3), stakeholder(0), "  ", at(1)),
        Err(Refusal::ReasonRequired)
    );
    let long = "x".repeat(crate::domain::release::MAX_REASON + 1);
    assert!(matches!(
        report_problem(&release, (plan(&rollout), 3), stakeholder(0), &long, at(1)),
        Err(Refusal::InvalidReason(_))
    ));
}
