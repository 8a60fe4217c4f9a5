//! The `votes` table: every accepted click, in order, with the roles held at the time.

use anyhow::Context as _;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqliteExecutor};

use super::{parse_ts, sf, ts, unsf};
use crate::domain::{Ballot, Choice, ReleaseId, Role, UserId};

/// A vote to store, with the interaction that cast it.
#[derive(Clone, Debug)]
pub struct NewVote {
    pub release: ReleaseId,
    pub ballot: Ballot,
    pub interaction_id: Option<u64>,
}

/// Stores votes in order, in as few statements as `SQLite`'s limit on bound values allows.
pub async fn insert_all(conn: &mut SqliteConnection, votes: &[NewVote]) -> anyhow::Result<()> {
    for chunk in votes.chunks(100) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO votes (release_id, voter_id, voter_name, roles, choice, reason, cast_at, interaction_id) ",
        );
        insert.push_values(chunk, |mut values, vote| {
            let roles: Vec<&str> = vote.ballot.roles.iter().map(|r| r.as_str()).collect();
            values
                .push_bind(vote.release.0)
                .push_bind(sf(vote.ballot.voter.0))
                .push_bind(vote.ballot.voter_name.clone())
                .push_bind(roles.join(","))
                .push_bind(vote.ballot.choice.as_str())
                .push_bind(vote.ballot.reason.clone())
                .push_bind(ts(vote.ballot.at))
                .push_bind(vote.interaction_id.map(sf));
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .context("Cannot store the votes")?;
    }
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

/// How many votes were ever cast, changes included.
/// How many votes were ever cast: votes are never deleted, so the newest id says it without
/// counting the table.
pub async fn count(db: impl SqliteExecutor<'_>) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM votes")
        .fetch_one(db)
        .await
        .context("Cannot count the votes")
}
