//! The narrow ports the service hands its doors and background loops: each names only what
//! its caller needs, so none of them holds the store.

mod counts;
pub mod jobs;
pub mod outbox;
mod timers;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{watch, Notify};

pub use crate::prometheus::MetricReader;
pub use counts::Counts;
pub use jobs::Jobs;
pub use outbox::{Outbox, Settlement};
pub use timers::{Firing, Timers};

use super::records::Record;
use super::{background, Service};
use crate::clock::Clock;

/// Waits for new work: a wake-up after a commit, the clock reaching `next`, or shutdown.
async fn idle(
    clock: &dyn Clock,
    wake: &Notify,
    next: Option<DateTime<Utc>>,
    shutdown: &mut watch::Receiver<bool>,
) {
    tokio::select! {
        () = wake.notified() => {}
        () = async {
            match next {
                Some(at) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        } => {}
        _ = shutdown.changed() => {}
    }
}

/// Housekeeping's port: forgetting what is no longer needed.
#[derive(Clone)]
pub struct Housekeeping(Service);

impl Housekeeping {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// Waits `wait` on the service's clock; `false` when shutdown came first.
    pub async fn pause(&self, wait: TimeDelta, stop: &mut watch::Receiver<bool>) -> bool {
        self.0.pause(wait, stop).await
    }

    /// Forgets handled interaction ids older than `interactions` and messages delivered
    /// before `delivered`; answers how many rows went.
    pub async fn prune(
        &self,
        interactions: DateTime<Utc>,
        delivered: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let record = Record::Prune {
            interactions,
            delivered,
        };
        background(self.0.record(None, record).await)
    }
}

/// The checkpointer's port: the write-ahead log the write path's commits fill.
#[derive(Clone)]
pub struct Wal(Service);

impl Wal {
    /// Returns after the next commit of the write path.
    pub async fn committed(&self) {
        self.0.wakes.wal.notified().await;
    }

    /// Copies the committed pages from the log into the database file.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        self.0.db.checkpoint().await.map(drop)
    }
}

impl Service {
    pub fn outbox(&self) -> Outbox {
        Outbox(self.clone())
    }

    pub fn jobs(&self) -> Jobs {
        Jobs(self.clone())
    }

    pub fn timers(&self) -> Timers {
        Timers(self.clone())
    }

    pub fn housekeeping(&self) -> Housekeeping {
        Housekeeping(self.clone())
    }

    pub fn wal(&self) -> Wal {
        Wal(self.clone())
    }

    /// Whether the database answers: `/healthz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.db.ping().await
    }

    /// Closes the database once every loop has stopped.
    pub async fn close(&self) {
        self.db.close().await;
    }
}
