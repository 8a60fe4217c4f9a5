//! The audit trail written out whole, as JSON lines or CSV. Snowflakes are written as strings,
//! as Discord writes them: they exceed the 2^53 that JavaScript and jq read exactly.

use std::fmt::Write as _;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::{AnyExecutor, Row as _};

use crate::store::unsf;

/// One exported row.
#[derive(Clone, Debug, Serialize)]
pub struct ExportedEvent {
    pub id: i64,
    pub release_id: Option<i64>,
    /// The acting person's Discord id.
    pub actor_id: Option<String>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub at: String,
    pub hash: String,
}

const COLUMNS: &str = "id, release_id, actor_id, kind, detail, at, hash";

pub async fn export(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<ExportedEvent>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_events ORDER BY id"))
        .fetch_all(db)
        .await
        .context("Cannot read the audit trail")?;
    exported(&rows)
}

/// The events of one release, oldest first: read by the release's index, so their cost is
/// that release's own history and not the whole trail's.
pub async fn of_release(
    db: impl AnyExecutor<'_>,
    release: i64,
) -> anyhow::Result<Vec<ExportedEvent>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE release_id = $1 ORDER BY id"
    ))
    .bind(release)
    .fetch_all(db)
    .await
    .context("Cannot read the release's audit events")?;
    exported(&rows)
}

fn exported(rows: &[sqlx::any::AnyRow]) -> anyhow::Result<Vec<ExportedEvent>> {
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(ExportedEvent {
                id: row.try_get("id")?,
                release_id: row.try_get("release_id")?,
                actor_id: row
                    .try_get::<Option<i64>, _>("actor_id")?
                    .map(|id| unsf(id).to_string()),
                kind: row.try_get("kind")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                at: row.try_get("at")?,
                hash: row.try_get("hash")?,
            })
        })
        .collect()
}

/// The export as JSON lines, or CSV with the detail as a JSON column.
pub fn format_export(events: &[ExportedEvent], csv: bool) -> anyhow::Result<String> {
    let mut out = String::new();
    if csv {
        out.push_str("id,release_id,actor_id,kind,detail,at,hash\n");
    }
    for e in events {
        if csv {
            let release = e.release_id.map(|v| v.to_string()).unwrap_or_default();
            let detail = e.detail.to_string().replace('"', "\"\"");
            writeln!(
                out,
                "{},{},{},{},\"{detail}\",{},{}",
                e.id,
                release,
                e.actor_id.as_deref().unwrap_or_default(),
                e.kind,
                e.at,
                e.hash
            )?;
        } else {
            out.push_str(&serde_json::to_string(e)?);
            out.push('\n');
        }
    }
    Ok(out)
}
