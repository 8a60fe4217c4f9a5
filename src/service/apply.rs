//! Carries a domain transition into the open unit: the release, its audit events, and each
//! effect as outbox rows and timers, all in the one transaction.

use super::unit::Unit;
use crate::domain::{Effect, Release, Transition};
use crate::store;
use crate::store::outbox::{NoticeBody, OutboxKind};

/// Writes `step`, which moved the release on from `before`, into the unit. A step with no
/// events changed nothing, so it writes nothing.
pub(super) async fn apply(
    unit: &mut Unit,
    before: &Release,
    step: &Transition,
) -> anyhow::Result<()> {
    let release = &step.release;
    let now = unit.now;
    if step.events.is_empty() {
        return Ok(());
    }
    unit.record_release(before, release);
    for event in &step.events {
        unit.audit
            .append(&mut unit.tx, Some(release.id), step.actor, event, now)
            .await?;
    }
    for effect in &step.effects {
        let tx = &mut *unit.tx;
        match effect {
            Effect::PostCard => {
                store::outbox::enqueue(tx, release.id, OutboxKind::PostCard, None, now).await?;
            }
            Effect::OpenThread => {
                store::outbox::enqueue(tx, release.id, OutboxKind::OpenThread, None, now).await?;
            }
            Effect::RefreshCard => {
                if unit.first_refresh(release.id) {
                    store::outbox::enqueue_refresh(&mut *unit.tx, release.id, now).await?;
                }
            }
            Effect::Notify { audience, notice } => {
                let body = serde_json::to_string(&NoticeBody {
                    audience: *audience,
                    notice: notice.clone(),
                })?;
                store::outbox::enqueue(tx, release.id, OutboxKind::Notify, Some(&body), now)
                    .await?;
            }
            Effect::ScheduleTimer { timer, at } => {
                store::timers::schedule(tx, release.id, *timer, *at).await?;
            }
            Effect::CancelTimer(timer) => {
                store::timers::cancel(tx, release.id, *timer).await?;
            }
        }
    }
    Ok(())
}
