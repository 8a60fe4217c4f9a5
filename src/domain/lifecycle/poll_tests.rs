//! Stories of the poll phase: plan, vote, expire, cancel.

use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::domain::policy::Policy;
use crate::domain::release::{PlanRequest, ReleaseKind};

const AUTHOR: UserId = UserId(1);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn planned(kind: &str) -> Transition {
    let request = PlanRequest::parse("1.4.0", kind, "Faster search", None, None).unwrap();
    plan(ReleaseId(7), request, AUTHOR, TimeDelta::hours(24), t0())
}

fn cast(voter: u64, roles: &[Role], choice: Choice, minutes: i64) -> Ballot {
    Ballot {
        voter: UserId(voter),
        voter_name: format!("user{voter}"),
        roles: roles.to_vec(),
        choice,
        reason: (choice == Choice::NoGo).then(|| "error budget spent".to_owned()),
        at: t0() + TimeDelta::minutes(minutes),
    }
}

/// Replays clicks in order, as the service would, returning the final release, the
/// stored history and every outcome (or refusal).
fn replay(
    kind: ReleaseKind,
    clicks: &[Ballot],
) -> (Release, Vec<Ballot>, Vec<Result<Transition, Refusal>>) {
    let policy = Policy::default_for(kind);
    let mut release = planned(kind.as_str()).release;
    let mut history = Vec::new();
    let mut tally = Tally::new(&policy, AUTHOR);
    let mut results = Vec::new();
    for click in clicks {
        let result = vote(&release, &policy, &mut tally, click, click.at);
        if let Ok(step) = &result {
            release = step.release.clone();
            history.extend(step.ballot.clone());
        }
        results.push(result);
    }
    (release, history, results)
}

/// The notice a step posts, if it posts one.
fn notice_of(step: &Transition) -> Option<&Notice> {
    step.effects.iter().find_map(|effect| match effect {
        Effect::Notify { notice, .. } => Some(notice),
        _ => None,
    })
}

#[test]
fn planning_opens_the_poll_and_schedules_its_expiry() {
    let step = planned("patch");
    assert_eq!(step.release.state, ReleaseState::Voting);
    assert_eq!(step.release.expires_at, t0() + TimeDelta::hours(24));
    assert_eq!(
        step.effects,
        vec![
            Effect::PostCard,
            Effect::OpenThread,
            Effect::ScheduleTimer {
                timer: TimerKind::PollExpiry,
                at: t0() + TimeDelta::hours(24)
            }
        ]
    );
    assert!(matches!(step.events[0], Event::Planned { .. }));
}

#[test]
fn hotfix_is_approved_by_a_lead_and_a_security() {
    let (release, history, results) = replay(
        ReleaseKind::Hotfix,
        &[
            cast(2, &[Role::Lead], Choice::Go, 1),
            cast(3, &[Role::Security], Choice::Go, 2),
        ],
    );
    assert_eq!(release.state, ReleaseState::Approved);
    assert_eq!(release.decided_at, Some(t0() + TimeDelta::minutes(2)));
    assert_eq!(history.len(), 2);
    let last = results.last().unwrap().as_ref().unwrap();
    assert!(last.events.contains(&Event::Approved {
        approvers: vec![UserId(2), UserId(3)],
        without_poll: None,
        contract: None,
    }));
    assert_eq!(
        notice_of(last),
        Some(&Notice::Approved {
            version: "1.4.0".into(),
            approvers: vec!["user2".into(), "user3".into()]
        })
    );
    assert!(last
        .effects
        .contains(&Effect::CancelTimer(TimerKind::PollExpiry)));
}

#[test]
fn the_authors_go_is_refused() {
    let (release, history, results) = replay(
        ReleaseKind::Patch,
        &[cast(AUTHOR.0, &[Role::Lead], Choice::Go, 1)],
    );
    assert_eq!(results[0], Err(Refusal::AuthorCannotApprove));
    assert_eq!(release.state, ReleaseState::Voting);
    assert!(history.is_empty());
}

#[test]
fn the_author_may_still_veto() {
    let (release, _, _) = replay(
        ReleaseKind::Patch,
        &[cast(AUTHOR.0, &[Role::Lead], Choice::NoGo, 1)],
    );
    assert_eq!(release.state, ReleaseState::Rejected);
}

#[test]
fn one_person_holding_both_hotfix_roles_fills_only_one_slot() {
    let both = [Role::Lead, Role::Security];
    let (release, history, results) = replay(
        ReleaseKind::Hotfix,
        &[cast(2, &both, Choice::Go, 1), cast(2, &both, Choice::Go, 2)],
    );
    assert_eq!(release.state, ReleaseState::Voting);
    assert_eq!(history.len(), 1, "the repeated click adds nothing");
    let repeat = results[1].as_ref().unwrap();
    assert!(
        repeat.ballot.is_none() && repeat.events.is_empty(),
        "{repeat:?}"
    );
}

#[test]
fn a_repeated_go_changes_nothing() {
    let (release, history, results) = replay(
        ReleaseKind::Minor,
        &[
            cast(2, &[Role::Team], Choice::Go, 1),
            cast(2, &[Role::Team], Choice::Go, 2),
        ],
    );
    assert_eq!(release.state, ReleaseState::Voting);
    assert_eq!(history.len(), 1);
    let repeat = results[1].as_ref().unwrap();
    assert!(repeat.events.is_empty() && repeat.effects.is_empty());
}

#[test]
fn a_go_changed_to_no_go_vetoes_and_history_keeps_both() {
    let (release, history, _) = replay(
        ReleaseKind::Minor,
        &[
            cast(2, &[Role::Team], Choice::Go, 1),
            cast(2, &[Role::Team], Choice::NoGo, 2),
        ],
    );
    assert_eq!(release.state, ReleaseState::Rejected);
    assert_eq!(
        release.decision_reason.as_deref(),
        Some("error budget spent")
    );
    assert_eq!(
        history.iter().map(|b| b.choice).collect::<Vec<_>>(),
        [Choice::Go, Choice::NoGo]
    );
}

#[test]
fn a_veto_after_partial_approval_rejects() {
    let (release, _, results) = replay(
        ReleaseKind::Major,
        &[
            cast(2, &[Role::Exec], Choice::Go, 1),
            cast(3, &[Role::Team], Choice::Go, 2),
            cast(4, &[Role::Team], Choice::NoGo, 3),
        ],
    );
    assert_eq!(release.state, ReleaseState::Rejected);
    let last = results[2].as_ref().unwrap();
    assert!(last.events.contains(&Event::Rejected {
        reason: "error budget spent".into()
    }));
    assert_eq!(
        notice_of(last),
        Some(&Notice::Rejected {
            version: "1.4.0".into(),
            by: "user4".into(),
            reason: "error budget spent".into()
        })
    );
    assert!(last
        .effects
        .contains(&Effect::CancelTimer(TimerKind::PollExpiry)));
}

#[test]
fn a_vote_change_after_the_slot_filled_reopens_it() {
    let (release, _, _) = replay(
        ReleaseKind::Major,
        &[
            cast(2, &[Role::Team], Choice::Go, 1),
            cast(3, &[Role::Team], Choice::Go, 2),
        ],
    );
    assert_eq!(
        release.state,
        ReleaseState::Voting,
        "the exec slot is still open"
    );
    let policy = Policy::default_for(ReleaseKind::Major);
    let history = [
        cast(2, &[Role::Team], Choice::Go, 1),
        cast(3, &[Role::Team], Choice::Go, 2),
    ];
    let change = vote(
        &release,
        &policy,
        &mut Tally::count(&policy, AUTHOR, &history),
        &cast(3, &[Role::Team], Choice::NoGo, 3),
        t0(),
    );
    assert_eq!(change.unwrap().release.state, ReleaseState::Rejected);
}

#[test]
fn a_no_go_needs_a_reason() {
    let mut no_reason = cast(2, &[Role::Team], Choice::NoGo, 1);
    no_reason.reason = Some("   ".into());
    let (release, history, results) = replay(ReleaseKind::Minor, &[no_reason]);
    assert_eq!(results[0], Err(Refusal::ReasonRequired));
    assert_eq!(release.state, ReleaseState::Voting);
    assert!(history.is_empty());
}

#[test]
fn a_voter_without_a_policy_role_is_refused() {
    let (_, history, results) = replay(
        ReleaseKind::Hotfix,
        &[cast(2, &[Role::Team], Choice::Go, 1)],
    );
    assert_eq!(
        results[0],
        Err(Refusal::NotEligible {
            kind: ReleaseKind::Hotfix,
            needed: vec![Role::Lead, Role::Security]
        })
    );
    assert!(history.is_empty());
}

#[test]
fn clicks_after_the_decision_find_the_poll_closed() {
    let (release, history, results) = replay(
        ReleaseKind::Patch,
        &[
            cast(2, &[Role::Lead], Choice::Go, 1),
            cast(3, &[Role::Lead], Choice::NoGo, 2),
        ],
    );
    assert_eq!(release.state, ReleaseState::Approved);
    assert_eq!(
        results[1],
        Err(Refusal::PollClosed {
            state: ReleaseState::Approved
        })
    );
    assert_eq!(history.len(), 1);
}

#[test]
fn a_vote_arriving_after_expiry_is_refused_even_before_the_timer_fires() {
    let (_, history, results) = replay(
        ReleaseKind::Patch,
        &[cast(2, &[Role::Lead], Choice::Go, 24 * 60)],
    );
    assert_eq!(
        results[0],
        Err(Refusal::PollClosed {
            state: ReleaseState::Expired
        })
    );
    assert!(history.is_empty());
}

#[test]
fn the_poll_expires_only_once_its_time_has_passed() {
    let release = planned("minor").release;
    assert_eq!(expire(&release, t0() + TimeDelta::hours(23)), None);
    let step = expire(&release, t0() + TimeDelta::hours(24)).unwrap();
    assert_eq!(step.release.state, ReleaseState::Expired);
    assert_eq!(step.events, vec![Event::Expired]);
    assert_eq!(
        notice_of(&step),
        Some(&Notice::Expired {
            version: "1.4.0".into()
        })
    );
    assert_eq!(
        expire(&step.release, t0() + TimeDelta::hours(25)),
        None,
        "expiring twice does nothing"
    );
}

#[test]
fn a_decided_poll_does_not_expire() {
    let (release, _, _) = replay(ReleaseKind::Patch, &[cast(2, &[Role::Lead], Choice::Go, 1)]);
    assert_eq!(expire(&release, t0() + TimeDelta::days(2)), None);
}

#[test]
fn cancel_is_for_the_author_or_a_release_manager() {
    let release = planned("minor").release;
    assert_eq!(
        cancel(&release, UserId(9), "Tam", &[Role::Team], "no", t0()),
        Err(Refusal::NotAllowedToCancel)
    );
    let by_author = cancel(&release, AUTHOR, "Avery", &[], "scope changed", t0()).unwrap();
    assert_eq!(
        by_author.events,
        vec![Event::Cancelled {
            reason: "scope changed".into(),
            by: "Avery".into()
        }]
    );
    assert_eq!(by_author.release.state, ReleaseState::Cancelled);
    assert_eq!(
        by_author.release.decision_reason.as_deref(),
        Some("scope changed")
    );
    let by_manager = cancel(
        &release,
        UserId(9),
        "Remy",
        &[Role::ReleaseManager],
        "x",
        t0(),
    )
    .unwrap();
    assert_eq!(by_manager.release.state, ReleaseState::Cancelled);
    assert_eq!(
        cancel(&by_author.release, AUTHOR, "Avery", &[], "again", t0()),
        Err(Refusal::CannotCancel {
            state: ReleaseState::Cancelled
        })
    );
}

#[test]
fn an_approved_release_can_still_be_cancelled() {
    let (release, _, _) = replay(ReleaseKind::Patch, &[cast(2, &[Role::Lead], Choice::Go, 1)]);
    let step = cancel(&release, AUTHOR, "Avery", &[], "bad build", t0()).unwrap();
    assert_eq!(step.release.state, ReleaseState::Cancelled);
}

#[test]
fn reasons_are_trimmed_and_bounded_for_vetoes_and_cancellations() {
    let mut long = cast(2, &[Role::Team], Choice::NoGo, 1);
    long.reason = Some("x".repeat(501));
    let (_, history, results) = replay(ReleaseKind::Minor, &[long]);
    assert!(matches!(&results[0], Err(Refusal::InvalidReason(p)) if p.contains("limit is 500")));
    assert!(history.is_empty());

    let mut padded = cast(2, &[Role::Team], Choice::NoGo, 1);
    padded.reason = Some("  flaky migration  ".into());
    let (release, history, _) = replay(ReleaseKind::Minor, &[padded]);
    assert_eq!(history[0].reason.as_deref(), Some("flaky migration"));
    assert_eq!(release.decision_reason.as_deref(), Some("flaky migration"));

    let release = planned("minor").release;
    assert_eq!(
        cancel(&release, AUTHOR, "Avery", &[], "   ", t0()),
        Err(Refusal::ReasonRequired)
    );
}

#[test]
fn planning_takes_one_of_the_planner_roles() {
    let planners = [Role::Team, Role::Lead];
    assert_eq!(may_plan(&[Role::Security, Role::Lead], &planners), Ok(()));
    assert_eq!(
        may_plan(&[Role::Security, Role::Exec], &planners),
        Err(Refusal::NotAPlanner {
            planners: planners.to_vec()
        })
    );
    assert!(may_plan(&[], &planners).is_err());
}

#[test]
fn the_contract_is_fixed_by_the_approval_once_and_recorded_in_its_event() {
    let contract = Contract::new(
        &crate::domain::contract::tests::gates(),
        3,
        TimeDelta::hours(4),
        "by hand".into(),
    );
    let (release, _) = crate::domain::lifecycle::deploy::tests::approved();
    let mut step = Transition::unchanged(&release, None);
    step.events.push(Event::Approved {
        approvers: Vec::new(),
        without_poll: None,
        contract: None,
    });
    fix_on_approval(&mut step, contract.clone());
    assert_eq!(step.release.contract, Some(contract.clone()));
    assert_eq!(
        step.events,
        [Event::Approved {
            approvers: Vec::new(),
            without_poll: None,
            contract: Some(contract.clone())
        }]
    );
    // Fixed once: a later contract does not replace it.
    let later = Contract::new(
        &crate::domain::contract::tests::gates(),
        9,
        TimeDelta::hours(1),
        "other".into(),
    );
    fix_on_approval(&mut step, later.clone());
    assert_eq!(step.release.contract, Some(contract));
    // Only an approval fixes one.
    let mut voting = Transition::unchanged(&release, None);
    voting.release.state = ReleaseState::Voting;
    fix_on_approval(&mut voting, later);
    assert_eq!(voting.release.contract, None);
}

#[test]
fn an_environment_without_approval_approves_at_planning_and_says_why() {
    let request = PlanRequest::parse("1.4.0", "minor", "x", None, Some("staging")).unwrap();
    let planned = plan(ReleaseId(1), request, UserId(1), TimeDelta::hours(24), t0());
    let step = approve_without_poll(planned, t0());
    assert_eq!(step.release.state, ReleaseState::Approved);
    assert_eq!(step.release.decided_at, Some(t0()));
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::ScheduleTimer { .. })),
        "no poll, so no expiry: {:?}",
        step.effects
    );
    assert!(step.effects.contains(&Effect::PostCard));
    assert_eq!(
        step.events.last(),
        Some(&Event::Approved {
            approvers: Vec::new(),
            without_poll: Some(
                "the staging environment takes no go/no-go poll (approval = false)".into()
            ),
            contract: None,
        })
    );
    assert!(
        awaits_contract(&step),
        "the rollback contract is fixed as for any approval"
    );
}

#[test]
fn the_plans_audit_event_tells_the_origin_only_when_there_is_one() {
    let from_chat = PlanRequest::parse("1.4.0", "minor", "x", None, None).unwrap();
    let mut from_ci = from_chat.clone();
    from_ci.origin = Origin {
        token: Some("ci".into()),
        commit: Some("3f9c2ab".into()),
        idempotency_key: Some("run-1".into()),
        ..Origin::default()
    };
    let event = |request: PlanRequest| {
        let step = plan(ReleaseId(1), request, UserId(1), TimeDelta::hours(24), t0());
        serde_json::to_value(&step.events[0]).unwrap()
    };
    // A plan from chat is written exactly as before origins existed, so its hash is too.
    assert_eq!(
        event(from_chat),
        serde_json::json!({ "event": "planned", "version": "1.4.0", "kind": "minor", "environment": "production", "summary": "x" })
    );
    assert_eq!(
        event(from_ci)["origin"],
        serde_json::json!({ "token": "ci", "commit": "3f9c2ab" }),
        "the idempotency key names a request, not the release"
    );
}
