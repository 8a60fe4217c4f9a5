//! The `executions` table: the executor's jobs, one row per (release, action, stage), kept
//! apart from the Discord outbox. A job that succeeded is never run again.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rand::Rng as _;
use rustc_hash::FxHashMap;
use sqlx::{AnyConnection, AnyExecutor, Row};

use super::batch::Batch;
use super::{parse_ts, ts};
use crate::domain::{Action, ReleaseId};

/// One job, as the runner picks it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub id: i64,
    pub release_id: ReleaseId,
    pub action: Action,
    /// Stable across the runner's own retries, new for each retry a person asks for.
    pub idempotency_key: String,
    pub attempts: u32,
    pub requested_at: DateTime<Utc>,
}

fn new_key(release: ReleaseId, action: Action) -> String {
    format!(
        "gonogo-{}-{}-{}-{:08x}",
        release.0,
        action.name(),
        action.stage(),
        rand::thread_rng().gen::<u32>()
    )
}

fn percent(action: Action) -> i64 {
    match action {
        Action::Deploy { percent, .. } => i64::from(percent),
        Action::Rollback { .. } => 0,
    }
}

/// Asks for `action`: a new job, or a failed or unknown one made pending again (a person's
/// retry). A job pending, running or succeeded is left alone, so nothing runs twice.
pub fn request(batch: &mut Batch, release: ReleaseId, action: Action, now: DateTime<Utc>) {
    batch
        .statement(
            "INSERT INTO executions (release_id, action, stage, percent, idempotency_key, requested_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (release_id, action, stage) DO UPDATE SET \
             state = 'pending', idempotency_key = excluded.idempotency_key, \
             requested_at = excluded.requested_at, started_at = NULL, finished_at = NULL \
             WHERE executions.state IN ('failed', 'unknown')",
        )
        .bind(release.0)
        .bind(action.name())
        .bind(i64::from(action.stage()))
        .bind(percent(action))
        .bind(new_key(release, action))
        .bind(ts(now));
}

fn from_row(row: &sqlx::any::AnyRow) -> anyhow::Result<Execution> {
    let name: &str = row.try_get("action")?;
    let stage =
        u8::try_from(row.try_get::<i64, _>("stage")?).context("Stored stage is out of range")?;
    let action = match name {
        "deploy" => Action::Deploy {
            stage,
            percent: u8::try_from(row.try_get::<i64, _>("percent")?)
                .context("Stored percent is out of range")?,
        },
        "rollback" => Action::Rollback { stage },
        other => anyhow::bail!("Unknown executor action `{other}`"),
    };
    Ok(Execution {
        id: row.try_get("id")?,
        release_id: ReleaseId(row.try_get("release_id")?),
        action,
        idempotency_key: row.try_get("idempotency_key")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?)?,
        requested_at: parse_ts(row.try_get("requested_at")?)?,
    })
}

const SELECT: &str =
    "SELECT id, release_id, action, stage, percent, idempotency_key, attempts, requested_at FROM executions";

/// The jobs waiting to run, oldest first.
pub async fn pending(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<Execution>> {
    let rows = sqlx::query(&format!("{SELECT} WHERE state = 'pending' ORDER BY id"))
        .fetch_all(db)
        .await
        .context("Cannot read the executor's jobs")?;
    rows.iter().map(from_row).collect()
}

/// Marks a pending job running, committed before the action starts: a crash after this
/// leaves a job whose outcome is unknown, never one that silently runs again.
pub async fn mark_running(
    db: impl AnyExecutor<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE executions SET state = 'running', started_at = $1, attempts = attempts + 1 \
         WHERE id = $2 AND state = 'pending'",
    )
    .bind(ts(now))
    .bind(id)
    .execute(db)
    .await
    .context("Cannot mark the executor action running")?;
    Ok(done.rows_affected() == 1)
}

/// Records how a running job ended, with the tail of what it printed.
pub async fn finish(
    db: impl AnyExecutor<'_>,
    id: i64,
    succeeded: bool,
    output: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE executions SET state = $1, output = $2, finished_at = $3 WHERE id = $4 AND state = 'running'",
    )
    .bind(if succeeded { "succeeded" } else { "failed" })
    .bind(output)
    .bind(ts(now))
    .bind(id)
    .execute(db)
    .await
    .context("Cannot record the executor action's outcome")?;
    Ok(())
}

/// Jobs that were running when gonogo stopped, now of unknown outcome; each is returned so
/// its release can halt and ask a person.
pub async fn orphaned(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<Execution>> {
    let rows = sqlx::query(&format!("{SELECT} WHERE state = 'running' ORDER BY id"))
        .fetch_all(db)
        .await
        .context("Cannot read the running executor actions")?;
    rows.iter().map(from_row).collect()
}

/// Marks an orphaned job's outcome unknown.
pub async fn mark_unknown(
    db: impl AnyExecutor<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE executions SET state = 'unknown', finished_at = $1 WHERE id = $2 AND state = 'running'")
        .bind(ts(now))
        .bind(id)
        .execute(db)
        .await
        .context("Cannot mark the executor action unknown")?;
    Ok(())
}

/// Makes a job that was running when gonogo stopped pending again, with its key unchanged:
/// a webhook is safe to send twice under the same key.
pub async fn requeue(db: impl AnyExecutor<'_>, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE executions SET state = 'pending', started_at = NULL WHERE id = $1 AND state = 'running'")
        .bind(id)
        .execute(db)
        .await
        .context("Cannot queue the executor action again")?;
    Ok(())
}

/// How one job stands, as `/release status` and the progress notices report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRecord {
    pub action: Action,
    /// `pending`, `running`, `succeeded`, `failed` or `unknown`.
    pub state: String,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The last job of each of `releases` that has one, as [`history`] would end, in one
/// statement.
pub async fn last_of(
    conn: &mut AnyConnection,
    releases: &[ReleaseId],
) -> anyhow::Result<FxHashMap<ReleaseId, ExecutionRecord>> {
    let mut last = FxHashMap::default();
    for chunk in releases.chunks(500) {
        let mut query = Batch::new();
        query
            .statement(
                "SELECT id, release_id, action, stage, percent, idempotency_key, attempts, \
                 requested_at, state, finished_at FROM executions WHERE id IN \
                 (SELECT MAX(id) FROM executions WHERE release_id IN ",
            )
            .values(1, chunk.len())
            .push(" GROUP BY release_id)");
        for release in chunk {
            query.bind(release.0);
        }
        let rows = query
            .run(&mut *conn)
            .await
            .context("Cannot read the releases' last executor actions")?;
        for row in &rows {
            last.insert(ReleaseId(row.try_get("release_id")?), record(row)?);
        }
    }
    Ok(last)
}

/// A release's jobs in the order they were first asked for.
pub async fn history(
    db: impl AnyExecutor<'_>,
    release: ReleaseId,
) -> anyhow::Result<Vec<ExecutionRecord>> {
    let rows = sqlx::query(
        "SELECT id, release_id, action, stage, percent, idempotency_key, attempts, requested_at, \
         state, finished_at FROM executions WHERE release_id = $1 ORDER BY id",
    )
    .bind(release.0)
    .fetch_all(db)
    .await
    .context("Cannot read the release's executor actions")?;
    rows.iter().map(record).collect()
}

fn record(row: &sqlx::any::AnyRow) -> anyhow::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        action: from_row(row)?.action,
        state: row.try_get("state")?,
        finished_at: row
            .try_get::<Option<&str>, _>("finished_at")?
            .map(parse_ts)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone as _};

    use super::*;
    use crate::store::releases::insert_planned;
    use crate::store::test_db;

    #[tokio::test]
    async fn the_last_job_of_many_releases_is_read_at_once_as_each_history_ends() {
        let (db, _dir) = test_db().await;
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        for id in 1..=3 {
            insert_planned(&db, id, &format!("1.{id}.0"), None).await;
        }
        let mut batch = Batch::new();
        let canary = Action::Deploy {
            stage: 0,
            percent: 1,
        };
        let wider = Action::Deploy {
            stage: 1,
            percent: 10,
        };
        request(&mut batch, ReleaseId(1), canary, now);
        request(
            &mut batch,
            ReleaseId(1),
            wider,
            now + TimeDelta::minutes(30),
        );
        request(&mut batch, ReleaseId(2), canary, now);
        let mut conn = db.writer().acquire().await.unwrap();
        batch.run(&mut conn).await.unwrap();
        let releases = [ReleaseId(1), ReleaseId(2), ReleaseId(3)];
        let last = last_of(&mut conn, &releases).await.unwrap();
        assert_eq!(last.len(), 2, "release 3 has no job");
        for release in [ReleaseId(1), ReleaseId(2)] {
            let history = history(db.reader(), release).await.unwrap();
            assert_eq!(last.get(&release), history.last());
        }
        assert_eq!(last[&ReleaseId(1)].action, wider);
    }
}
