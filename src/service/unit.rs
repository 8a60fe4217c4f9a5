//! One write transaction and what it has gathered on the way: a group of requests writes its
//! releases, votes, audit events and interaction ids in a few statements at the end instead of
//! one round trip each, and queues one card refresh per release.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::{Release, ReleaseId};
use crate::store::votes::NewVote;
use crate::store::{self, Db, Tx};

pub(super) struct Unit {
    pub tx: Tx,
    pub audit: store::audit::Chain,
    pub now: DateTime<Utc>,
    /// Releases changed in this unit, written (and their revision bumped) once each by flush.
    changed: HashMap<ReleaseId, Release>,
    /// The revision each release written so far now has.
    pub revisions: HashMap<ReleaseId, i64>,
    votes: Vec<NewVote>,
    claims: Vec<u64>,
    refreshed: HashSet<ReleaseId>,
}

impl Unit {
    pub async fn begin(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Unit> {
        Ok(Unit {
            tx: db.begin().await?,
            audit: store::audit::Chain::default(),
            now,
            changed: HashMap::new(),
            revisions: HashMap::new(),
            votes: Vec::new(),
            claims: Vec::new(),
            refreshed: HashSet::new(),
        })
    }

    /// Queues the release's new state; the next [`Unit::flush`] writes the latest one.
    pub fn record_release(&mut self, release: &Release) {
        self.changed.insert(release.id, release.clone());
    }

    /// Queues a vote; it is written by the next [`Unit::flush`].
    pub fn record_vote(&mut self, vote: NewVote) {
        self.votes.push(vote);
    }

    /// Queues an interaction id, known not to be handled yet, as handled.
    pub fn claim(&mut self, interaction: u64) {
        self.claims.push(interaction);
    }

    /// `true` the first time a card refresh of `release` is asked for in this unit: one
    /// pending refresh renders every change, so asking again adds nothing.
    pub fn first_refresh(&mut self, release: ReleaseId) -> bool {
        self.refreshed.insert(release)
    }

    /// Writes everything queued so far. Call before a query that reads what was queued.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        for (id, release) in self.changed.drain() {
            let revision = store::releases::update(&mut *self.tx, &release).await?;
            self.revisions.insert(id, revision);
        }
        self.audit.flush(&mut self.tx).await?;
        store::votes::insert_all(&mut self.tx, &self.votes).await?;
        self.votes.clear();
        store::interactions::claim_all(&mut self.tx, &self.claims, self.now).await?;
        self.claims.clear();
        Ok(())
    }

    pub async fn commit(mut self) -> anyhow::Result<()> {
        self.flush().await?;
        self.tx
            .commit()
            .await
            .context("Cannot commit the transaction")
    }
}
