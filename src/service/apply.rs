//! Carries a domain transition into the open unit: the release, its audit events, and each
//! effect as outbox rows and timers, all in the one transaction.

use super::unit::Unit;
use super::view::{ActionView, NoticeBody};
use crate::config::Config;
use crate::domain::{Audience, Effect, Notice, Release, ReleaseId, Transition};
use crate::store;
use crate::store::executions::ExecutionRecord;
use crate::store::outbox::{NewRow, OutboxKind};

/// Writes `step`, which moved the release on from `before`, into the unit. A step with no
/// events leaves the release as it was (a repeated click, a progress notice).
pub(super) async fn apply(
    unit: &mut Unit,
    config: &Config,
    before: &Release,
    step: &Transition,
) -> anyhow::Result<()> {
    let release = &step.release;
    let now = unit.now;
    if !step.events.is_empty() {
        unit.record_release(before, release);
    }
    for event in &step.events {
        unit.audit
            .append(&mut unit.tx, Some(release.id), step.actor, event, now)
            .await?;
    }
    for effect in &step.effects {
        let row = |kind| NewRow {
            release: release.id,
            kind,
            body: None,
            channel: None,
            ping: false,
        };
        match effect {
            Effect::PostCard => unit.send(row(OutboxKind::PostCard)),
            Effect::OpenThread => unit.send(row(OutboxKind::OpenThread)),
            Effect::RefreshCard => unit.send(row(OutboxKind::RefreshCard)),
            Effect::Notify { audience, notice } => {
                let last_action = match notice {
                    Notice::Progress { .. } => last_action(unit, release.id).await?.map(|record| {
                        ActionView::new(&record, config.rollout_for(&release.environment))
                    }),
                    _ => None,
                };
                let body = serde_json::to_string(&NoticeBody {
                    audience: *audience,
                    notice: notice.clone(),
                    last_action,
                })?;
                for (channel, ping) in addresses(config, *audience) {
                    unit.send(NewRow {
                        body: Some(body.clone()),
                        channel,
                        ping,
                        ..row(OutboxKind::Notify)
                    });
                }
            }
            Effect::RunAction(action) => {
                store::executions::request(&mut unit.writes, release.id, *action, now);
                unit.last_actions.remove(&release.id);
                unit.wake.actions = true;
            }
            Effect::ScheduleTimer { timer, at } => {
                store::timers::schedule(&mut unit.writes, release.id, *timer, *at);
                unit.wake.timers = true;
            }
            Effect::CancelTimer(timer) => {
                store::timers::cancel(&mut unit.writes, release.id, *timer);
                unit.wake.timers = true;
            }
        }
    }
    Ok(())
}

/// The executor's last job on `release`, from the group's reading when it has one.
async fn last_action(
    unit: &mut Unit,
    release: ReleaseId,
) -> anyhow::Result<Option<ExecutionRecord>> {
    if let Some(last) = unit.last_actions.get(&release) {
        return Ok(last.clone());
    }
    // Jobs this group asked for are read back too.
    unit.flush().await?;
    let mut last = store::executions::last_of(&mut unit.tx, &[release]).await?;
    Ok(last.remove(&release))
}

/// Where a notice for `audience` goes: `(channel, may ping)`, a `None` channel being the
/// release's thread. Everyone means the releases channel and each stakeholder channel, and
/// only the stakeholder channels ping the stakeholder role.
fn addresses(config: &Config, audience: Audience) -> Vec<(Option<u64>, bool)> {
    match audience {
        Audience::Thread => vec![(None, false)],
        Audience::Releases => vec![(Some(config.channels.releases), false)],
        Audience::Everyone => {
            let ping = config.roles.stakeholder_ping.is_some();
            std::iter::once((Some(config.channels.releases), false))
                .chain(
                    config
                        .channels
                        .stakeholders
                        .iter()
                        .map(|&c| (Some(c), ping)),
                )
                .collect()
        }
    }
}
