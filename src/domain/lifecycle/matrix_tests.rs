//! Every (state, command) pair of the lifecycle as it stands, refusals included: each table
//! names all twelve states, so a state that changes meaning fails here first.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::inputs::Plan;
use super::{catch_up, on_timer, poll};
use crate::domain::lookup::ensure_unplanned;
use crate::domain::release::{PlanRequest, Release, ReleaseState};
use crate::domain::rollout::Rollout;
use crate::domain::Tally;
use crate::domain::{
    Ballot, Choice, Policy, Refusal, ReleaseId, ReleaseKind, Role, TimerKind, UserId,
};

use ReleaseState::{
    Approved, Cancelled, Completed, Deploying, Expired, Halted, Planned, Rejected, RolledBack,
    RollingBack, Verifying, Voting,
};

const AUTHOR: UserId = UserId(1);

static ROLLOUT: std::sync::LazyLock<Rollout> = std::sync::LazyLock::new(Rollout::default);

fn plan() -> Plan<'static> {
    Plan {
        rollout: &ROLLOUT,
        executor: true,
        gates: None,
        past_guardrails: false,
        order: None,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn in_state(state: ReleaseState) -> Release {
    let request = PlanRequest::parse("1.4.0", "patch", "Fix login", None, None).unwrap();
    let mut release = poll::plan(ReleaseId(7), request, AUTHOR, TimeDelta::hours(24), t0()).release;
    release.state = state;
    release
}

fn click(choice: Choice) -> Ballot {
    Ballot {
        voter: UserId(2),
        voter_name: "Lee".into(),
        roles: vec![Role::Lead],
        choice,
        reason: Some("error budget spent".into()),
        at: t0(),
    }
}

/// What each state answers; `None` marks "the command goes through".
fn table(
    refusal: impl Fn(ReleaseState) -> Option<Refusal>,
) -> Vec<(ReleaseState, Option<Refusal>)> {
    ReleaseState::ALL
        .into_iter()
        .map(|s| (s, refusal(s)))
        .collect()
}

#[test]
fn a_vote_is_taken_only_while_the_poll_is_open() {
    let policy = Policy::default_for(ReleaseKind::Patch);
    for choice in [Choice::Go, Choice::NoGo] {
        let outcome = |state| {
            poll::vote(
                &in_state(state),
                &policy,
                &mut Tally::new(&policy, UserId(1)),
                &click(choice),
                t0(),
            )
            .err()
        };
        let closed = |state| Some(Refusal::PollClosed { state });
        let expected = vec![
            (Planned, None),
            (Voting, None),
            (Approved, closed(Approved)),
            (Rejected, closed(Rejected)),
            (Expired, closed(Expired)),
            (Cancelled, closed(Cancelled)),
            (Deploying, closed(Deploying)),
            (Halted, closed(Halted)),
            (Verifying, closed(Verifying)),
            (Completed, closed(Completed)),
            (RollingBack, closed(RollingBack)),
            (RolledBack, closed(RolledBack)),
        ];
        assert_eq!(table(outcome), expected, "{choice:?}");
    }
}

#[test]
fn the_no_go_button_asks_the_same_question_as_the_vote() {
    let policy = Policy::default_for(ReleaseKind::Patch);
    for state in ReleaseState::ALL {
        let release = in_state(state);
        for (voter, roles) in [
            (UserId(2), vec![Role::Lead]),
            (AUTHOR, vec![Role::Lead]),
            (UserId(3), vec![Role::Team]),
        ] {
            for choice in [Choice::Go, Choice::NoGo] {
                let ballot = Ballot {
                    voter,
                    roles: roles.clone(),
                    ..click(choice)
                };
                let asked = poll::may_vote(&release, &policy, voter, &roles, choice, t0());
                let voted = poll::vote(
                    &release,
                    &policy,
                    &mut Tally::new(&policy, UserId(1)),
                    &ballot,
                    t0(),
                )
                .map(drop);
                assert_eq!(asked, voted, "{state:?} {voter:?} {choice:?}");
            }
        }
    }
}

#[test]
fn time_ends_only_an_open_poll() {
    let late = t0() + TimeDelta::hours(24);
    let expires = |state| {
        on_timer(
            &in_state(state),
            TimerKind::PollExpiry,
            plan(),
            (late, late),
            None,
        )
        .map(|s| s.release.state)
    };
    let expected = vec![
        (Planned, Some(Expired)),
        (Voting, Some(Expired)),
        (Approved, None),
        (Rejected, None),
        (Expired, None),
        (Cancelled, None),
        (Deploying, None),
        (Halted, None),
        (Verifying, None),
        (Completed, None),
        (RollingBack, None),
        (RolledBack, None),
    ];
    let got: Vec<_> = ReleaseState::ALL
        .into_iter()
        .map(|s| (s, expires(s)))
        .collect();
    assert_eq!(got, expected);
    for state in ReleaseState::ALL {
        let release = in_state(state);
        assert_eq!(
            catch_up(&release, late),
            on_timer(&release, TimerKind::PollExpiry, plan(), (late, late), None)
        );
        assert_eq!(
            catch_up(&release, late - TimeDelta::seconds(1)),
            None,
            "{state:?} early"
        );
    }
}

#[test]
fn cancel_is_possible_until_the_deployment_starts() {
    let outcome = |state| {
        poll::cancel(
            &in_state(state),
            AUTHOR,
            "Avery",
            &[],
            "scope changed",
            t0(),
        )
        .err()
    };
    let too_late = |state| Some(Refusal::CannotCancel { state });
    let expected = vec![
        (Planned, None),
        (Voting, None),
        (Approved, None),
        (Rejected, too_late(Rejected)),
        (Expired, too_late(Expired)),
        (Cancelled, too_late(Cancelled)),
        (Deploying, too_late(Deploying)),
        (Halted, too_late(Halted)),
        (Verifying, too_late(Verifying)),
        (Completed, too_late(Completed)),
        (RollingBack, too_late(RollingBack)),
        (RolledBack, too_late(RolledBack)),
    ];
    assert_eq!(table(outcome), expected);
}

#[test]
fn cancel_by_someone_without_the_right_is_refused_in_every_state() {
    for state in ReleaseState::ALL {
        let release = in_state(state);
        let outcome = poll::cancel(
            &release,
            UserId(9),
            "Tam",
            &[Role::Team, Role::Lead],
            "x",
            t0(),
        );
        assert_eq!(outcome, Err(Refusal::NotAllowedToCancel), "{state:?}");
    }
}

#[test]
fn an_exec_may_cancel_like_a_release_manager() {
    let release = in_state(Voting);
    let step = poll::cancel(&release, UserId(9), "Eve", &[Role::Exec], "budget", t0()).unwrap();
    assert_eq!(step.release.state, Cancelled);
}

#[test]
fn planning_a_version_again_waits_for_the_live_one_to_end_unshipped() {
    let outcome = |state| ensure_unplanned(&[in_state(state)], "production").err();
    let live = |state| {
        Some(Refusal::AlreadyPlanned {
            environment: "production".into(),
            state,
        })
    };
    let expected = vec![
        (Planned, live(Planned)),
        (Voting, live(Voting)),
        (Approved, live(Approved)),
        (Rejected, None),
        (Expired, None),
        (Cancelled, None),
        (Deploying, live(Deploying)),
        (Halted, live(Halted)),
        (Verifying, live(Verifying)),
        (Completed, live(Completed)),
        (RollingBack, live(RollingBack)),
        (RolledBack, None),
    ];
    assert_eq!(table(outcome), expected);
}
