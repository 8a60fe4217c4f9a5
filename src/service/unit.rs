//! One write transaction and what it has gathered on the way: a group of requests writes its
//! releases, votes, audit events and interaction ids in a few statements at the end instead of
//! one round trip each, and queues one card refresh per release.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::{Release, ReleaseId};
use crate::store::outbox::{NewRow, OutboxKind};
use crate::store::votes::NewVote;
use crate::store::{self, Db, Tx};

/// What flush writes of a changed release.
enum Written {
    /// Only a new revision: something shown on its card changed, such as its votes.
    Revision,
    State(Box<Release>),
}

pub(super) struct Unit {
    pub tx: Tx,
    pub audit: store::audit::Chain,
    pub now: DateTime<Utc>,
    /// Releases changed in this unit, written (and their revision bumped) once each by flush.
    changed: HashMap<ReleaseId, Written>,
    /// The revision each release written so far now has.
    pub revisions: HashMap<ReleaseId, i64>,
    votes: Vec<NewVote>,
    claims: Vec<u64>,
    outbox: Vec<NewRow>,
    refreshed: HashSet<ReleaseId>,
}

impl Unit {
    pub async fn begin(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Unit> {
        Ok(Unit {
            tx: db.begin().await?,
            audit: store::audit::Chain::new(db.audit_key().cloned()),
            now,
            changed: HashMap::new(),
            revisions: HashMap::new(),
            votes: Vec::new(),
            claims: Vec::new(),
            outbox: Vec::new(),
            refreshed: HashSet::new(),
        })
    }

    /// Queues a change of the release from `before` to `after`; the next [`Unit::flush`]
    /// writes the latest state once, or only bumps the revision when no field changed (a vote
    /// that decides nothing changes the card, not the release).
    pub fn record_release(&mut self, before: &Release, after: &Release) {
        let entry = self.changed.entry(after.id).or_insert(Written::Revision);
        if before != after || matches!(entry, Written::State(_)) {
            *entry = Written::State(Box::new(after.clone()));
        }
    }

    /// Queues a vote; it is written by the next [`Unit::flush`].
    pub fn record_vote(&mut self, vote: NewVote) {
        self.votes.push(vote);
    }

    /// Queues an interaction id, known not to be handled yet, as handled.
    pub fn claim(&mut self, interaction: u64) {
        self.claims.push(interaction);
    }

    /// Queues a Discord post, edit or thread; rows keep their order and are written by the
    /// next [`Unit::flush`]. A card refresh is queued once per release and unit: one pending
    /// refresh renders every change.
    pub fn send(&mut self, row: NewRow) {
        if row.kind != OutboxKind::RefreshCard || self.refreshed.insert(row.release) {
            self.outbox.push(row);
        }
    }

    /// Writes everything queued so far. Call before a query that reads what was queued.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        for (id, written) in self.changed.drain() {
            let revision = match written {
                Written::Revision => store::releases::bump_revision(&mut *self.tx, id).await?,
                Written::State(release) => store::releases::update(&mut *self.tx, &release).await?,
            };
            self.revisions.insert(id, revision);
        }
        self.audit.flush(&mut self.tx).await?;
        store::votes::insert_all(&mut self.tx, &self.votes).await?;
        self.votes.clear();
        store::interactions::claim_all(&mut self.tx, &self.claims, self.now).await?;
        self.claims.clear();
        store::outbox::enqueue_all(&mut self.tx, &self.outbox, self.now).await?;
        self.outbox.clear();
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
