//! One write transaction and what it has gathered on the way: a group of requests writes its
//! releases, votes and audit events in a few statements at the end instead of one round trip
//! each, queues one card refresh per release, and notes which background loops to wake.

use rustc_hash::{FxHashMap, FxHashSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::domain::{Release, ReleaseId};
use crate::store::batch::Batch;
use crate::store::executions::ExecutionRecord;
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
    pub backend: store::Backend,
    pub audit: store::audit::Chain,
    pub now: DateTime<Utc>,
    /// Releases changed in this unit, written (and their revision bumped) once each by flush.
    changed: FxHashMap<ReleaseId, Written>,
    votes: Vec<NewVote>,
    outbox: Vec<NewRow>,
    refreshed: FxHashSet<ReleaseId>,
    /// Timers set and cleared and executor jobs asked for, in order.
    pub writes: Batch,
    /// The executor's last job per release, as progress notices quote it: read for the
    /// group's progress ticks at once, and forgotten for a release whose jobs change.
    pub last_actions: FxHashMap<ReleaseId, Option<ExecutionRecord>>,
    pub wake: Wake,
}

/// The background loops a unit gave new work, woken once it commits: a loop woken for
/// nothing still reads its table, and a busy poll commits many times a second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Wake {
    /// Messages were queued for Discord.
    pub outbox: bool,
    /// A timer was set or cancelled.
    pub timers: bool,
    /// An executor action was asked for.
    pub actions: bool,
}

impl Wake {
    /// The loops to wake as a few letters, for the other replicas: `o`utbox, `t`imers,
    /// `a`ctions.
    pub fn letters(self) -> String {
        [(self.outbox, 'o'), (self.timers, 't'), (self.actions, 'a')]
            .iter()
            .filter(|(woken, _)| *woken)
            .map(|(_, letter)| *letter)
            .collect()
    }

    /// The loops `letters` name; every loop when they are empty, as after a lost connection.
    pub fn from_letters(letters: &str) -> Wake {
        if letters.is_empty() {
            return Wake {
                outbox: true,
                timers: true,
                actions: true,
            };
        }
        Wake {
            outbox: letters.contains('o'),
            timers: letters.contains('t'),
            actions: letters.contains('a'),
        }
    }
}

impl Unit {
    /// Opens the transaction and takes the write lock. `audit_head` is the chain's last row
    /// as the previous unit committed it, when known.
    pub async fn begin(
        db: &Db,
        now: DateTime<Utc>,
        audit_head: Option<(i64, String)>,
    ) -> anyhow::Result<Unit> {
        let tx = store::lease::begin_writes(db).await?;
        Ok(Unit {
            tx,
            backend: db.backend(),
            audit: store::audit::Chain::from_head(db.audit_key().cloned(), audit_head),
            now,
            changed: FxHashMap::default(),
            votes: Vec::new(),
            outbox: Vec::new(),
            refreshed: FxHashSet::default(),
            writes: Batch::new(),
            last_actions: FxHashMap::default(),
            wake: Wake::default(),
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

    /// Queues a Discord post, edit or thread; rows keep their order and are written by the
    /// next [`Unit::flush`]. A card refresh is queued once per release and unit: one pending
    /// refresh renders every change.
    pub fn send(&mut self, row: NewRow) {
        if row.kind != OutboxKind::RefreshCard || self.refreshed.insert(row.release) {
            self.outbox.push(row);
        }
    }

    /// Writes everything queued so far, in one round trip. Call before a query that reads
    /// what was queued.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        let batch = self.gathered();
        self.run(batch).await
    }

    /// Commits, and returns the loops to wake and the audit chain's head for the next unit.
    pub async fn commit(mut self) -> anyhow::Result<(Wake, Option<(i64, String)>)> {
        // The other replicas hear of the commit in the round trip of its last writes. A card
        // refresh that joins one already pending wakes their dispatcher for nothing, which
        // costs less than a round trip per group.
        let mut heard = self.wake;
        heard.outbox |= !self.outbox.is_empty();
        let mut batch = self.gathered();
        let letters = heard.letters();
        if !letters.is_empty() {
            store::wakes::notify(&mut batch, self.backend, &letters);
        }
        self.run(batch).await?;
        self.tx
            .commit()
            .await
            .context("Cannot commit the transaction")?;
        Ok((self.wake, self.audit.head().cloned()))
    }

    /// Everything queued so far, as one batch.
    fn gathered(&mut self) -> Batch {
        let mut batch = std::mem::take(&mut self.writes);
        for (id, written) in self.changed.drain() {
            match written {
                Written::Revision => store::releases::bump_revision(&mut batch, id),
                Written::State(release) => store::releases::update(&mut batch, &release),
            }
        }
        self.audit.flush(&mut batch);
        store::votes::insert_all(&mut batch, &self.votes);
        self.votes.clear();
        self.wake.outbox |= store::outbox::enqueue_all(&mut batch, &self.outbox, self.now);
        self.outbox.clear();
        batch
    }

    async fn run(&mut self, batch: Batch) -> anyhow::Result<()> {
        let rows = batch.run(&mut self.tx).await?;
        // The card refreshes the batch queued return their ids; a notification returns no id.
        self.wake.outbox |= rows.iter().any(|row| row.try_column("id").is_ok());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Wake;

    #[test]
    fn the_loops_to_wake_cross_to_other_replicas_as_letters_and_a_lost_connection_wakes_all() {
        for outbox in [false, true] {
            for timers in [false, true] {
                for actions in [false, true] {
                    let wake = Wake {
                        outbox,
                        timers,
                        actions,
                    };
                    if wake == Wake::default() {
                        assert_eq!(wake.letters(), "");
                    } else {
                        assert_eq!(Wake::from_letters(&wake.letters()), wake);
                    }
                }
            }
        }
        let all = Wake {
            outbox: true,
            timers: true,
            actions: true,
        };
        assert_eq!(Wake::from_letters(""), all);
    }
}
