//! What the metrics and the audit head's log read: counts over the store, at the moment asked.

use super::super::Service;
use crate::store;
use crate::store::audit::Head;

/// The store's figures for `/metrics`.
#[derive(Clone, Debug)]
pub struct Counts {
    /// Releases by lifecycle state.
    pub releases: Vec<(String, i64)>,
    /// Accepted votes.
    pub votes: i64,
    /// Undelivered Discord messages as (state, kind, count).
    pub undelivered: Vec<(String, String, i64)>,
    pub audit_head: Head,
    /// Whether this replica leads, and the newest term it knows.
    pub leader: (bool, i64),
}

impl Service {
    /// The store's figures now.
    pub async fn counts(&self) -> anyhow::Result<Counts> {
        let db = self.db.reader();
        Ok(Counts {
            releases: store::releases::count_by_state(db).await?,
            votes: store::votes::count(&self.db).await?,
            undelivered: store::outbox::count_undelivered(db).await?,
            audit_head: self.audit_head().await?,
            leader: self.leader(),
        })
    }

    /// The audit chain's row count and newest hash.
    pub async fn audit_head(&self) -> anyhow::Result<Head> {
        store::audit::head(self.db.reader()).await
    }
}
