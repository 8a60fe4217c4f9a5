//! The `votes` table: every accepted click, in order, with the roles held at the time.

use anyhow::Context as _;
use sqlx::{Row, SqliteExecutor};

use super::{parse_ts, sf, ts, unsf};
use crate::domain::{Ballot, Choice, ReleaseId, Role, UserId};

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    release: ReleaseId,
    ballot: &Ballot,
    interaction_id: Option<u64>,
) -> anyhow::Result<()> {
    let roles: Vec<&str> = ballot.roles.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "INSERT INTO votes (release_id, voter_id, voter_name, roles, choice, reason, cast_at, interaction_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(release.0)
    .bind(sf(ballot.voter.0))
    .bind(&ballot.voter_name)
    .bind(roles.join(","))
    .bind(ballot.choice.as_str())
    .bind(&ballot.reason)
    .bind(ts(ballot.at))
    .bind(interaction_id.map(sf))
    .execute(db)
    .await
    .context("Cannot store the vote")?;
    Ok(())
}

/// Every vote on `release`, oldest first.
pub async fn history(
    db: impl SqliteExecutor<'_>,
    release: ReleaseId,
) -> anyhow::Result<Vec<Ballot>> {
    let rows = sqlx::query(
        "SELECT voter_id, voter_name, roles, choice, reason, cast_at FROM votes \
         WHERE release_id = ? ORDER BY id",
    )
    .bind(release.0)
    .fetch_all(db)
    .await
    .context("Cannot load the votes")?;
    rows.iter()
        .map(|row| {
            let roles: &str = row.try_get("roles")?;
            let choice: &str = row.try_get("choice")?;
            Ok(Ballot {
                voter: UserId(unsf(row.try_get("voter_id")?)),
                voter_name: row.try_get("voter_name")?,
                roles: roles
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(|r| r.parse::<Role>().map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<_>>()?,
                choice: Choice::parse(choice)
                    .with_context(|| format!("Unknown stored choice `{choice}`"))?,
                reason: row.try_get("reason")?,
                at: parse_ts(row.try_get("cast_at")?)?,
            })
        })
        .collect()
}
