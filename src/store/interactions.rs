//! The `interactions` table: ids already handled, so a replayed interaction changes nothing.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

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

/// Which of `ids` were handled before.
pub async fn handled(conn: &mut SqliteConnection, ids: &[u64]) -> anyhow::Result<HashSet<u64>> {
    let mut handled = HashSet::new();
    for chunk in ids.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT id FROM interactions WHERE id IN (");
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(sf(*id));
        }
        query.push(")");
        let found: Vec<i64> = query
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .context("Cannot look up interaction ids")?;
        handled.extend(found.into_iter().map(super::unsf));
    }
    Ok(handled)
}

/// Records `ids`, none of them handled before, as handled.
pub async fn claim_all(
    conn: &mut SqliteConnection,
    ids: &[u64],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let received_at = ts(now);
    for chunk in ids.chunks(500) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO interactions (id, received_at) ");
        insert.push_values(chunk, |mut values, id| {
            values.push_bind(sf(*id)).push_bind(received_at.clone());
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .context("Cannot record the interaction ids")?;
    }
    Ok(())
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
