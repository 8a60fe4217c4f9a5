//! The `timers` table: due times that the scheduler wakes on, one per release and kind.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

use sqlx::{AnyConnection, AnyExecutor, AnyPool, Row};

use super::batch::Batch;
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
pub fn schedule(batch: &mut Batch, release: ReleaseId, kind: TimerKind, due_at: DateTime<Utc>) {
    batch
        .statement(
            "INSERT INTO timers (release_id, kind, due_at) VALUES (?, ?, ?) \
             ON CONFLICT (release_id, kind) DO UPDATE SET due_at = excluded.due_at",
        )
        .bind(release.0)
        .bind(kind.as_str())
        .bind(ts(due_at));
}

pub fn cancel(batch: &mut Batch, release: ReleaseId, kind: TimerKind) {
    batch
        .statement("DELETE FROM timers WHERE release_id = ? AND kind = ?")
        .bind(release.0)
        .bind(kind.as_str());
}

/// Removes the timers that are firing, in one statement, and returns the ids of those still
/// as they were read; a timer cancelled or moved since must not fire.
pub async fn take_all(conn: &mut AnyConnection, timers: &[&Timer]) -> anyhow::Result<HashSet<i64>> {
    let mut taken = HashSet::with_capacity(timers.len());
    for chunk in timers.chunks(400) {
        let mut delete = Batch::new();
        delete
            .statement("DELETE FROM timers WHERE (id, due_at) IN (VALUES ")
            .values(chunk.len(), 2)
            .push(") RETURNING id");
        for timer in chunk {
            delete.bind(timer.id).bind(ts(timer.due_at));
        }
        let rows = delete
            .run(&mut *conn)
            .await
            .context("Cannot delete the fired timers")?;
        for row in rows {
            taken.insert(row.try_get(0)?);
        }
    }
    Ok(taken)
}

/// Moves a timer that failed to fire to a later time.
pub async fn postpone(
    db: impl AnyExecutor<'_>,
    id: i64,
    due_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE timers SET due_at = $1 WHERE id = $2")
        .bind(ts(due_at))
        .bind(id)
        .execute(db)
        .await
        .context("Cannot postpone the timer")?;
    Ok(())
}

/// Timers due at or before `now`, earliest first, but those `under_way`. Only their ids are
/// read at first, and then the rows of the others: a busy minute has hundreds under way, and
/// the scheduler looks again each time some of them settle.
pub async fn due<S: std::hash::BuildHasher>(
    db: &AnyPool,
    now: DateTime<Utc>,
    under_way: &HashSet<i64, S>,
) -> anyhow::Result<Vec<Timer>> {
    let due: Vec<i64> = sqlx::query_scalar("SELECT id FROM timers WHERE due_at <= $1")
        .bind(ts(now))
        .fetch_all(db)
        .await
        .context("Cannot load due timers")?;
    let new: Vec<i64> = due
        .into_iter()
        .filter(|id| !under_way.contains(id))
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.acquire().await.context("Cannot load due timers")?;
    let mut timers = Vec::with_capacity(new.len());
    for chunk in new.chunks(500) {
        let mut select = Batch::new();
        // Still due: a commit may have moved one since its id was read.
        select
            .statement(
                "SELECT id, release_id, kind, due_at FROM timers WHERE due_at <= ? AND id IN (",
            )
            .bind(ts(now))
            .push(&vec!["?"; chunk.len()].join(", "))
            .push(")");
        for id in chunk {
            select.bind(*id);
        }
        let rows = select
            .run(&mut conn)
            .await
            .context("Cannot load due timers")?;
        for row in &rows {
            let kind: &str = row.try_get("kind")?;
            timers.push(Timer {
                id: row.try_get("id")?,
                release_id: ReleaseId(row.try_get("release_id")?),
                kind: TimerKind::parse(kind)
                    .with_context(|| format!("Unknown timer kind `{kind}`"))?,
                due_at: parse_ts(row.try_get("due_at")?)?,
            });
        }
    }
    timers.sort_by_key(|timer| (timer.due_at, timer.id));
    Ok(timers)
}

/// The earliest due time of any timer not yet due at `now`.
pub async fn earliest_after(
    db: impl AnyExecutor<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let due: Option<String> =
        sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE due_at > $1")
            .bind(ts(now))
            .fetch_one(db)
            .await
            .context("Cannot find the next timer")?;
    due.as_deref().map(parse_ts).transpose()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::store::releases::insert_planned;

    #[tokio::test]
    async fn only_timers_still_as_read_are_taken() {
        let (db, _dir) = crate::store::test_db().await;
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        for id in 1..=3 {
            insert_planned(&db, id, &format!("1.{id}.0"), None).await;
            let mut batch = Batch::new();
            schedule(&mut batch, ReleaseId(id), TimerKind::StageHold, now);
            batch
                .run(&mut db.writer().acquire().await.unwrap())
                .await
                .unwrap();
        }
        let none = HashSet::new();
        let read = due(db.reader(), now, &none).await.unwrap();
        assert_eq!(read.len(), 3);
        // Since they were read: one moved, one cancelled.
        let later = now + TimeDelta::minutes(5);
        let mut batch = Batch::new();
        schedule(&mut batch, ReleaseId(2), TimerKind::StageHold, later);
        cancel(&mut batch, ReleaseId(3), TimerKind::StageHold);
        batch
            .run(&mut db.writer().acquire().await.unwrap())
            .await
            .unwrap();

        let mut conn = db.writer().acquire().await.unwrap();
        let firing: Vec<&Timer> = read.iter().collect();
        let taken = take_all(&mut conn, &firing).await.unwrap();
        let first = read.iter().find(|t| t.release_id == ReleaseId(1)).unwrap();
        assert_eq!(taken, HashSet::from([first.id]));
        let left = due(db.reader(), later, &none).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].release_id, left[0].due_at), (ReleaseId(2), later));
        // A timer whose write is under way is not read again.
        let under_way = HashSet::from([left[0].id]);
        assert!(due(db.reader(), later, &under_way)
            .await
            .unwrap()
            .is_empty());
    }
}
