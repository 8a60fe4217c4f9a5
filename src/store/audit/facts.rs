//! The audit events the DORA figures read: every event of the kinds they need, of each
//! release that started, completed or rolled back in the period.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::{Row as _, SqliteExecutor};

use crate::domain::stats::{Fact, KINDS};
use crate::store::{parse_ts, ts};

pub async fn facts_since(
    db: impl SqliteExecutor<'_>,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<Fact>> {
    let kinds = KINDS.map(|k| format!("'{k}'")).join(", ");
    // SQLite reads the few fields the figures need out of each detail: a year of events is
    // tens of thousands of rows, and most need none of their detail at all.
    let rows = sqlx::query(&format!(
        "SELECT release_id, kind, at, \
           CASE WHEN kind = 'rolled_back' THEN json_extract(detail, '$.restore_secs') END \
             AS restore_secs, \
           CASE WHEN kind = 'planned' THEN json_extract(detail, '$.environment') END \
             AS environment, \
           CASE WHEN kind = 'planned' THEN json_extract(detail, '$.origin.commit_time') END \
             AS commit_time \
         FROM audit_events \
         WHERE kind IN ({kinds}) AND release_id IN (\
           SELECT release_id FROM audit_events WHERE at > ? \
           AND kind IN ('deploy_started', 'completed', 'rolled_back')) \
         ORDER BY id"
    ))
    .bind(ts(since))
    .fetch_all(db)
    .await
    .context("Cannot read the audit trail for the figures")?;
    rows.iter()
        .map(|row| {
            let commit_time = row
                .try_get::<Option<String>, _>("commit_time")?
                .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                .map(|at| at.with_timezone(&Utc));
            Ok(Fact {
                release: row.try_get("release_id")?,
                kind: row.try_get("kind")?,
                at: parse_ts(row.try_get("at")?)?,
                restore_secs: row.try_get("restore_secs")?,
                environment: row.try_get("environment")?,
                commit_time,
            })
        })
        .collect()
}
