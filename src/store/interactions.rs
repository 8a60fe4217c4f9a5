//! The `interactions` table: ids already handled, so a replayed interaction changes nothing.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};

use super::{sf, ts};

/// Records `id` as handled; `false` when it was handled before.
pub async fn claim(
    db: impl SqliteExecutor<'_>,
    id: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO interactions (id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
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
    conn: &mut SqliteConnection,
    ids: &[u64],
    now: DateTime<Utc>,
) -> anyhow::Result<FxHashSet<u64>> {
    let received_at = ts(now);
    let mut claimed = FxHashSet::default();
    for chunk in ids.chunks(500) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO interactions (id, received_at) ");
        insert.push_values(chunk, |mut values, id| {
            values.push_bind(sf(*id)).push_bind(received_at.clone());
        });
        insert.push(" ON CONFLICT DO NOTHING RETURNING id");
        let new: Vec<i64> = insert
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .context("Cannot record the interaction ids")?;
        claimed.extend(new.into_iter().map(super::unsf));
    }
    Ok(claimed)
}

/// Forgets the ids handled before `before`; returns how many.
pub async fn prune(db: impl SqliteExecutor<'_>, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM interactions WHERE received_at < ?")
        .bind(ts(before))
        .execute(db)
        .await
        .context("Cannot prune the handled interaction ids")?;
    Ok(done.rows_affected())
}
