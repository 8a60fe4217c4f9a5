//! The `outbox` table: Discord posts and edits committed with the change that caused them,
//! delivered in order per release by the dispatcher.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rand::Rng as _;
use sqlx::{AnyExecutor, Row};

use super::batch::Batch;
use super::{parse_ts, ts, Backend, Db};
use crate::domain::ReleaseId;

/// What a pending row asks the dispatcher to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxKind {
    PostCard,
    OpenThread,
    RefreshCard,
    Notify,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::PostCard => "post_card",
            OutboxKind::OpenThread => "open_thread",
            OutboxKind::RefreshCard => "refresh_card",
            OutboxKind::Notify => "notify",
        }
    }

    fn parse(text: &str) -> Option<OutboxKind> {
        [
            OutboxKind::PostCard,
            OutboxKind::OpenThread,
            OutboxKind::RefreshCard,
            OutboxKind::Notify,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub release_id: ReleaseId,
    pub kind: OutboxKind,
    pub body: Option<String>,
    pub nonce: String,
    pub attempts: u32,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When its delivery first failed, while it keeps failing.
    pub first_failed_at: Option<DateTime<Utc>>,
    /// Where a notice goes; `None` for the card, the thread and the thread's notices.
    pub channel_id: Option<u64>,
    /// Whether the notice may mention the stakeholder role.
    pub ping: bool,
}

/// Discord accepts nonces of up to 25 characters.
fn new_nonce() -> String {
    format!("gng{:016x}", rand::thread_rng().gen::<u64>())
}

/// A row to queue: a card post, a thread, a card refresh or a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRow {
    pub release: ReleaseId,
    pub kind: OutboxKind,
    /// A notice's facts.
    pub body: Option<String>,
    /// Where a notice goes; `None` for the card, the thread and the thread's notices.
    pub channel: Option<u64>,
    /// Whether a notice may mention the stakeholder role.
    pub ping: bool,
}

/// Rows per INSERT statement, well inside `SQLite`'s limit on bound values.
const ROWS_PER_INSERT: usize = 100;

/// Queues `rows` in order, a run of them per statement, and says whether any row other than
/// a card refresh is among them. A card refresh is skipped when one is already pending: the
/// dispatcher renders the card from the latest state when it sends, so one pending refresh
/// covers any number of changes. A refresh queued returns its id from the batch.
pub fn enqueue_all(batch: &mut Batch, rows: &[NewRow], now: DateTime<Utc>) -> bool {
    let at = ts(now);
    let mut messages = false;
    for run in rows
        .chunk_by(|a, b| (a.kind == OutboxKind::RefreshCard) == (b.kind == OutboxKind::RefreshCard))
    {
        if run[0].kind == OutboxKind::RefreshCard {
            for row in run {
                enqueue_refresh(batch, row.release, &at);
            }
            continue;
        }
        messages = true;
        for chunk in run.chunks(ROWS_PER_INSERT) {
            batch
                .statement(
                    "INSERT INTO outbox (release_id, kind, body, nonce, due_at, created_at, channel_id, ping) VALUES ",
                )
                .values(chunk.len(), 8);
            for row in chunk {
                batch
                    .bind(row.release.0)
                    .bind(row.kind.as_str())
                    .bind(row.body.clone())
                    .bind(new_nonce())
                    .bind(at.clone())
                    .bind(at.clone())
                    .bind(row.channel.map(super::sf))
                    .bind(row.ping);
            }
        }
    }
    messages
}

fn enqueue_refresh(batch: &mut Batch, release: ReleaseId, now: &str) {
    batch
        .statement(
            "INSERT INTO outbox (release_id, kind, nonce, due_at, created_at) \
             SELECT ?, 'refresh_card', ?, ?, ? WHERE NOT EXISTS \
             (SELECT 1 FROM outbox WHERE release_id = ? AND kind = 'refresh_card' AND state = 'pending') \
             RETURNING id",
        )
        .bind(release.0)
        .bind(new_nonce())
        .bind(now.to_owned())
        .bind(now.to_owned())
        .bind(release.0);
}

/// The oldest pending row of each (release, channel) lane is its head; rows behind it wait
/// their turn. The card, the thread and the thread's notices share the lane of no channel.
/// Read in due order (index `outbox_due`), with one index probe per row for an older pending
/// row in its lane, so a query stops after the first few heads instead of walking the backlog.
/// The pending rows that no earlier pending row of their release and channel holds back.
/// `SQLite` is told to read them by due time, which its planner would not pick on its own.
fn heads(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "FROM outbox o INDEXED BY outbox_due WHERE o.state = 'pending' AND NOT EXISTS \
             (SELECT 1 FROM outbox p WHERE p.state = 'pending' AND p.release_id = o.release_id \
             AND p.channel_id IS NOT DISTINCT FROM o.channel_id AND p.id < o.id)"
        }
        Backend::Postgres => {
            "FROM outbox o WHERE o.state = 'pending' AND NOT EXISTS \
             (SELECT 1 FROM outbox p WHERE p.state = 'pending' AND p.release_id = o.release_id \
             AND p.channel_id IS NOT DISTINCT FROM o.channel_id AND p.id < o.id)"
        }
    }
}

/// The heads that are due, earliest first, at most `limit` of them.
pub async fn due_heads(db: &Db, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<OutboxRow>> {
    let rows = sqlx::query(&format!(
        "SELECT o.id, o.release_id, o.kind, o.body, o.nonce, o.attempts, o.due_at, o.created_at, \
         o.first_failed_at, o.channel_id, o.ping {} \
         AND o.due_at <= $1 ORDER BY o.due_at, o.id LIMIT $2",
        heads(db.backend())
    ))
    .bind(ts(now))
    .bind(i64::from(limit))
    .fetch_all(db.reader())
    .await
    .context("Cannot read the outbox")?;
    rows.iter()
        .map(|row| {
            let kind: &str = row.try_get("kind")?;
            Ok(OutboxRow {
                id: row.try_get("id")?,
                release_id: ReleaseId(row.try_get("release_id")?),
                kind: OutboxKind::parse(kind)
                    .with_context(|| format!("Unknown outbox kind `{kind}`"))?,
                body: row.try_get("body")?,
                nonce: row.try_get("nonce")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?)?,
                due_at: parse_ts(row.try_get("due_at")?)?,
                created_at: parse_ts(row.try_get("created_at")?)?,
                first_failed_at: row
                    .try_get::<Option<&str>, _>("first_failed_at")?
                    .map(parse_ts)
                    .transpose()?,
                channel_id: row
                    .try_get::<Option<i64>, _>("channel_id")?
                    .map(super::unsf),
                ping: row.try_get::<i64, _>("ping")? != 0,
            })
        })
        .collect()
}

/// When the next head falls due, if any row is pending.
pub async fn earliest_due(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    let due: Option<String> = sqlx::query_scalar(&format!(
        "SELECT o.due_at {} ORDER BY o.due_at LIMIT 1",
        heads(db.backend())
    ))
    .fetch_optional(db.reader())
    .await
    .context("Cannot read the outbox")?;
    due.as_deref().map(parse_ts).transpose()
}

pub async fn mark_sent(
    db: impl AnyExecutor<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2",
    )
    .bind(ts(now))
    .bind(id)
    .execute(db)
    .await
    .context("Cannot mark the message sent")?;
    Ok(())
}

/// Marks a card refresh sent only if the card it rendered is still the latest (`revision` is
/// the release's revision it was rendered at); otherwise it stays pending and is rendered again.
pub async fn mark_refresh_sent(
    db: impl AnyExecutor<'_>,
    row: &OutboxRow,
    revision: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2 AND \
         (SELECT revision FROM releases WHERE id = $3) = $4",
    )
    .bind(ts(now))
    .bind(row.id)
    .bind(row.release_id.0)
    .bind(revision)
    .execute(db)
    .await
    .context("Cannot mark the card refresh sent")?;
    Ok(done.rows_affected() == 1)
}

/// Tries the row again at `due_at`. A `failure` (not a rate limit, which is only waited out)
/// marks when the row started failing, if it was not failing already.
pub async fn retry_at(
    db: impl AnyExecutor<'_>,
    id: i64,
    due_at: DateTime<Utc>,
    failure: Option<DateTime<Utc>>,
    error: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET due_at = $1, attempts = attempts + 1, last_error = $2, \
         first_failed_at = COALESCE(first_failed_at, $3) WHERE id = $4",
    )
    .bind(ts(due_at))
    .bind(error)
    .bind(failure.map(ts))
    .bind(id)
    .execute(db)
    .await
    .context("Cannot reschedule the message")?;
    Ok(())
}

/// Gives up on a row that Discord refused for good; it no longer blocks its release's queue.
pub async fn mark_failed(db: impl AnyExecutor<'_>, id: i64, error: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(db)
    .await
    .context("Cannot mark the message failed")?;
    Ok(())
}

/// Deletes the rows delivered before `before`; returns how many.
pub async fn prune_sent(db: impl AnyExecutor<'_>, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM outbox WHERE state = 'sent' AND sent_at < $1")
        .bind(ts(before))
        .execute(db)
        .await
        .context("Cannot prune the delivered messages")?;
    Ok(done.rows_affected())
}

/// Rows waiting, failing and parked, by kind, for the metrics: `(state, kind, rows)`, where
/// `state` is `pending`, `failing` or `parked`. Delivered rows are not counted; they are most
/// of the table.
pub async fn count_undelivered(
    db: impl AnyExecutor<'_>,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    sqlx::query_as(
        "SELECT CASE WHEN state = 'failed' THEN 'parked' \
                     WHEN first_failed_at IS NOT NULL THEN 'failing' ELSE 'pending' END AS s, \
                kind, COUNT(*) FROM outbox WHERE state IN ('pending', 'failed') \
         GROUP BY s, kind ORDER BY s, kind",
    )
    .fetch_all(db)
    .await
    .context("Cannot count the outbox")
}

/// A row of a release that is failing or was parked, as `/release status` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    pub kind: OutboxKind,
    pub channel_id: Option<u64>,
    pub parked: bool,
    pub last_error: String,
}

pub async fn undelivered(
    db: impl AnyExecutor<'_>,
    release: ReleaseId,
) -> anyhow::Result<Vec<Undelivered>> {
    let rows: Vec<(String, Option<i64>, String, Option<String>)> = sqlx::query_as(
        "SELECT kind, channel_id, state, last_error FROM outbox WHERE release_id = $1 AND \
         ((state = 'pending' AND first_failed_at IS NOT NULL) OR state = 'failed') ORDER BY id",
    )
    .bind(release.0)
    .fetch_all(db)
    .await
    .context("Cannot read the undelivered messages")?;
    rows.into_iter()
        .map(|(kind, channel, state, error)| {
            Ok(Undelivered {
                kind: OutboxKind::parse(&kind)
                    .with_context(|| format!("Unknown outbox kind `{kind}`"))?,
                channel_id: channel.map(super::unsf),
                parked: state == "failed",
                last_error: error.unwrap_or_default(),
            })
        })
        .collect()
}
