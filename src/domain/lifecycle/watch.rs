//! A rollout under the metric gates: the baseline before the first stage, a look every
//! `check_every`, and a fresh look before any stage advance or completion. A breach rolls the
//! release back; no reading halts it, since no reading is never a pass.

use chrono::{DateTime, Utc};

use super::deploy::{pause, run_stage};
use super::inputs::Plan;
use super::{rollback, Event, Transition};
use crate::domain::effect::{Effect, TimerKind};
use crate::domain::gates::{Look, Reading, Verdict};
use crate::domain::release::{Release, ReleaseState};

/// Who the audit trail and the notices name when the gates act.
pub const GONOGO: &str = "gonogo";

/// The periodic look fired, with `look` taken just now.
pub fn gate_checked(
    release: &Release,
    plan: Plan<'_>,
    look: Option<&Look>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let gates = plan.gates_for(release)?;
    if !matches!(
        release.state,
        ReleaseState::Deploying | ReleaseState::Verifying
    ) {
        return None;
    }
    let watch = &release.deployment.as_ref()?.watch;
    let look = look.cloned().unwrap_or_else(unread);
    if !watch.baselined {
        return match look {
            Ok(reading) => baselined(release, plan, reading, now),
            Err(why) => blind(release, &why, now),
        };
    }
    match gates.judge(&look, watch.baseline_p99_us) {
        Verdict::Healthy(reading) => {
            let mut step = Transition::unchanged(release, None);
            healthy(&mut step, plan, reading, now)?;
            step.effects.push(next_look(plan, now)?);
            Some(step)
        }
        Verdict::Breach(why) => breached(release, plan, why, now),
        Verdict::Blind(why) => blind(release, &why, now),
    }
}

/// `step`, a stage advance or the completion, taken only on a fresh healthy look: a stage
/// never advances on stale health, such as the last reading before gonogo went down.
pub fn guarded(
    release: &Release,
    plan: Plan<'_>,
    look: Option<&Look>,
    now: DateTime<Utc>,
    step: Option<Transition>,
) -> Option<Transition> {
    let mut step = step?;
    let Some(gates) = plan.gates_for(release) else {
        return Some(step);
    };
    let watch = &release.deployment.as_ref()?.watch;
    let look = look.cloned().unwrap_or_else(unread);
    match gates.judge(&look, watch.baseline_p99_us) {
        Verdict::Healthy(reading) => {
            healthy(&mut step, plan, reading, now)?;
            Some(step)
        }
        Verdict::Breach(why) => breached(release, plan, why, now),
        Verdict::Blind(why) => blind(release, &why, now),
    }
}

fn unread() -> Look {
    Err("gonogo did not read the metrics".to_owned())
}

/// The first look: its p99 is the baseline, and the first stage may start.
fn baselined(
    release: &Release,
    plan: Plan<'_>,
    reading: Reading,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let gates = plan.gates?;
    let mut next = release.clone();
    let d = next.deployment.as_mut()?;
    d.watch.baselined = true;
    d.watch.baseline_p99_us = reading.p99_us;
    gates.record(&mut d.watch, reading, now);
    let waiting = release.state == ReleaseState::Deploying && d.clock_ends_at.is_none();
    let mut effects = vec![Effect::RefreshCard];
    if waiting {
        effects.extend(run_stage(&mut next, plan, now));
    }
    effects.push(next_look(plan, now)?);
    Some(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![read(reading, true)],
        effects,
    })
}

/// Records a healthy reading on `step`'s release.
fn healthy(
    step: &mut Transition,
    plan: Plan<'_>,
    reading: Reading,
    now: DateTime<Utc>,
) -> Option<()> {
    let gates = plan.gates?;
    let d = step.release.deployment.as_mut()?;
    gates.record(&mut d.watch, reading, now);
    step.events.insert(0, read(reading, false));
    Some(())
}

fn read(reading: Reading, baseline: bool) -> Event {
    Event::GatesRead {
        error_rate: reading.error_ppm.map(crate::domain::gates::percent),
        p99: reading.p99_us.map(crate::domain::gates::millis),
        baseline,
    }
}

fn next_look(plan: Plan<'_>, now: DateTime<Utc>) -> Option<Effect> {
    Some(Effect::ScheduleTimer {
        timer: TimerKind::GateCheck,
        at: now + plan.gates?.check_every,
    })
}

/// A threshold is crossed: gonogo rolls the release back, quoting what it read.
fn breached(
    release: &Release,
    plan: Plan<'_>,
    why: String,
    now: DateTime<Utc>,
) -> Option<Transition> {
    rollback::begin(release, (GONOGO, None), why, plan, now).ok()
}

/// No usable reading: the rollout halts until someone resumes it or rolls it back.
fn blind(release: &Release, why: &str, now: DateTime<Utc>) -> Option<Transition> {
    let reason = format!(
        "the metric gates have no reading ({why}). A rollout never goes on unwatched: resume \
         it once the metrics answer, or roll it back"
    );
    pause(release, GONOGO, None, reason, now)
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
