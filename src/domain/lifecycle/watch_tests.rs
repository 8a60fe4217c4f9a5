//! Stories of a rollout under the metric gates, on a hand-driven clock.

use chrono::TimeDelta;

use super::*;
use crate::domain::effect::{Action, Audience, Notice};
use crate::domain::gates::Gates;
use crate::domain::lifecycle::deploy;
use crate::domain::lifecycle::deploy::tests::{
    actions, at, deployment, manager, notices, start_with, t0, timers,
};
use crate::domain::lifecycle::inputs::{Outcome, Person};
use crate::domain::lifecycle::on_timer;
use crate::domain::policy::{Policy, Role};
use crate::domain::release::ReleaseKind;
use crate::domain::rollout::Rollout;

fn gates() -> Gates {
    Gates {
        error_rate_query: Some("errors:ratio".into()),
        latency_p99_query: Some("latency:p99".into()),
        max_error_rate: 0.01,
        max_latency_ratio: 2.0,
        check_every: TimeDelta::minutes(1),
    }
}

fn watched<'a>(rollout: &'a Rollout, gates: &'a Gates) -> Plan<'a> {
    Plan {
        rollout,
        executor: true,
        gates: Some(gates),
        past_guardrails: false,
        order: None,
    }
}

fn good(error_rate: f64, p99_seconds: f64) -> Look {
    Reading::of(Some(error_rate), Some(p99_seconds))
}

fn fire(
    release: &Release,
    kind: TimerKind,
    plan: Plan<'_>,
    now: DateTime<Utc>,
    look: &Look,
) -> Transition {
    on_timer(release, kind, plan, (now, now), Some(look)).expect("the timer acts")
}

/// Started at t0 and baselined at a p99 of 100 ms; the canary's action is running.
fn canary(plan: Plan<'_>) -> Release {
    let start = start_with(plan);
    fire(
        &start.release,
        TimerKind::GateCheck,
        plan,
        t0(),
        &good(0.0, 0.1),
    )
    .release
}

/// The canary's action succeeded at t0: its 30-minute hold runs.
fn holding(plan: Plan<'_>) -> Release {
    deploy::action_finished(
        &canary(plan),
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plan,
        t0(),
    )
    .unwrap()
    .release
}

#[test]
fn a_watched_rollout_reads_its_baseline_before_the_first_stage_runs() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let start = start_with(plan);
    assert!(
        actions(&start).is_empty(),
        "nothing deploys before the baseline"
    );
    assert!(timers(&start).contains(&(TimerKind::GateCheck, t0())));

    let first = fire(
        &start.release,
        TimerKind::GateCheck,
        plan,
        at(0),
        &good(0.002, 0.1),
    );
    let watch = &deployment(&first.release).watch;
    assert!(watch.baselined);
    assert_eq!(watch.baseline_p99_us, Some(100_000));
    assert_eq!(
        actions(&first),
        [Action::Deploy {
            stage: 0,
            percent: 1
        }]
    );
    assert!(timers(&first).contains(&(TimerKind::GateCheck, at(1))));
    assert_eq!(
        first.events,
        [Event::GatesRead {
            error_rate: Some("0.20%".into()),
            p99: Some("100 ms".into()),
            baseline: true
        }]
    );
}

#[test]
fn no_baseline_reading_halts_the_rollout_before_anything_is_deployed() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let start = start_with(plan);
    let down: Look = Err("Prometheus at http://127.0.0.1:9090 did not answer".into());
    let halted = fire(&start.release, TimerKind::GateCheck, plan, at(0), &down);
    assert_eq!(halted.release.state, ReleaseState::Halted);
    assert!(actions(&halted).is_empty());
    let [(Audience::Thread, Notice::Halted { by, reason, .. })] = notices(&halted)[..] else {
        panic!("one halt notice: {:?}", notices(&halted));
    };
    assert_eq!(by, GONOGO);
    assert!(reason.contains("did not answer"), "{reason}");

    // Resumed, it looks again before the canary runs; the canary runs on a good reading.
    let resumed = deploy::resume(&halted.release, manager(), plan, at(5)).unwrap();
    assert!(actions(&resumed).is_empty());
    assert!(timers(&resumed).contains(&(TimerKind::GateCheck, at(5))));
    let baselined = fire(
        &resumed.release,
        TimerKind::GateCheck,
        plan,
        at(5),
        &good(0.0, 0.1),
    );
    assert_eq!(
        actions(&baselined),
        [Action::Deploy {
            stage: 0,
            percent: 1
        }]
    );
}

#[test]
fn an_error_rate_breach_mid_canary_rolls_the_release_back_quoting_the_reading() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let release = holding(plan);
    let healthy = fire(
        &release,
        TimerKind::GateCheck,
        plan,
        at(1),
        &good(0.004, 0.12),
    );
    assert_eq!(healthy.release.state, ReleaseState::Deploying);
    assert!(timers(&healthy).contains(&(TimerKind::GateCheck, at(2))));

    let breach = fire(
        &healthy.release,
        TimerKind::GateCheck,
        plan,
        at(2),
        &good(0.034, 0.12),
    );
    assert_eq!(breach.release.state, ReleaseState::RollingBack);
    assert_eq!(actions(&breach), [Action::Rollback { stage: 0 }]);
    let [(Audience::Everyone, Notice::RollingBack { by, reason, .. })] = notices(&breach)[..]
    else {
        panic!("one rollback notice: {:?}", notices(&breach));
    };
    assert_eq!(by, GONOGO);
    assert_eq!(
        reason,
        "error rate 3.40% is above the 1.00% limit (query: errors:ratio)"
    );
    assert!(breach
        .effects
        .contains(&Effect::CancelTimer(TimerKind::GateCheck)));
}

#[test]
fn a_latency_at_two_and_a_half_times_the_baseline_rolls_the_release_back() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let breach = fire(
        &holding(plan),
        TimerKind::GateCheck,
        plan,
        at(1),
        &good(0.0, 0.25),
    );
    assert_eq!(breach.release.state, ReleaseState::RollingBack);
    let rollback = deployment(&breach.release).rollback.clone().unwrap();
    assert!(
        rollback
            .reason
            .starts_with("p99 latency 250 ms is above the 200 ms limit"),
        "{}",
        rollback.reason
    );
}

#[test]
fn a_stage_never_advances_on_stale_health() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let release = holding(plan);
    let due = at(30);

    let unread = on_timer(&release, TimerKind::StageHold, plan, (due, due), None).unwrap();
    assert_eq!(
        unread.release.state,
        ReleaseState::Halted,
        "no look, no advance"
    );
    let blind = fire(
        &release,
        TimerKind::StageHold,
        plan,
        due,
        &Err("timeout".into()),
    );
    assert_eq!(blind.release.state, ReleaseState::Halted);
    assert_eq!(deployment(&blind.release).stage, 0);

    let breach = fire(&release, TimerKind::StageHold, plan, due, &good(0.5, 0.1));
    assert_eq!(breach.release.state, ReleaseState::RollingBack);

    let advanced = fire(&release, TimerKind::StageHold, plan, due, &good(0.0, 0.1));
    assert_eq!(deployment(&advanced.release).stage, 1);
    assert_eq!(deployment(&advanced.release).watch.last_at, Some(due));
    assert!(matches!(
        advanced.events[..],
        [
            Event::GatesRead {
                baseline: false,
                ..
            },
            Event::StageStarted { .. }
        ]
    ));
}

#[test]
fn resuming_a_blind_halt_mid_hold_looks_again_before_the_stage_advances() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let blind = fire(
        &holding(plan),
        TimerKind::StageHold,
        plan,
        at(30),
        &Err("timeout".into()),
    );
    let resumed = deploy::resume(&blind.release, manager(), plan, at(40)).unwrap();
    let due = timers(&resumed);
    assert!(due.contains(&(TimerKind::StageHold, at(40))), "{due:?}");
    assert!(due.contains(&(TimerKind::GateCheck, at(40))), "{due:?}");
    let advanced = fire(
        &resumed.release,
        TimerKind::StageHold,
        plan,
        at(40),
        &good(0.0, 0.1),
    );
    assert_eq!(deployment(&advanced.release).stage, 1);
}

#[test]
fn completion_waits_for_a_healthy_look_too() {
    let rollout = Rollout {
        stages: vec![crate::domain::rollout::Stage {
            name: "100%".into(),
            percent: 100,
            hold: TimeDelta::zero(),
        }],
        ..Rollout::default()
    };
    let gates = gates();
    let plan = watched(&rollout, &gates);
    let release = holding(plan);
    let verifying = fire(&release, TimerKind::StageHold, plan, at(0), &good(0.0, 0.1));
    assert_eq!(verifying.release.state, ReleaseState::Verifying);
    let end = at(24 * 60);
    let breach = fire(
        &verifying.release,
        TimerKind::VerificationEnd,
        plan,
        end,
        &good(0.2, 0.1),
    );
    assert_eq!(breach.release.state, ReleaseState::RollingBack);
    let done = fire(
        &verifying.release,
        TimerKind::VerificationEnd,
        plan,
        end,
        &good(0.0, 0.1),
    );
    assert_eq!(done.release.state, ReleaseState::Completed);
    assert!(done
        .effects
        .contains(&Effect::CancelTimer(TimerKind::GateCheck)));
}

#[test]
fn the_next_progress_notice_says_how_long_the_gates_went_unwatched() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let release = holding(plan);
    // gonogo was down from minute 1 to minute 21.
    let back = fire(
        &release,
        TimerKind::GateCheck,
        plan,
        at(21),
        &good(0.001, 0.11),
    );
    assert_eq!(
        deployment(&back.release).watch.unwatched_secs,
        Some(21 * 60)
    );
    let tick = on_timer(
        &back.release,
        TimerKind::ProgressTick,
        plan,
        (at(15), at(21)),
        None,
    )
    .unwrap();
    let [(
        Audience::Thread,
        Notice::Progress {
            gates: Some(view),
            unwatched_minutes,
            ..
        },
    )] = notices(&tick)[..]
    else {
        panic!("one progress notice: {:?}", notices(&tick));
    };
    assert_eq!(*unwatched_minutes, Some(21));
    assert_eq!(view.error_rate.as_deref(), Some("0.10%"));
    assert_eq!(view.p99.as_deref(), Some("110 ms"));
    assert_eq!(view.max_p99.as_deref(), Some("200 ms"));
    assert_eq!(view.baseline_p99.as_deref(), Some("100 ms"));
    assert_eq!(
        deployment(&tick.release).watch.unwatched_secs,
        None,
        "told once"
    );

    let steady = fire(
        &tick.release,
        TimerKind::GateCheck,
        plan,
        at(22),
        &good(0.0, 0.1),
    );
    assert_eq!(deployment(&steady.release).watch.unwatched_secs, None);
}

#[test]
fn a_halt_stops_the_watch_and_a_halted_release_is_not_looked_at() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let halted = deploy::halt(&holding(plan), manager(), "DB migration", at(3)).unwrap();
    assert!(halted
        .effects
        .contains(&Effect::CancelTimer(TimerKind::GateCheck)));
    let look = good(0.9, 9.0);
    let fired = on_timer(
        &halted.release,
        TimerKind::GateCheck,
        plan,
        (at(4), at(4)),
        Some(&look),
    );
    assert_eq!(fired, None);
}

#[test]
fn without_gates_a_look_timer_does_nothing() {
    let rollout = Rollout::default();
    let gates = gates();
    let release = holding(watched(&rollout, &gates));
    let plan = Plan {
        rollout: &rollout,
        executor: true,
        gates: None,
        past_guardrails: false,
        order: None,
    };
    let look = good(0.9, 9.0);
    let fired = on_timer(
        &release,
        TimerKind::GateCheck,
        plan,
        (at(1), at(1)),
        Some(&look),
    );
    assert_eq!(fired, None);
    let advanced = on_timer(&release, TimerKind::StageHold, plan, (at(30), at(30)), None).unwrap();
    assert_eq!(deployment(&advanced.release).stage, 1);
}

#[test]
fn a_person_rolling_back_a_watched_release_stops_the_watch() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plan = watched(&rollout, &gates);
    let policy = Policy::default_for(ReleaseKind::Patch);
    let by = Person {
        id: crate::domain::UserId(5),
        name: "Dee",
        roles: &[Role::Deployer],
    };
    let step = rollback::roll_back(&holding(plan), &policy, by, "errors", plan, at(2)).unwrap();
    assert!(step
        .effects
        .contains(&Effect::CancelTimer(TimerKind::GateCheck)));
}

#[test]
fn gates_added_mid_rollout_take_a_baseline_without_running_the_stage_again() {
    let (rollout, gates) = (Rollout::default(), gates());
    let plain = Plan {
        rollout: &rollout,
        executor: true,
        gates: None,
        past_guardrails: false,
        order: None,
    };
    // Started and holding before Prometheus was configured.
    let holding = deploy::action_finished(
        &start_with(plain).release,
        Action::Deploy {
            stage: 0,
            percent: 1,
        },
        &Outcome::Succeeded,
        plain,
        t0(),
    )
    .unwrap()
    .release;
    let looking = watched(&rollout, &gates);
    let first = fire(
        &holding,
        TimerKind::GateCheck,
        looking,
        at(1),
        &good(0.0, 0.1),
    );
    assert!(
        actions(&first).is_empty(),
        "the canary is not deployed twice"
    );
    assert!(deployment(&first.release).watch.baselined);
    assert_eq!(first.release.state, ReleaseState::Deploying);
}
