//! Problem reports from chat: one per person per rollout, each told to the thread; more than
//! the limit roll the release back, quoting them.

use chrono::{DateTime, Utc};

use super::inputs::{Person, Plan};
use super::watch::GONOGO;
use super::{rollback, Event, Transition};
use crate::domain::effect::{Audience, Effect, Notice, MAX_PROBLEM};
use crate::domain::refusal::Refusal;
use crate::domain::release::{ProblemReport, Release, ReleaseState};
use crate::domain::text::excerpt;
use crate::domain::UserId;

/// How much of each report the rollback reason quotes.
const QUOTED: usize = 100;

/// Whether `who` may report a problem with `release` now: while it rolls out, once. Someone
/// who reported already hears that first, whatever became of the release since.
pub fn may_report(release: &Release, who: UserId) -> Result<(), Refusal> {
    let reports = release.deployment.as_ref().map(|d| &d.reports);
    if reports.is_some_and(|reports| reports.iter().any(|report| report.by == who)) {
        return Err(Refusal::AlreadyReported);
    }
    let running = matches!(
        release.state,
        ReleaseState::Deploying | ReleaseState::Halted | ReleaseState::Verifying
    );
    if running && reports.is_some() {
        Ok(())
    } else {
        Err(Refusal::NotRollingOut {
            state: release.state,
        })
    }
}

/// `by` reports a problem; past the limit of the release's contract (`limit` for a release
/// approved before contracts), gonogo rolls the release back.
pub fn report_problem(
    release: &Release,
    (plan, limit): (Plan<'_>, u32),
    by: Person<'_>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    may_report(release, by.id)?;
    let limit = release
        .contract
        .as_ref()
        .map_or(limit, |c| c.max_complaints);
    let text = super::poll::parse_reason(Some(text))?;
    let mut next = release.clone();
    let reports = &mut next
        .deployment
        .as_mut()
        .ok_or(Refusal::NotRollingOut {
            state: release.state,
        })?
        .reports;
    reports.push(ProblemReport {
        by: by.id,
        name: by.name.to_owned(),
        text: text.clone(),
        at: now,
    });
    let count = reports.len();
    let event = Event::ProblemReported {
        by: by.name.to_owned(),
        text: text.clone(),
        count,
    };
    if count > usize::try_from(limit).unwrap_or(usize::MAX) {
        let quoted: Vec<String> = reports
            .iter()
            .map(|r| format!("“{}” ({})", excerpt(&r.text, QUOTED), r.name))
            .collect();
        let reason = excerpt(
            &format!(
                "{count} problem reports, more than the {limit} allowed: {}",
                quoted.join("; ")
            ),
            MAX_PROBLEM,
        );
        let mut step = rollback::begin(&next, (GONOGO, None), reason, plan, now)?;
        step.actor = Some(by.id);
        step.events.insert(0, event);
        return Ok(step);
    }
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![event],
        effects: vec![Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::ProblemReported {
                version: release.version.to_string(),
                by: by.name.to_owned(),
                text,
                count,
                limit,
            },
        }],
    })
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;
