//! The scheduler's port: the due timers, fired through the write path.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::{Id, JoinError, JoinSet};

use super::super::records::Record;
use super::super::writer::Change;
use super::super::{background, Service};
use crate::domain::lifecycle::needs_look;
use crate::store;

#[derive(Clone)]
pub struct Timers(pub(super) Service);

/// The timers whose writes are under way. A timer is fired again only once its write has
/// settled, so the scheduler can read what fell due meanwhile without waiting for the rest.
#[derive(Default)]
pub struct Firing {
    writes: JoinSet<anyhow::Result<()>>,
    timers: HashMap<Id, i64>,
    under_way: HashSet<i64>,
}

impl Firing {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Waits for a write to settle, then takes every other that has settled by then: each
    /// timer's id and whether it, or failing that its postponement, was written.
    pub async fn settled(&mut self) -> Vec<(i64, anyhow::Result<()>)> {
        let Some(first) = self.writes.join_next_with_id().await else {
            return Vec::new();
        };
        let mut settled = vec![self.forget(first)];
        while let Some(next) = self.writes.try_join_next_with_id() {
            settled.push(self.forget(next));
        }
        settled
    }

    fn forget(
        &mut self,
        joined: Result<(Id, anyhow::Result<()>), JoinError>,
    ) -> (i64, anyhow::Result<()>) {
        let (task, result) = match joined {
            Ok(done) => done,
            Err(panic) => (
                panic.id(),
                Err(anyhow::anyhow!("A timer's write panicked: {panic}")),
            ),
        };
        let timer = self
            .timers
            .remove(&task)
            .expect("every write names its timer");
        self.under_way.remove(&timer);
        (timer, result)
    }
}

impl Timers {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// When the next timer not yet due falls due, if any is set.
    pub async fn next_after(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        store::timers::earliest_after(self.0.db.reader(), now).await
    }

    /// Waits until a commit sets or clears a timer, the clock reaches `next`, or shutdown.
    pub async fn idle(&self, next: Option<DateTime<Utc>>, shutdown: &mut watch::Receiver<bool>) {
        super::idle(self.0.clock.as_ref(), &self.0.wakes.timers, next, shutdown).await;
    }

    /// Starts firing every timer due by `now` that is not already under way, each through the
    /// write path, which commits those that meet there as one group. A timer that fails is set
    /// aside for a minute, so it cannot hold up the others.
    pub async fn fire_due(&self, now: DateTime<Utc>, firing: &mut Firing) -> anyhow::Result<()> {
        let service = &self.0;
        let due = store::timers::due(service.db.reader(), now, &firing.under_way).await?;
        // One look at the metrics serves every timer of the pass that needs one.
        let look = match (&service.metric_reader, service.config.gates.metric_gates()) {
            (Some(reader), Some(gates)) if due.iter().any(|t| needs_look(t.kind)) => {
                Some(crate::prometheus::look(reader.as_ref(), gates).await)
            }
            _ => None,
        };
        for timer in due {
            let service = service.clone();
            let look = look.clone().filter(|_| needs_look(timer.kind));
            let id = timer.id;
            let task = firing.writes.spawn(async move {
                let Err(cause) = service.submit(None, Change::Timer { timer, look }).await else {
                    return Ok(());
                };
                tracing::warn!(
                    timer = id,
                    "Cannot fire a timer, trying it again later: {cause:#}"
                );
                let until = now + TimeDelta::minutes(1);
                background(
                    service
                        .record(None, Record::Postpone { timer: id, until })
                        .await,
                )
                .map(drop)
            });
            firing.timers.insert(task.id(), id);
            firing.under_way.insert(id);
        }
        Ok(())
    }
}
