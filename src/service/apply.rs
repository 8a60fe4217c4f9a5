//! Carries a domain transition into the open transaction: state, audit, timers, outbox.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::unit::Unit;
use super::Service;
use crate::domain::transition::{Effect, Event};
use crate::domain::{Ballot, Release, Tally, Transition};
use crate::store;
use crate::store::outbox::OutboxKind;
use crate::store::timers::TimerKind;

impl Service {
    /// Writes `step`, which moved the release on from `previous`, into the unit. `history` is
    /// the release's ballots including this step's.
    pub(super) async fn apply(
        &self,
        unit: &mut Unit,
        step: &Transition,
        previous: &Release,
        history: &[Ballot],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let release = &step.release;
        if release != previous {
            store::releases::update(&mut *unit.tx, release).await?;
        }
        for event in &step.events {
            unit.audit
                .append(&mut unit.tx, Some(release.id), step.actor, event, now)
                .await?;
        }
        for effect in &step.effects {
            match effect {
                Effect::PostCard => {
                    store::outbox::enqueue(
                        &mut *unit.tx,
                        release.id,
                        OutboxKind::PostCard,
                        None,
                        now,
                    )
                    .await?;
                }
                Effect::OpenThread => {
                    store::outbox::enqueue(
                        &mut *unit.tx,
                        release.id,
                        OutboxKind::OpenThread,
                        None,
                        now,
                    )
                    .await?;
                }
                Effect::RefreshCard => {
                    if unit.first_refresh(release.id) {
                        store::outbox::enqueue_refresh(&mut *unit.tx, release.id, now).await?;
                    }
                }
                Effect::Notify(_) => {
                    let text = self.render_notice(step, history)?;
                    store::outbox::enqueue(
                        &mut *unit.tx,
                        release.id,
                        OutboxKind::Notify,
                        Some(&text),
                        now,
                    )
                    .await?;
                }
                Effect::ScheduleExpiry(at) => {
                    store::timers::schedule(&mut *unit.tx, release.id, TimerKind::PollExpiry, *at)
                        .await?;
                }
                Effect::CancelExpiry => {
                    store::timers::cancel(&mut *unit.tx, release.id, TimerKind::PollExpiry).await?;
                }
            }
        }
        Ok(())
    }

    /// The thread notice of a poll that just ended, named after the release's new state.
    fn render_notice(&self, step: &Transition, history: &[Ballot]) -> anyhow::Result<String> {
        let release = &step.release;
        let policy = self.config.policies.get(release.kind);
        let tally = Tally::count(policy, release.author, history);
        let approvers: Vec<&str> = tally
            .slots
            .iter()
            .flat_map(|slot| &slot.filled_by)
            .filter_map(|&id| tally.latest_of(id).map(|b| b.voter_name.as_str()))
            .collect();
        let cancelled_by = step.events.iter().find_map(|event| match event {
            Event::Cancelled { by, .. } => Some(by.as_str()),
            _ => None,
        });
        let by = cancelled_by.or_else(|| tally.veto().map(|b| b.voter_name.as_str()));
        self.messages.render(
            "poll_ended",
            json!({
                "state": release.state.as_str(),
                "version": release.version.to_string(),
                "approvers": approvers,
                "by": by.unwrap_or_default(),
                "reason": release.decision_reason,
            }),
        )
    }
}
