//! The scheduler's port: the due timers, fired through the write path.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use super::super::records::Record;
use super::super::writer::Change;
use super::super::{background, Service};
use crate::domain::lifecycle::needs_look;
use crate::store;

#[derive(Clone)]
pub struct Timers(pub(super) Service);

impl Timers {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// When the earliest timer is due, if any is set.
    pub async fn earliest(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        store::timers::earliest(self.0.db.reader()).await
    }

    /// Waits until a commit sets or clears a timer, the clock reaches `next`, or shutdown.
    pub async fn idle(&self, next: Option<DateTime<Utc>>, shutdown: &mut watch::Receiver<bool>) {
        super::idle(self.0.clock.as_ref(), &self.0.wakes.timers, next, shutdown).await;
    }

    /// Fires every timer due by now through the write path, all at once so that the path
    /// commits them as one group. A timer that fails is set aside for a minute, so it cannot
    /// hold up the others.
    pub async fn fire_due(&self) -> anyhow::Result<()> {
        let service = &self.0;
        let now = service.now();
        let due = store::timers::due(service.db.reader(), now).await?;
        // One look at the metrics serves every timer of the pass that needs one.
        let look = match (&service.metric_reader, service.config.gates.metric_gates()) {
            (Some(reader), Some(gates)) if due.iter().any(|t| needs_look(t.kind)) => {
                Some(crate::prometheus::look(reader.as_ref(), gates).await)
            }
            _ => None,
        };
        let mut firing = tokio::task::JoinSet::new();
        for timer in due {
            let service = service.clone();
            let look = look.clone().filter(|_| needs_look(timer.kind));
            firing.spawn(async move {
                let id = timer.id;
                (
                    id,
                    service.submit(None, Change::Timer { timer, look }).await,
                )
            });
        }
        while let Some(fired) = firing.join_next().await {
            let (id, result) = fired.context("A timer's write panicked")?;
            if let Err(cause) = result {
                tracing::warn!(
                    timer = id,
                    "Cannot fire a timer, trying it again later: {cause:#}"
                );
                let until = now + TimeDelta::minutes(1);
                background(
                    service
                        .record(None, Record::Postpone { timer: id, until })
                        .await,
                )?;
            }
        }
        Ok(())
    }
}
