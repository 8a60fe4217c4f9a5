//! The `votes` table: every accepted click, in order, with the roles held at the time.

use anyhow::Context as _;
use futures::TryStreamExt as _;
use sqlx::any::AnyRow;
use sqlx::{AnyExecutor, Row};

use super::batch::Batch;
use super::{parse_ts, sf, ts, unsf};
use crate::domain::{Ballot, Choice, Policy, Release, ReleaseId, Role, Tally, UserId};

/// A vote to store, with the interaction that cast it.
#[derive(Clone, Debug)]
pub struct NewVote {
    pub release: ReleaseId,
    pub ballot: Ballot,
    pub interaction_id: Option<u64>,
}

/// Stores votes in order, in as few statements as `SQLite`'s limit on bound values allows.
pub fn insert_all(batch: &mut Batch, votes: &[NewVote]) {
    for chunk in votes.chunks(100) {
        batch
            .statement(
                "INSERT INTO votes (release_id, voter_id, voter_name, roles, choice, reason, cast_at, interaction_id) VALUES ",
            )
            .values(chunk.len(), 8);
        for vote in chunk {
            let roles: Vec<&str> = vote.ballot.roles.iter().map(|r| r.as_str()).collect();
            batch
                .bind(vote.release.0)
                .bind(sf(vote.ballot.voter.0))
                .bind(vote.ballot.voter_name.clone())
                .bind(roles.join(","))
                .bind(vote.ballot.choice.as_str())
                .bind(vote.ballot.reason.clone())
                .bind(ts(vote.ballot.at))
                .bind(vote.interaction_id.map(sf));
        }
    }
}

/// The standing of the poll on `release` under `policy`, counted from its votes one row at a
/// time: only each voter's latest ballot is held, never the whole history beside it.
pub async fn tally(
    db: impl AnyExecutor<'_>,
    release: &Release,
    policy: &Policy,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new(policy, release.author);
    cast_since(db, release.id, &mut tally, Counted::default()).await?;
    Ok(tally)
}

/// Where a tally kept in memory stands among the stored votes of its release.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// The id of the last stored vote it counted.
    pub last_id: i64,
    /// The votes this replica has counted and stored since. Votes are stored under the write
    /// lock, so these are the next ones after `last_id`, before any other replica's.
    pub stored_since: i64,
}

/// Casts into `tally` the votes on `release` stored after `counted`, in the order they were
/// stored, skipping those this replica counted as it stored them: a tally kept in memory
/// catches up with the votes other replicas stored since, reading only those.
pub async fn cast_since(
    db: impl AnyExecutor<'_>,
    release: ReleaseId,
    tally: &mut Tally,
    counted: Counted,
) -> anyhow::Result<Counted> {
    let mut rows = sqlx::query(
        "SELECT id, voter_id, voter_name, roles, choice, reason, cast_at FROM votes \
         WHERE release_id = $1 AND id > $2 ORDER BY id",
    )
    .bind(release.0)
    .bind(counted.last_id)
    .fetch(db);
    let mut now = Counted {
        last_id: counted.last_id,
        stored_since: 0,
    };
    let mut own = counted.stored_since;
    while let Some(row) = rows.try_next().await.context("Cannot load the votes")? {
        now.last_id = row.try_get("id")?;
        if own > 0 {
            own -= 1;
        } else {
            tally.cast(ballot(&row)?);
        }
    }
    Ok(now)
}

fn ballot(row: &AnyRow) -> anyhow::Result<Ballot> {
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
}

/// How many votes were ever cast: votes are never deleted, so the newest id says it without
/// counting the table.
pub async fn count(db: &super::Db) -> anyhow::Result<i64> {
    // SQLite numbers votes without gaps, so the last id is the count, read from the index's
    // end. A PostgreSQL sequence skips the numbers of a transaction that rolled back.
    let sql = match db.backend() {
        super::Backend::Sqlite => "SELECT COALESCE(MAX(id), 0) FROM votes",
        super::Backend::Postgres => "SELECT COUNT(*) FROM votes",
    };
    sqlx::query_scalar(sql)
        .fetch_one(db.reader())
        .await
        .context("Cannot count the votes")
}
