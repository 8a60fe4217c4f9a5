//! The `interactions` table: ids already handled, so a replayed interaction changes nothing.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

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

/// Forgets `id` again, for an interaction that was refused and stored nothing.
pub async fn release(db: impl SqliteExecutor<'_>, id: u64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM interactions WHERE id = ?")
        .bind(sf(id))
        .execute(db)
        .await
        .context("Cannot forget the interaction id")?;
    Ok(())
}
