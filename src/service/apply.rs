//! Carries a domain transition into the open transaction: state, audit, timers, outbox.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::unit::Unit;
use super::Service;
use crate::domain::transition::{Effect, Notice};
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
            store::audit::append(
                &mut unit.tx,
                &mut unit.audit,
                Some(release.id),
                step.actor,
                event,
                now,
            )
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
                Effect::Notify(notice) => {
                    let text = self.render_notice(*notice, step, history)?;
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

    fn render_notice(
        &self,
        notice: Notice,
        step: &Transition,
        history: &[Ballot],
    ) -> anyhow::Result<String> {
        let release = &step.release;
        let policy = self.config.policies.get(release.kind);
        let tally = Tally::count(policy, release.author, history);
        let name_of = |id| {
            tally
                .latest_of(id)
                .map_or_else(|| format!("<@{id}>"), |b| b.voter_name.clone())
        };
        let approvers: Vec<String> = tally
            .slots
            .iter()
            .flat_map(|s| s.filled_by.iter().map(|&id| name_of(id)))
            .collect();
        let by = step.actor.map(name_of).unwrap_or_default();
        let state = match notice {
            Notice::Approved => "approved",
            Notice::Rejected => "rejected",
            Notice::Expired => "expired",
            Notice::Cancelled => "cancelled",
        };
        self.messages.render(
            "poll_ended",
            json!({
                "state": state,
                "version": release.version.to_string(),
                "approvers": approvers,
                "by": by,
                "reason": release.decision_reason,
            }),
        )
    }
}
