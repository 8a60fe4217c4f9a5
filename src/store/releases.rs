//! The `releases` table: the lifecycle state plus where its card and thread live in Discord.

use anyhow::Context as _;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use super::{parse_ts, sf, ts, unsf};
use crate::domain::{Release, ReleaseId, UserId, Version};

/// A release with the Discord coordinates of its card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRelease {
    pub release: Release,
    pub author_name: String,
    pub card_channel_id: u64,
    pub card_message_id: Option<u64>,
    pub thread_id: Option<u64>,
}

const COLUMNS: &str = "id, version, kind, state, summary, changelog, environment, author_id, \
    author_name, created_at, expires_at, decided_at, decision_reason, card_channel_id, \
    card_message_id, thread_id";

fn from_row(row: &SqliteRow) -> anyhow::Result<StoredRelease> {
    let parse_err = |e: String| anyhow::anyhow!(e);
    let release = Release {
        id: ReleaseId(row.try_get("id")?),
        version: Version::parse(row.try_get("version")?).map_err(parse_err)?,
        kind: row.try_get::<&str, _>("kind")?.parse().map_err(parse_err)?,
        state: row
            .try_get::<&str, _>("state")?
            .parse()
            .map_err(parse_err)?,
        summary: row.try_get("summary")?,
        changelog: row.try_get("changelog")?,
        environment: row.try_get("environment")?,
        author: UserId(unsf(row.try_get("author_id")?)),
        created_at: parse_ts(row.try_get("created_at")?)?,
        expires_at: parse_ts(row.try_get("expires_at")?)?,
        decided_at: row
            .try_get::<Option<&str>, _>("decided_at")?
            .map(parse_ts)
            .transpose()?,
        decision_reason: row.try_get("decision_reason")?,
    };
    Ok(StoredRelease {
        release,
        author_name: row.try_get("author_name")?,
        card_channel_id: unsf(row.try_get("card_channel_id")?),
        card_message_id: row.try_get::<Option<i64>, _>("card_message_id")?.map(unsf),
        thread_id: row.try_get::<Option<i64>, _>("thread_id")?.map(unsf),
    })
}

/// The id the next release will get; call inside the write transaction that inserts it.
pub async fn next_id(db: impl SqliteExecutor<'_>) -> anyhow::Result<ReleaseId> {
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM releases")
        .fetch_one(db)
        .await
        .context("Cannot allocate a release id")?;
    Ok(ReleaseId(id))
}

pub async fn insert(db: impl SqliteExecutor<'_>, stored: &StoredRelease) -> anyhow::Result<()> {
    let r = &stored.release;
    sqlx::query(&format!(
        "INSERT INTO releases ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(r.id.0)
    .bind(r.version.to_string())
    .bind(r.kind.as_str())
    .bind(r.state.as_str())
    .bind(&r.summary)
    .bind(&r.changelog)
    .bind(&r.environment)
    .bind(sf(r.author.0))
    .bind(&stored.author_name)
    .bind(ts(r.created_at))
    .bind(ts(r.expires_at))
    .bind(r.decided_at.map(ts))
    .bind(&r.decision_reason)
    .bind(sf(stored.card_channel_id))
    .bind(stored.card_message_id.map(sf))
    .bind(stored.thread_id.map(sf))
    .execute(db)
    .await
    .context("Cannot insert the release")?;
    Ok(())
}

/// Writes the lifecycle fields of `release` (state and decision).
pub async fn update(db: impl SqliteExecutor<'_>, release: &Release) -> anyhow::Result<()> {
    sqlx::query("UPDATE releases SET state = ?, decided_at = ?, decision_reason = ? WHERE id = ?")
        .bind(release.state.as_str())
        .bind(release.decided_at.map(ts))
        .bind(&release.decision_reason)
        .bind(release.id.0)
        .execute(db)
        .await
        .context("Cannot update the release")?;
    Ok(())
}

pub async fn get(
    db: impl SqliteExecutor<'_>,
    id: ReleaseId,
) -> anyhow::Result<Option<StoredRelease>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM releases WHERE id = ?"))
        .bind(id.0)
        .fetch_optional(db)
        .await
        .context("Cannot load the release")?;
    row.as_ref().map(from_row).transpose()
}

/// Every release of this version, in any environment, newest first.
pub async fn by_version(
    db: impl SqliteExecutor<'_>,
    version: &Version,
) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE version = ? ORDER BY id DESC"
    ))
    .bind(version.to_string())
    .fetch_all(db)
    .await
    .context("Cannot look up the release by version")?;
    rows.iter().map(from_row).collect()
}

/// The most recent releases, newest first.
pub async fn recent(db: impl SqliteExecutor<'_>, limit: u32) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases ORDER BY id DESC LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(db)
    .await
    .context("Cannot list releases")?;
    rows.iter().map(from_row).collect()
}

pub async fn set_card_message(
    db: impl SqliteExecutor<'_>,
    id: ReleaseId,
    message_id: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE releases SET card_message_id = ? WHERE id = ?")
        .bind(sf(message_id))
        .bind(id.0)
        .execute(db)
        .await
        .context("Cannot store the card message id")?;
    Ok(())
}

pub async fn set_thread(
    db: impl SqliteExecutor<'_>,
    id: ReleaseId,
    thread_id: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE releases SET thread_id = ? WHERE id = ?")
        .bind(sf(thread_id))
        .bind(id.0)
        .execute(db)
        .await
        .context("Cannot store the thread id")?;
    Ok(())
}
