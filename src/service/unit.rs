//! One write transaction and what it has learned on the way, so that many changes in it
//! (a group of votes) skip the reads and writes they would otherwise repeat.

use std::collections::HashSet;

use anyhow::Context as _;

use crate::domain::ReleaseId;
use crate::store::{self, Db, Tx};

pub(super) struct Unit {
    pub tx: Tx,
    pub audit: store::audit::Head,
    refreshed: HashSet<ReleaseId>,
}

impl Unit {
    pub async fn begin(db: &Db) -> anyhow::Result<Unit> {
        Ok(Unit {
            tx: db.begin().await?,
            audit: store::audit::Head::default(),
            refreshed: HashSet::new(),
        })
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx
            .commit()
            .await
            .context("Cannot commit the transaction")
    }

    /// `true` the first time a card refresh of `release` is asked for in this unit: one
    /// pending refresh renders every change, so asking again adds nothing.
    pub fn first_refresh(&mut self, release: ReleaseId) -> bool {
        self.refreshed.insert(release)
    }
}
