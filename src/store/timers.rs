//! The `timers` table: due times that the scheduler wakes on, one per release and kind.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteExecutor};

use super::{parse_ts, ts};
use crate::domain::{ReleaseId, TimerKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    pub release_id: ReleaseId,
    pub kind: TimerKind,
    pub due_at: DateTime<Utc>,
}

/// Sets (or moves) the timer of this kind for the release.
pub async fn schedule(
    db: impl SqliteExecutor<'_>,
    release: ReleaseId,
    kind: TimerKind,
    due_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO timers (release_id, kind, due_at) VALUES (?, ?, ?) \
         ON CONFLICT (release_id, kind) DO UPDATE SET due_at = excluded.due_at",
    )
    .bind(release.0)
    .bind(kind.as_str())
    .bind(ts(due_at))
    .execute(db)
    .await
    .context("Cannot schedule the timer")?;
    Ok(())
}

pub async fn cancel(
    db: impl SqliteExecutor<'_>,
    release: ReleaseId,
    kind: TimerKind,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM timers WHERE release_id = ? AND kind = ?")
        .bind(release.0)
        .bind(kind.as_str())
        .execute(db)
        .await
        .context("Cannot cancel the timer")?;
    Ok(())
}

/// Removes a timer that is firing; false when it was cancelled or moved since it was read,
/// in which case it must not fire.
pub async fn take(db: impl SqliteExecutor<'_>, timer: &Timer) -> anyhow::Result<bool> {
    let deleted = sqlx::query("DELETE FROM timers WHERE id = ? AND due_at = ?")
        .bind(timer.id)
        .bind(ts(timer.due_at))
        .execute(db)
        .await
        .context("Cannot delete the fired timer")?;
    Ok(deleted.rows_affected() == 1)
}

/// Moves a timer that failed to fire to a later time.
pub async fn postpone(
    db: impl SqliteExecutor<'_>,
    id: i64,
    due_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE timers SET due_at = ? WHERE id = ?")
        .bind(ts(due_at))
        .bind(id)
        .execute(db)
        .await
        .context("Cannot postpone the timer")?;
    Ok(())
}

/// Timers due at or before `now`, earliest first.
pub async fn due(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> anyhow::Result<Vec<Timer>> {
    let rows = sqlx::query(
        "SELECT id, release_id, kind, due_at FROM timers WHERE due_at <= ? ORDER BY due_at, id",
    )
    .bind(ts(now))
    .fetch_all(db)
    .await
    .context("Cannot load due timers")?;
    rows.iter()
        .map(|row| {
            let kind: &str = row.try_get("kind")?;
            Ok(Timer {
                id: row.try_get("id")?,
                release_id: ReleaseId(row.try_get("release_id")?),
                kind: TimerKind::parse(kind)
                    .with_context(|| format!("Unknown timer kind `{kind}`"))?,
                due_at: parse_ts(row.try_get("due_at")?)?,
            })
        })
        .collect()
}

/// The earliest due time of any timer.
pub async fn earliest(db: impl SqliteExecutor<'_>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let due: Option<String> = sqlx::query_scalar("SELECT MIN(due_at) FROM timers")
        .fetch_one(db)
        .await
        .context("Cannot find the next timer")?;
    due.as_deref().map(parse_ts).transpose()
}
