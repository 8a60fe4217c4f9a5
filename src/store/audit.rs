//! The `audit_events` table: an append-only, SHA-256 hash-chained trail.

use std::fmt::{self, Write as _};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqliteExecutor};

use super::{sf, ts};
use crate::domain::{ReleaseId, UserId};

/// The hash that the first row chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The exact content a row's hash covers, in a fixed field order.
#[derive(Serialize)]
struct Canonical<'a> {
    id: i64,
    release_id: Option<i64>,
    actor_id: Option<i64>,
    kind: &'a str,
    detail: &'a str,
    at: &'a str,
}

fn chain(prev_hash: &str, content: &Canonical<'_>) -> String {
    let json = serde_json::to_string(content).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(json.as_bytes());
    hex::encode(hasher.finalize())
}

/// The chain as one write transaction extends it: the last row, read once and then kept up
/// to date (nothing else appends while that transaction holds the write lock), and the rows
/// appended but not yet written, which [`Chain::flush`] inserts in one statement.
#[derive(Debug, Default)]
pub struct Chain {
    head: Option<(i64, String)>,
    pending: Vec<Row>,
}

#[derive(Debug)]
struct Row {
    id: i64,
    release_id: Option<i64>,
    actor_id: Option<i64>,
    kind: String,
    detail: String,
    at: String,
    prev_hash: String,
    hash: String,
}

/// Rows per INSERT statement, well inside `SQLite`'s limit on bound values.
const ROWS_PER_INSERT: usize = 100;

impl Chain {
    /// Appends one event, chained to the last row. It is written by the next [`Chain::flush`].
    pub async fn append(
        &mut self,
        conn: &mut SqliteConnection,
        release: Option<ReleaseId>,
        actor: Option<UserId>,
        detail: &impl Serialize,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let detail = serde_json::to_value(detail).context("Cannot serialize the audit event")?;
        let kind = detail
            .get("event")
            .and_then(|k| k.as_str())
            .unwrap_or("event")
            .to_owned();
        let detail = detail.to_string();
        let (last_id, prev_hash) = match self.head.take() {
            Some(known) => known,
            None => read_head(conn).await?,
        };
        let at = ts(at);
        let content = Canonical {
            id: last_id + 1,
            release_id: release.map(|r| r.0),
            actor_id: actor.map(|a| sf(a.0)),
            kind: &kind,
            detail: &detail,
            at: &at,
        };
        let hash = chain(&prev_hash, &content);
        let row = Row {
            id: content.id,
            release_id: content.release_id,
            actor_id: content.actor_id,
            kind,
            detail,
            at,
            prev_hash,
            hash,
        };
        self.head = Some((row.id, row.hash.clone()));
        self.pending.push(row);
        Ok(())
    }

    /// Writes the appended rows. Call before reading `audit_events` in the same transaction.
    pub async fn flush(&mut self, conn: &mut SqliteConnection) -> anyhow::Result<()> {
        for rows in self.pending.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO audit_events (id, release_id, actor_id, kind, detail, at, prev_hash, hash) ",
            );
            insert.push_values(rows, |mut values, row| {
                values
                    .push_bind(row.id)
                    .push_bind(row.release_id)
                    .push_bind(row.actor_id)
                    .push_bind(&row.kind)
                    .push_bind(&row.detail)
                    .push_bind(&row.at)
                    .push_bind(&row.prev_hash)
                    .push_bind(&row.hash);
            });
            insert
                .build()
                .execute(&mut *conn)
                .await
                .context("Cannot append the audit events")?;
        }
        self.pending.clear();
        Ok(())
    }
}

async fn read_head(conn: &mut SqliteConnection) -> anyhow::Result<(i64, String)> {
    let last = sqlx::query("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read the audit chain head")?;
    Ok(match last {
        Some(row) => (row.try_get("id")?, row.try_get("hash")?),
        None => (0, GENESIS.to_owned()),
    })
}

/// Where the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    pub id: i64,
    pub problem: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit event {}: {}", self.id, self.problem)
    }
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row is intact; this many of them.
    Intact(u64),
    /// The first edited, deleted or reordered row.
    Broken(Break),
}

/// Checks every row in order.
pub async fn verify(db: impl SqliteExecutor<'_>) -> anyhow::Result<Verdict> {
    let rows = sqlx::query(
        "SELECT id, release_id, actor_id, kind, detail, at, prev_hash, hash FROM audit_events ORDER BY id",
    )
    .fetch_all(db)
    .await
    .context("Cannot read the audit trail")?;
    let mut prev = GENESIS.to_owned();
    for (expected_id, row) in (1_i64..).zip(&rows) {
        let id: i64 = row.try_get("id")?;
        if id != expected_id {
            let problem =
                format!("expected event {expected_id} here: a row was deleted or renumbered");
            return Ok(Verdict::Broken(Break { id, problem }));
        }
        let prev_hash: String = row.try_get("prev_hash")?;
        if prev_hash != prev {
            let problem =
                "its link to the previous event does not match: rows were removed or reordered";
            return Ok(Verdict::Broken(Break {
                id,
                problem: problem.to_owned(),
            }));
        }
        let content = Canonical {
            id,
            release_id: row.try_get("release_id")?,
            actor_id: row.try_get("actor_id")?,
            kind: row.try_get("kind")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        };
        let hash: String = row.try_get("hash")?;
        if chain(&prev, &content) != hash {
            let problem = "its content does not match its hash: the row was edited".to_owned();
            return Ok(Verdict::Broken(Break { id, problem }));
        }
        prev = hash;
    }
    Ok(Verdict::Intact(rows.len() as u64))
}

/// One exported row.
#[derive(Clone, Debug, Serialize)]
pub struct ExportedEvent {
    pub id: i64,
    pub release_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub at: String,
    pub hash: String,
}

pub async fn export(db: impl SqliteExecutor<'_>) -> anyhow::Result<Vec<ExportedEvent>> {
    let rows = sqlx::query(
        "SELECT id, release_id, actor_id, kind, detail, at, hash FROM audit_events ORDER BY id",
    )
    .fetch_all(db)
    .await
    .context("Cannot read the audit trail")?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(ExportedEvent {
                id: row.try_get("id")?,
                release_id: row.try_get("release_id")?,
                actor_id: row.try_get("actor_id")?,
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
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            let detail = e.detail.to_string().replace('"', "\"\"");
            writeln!(
                out,
                "{},{},{},{},\"{detail}\",{},{}",
                e.id,
                opt(e.release_id),
                opt(e.actor_id),
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
