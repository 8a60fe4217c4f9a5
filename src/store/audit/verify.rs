//! Checking the chain: every row links to the one before and matches its hash, keyed rows
//! under the key, and an earlier head is still a prefix of the chain.

use std::fmt;
use std::str::FromStr;

use anyhow::Context as _;
use futures::TryStreamExt as _;
use sqlx::{AnyExecutor, Row as _};

use super::{link, AuditKey, Canonical, GENESIS};

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

/// The chain's newest row, as `gonogo audit head` prints it: `COUNT:HASH`. Kept outside the
/// database, it catches a truncation or a rewrite that recomputed every hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Events in the chain, which is also the id of the newest one.
    pub count: i64,
    pub hash: String,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.count, self.hash)
    }
}

impl FromStr for Head {
    type Err = String;

    fn from_str(text: &str) -> Result<Head, String> {
        let bad = || {
            format!("`{text}` is not a head; write it as `gonogo audit head` prints it, COUNT:HASH")
        };
        let (count, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let count: i64 = count.parse().map_err(|_| bad())?;
        let is_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        if count < 0 || !is_hash {
            return Err(bad());
        }
        Ok(Head {
            count,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The newest row; the genesis head when the chain is empty. Reads one row, not the table.
pub async fn head(db: impl AnyExecutor<'_>) -> anyhow::Result<Head> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(db)
            .await
            .context("Cannot read the audit chain head")?;
    let (count, hash) = last.unwrap_or_else(|| (0, GENESIS.to_owned()));
    Ok(Head { count, hash })
}

fn broken(id: i64, problem: impl Into<String>) -> Verdict {
    Verdict::Broken(Break {
        id,
        problem: problem.into(),
    })
}

/// Checks every row in order, keyed rows under `key`, and that `since`, a head taken earlier,
/// is still a prefix of the chain.
pub async fn verify(
    db: impl AnyExecutor<'_>,
    key: Option<&AuditKey>,
    since: Option<&Head>,
) -> anyhow::Result<Verdict> {
    // Streamed, one row at a time: a long chain is checked in the memory of one row.
    let mut rows = sqlx::query(
        "SELECT id, release_id, actor_id, kind, detail, at, prev_hash, hash, keyed \
         FROM audit_events ORDER BY id",
    )
    .fetch(db);
    let mut prev = GENESIS.to_owned();
    let mut keyed_before = false;
    // The hash of the event the earlier head names, once the stream passes it.
    let mut at_since = None;
    let mut count = 0_i64;
    while let Some(row) = rows
        .try_next()
        .await
        .context("Cannot read the audit trail")?
    {
        let row = &row;
        let expected_id = count + 1;
        let id: i64 = row.try_get("id")?;
        if id != expected_id {
            let problem =
                format!("expected event {expected_id} here: a row was deleted or renumbered");
            return Ok(broken(id, problem));
        }
        let prev_hash: String = row.try_get("prev_hash")?;
        if prev_hash != prev {
            return Ok(broken(
                id,
                "its link to the previous event does not match: rows were removed or reordered",
            ));
        }
        let keyed = row.try_get::<i64, _>("keyed")? != 0;
        if keyed_before && !keyed {
            return Ok(broken(
                id,
                "it is not keyed, though earlier events are: it was written without audit.key",
            ));
        }
        keyed_before = keyed;
        let row_key = match (keyed, key) {
            (false, _) => None,
            (true, Some(key)) => Some(key),
            (true, None) => {
                return Ok(broken(
                    id,
                    "from here on the chain is keyed: set GONOGO_AUDIT__KEY to verify it",
                ))
            }
        };
        let content = Canonical {
            id,
            release_id: row.try_get("release_id")?,
            actor_id: row.try_get("actor_id")?,
            kind: row.try_get("kind")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        };
        let hash: String = row.try_get("hash")?;
        if link(&prev, &content, row_key) != hash {
            let problem = if keyed {
                "its content does not match its hash under audit.key: the row was edited, \
                 or the key is not the one it was written with"
            } else {
                "its content does not match its hash: the row was edited"
            };
            return Ok(broken(id, problem));
        }
        if since.is_some_and(|since| since.count == id) {
            at_since = Some(hash.clone());
        }
        prev = hash;
        count = id;
    }
    if key.is_some() && count > 0 && !keyed_before {
        return Ok(broken(
            count,
            "audit.key is set but the newest events are not keyed: they were rewritten \
             without the key, or gonogo has not run with it yet",
        ));
    }
    if let Some(since) = since {
        if let Some(broken) = not_a_prefix(since, count, at_since.as_deref()) {
            return Ok(broken);
        }
    }
    Ok(Verdict::Intact(count.unsigned_abs()))
}

/// Where a chain of `count` events, whose event `since.count` has the hash `at_since`, no
/// longer holds the earlier head `since`; `None` when it still does.
fn not_a_prefix(since: &Head, count: i64, at_since: Option<&str>) -> Option<Verdict> {
    let then = match since.count {
        0 => Some(GENESIS),
        _ => at_since,
    };
    match then {
        None => Some(broken(
            since.count,
            format!(
                "the chain ends at event {count}, before the earlier head's event {}: \
                 events were deleted from its end",
                since.count
            ),
        )),
        Some(hash) if hash != since.hash => Some(broken(
            since.count,
            "its hash is not the earlier head's: the chain was rewritten since",
        )),
        Some(_) => None,
    }
}
