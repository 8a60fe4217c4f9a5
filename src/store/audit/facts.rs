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
    let rows = sqlx::query(&format!(
        "SELECT release_id, kind, at, detail FROM audit_events \
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
            let detail: String = row.try_get("detail")?;
            let detail = serde_json::from_str::<serde_json::Value>(&detail).unwrap_or_default();
            let commit_time = detail["origin"]["commit_time"]
                .as_str()
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.with_timezone(&Utc));
            Ok(Fact {
                release: row.try_get("release_id")?,
                kind: row.try_get("kind")?,
                at: parse_ts(row.try_get("at")?)?,
                restore_secs: detail["restore_secs"].as_i64(),
                environment: detail["environment"].as_str().map(str::to_owned),
                commit_time,
            })
        })
        .collect()
}
