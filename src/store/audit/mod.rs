//! The `audit_events` table: an append-only trail, each row hashed over the previous row's
//! hash and its own content, with SHA-256 or, under `audit.key`, HMAC-SHA256.

mod export;
mod facts;
mod verify;

use std::fmt;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyExecutor, Row as _};

pub use export::{export, format_export, of_release, ExportedEvent};
pub use facts::facts_since;
pub use verify::{head, verify, Break, Head, Verdict};

use super::batch::Batch;
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

/// The secret that keys the chain: without it, a rewritten row cannot be made to verify.
#[derive(Clone)]
pub struct AuditKey(Arc<[u8]>);

impl AuditKey {
    pub fn new(secret: &str) -> AuditKey {
        AuditKey(Arc::from(secret.as_bytes()))
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

/// A row's hash: over the previous row's hash and this row's canonical content, keyed when
/// the chain has a key.
fn link(prev_hash: &str, content: &Canonical<'_>, key: Option<&AuditKey>) -> String {
    let json = serde_json::to_string(content).unwrap_or_default();
    // HMAC takes a key of any length, so a key always yields a MAC.
    let mac = key.and_then(|key| Hmac::<Sha256>::new_from_slice(&key.0).ok());
    let digest = if let Some(mut mac) = mac {
        mac.update(prev_hash.as_bytes());
        mac.update(json.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        hasher.update(json.as_bytes());
        hasher.finalize().to_vec()
    };
    hex::encode(digest)
}

/// The chain as the one writer extends it: the last row, read once and then kept up to date
/// (nothing else appends), and the rows appended but not yet written, which [`Chain::flush`]
/// inserts in one statement.
#[derive(Debug, Default)]
pub struct Chain {
    key: Option<AuditKey>,
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

impl Chain {
    /// A chain extended with plain SHA-256, or with HMAC-SHA256 under `key`.
    pub fn new(key: Option<AuditKey>) -> Chain {
        Chain {
            key,
            ..Chain::default()
        }
    }

    /// The chain from a head a committed transaction left, so it is not read again.
    pub fn from_head(key: Option<AuditKey>, head: Option<(i64, String)>) -> Chain {
        Chain {
            key,
            head,
            ..Chain::default()
        }
    }

    /// The last row as appended so far, if it is known.
    pub fn head(&self) -> Option<&(i64, String)> {
        self.head.as_ref()
    }
}

/// Rows per INSERT statement, well inside `SQLite`'s limit on bound values.
const ROWS_PER_INSERT: usize = 100;

impl Chain {
    /// Appends one event, chained to the last row. It is written by the next [`Chain::flush`].
    pub async fn append(
        &mut self,
        conn: &mut AnyConnection,
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
        let hash = link(&prev_hash, &content, self.key.as_ref());
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

    /// Adds the appended rows to `batch`. Run it before reading `audit_events` in the same
    /// transaction.
    pub fn flush(&mut self, batch: &mut Batch) {
        let keyed = self.key.is_some();
        let mut pending = std::mem::take(&mut self.pending).into_iter().peekable();
        while pending.peek().is_some() {
            let rows: Vec<Row> = pending.by_ref().take(ROWS_PER_INSERT).collect();
            batch
                .statement(
                    "INSERT INTO audit_events (id, release_id, actor_id, kind, detail, at, prev_hash, hash, keyed) VALUES ",
                )
                .values(rows.len(), 9);
            for row in rows {
                batch
                    .bind(row.id)
                    .bind(row.release_id)
                    .bind(row.actor_id)
                    .bind(row.kind)
                    .bind(row.detail)
                    .bind(row.at)
                    .bind(row.prev_hash)
                    .bind(row.hash)
                    .bind(keyed);
            }
        }
    }
}

/// Whether the newest row is keyed; `None` for an empty chain.
pub async fn head_keyed(db: impl AnyExecutor<'_>) -> anyhow::Result<Option<bool>> {
    let keyed: Option<i64> =
        sqlx::query_scalar("SELECT keyed FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(db)
            .await
            .context("Cannot read the audit chain head")?;
    Ok(keyed.map(|keyed| keyed != 0))
}

async fn read_head(conn: &mut AnyConnection) -> anyhow::Result<(i64, String)> {
    let last = sqlx::query("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .context("Cannot read the audit chain head")?;
    Ok(match last {
        Some(row) => (row.try_get("id")?, row.try_get("hash")?),
        None => (0, GENESIS.to_owned()),
    })
}
