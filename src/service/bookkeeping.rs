//! Writes that move no release: a refusal's record, a job marked running, a delivery's
//! outcome, a postponed timer, pruning. They still go through the one write path, so they
//! share its groups and its transaction and nothing writes beside it.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::records::{Record, Settlement};
use super::writer::{Change, Done, Writer};
use super::Service;
use crate::store;
use crate::store::outbox::OutboxRow;

impl Service {
    /// Writes `record` through the one write path; answers how many rows it changed.
    pub(super) async fn record(&self, interaction: Option<u64>, record: Record) -> Result<u64> {
        match self.submit(interaction, Change::Record(record)).await? {
            Done::Recorded(rows) => Ok(rows),
            _ => Err(super::unexpected("record")),
        }
    }
}

impl Writer<'_> {
    pub(super) async fn record(&mut self, record: &Record) -> Result<Done> {
        if matches!(record, Record::Deliveries(_) | Record::AdoptAuditKey) {
            // A card refresh is settled against the revision this group has written so far,
            // and the chain's head is the one it has extended so far.
            self.unit.flush().await?;
        }
        let now = self.unit.now;
        let tx = &mut *self.unit.tx;
        let rows = match record {
            Record::Refused => 0,
            Record::JobStarted(job) => {
                u64::from(store::executions::mark_running(tx, *job, now).await?)
            }
            Record::JobOrphaned { job, unknown: true } => {
                store::executions::mark_unknown(tx, *job, now).await?;
                1
            }
            Record::JobOrphaned {
                job,
                unknown: false,
            } => {
                store::executions::requeue(tx, *job).await?;
                // The requeued job is the executor's next work.
                self.unit.wake.actions = true;
                1
            }
            Record::Deliveries(settled) => {
                for (row, settlement) in settled {
                    settle(&mut self.unit.tx, row, settlement, now).await?;
                }
                u64::try_from(settled.len()).unwrap_or(u64::MAX)
            }
            Record::Postpone { timer, until } => {
                store::timers::postpone(tx, *timer, *until).await?;
                self.unit.wake.timers = true;
                1
            }
            Record::AdoptAuditKey => {
                if store::audit::head_keyed(&mut *tx).await? == Some(false) {
                    let event = serde_json::json!({ "event": "audit_key_adopted" });
                    self.unit
                        .audit
                        .append(&mut self.unit.tx, None, None, &event, now)
                        .await?;
                    1
                } else {
                    0
                }
            }
            Record::Prune {
                interactions,
                delivered,
            } => {
                store::interactions::prune(&mut *tx, *interactions).await?
                    + store::outbox::prune_sent(&mut *tx, *delivered).await?
            }
        };
        Ok(Done::Recorded(rows))
    }
}

async fn settle(
    tx: &mut store::Tx,
    row: &OutboxRow,
    settlement: &Settlement,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match settlement {
        Settlement::Sent => store::outbox::mark_sent(&mut **tx, row.id, now).await,
        Settlement::CardPosted(id) => {
            store::releases::set_card_message(&mut **tx, row.release_id, *id).await?;
            store::outbox::mark_sent(&mut **tx, row.id, now).await
        }
        Settlement::ThreadOpened(id) => {
            store::releases::set_thread(&mut **tx, row.release_id, *id).await?;
            store::outbox::mark_sent(&mut **tx, row.id, now).await
        }
        Settlement::Refreshed(revision) => {
            store::outbox::mark_refresh_sent(&mut **tx, row, *revision, now)
                .await
                .map(drop)
        }
        Settlement::RetryAt(at, failed, error) => {
            store::outbox::retry_at(&mut **tx, row.id, *at, *failed, error).await
        }
        Settlement::PauseAll(at, error) => {
            store::outbox::retry_at(&mut **tx, row.id, *at, None, error).await
        }
        Settlement::Parked(error) => store::outbox::mark_failed(&mut **tx, row.id, error).await,
    }
}
