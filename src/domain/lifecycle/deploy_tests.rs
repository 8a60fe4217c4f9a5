//! Stories of the deploy and rollback phases, on a hand-driven clock.

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::domain::lifecycle::poll;
use crate::domain::lifecycle::rollback::roll_back;
use crate::domain::policy::Policy;
use crate::domain::poll::{Ballot, Choice};
use crate::domain::release::{PlanRequest, ReleaseKind};
use crate::domain::rollout::Rollout;
use crate::domain::ReleaseId;

const AUTHOR: UserId = UserId(1);

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap()
}

pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(minutes)
}

pub(crate) fn deployer() -> Person<'static> {
    Person {
        id: UserId(5),
        name: "Dee",
        roles: &[Role::Deployer],
    }
}

pub(crate) fn manager() -> Person<'static> {
    Person {
        id: UserId(6),
        name: "Remy",
        roles: &[Role::ReleaseManager],
    }
}

fn team_member() -> Person<'static> {
    Person {
        id: UserId(7),
        name: "Tam",
        roles: &[Role::Team, Role::Lead],
    }
}

fn with_executor(rollout: &Rollout) -> Plan<'_> {
    Plan {
        rollout,
        executor: true,
        gates: None,
        past_guardrails: false,
        order: None,
    }
}

/// A patch approved by Lee, as the poll leaves it.
pub(crate) fn approved() -> (Release, Tally) {
    let request = PlanRequest::parse("1.4.1", "patch", "Fix login", None, None).unwrap();
    let planned = poll::plan(
        ReleaseId(9),
        request,
        AUTHOR,
        TimeDelta::hours(24),
        t0() - TimeDelta::hours(1),
    );
    let lee = Ballot {
        voter: UserId(2),
        voter_name: "Lee".into(),
        roles: vec![Role::Lead],
        choice: Choice::Go,
        reason: None,
        at: t0() - TimeDelta::minutes(30),
    };
    let policy = Policy::default_for(ReleaseKind::Patch);
    let mut tally = Tally::new(&policy, AUTHOR);
    let step = poll::vote(&planned.release, &policy, &mut tally, &lee, lee.at).unwrap();
    assert_eq!(step.release.state, ReleaseState::Approved);
    (step.release, tally)
}

fn started(rollout: &Rollout, executor: bool) -> Transition {
    start_with(Plan {
        rollout,
        executor,
        gates: None,
        past_guardrails: false,
        order: None,
    })
}

/// The approved patch started at t0 by Dee under `plan`, with every window open.
pub(crate) fn start_with(plan: Plan<'_>) -> Transition {
    let (release, history) = approved();
    let none: [Release; 0] = [];
    start(
        &release,
        &history,
        &none,
        &Windows::always_open(),
        plan,
        deployer(),
        t0(),
    )
    .unwrap()
}

pub(crate) fn timers(step: &Transition) -> Vec<(TimerKind, DateTime<Utc>)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleTimer { timer, at } => Some((*timer, *at)),
            _ => None,
        })
        .collect()
}

pub(crate) fn actions(step: &Transition) -> Vec<Action> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunAction(action) => Some(*action),
            _ => None,
        })
        .collect()
}

pub(crate) fn notices(step: &Transition) -> Vec<(Audience, &Notice)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { audience, notice } => Some((*audience, notice)),
            _ => None,
        })
        .collect()
}

pub(crate) fn deployment(release: &Release) -> &Deployment {
    release.deployment.as_ref().unwrap()
}

#[test]
fn a_deployer_starts_an_approved_release_at_its_canary_and_tells_everyone() {
    let rollout = Rollout::default();
    let step = started(&rollout, true);
    assert_eq!(step.release.state, ReleaseState::Deploying);
    let d = deployment(&step.release);
    assert_eq!(
        (d.stage, d.started_at, d.started_by_name.as_str()),
        (0, t0(), "Dee")
    );
    assert_eq!(
        actions(&step),
        [Action::Deploy {
            stage: 0,
            percent: 1
        }]
    );
    assert_eq!(timers(&step), [(TimerKind::ProgressTick, at(15))]);
    let [(
        Audience::Everyone,
        Notice::Started {
            approvers,
            by,
            stages,
            verified_at,
            executor,
            ..
        },
    )] = notices(&step)[..]
    else {
        panic!("one start notice for everyone: {:?}", step.effects);
    };
    assert_eq!(
        (approvers.as_slice(), by.as_str(), *executor),
        (&["Lee".to_owned()][..], "Dee", true)
    );
    let schedule: Vec<_> = stages.iter().map(|s| (s.percent, s.at)).collect();
    assert_eq!(
        schedule,
        [
            (1, t0().timestamp()),
            (10, at(30).timestamp()),
            (50, at(150).timestamp()),
            (100, at(390).timestamp())
        ]
    );
    assert_eq!(*verified_at, (at(390) + TimeDelta::hours(24)).timestamp());
    assert_eq!(step.events, [Event::DeployStarted { by: "Dee".into() }]);
}

#[test]
fn only_an_approved_release_starts_and_only_for_a_deployer() {
    let rollout = Rollout::default();
    let (release, history) = approved();
    let none: [Release; 0] = [];
    let windows = Windows::always_open();
    let try_start = |release: &Release, by| {
        start(
            release,
            &history,
            &none,
            &windows,
            with_executor(&rollout),
            by,
            t0(),
        )
        .err()
    };
    for state in ReleaseState::ALL {
        let mut other = release.clone();
        other.state = state;
        let expected = (state != ReleaseState::Approved).then_some(Refusal::NotApproved { state });
        assert_eq!(try_start(&other, deployer()), expected, "{state:?}");
    }
    assert_eq!(
        try_start(&release, team_member()),
        Some(Refusal::NotADeployer)
    );
    assert_eq!(try_start(&release, manager()), Some(Refusal::NotADeployer));
}

#[test]
fn a_second_release_waits_for_the_lock_and_the_window() {
    let rollout = Rollout::default();
    let (release, history) = approved();
    let mut running = release.clone();
    running.id = ReleaseId(3);
    running.state = ReleaseState::Verifying;
    let plan = with_executor(&rollout);
    let locked = start(
        &release,
        &history,
        &[running],
        &Windows::always_open(),
        plan,
        deployer(),
        t0(),
    );
    assert_eq!(
        locked.unwrap_err(),
        Refusal::DeployLocked {
            holder: "1.4.1".into(),
            environment: "production".into(),
            state: ReleaseState::Verifying
        }
    );
    let weekends = Windows {
        timezone: chrono_tz::Tz::UTC,
        allow: vec![crate::domain::windows::Window {
            schedule: "0 0 9 * * Sat".parse().unwrap(),
            duration: TimeDelta::hours(8),
        }],
        blackout: Vec::new(),
    };
    let none: [Release; 0] = [];
    let outside = start(&release, &history, &none, &weekends, plan, deployer(), t0());
    assert_eq!(
        outside.unwrap_err(),
        Refusal::OutsideWindow {
            next_open: Some(Utc.with_ymd_and_hms(2026, 3, 7, 9, 0, 0).unwrap())
        }
    );
}

/// Drives a started rollout through every stage, each action succeeding `after` minutes after
/// it was asked for; returns every step taken.
fn climb(rollout: &Rollout, mut step: Transition, after: i64) -> Vec<Transition> {
    let plan = with_executor(rollout);
    let mut now = t0();
    let mut steps = Vec::new();
    loop {
        let release = step.release.clone();
        steps.push(step);
        let next = match release.state {
            ReleaseState::Deploying if deployment(&release).clock_ends_at.is_none() => {
                now += TimeDelta::minutes(after);
                let d = deployment(&release);
                let percent = rollout.stage(d.stage).unwrap().percent;
                action_finished(
                    &release,
                    Action::Deploy {
                        stage: d.stage,
                        percent,
                    },
                    &Outcome::Succeeded,
                    plan,
                    now,
                )
            }
            ReleaseState::Deploying => {
                now = deployment(&release).clock_ends_at.unwrap();
                hold_ended(&release, plan, now)
            }
            ReleaseState::Verifying => {
                now = deployment(&release).clock_ends_at.unwrap();
                verification_ended(&release, now)
            }
            _ => return steps,
        };
        step = next.expect("every step leads on");
    }
}

#[test]
fn the_stage_engine_climbs_every_stage_then_verifies_and_completes() {
    let rollout = Rollout::default();
    let steps = climb(&rollout, started(&rollout, true), 2);
    let deployed: Vec<_> = steps.iter().flat_map(actions).collect();
    assert_eq!(
        deployed,
        [(0, 1), (1, 10), (2, 50), (3, 100)]
            .map(|(stage, percent)| Action::Deploy { stage, percent }),
        "no stage is ever skipped"
    );
    let holds: Vec<_> = steps
        .iter()
        .flat_map(timers)
        .filter(|(k, _)| *k == TimerKind::StageHold)
        .map(|(_, at)| at)
        .collect();
    assert_eq!(
        holds,
        [at(2 + 30), at(34 + 120), at(156 + 240), at(398)],
        "each hold counts from its action's success"
    );
    let last = steps.last().unwrap();
    assert_eq!(last.release.state, ReleaseState::Completed);
    let d = deployment(&last.release);
    assert_eq!(d.verify_started_at, Some(at(398)));
    assert_eq!(d.finished_at, Some(at(398) + TimeDelta::hours(24)));
    assert!(last
        .effects
        .contains(&Effect::CancelTimer(TimerKind::ProgressTick)));
    let [(
        Audience::Everyone,
        Notice::Completed {
            minutes, summary, ..
        },
    ), (Audience::Thread, Notice::RetrospectivePrompt { .. })] = notices(last)[..]
    else {
        panic!("a completion notice for everyone: {:?}", last.effects);
    };
    assert_eq!((*minutes, summary.as_str()), (398 + 24 * 60, "Fix login"));
    let events: Vec<_> = steps
        .iter()
        .flat_map(|s| s.events.clone())
        .filter(|e| matches!(e, Event::StageStarted { .. } | Event::VerificationStarted))
        .collect();
    assert_eq!(
        events,
        [
            Event::StageStarted {
                stage: "10%".into()
            },
            Event::StageStarted {
                stage: "50%".into()
            },
            Event::StageStarted {
                stage: "100%".into()
            },
            Event::VerificationStarted
        ]
    );
}

#[test]
fn without_an_executor_only_the_schedule_runs() {
    let rollout = Rollout::default();
    let step = started(&rollout, false);
    assert!(actions(&step).is_empty());
    assert_eq!(
        timers(&step),
        [
            (TimerKind::ProgressTick, at(15)),
            (TimerKind::StageHold, at(30))
        ]
    );
    let plan = Plan::by_hand(&rollout);
    let next = hold_ended(&step.release, plan, at(30)).unwrap();
    assert_eq!(deployment(&next.release).stage, 1);
    assert_eq!(timers(&next), [(TimerKind::StageHold, at(150))]);
    let Notice::Started { executor, .. } = notices(&step)[0].1 else {
        panic!()
    };
    assert!(!executor, "the start notice says no executor is attached");
}

#[test]
fn without_an_executor_a_stage_that_holds_nothing_leads_on_in_the_same_step() {
    let mut rollout = Rollout::default();
    rollout.stages[2].hold = TimeDelta::zero();
    let plan = Plan::by_hand(&rollout);
    let step = started(&rollout, false);
    let ten = hold_ended(&step.release, plan, at(30)).unwrap();
    let last = hold_ended(&ten.release, plan, at(150)).unwrap();
    assert_eq!(
        last.events,
        [
            Event::StageStarted {
                stage: "50%".into()
            },
            Event::StageStarted {
                stage: "100%".into()
            },
            Event::VerificationStarted
        ],
        "no stage is skipped, and none waits on a timer that is already due"
    );
    assert_eq!(last.release.state, ReleaseState::Verifying);
    assert_eq!(deployment(&last.release).stage, 3);
    assert_eq!(deployment(&last.release).verify_started_at, Some(at(150)));
    assert_eq!(
        timers(&last),
        [
            (TimerKind::VerificationEnd, at(150) + TimeDelta::hours(24)),
            (TimerKind::OnCallDue, at(150) + TimeDelta::minutes(15))
        ],
        "verification asks who is on call, and by when"
    );
    let with_one = with_executor(&rollout);
    let acted = hold_ended(&ten.release, with_one, at(150)).unwrap();
    assert_eq!(
        actions(&acted),
        [Action::Deploy {
            stage: 2,
            percent: 50
        }],
        "a stage with an action to run waits for it"
    );
}

#[test]
fn a_hold_timer_that_fires_early_or_twice_changes_nothing() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    assert_eq!(
        hold_ended(&step.release, plan, at(100)),
        None,
        "the action has not succeeded"
    );
    let done = action_finished(
        &step.release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plan,
        at(1),
    )
    .unwrap();
    assert_eq!(
        hold_ended(&done.release, plan, at(30)),
        None,
        "the hold ends at 31"
    );
    assert_eq!(
        action_finished(
            &done.release,
            Action::Deploy {
                stage: 0,
                percent: 1
            },
            &Outcome::Succeeded,
            plan,
            at(2)
        ),
        None,
        "a second report of the same action"
    );
    let next = hold_ended(&done.release, plan, at(31)).unwrap();
    assert_eq!(
        action_finished(
            &next.release,
            Action::Deploy {
                stage: 0,
                percent: 1
            },
            &Outcome::Failed("late".into()),
            plan,
            at(32)
        ),
        None,
        "an outcome for a stage already left"
    );
    assert_eq!(
        verification_ended(&next.release, at(10_000)),
        None,
        "not verifying"
    );
}

#[test]
fn a_failed_action_halts_with_a_notice_and_a_retry_runs_it_again() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let failed = action_finished(
        &step.release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Failed("exit status 3".into()),
        plan,
        at(2),
    )
    .unwrap();
    assert_eq!(failed.release.state, ReleaseState::Halted);
    assert_eq!(deployment(&failed.release).halted_at, Some(at(2)));
    assert_eq!(
        notices(&failed),
        [(
            Audience::Thread,
            &Notice::ActionFailed {
                version: "1.4.1".into(),
                action: "deploy".into(),
                stage: "canary".into(),
                problem: "exit status 3".into()
            }
        )]
    );
    let retried = resume(&failed.release, deployer(), plan, at(10)).unwrap();
    assert_eq!(retried.release.state, ReleaseState::Deploying);
    assert_eq!(
        actions(&retried),
        [Action::Deploy {
            stage: 0,
            percent: 1
        }]
    );
    assert_eq!(
        deployment(&retried.release).halted_for,
        TimeDelta::minutes(8)
    );
}

#[test]
fn a_halt_pauses_the_stage_clock_and_a_resume_continues_with_what_remained() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let holding = action_finished(
        &step.release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plan,
        at(0),
    )
    .unwrap();
    let halted = halt(&holding.release, manager(), "pager storm", at(10)).unwrap();
    assert_eq!(halted.release.state, ReleaseState::Halted);
    assert!(halted
        .effects
        .contains(&Effect::CancelTimer(TimerKind::StageHold)));
    assert_eq!(
        hold_ended(&halted.release, plan, at(30)),
        None,
        "a halted clock does not run"
    );
    let resumed = resume(&halted.release, manager(), plan, at(60)).unwrap();
    assert_eq!(resumed.release.state, ReleaseState::Deploying);
    assert_eq!(
        timers(&resumed),
        [(TimerKind::StageHold, at(80))],
        "twenty minutes remained"
    );
    assert!(
        actions(&resumed).is_empty(),
        "the stage's action already succeeded"
    );
    let d = deployment(&resumed.release);
    assert_eq!((d.halted_for, d.halted_at), (TimeDelta::minutes(50), None));
}

#[test]
fn an_action_that_succeeds_while_halted_keeps_its_whole_hold_for_the_resume() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let halted = halt(&step.release, manager(), "wait for the dashboards", at(1)).unwrap();
    let done = action_finished(
        &halted.release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plan,
        at(5),
    )
    .unwrap();
    assert_eq!(done.release.state, ReleaseState::Halted);
    assert!(timers(&done).is_empty());
    let resumed = resume(&done.release, manager(), plan, at(40)).unwrap();
    assert_eq!(timers(&resumed), [(TimerKind::StageHold, at(70))]);
}

#[test]
fn a_halted_verification_resumes_with_its_remaining_time() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let steps = climb(&rollout, started(&rollout, true), 0);
    let verifying = steps
        .iter()
        .find(|s| s.release.state == ReleaseState::Verifying)
        .unwrap();
    let since = deployment(&verifying.release).verify_started_at.unwrap();
    let halted = halt(
        &verifying.release,
        manager(),
        "error spike",
        since + TimeDelta::hours(1),
    )
    .unwrap();
    assert!(halted
        .effects
        .contains(&Effect::CancelTimer(TimerKind::VerificationEnd)));
    let resumed = resume(
        &halted.release,
        manager(),
        plan,
        since + TimeDelta::hours(3),
    )
    .unwrap();
    assert_eq!(resumed.release.state, ReleaseState::Verifying);
    assert_eq!(
        timers(&resumed),
        [(TimerKind::VerificationEnd, since + TimeDelta::hours(26))]
    );
}

#[test]
fn halting_and_resuming_are_for_a_release_manager_and_need_a_running_rollout() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    assert_eq!(
        halt(&step.release, deployer(), "x", at(1)).unwrap_err(),
        Refusal::NotAReleaseManager
    );
    assert_eq!(
        halt(&step.release, manager(), "  ", at(1)).unwrap_err(),
        Refusal::ReasonRequired
    );
    assert_eq!(
        resume(&step.release, manager(), plan, at(1)).unwrap_err(),
        Refusal::NotHalted {
            state: ReleaseState::Deploying
        }
    );
    let halted = halt(&step.release, manager(), "x", at(1)).unwrap();
    assert_eq!(
        resume(&halted.release, team_member(), plan, at(2)).unwrap_err(),
        Refusal::NotAReleaseManager
    );
    for state in ReleaseState::ALL {
        let mut release = step.release.clone();
        release.state = state;
        let halting = halt(&release, manager(), "x", at(1)).err();
        let expected = (!matches!(state, ReleaseState::Deploying | ReleaseState::Verifying))
            .then_some(Refusal::CannotHalt { state });
        assert_eq!(halting, expected, "halt in {state:?}");
        let resuming = resume(&release, manager(), plan, at(1)).err();
        let expected = (state != ReleaseState::Halted).then_some(Refusal::NotHalted { state });
        assert_eq!(
            resuming.filter(|r| *r
                != Refusal::NotHalted {
                    state: ReleaseState::Halted
                }),
            expected,
            "resume in {state:?}"
        );
    }
}

#[test]
fn progress_is_posted_to_the_thread_on_each_mark_and_once_after_downtime() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let tick = progress_due(&step.release, plan, at(15), at(15)).unwrap();
    assert!(
        tick.events.is_empty(),
        "progress is not a change of the release"
    );
    assert_eq!(timers(&tick), [(TimerKind::ProgressTick, at(30))]);
    let [(
        Audience::Thread,
        Notice::Progress {
            stage,
            percent,
            minutes_in,
            catching_up,
            next_at,
            ..
        },
    )] = notices(&tick)[..]
    else {
        panic!("{:?}", tick.effects);
    };
    assert_eq!(
        (
            stage.as_str(),
            *percent,
            *minutes_in,
            *catching_up,
            *next_at
        ),
        ("canary", 1, 15, false, None)
    );
    let late = progress_due(&step.release, plan, at(15), at(97)).unwrap();
    assert_eq!(
        timers(&late),
        [(TimerKind::ProgressTick, at(105))],
        "missed ticks are not replayed"
    );
    let Notice::Progress { catching_up, .. } = notices(&late)[0].1 else {
        panic!()
    };
    assert!(catching_up);
    let last = climb(&rollout, step, 0).pop().unwrap();
    assert_eq!(
        progress_due(&last.release, plan, at(2000), at(2000)),
        None,
        "a completed release is quiet"
    );
}

#[test]
fn a_halted_rollout_keeps_reporting_that_it_is_halted() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let halted = halt(&step.release, manager(), "x", at(5)).unwrap();
    let tick = progress_due(&halted.release, plan, at(15), at(15)).unwrap();
    let Notice::Progress {
        phase,
        halted_since,
        ..
    } = notices(&tick)[0].1
    else {
        panic!()
    };
    assert_eq!(
        (phase.as_str(), *halted_since),
        ("halted", Some(at(5).timestamp()))
    );
}

/// A rollout at its 10% stage, rolled back by Dee at minute 40.
fn rolling_back_from_ten(rollout: &Rollout) -> Transition {
    let policy = Policy::default_for(ReleaseKind::Patch);
    let steps = climb(rollout, started(rollout, true), 0);
    let at_ten = steps
        .iter()
        .find(|s| deployment(&s.release).stage == 1)
        .unwrap();
    let plan = with_executor(rollout);
    roll_back(
        &at_ten.release,
        &policy,
        deployer(),
        "errors up",
        plan,
        at(40),
    )
    .unwrap()
}

#[test]
fn a_failed_rollback_is_never_reported_done_and_runs_again_only_when_asked() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let rolling = rolling_back_from_ten(&rollout);
    let failed = action_finished(
        &rolling.release,
        Action::Rollback { stage: 1 },
        &Outcome::Failed("timed out".into()),
        plan,
        at(45),
    )
    .unwrap();
    assert_eq!(
        failed.release.state,
        ReleaseState::RollingBack,
        "never reported as done"
    );
    assert!(matches!(
        notices(&failed)[..],
        [(Audience::Everyone, Notice::ActionFailed { .. })]
    ));
    let retried = roll_back(&failed.release, &policy, manager(), "again", plan, at(46)).unwrap();
    assert_eq!(
        actions(&retried),
        [Action::Rollback { stage: 1 }],
        "a failed rollback runs again when asked"
    );
    assert_eq!(
        roll_back(
            &retried.release,
            &policy,
            deployer(),
            "and again",
            plan,
            at(46)
        )
        .unwrap_err(),
        Refusal::AlreadyRollingBack,
        "a running one is not doubled"
    );
}

#[test]
fn a_rollback_from_the_ten_percent_stage_runs_the_rollback_action_and_tells_everyone() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let rolling = rolling_back_from_ten(&rollout);
    assert_eq!(rolling.release.state, ReleaseState::RollingBack);
    assert_eq!(actions(&rolling), [Action::Rollback { stage: 1 }]);
    assert!(rolling
        .effects
        .contains(&Effect::CancelTimer(TimerKind::StageHold)));
    assert!(matches!(
        notices(&rolling)[..],
        [(Audience::Everyone, Notice::RollingBack { .. })]
    ));
    assert_eq!(
        roll_back(&rolling.release, &policy, deployer(), "again", plan, at(41)).unwrap_err(),
        Refusal::AlreadyRollingBack
    );
    let done = action_finished(
        &rolling.release,
        Action::Rollback { stage: 1 },
        &Outcome::Succeeded,
        plan,
        at(47),
    )
    .unwrap();
    assert_eq!(done.release.state, ReleaseState::RolledBack);
    assert_eq!(
        done.events,
        [Event::RolledBack {
            restore_secs: 7 * 60
        }]
    );
    assert_eq!(
        notices(&done),
        [
            (
                Audience::Everyone,
                &Notice::RolledBack {
                    version: "1.4.1".into(),
                    by: "Dee".into(),
                    reason: "errors up".into(),
                    stage: "10%".into(),
                    restore_secs: 420
                }
            ),
            (
                Audience::Thread,
                &Notice::RetrospectivePrompt {
                    version: "1.4.1".into(),
                    outcome: "rolled_back".into()
                }
            )
        ]
    );
    assert_eq!(
        action_finished(
            &done.release,
            Action::Rollback { stage: 1 },
            &Outcome::Succeeded,
            plan,
            at(48)
        ),
        None
    );
}

#[test]
fn without_an_executor_a_rollback_is_done_at_once() {
    let rollout = Rollout::default();
    let plan = Plan::by_hand(&rollout);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let step = started(&rollout, false);
    let done = roll_back(
        &step.release,
        &policy,
        manager(),
        "wrong build",
        plan,
        at(3),
    )
    .unwrap();
    assert_eq!(done.release.state, ReleaseState::RolledBack);
    assert!(actions(&done).is_empty());
    assert!(matches!(
        notices(&done)[..],
        [
            (
                Audience::Everyone,
                Notice::RolledBack {
                    restore_secs: 0,
                    ..
                }
            ),
            (Audience::Thread, Notice::RetrospectivePrompt { .. })
        ]
    ));
}

#[test]
fn a_rollback_needs_a_deployer_or_a_release_manager_and_a_rollout() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let step = started(&rollout, true);
    assert_eq!(
        roll_back(&step.release, &policy, team_member(), "x", plan, at(1)).unwrap_err(),
        Refusal::NotADeployer
    );
    assert_eq!(
        roll_back(&step.release, &policy, deployer(), "", plan, at(1)).unwrap_err(),
        Refusal::ReasonRequired
    );
    let (approved, _) = approved();
    assert_eq!(
        roll_back(&approved, &policy, deployer(), "x", plan, at(1)).unwrap_err(),
        Refusal::NothingToRollBack {
            state: ReleaseState::Approved
        }
    );
}

#[test]
fn other_environments_and_finished_rollouts_leave_the_lock_free() {
    let (next, _) = approved();
    let other = |id, environment: &str, state| {
        let mut release = next.clone();
        release.id = ReleaseId(id);
        release.environment = environment.to_owned();
        release.state = state;
        release
    };
    let others = [
        other(1, "staging", ReleaseState::Deploying),
        other(3, "production", ReleaseState::Completed),
        other(4, "production", ReleaseState::RolledBack),
    ];
    assert_eq!(check_deploy_lock(&next, &others), Ok(()));
    for state in [
        ReleaseState::Deploying,
        ReleaseState::Halted,
        ReleaseState::Verifying,
        ReleaseState::RollingBack,
    ] {
        let holder = other(5, "production", state);
        assert!(check_deploy_lock(&next, &[holder]).is_err(), "{state:?}");
    }
    let mut halted = next.clone();
    halted.state = ReleaseState::Halted;
    assert_eq!(
        check_deploy_lock(&halted, std::slice::from_ref(&halted)),
        Ok(()),
        "not locked out by itself"
    );
}

#[test]
fn a_completed_release_rolled_back_in_its_window_ends_rolled_back() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let completed = climb(&rollout, started(&rollout, true), 0).pop().unwrap();
    let finished = deployment(&completed.release).finished_at.unwrap();
    let later = finished + TimeDelta::hours(1);
    let rolling = roll_back(
        &completed.release,
        &policy,
        deployer(),
        "regression",
        plan,
        later,
    )
    .unwrap();
    assert_eq!(actions(&rolling), [Action::Rollback { stage: 3 }]);
    let done = action_finished(
        &rolling.release,
        Action::Rollback { stage: 3 },
        &Outcome::Succeeded,
        plan,
        later + TimeDelta::minutes(2),
    )
    .unwrap();
    assert_eq!(done.release.state, ReleaseState::RolledBack);
    assert_eq!(done.events, [Event::RolledBack { restore_secs: 120 }]);
}

#[test]
fn the_verification_ends_on_its_time_and_not_before() {
    let rollout = Rollout::default();
    let steps = climb(&rollout, started(&rollout, true), 0);
    let verifying = steps
        .iter()
        .find(|s| s.release.state == ReleaseState::Verifying)
        .unwrap();
    let ends = deployment(&verifying.release).clock_ends_at.unwrap();
    assert_eq!(
        verification_ended(&verifying.release, ends - TimeDelta::minutes(1)),
        None
    );
    let done = verification_ended(&verifying.release, ends).unwrap();
    assert_eq!(done.release.state, ReleaseState::Completed);
}

#[test]
fn progress_names_the_next_stage_only_while_the_clock_runs() {
    let rollout = Rollout::default();
    let plan = with_executor(&rollout);
    let step = started(&rollout, true);
    let holding = action_finished(
        &step.release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plan,
        at(0),
    )
    .unwrap();
    let next_at = |release: &Release| {
        let tick = progress_due(release, plan, at(15), at(15)).unwrap();
        match notices(&tick)[0].1 {
            Notice::Progress { next_at, .. } => *next_at,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(next_at(&holding.release), Some(at(30).timestamp()));
    let halted = halt(&holding.release, manager(), "wait", at(10)).unwrap();
    assert_eq!(
        next_at(&halted.release),
        None,
        "a halted clock names no next stage"
    );
}
