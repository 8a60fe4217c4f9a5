//! The dispatcher's port: the outbox's due rows, the facts it renders them from, and their
//! settlement through the write path.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::super::records::Record;
pub use super::super::records::Settlement;
use super::super::view::ReleaseView;
use super::super::{background, DiscordAnswers, Service};
use crate::config::Config;
use crate::domain::ReleaseId;
use crate::messages::Messages;
use crate::store;
pub use crate::store::outbox::{OutboxKind, OutboxRow};
pub use crate::store::releases::StoredRelease;

#[derive(Clone)]
pub struct Outbox(pub(super) Service);

impl Outbox {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// The environment a release completed in `environment` is promoted to, if any.
    pub fn promote_to(&self, environment: &str) -> Option<&str> {
        self.0.promote_to(environment)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn messages(&self) -> &Messages {
        &self.0.messages
    }

    /// The counters of Discord's answers.
    pub fn answers(&self) -> &Arc<DiscordAnswers> {
        &self.0.discord_answers
    }

    /// Up to `limit` rows due by `now`, each the head of its (release, channel) lane.
    pub async fn due_heads(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        store::outbox::due_heads(&self.0.db, now, limit).await
    }

    /// When the earliest undelivered row is due.
    pub async fn earliest_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        store::outbox::earliest_due(&self.0.db).await
    }

    /// The release a row belongs to, as committed.
    pub async fn release(&self, id: ReleaseId) -> anyhow::Result<Option<StoredRelease>> {
        store::releases::get(self.0.db.reader(), id).await
    }

    /// The card of `id` as committed now, with the revision it shows.
    pub async fn card(&self, id: ReleaseId) -> anyhow::Result<Option<(i64, ReleaseView)>> {
        self.0.card_snapshot(id).await
    }

    /// Commits what became of a pass of deliveries, in one transaction of the write path.
    pub async fn settle(&self, settled: Vec<(OutboxRow, Settlement)>) -> anyhow::Result<()> {
        background(self.0.record(None, Record::Deliveries(settled)).await).map(drop)
    }

    /// Waits until a commit queues a message, the clock reaches `next`, or shutdown.
    pub async fn idle(&self, next: Option<DateTime<Utc>>, shutdown: &mut watch::Receiver<bool>) {
        super::idle(self.0.clock.as_ref(), &self.0.wakes.outbox, next, shutdown).await;
    }
}
