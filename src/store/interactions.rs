//! The `interactions` table: ids already handled, so a replayed interaction changes nothing.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet;

use sqlx::{AnyConnection, AnyExecutor, Row as _};

use super::batch::Batch;

use super::{sf, ts};

/// Records `id` as handled; `false` when it was handled before.
pub async fn claim(db: impl AnyExecutor<'_>, id: u64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO interactions (id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(sf(id))
    .bind(ts(now))
    .execute(db)
    .await
    .context("Cannot record the interaction id")?;
    Ok(done.rows_affected() == 1)
}

/// Records `ids` as handled and returns those that were not handled before: the rest, and
/// any id repeated in `ids`, are replays. One statement per 500 ids both asks and records.
pub async fn claim_all(
    conn: &mut AnyConnection,
    ids: &[u64],
    now: DateTime<Utc>,
) -> anyhow::Result<FxHashSet<u64>> {
    let received_at = ts(now);
    let mut claimed = FxHashSet::default();
    for chunk in ids.chunks(500) {
        let mut insert = Batch::new();
        insert
            .statement("INSERT INTO interactions (id, received_at) VALUES ")
            .values(chunk.len(), 2)
            .push(" ON CONFLICT DO NOTHING RETURNING id");
        for id in chunk {
            insert.bind(sf(*id)).bind(received_at.clone());
        }
        let new = insert
            .run(&mut *conn)
            .await
            .context("Cannot record the interaction ids")?;
        for row in new {
            claimed.insert(super::unsf(row.try_get(0)?));
        }
    }
    Ok(claimed)
}

/// Forgets the ids handled before `before`; returns how many.
pub async fn prune(db: impl AnyExecutor<'_>, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM interactions WHERE received_at < $1")
        .bind(ts(before))
        .execute(db)
        .await
        .context("Cannot prune the handled interaction ids")?;
    Ok(done.rows_affected())
}
