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

impl Counted {
    /// Moves past stored vote `id`: whether its ballot is still to be cast, which it is
    /// unless this replica counted it as it stored it.
    fn pass(&mut self, id: i64) -> bool {
        self.last_id = id;
        if self.stored_since > 0 {
            self.stored_since -= 1;
            return false;
        }
        true
    }
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
    let mut at = counted;
    while let Some(row) = rows.try_next().await.context("Cannot load the votes")? {
        if at.pass(row.try_get("id")?) {
            tally.cast(ballot(&row)?);
        }
    }
    at.stored_since = 0;
    Ok(at)
}

/// Adds to `batch` the reading of the votes stored on each of `polls` after the id it
/// counted, `(release, last counted id)`, for the releases still polling: a rollout's poll is
/// over. One statement per 500 releases; [`cast_rows`] takes them from the batch's rows.
pub fn select_since(batch: &mut Batch, polls: &[(ReleaseId, i64)]) {
    for chunk in polls.chunks(500) {
        batch
            .statement("WITH counted (release_id, last_id) AS (VALUES ")
            .values(chunk.len(), 2)
            .push(&format!(
                ") SELECT v.release_id, v.id, v.voter_id, v.voter_name, v.roles, v.choice, \
                 v.reason, v.cast_at FROM counted \
                 JOIN votes AS v ON v.release_id = counted.release_id AND v.id > counted.last_id \
                 JOIN releases AS r ON r.id = v.release_id AND r.state NOT IN {} ORDER BY v.id",
                super::releases::LOCK_STATES
            ));
        for (release, last_id) in chunk {
            batch.bind(release.0).bind(*last_id);
        }
    }
}

/// A kept tally to catch up, with where it stands.
pub struct Catching<'a> {
    pub release: ReleaseId,
    pub tally: &'a mut Tally,
    pub counted: &'a mut Counted,
}

/// Casts into each of `polls` the votes among a batch's `rows` stored on its release after
/// its count, as [`cast_since`] does for one: the rows of [`select_since`].
pub fn cast_rows<'r>(
    rows: impl IntoIterator<Item = &'r AnyRow>,
    polls: &mut [Catching<'_>],
) -> anyhow::Result<()> {
    let at: rustc_hash::FxHashMap<i64, usize> = polls
        .iter()
        .enumerate()
        .map(|(index, poll)| (poll.release.0, index))
        .collect();
    for row in rows {
        if row.try_column("voter_id").is_err() {
            continue;
        }
        let release: i64 = row.try_get("release_id")?;
        let Some(&index) = at.get(&release) else {
            continue;
        };
        let poll = &mut polls[index];
        let id: i64 = row.try_get("id")?;
        if poll.counted.pass(id) {
            poll.tally.cast(ballot(row)?);
        }
    }
    for poll in polls {
        poll.counted.stored_since = 0;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::ReleaseKind;
    use crate::store::releases::insert_planned;

    fn go(voter: u64) -> Ballot {
        Ballot {
            voter: UserId(voter),
            voter_name: format!("voter {voter}"),
            roles: vec![Role::Lead],
            choice: Choice::Go,
            reason: None,
            at: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        }
    }

    fn voters(tally: &Tally) -> Vec<u64> {
        tally.current().iter().map(|b| b.voter.0).collect()
    }

    #[tokio::test]
    async fn many_kept_tallies_catch_up_in_one_read_each_with_only_its_own_new_votes() {
        let (db, _dir) = crate::store::test_db().await;
        insert_planned(&db, 1, "1.1.0", None).await;
        insert_planned(&db, 2, "1.2.0", None).await;
        let mut rollout = insert_planned(&db, 3, "1.3.0", None).await;
        // Stored in this order: ids 1 to 5.
        let stored = [(1, 11), (2, 21), (1, 12), (1, 13), (2, 22)];
        let votes: Vec<NewVote> = stored
            .iter()
            .map(|&(release, voter)| NewVote {
                release: ReleaseId(release),
                ballot: go(voter),
                interaction_id: None,
            })
            .collect();
        let mut batch = Batch::new();
        insert_all(&mut batch, &votes);
        let mut conn = db.writer().acquire().await.unwrap();
        batch.run(&mut conn).await.unwrap();

        let policy = Policy::default_for(ReleaseKind::Minor);
        // Release 1 counted vote 1, then stored vote 3 itself and counted it as it did.
        let mut first = Tally::new(&policy, UserId(1));
        first.cast(go(11));
        first.cast(go(12));
        let mut first_counted = Counted {
            last_id: 1,
            stored_since: 1,
        };
        // Release 2 counted nothing yet.
        let mut second = Tally::new(&policy, UserId(1));
        let mut second_counted = Counted::default();
        // A rollout's poll is over: its votes are not read again.
        rollout.state = crate::domain::ReleaseState::Deploying;
        let mut write = Batch::new();
        crate::store::releases::update(&mut write, &rollout);
        let late = NewVote {
            release: ReleaseId(3),
            ballot: go(31),
            interaction_id: None,
        };
        insert_all(&mut write, &[late]);
        write.run(&mut conn).await.unwrap();

        let mut read = Batch::new();
        let since = [(ReleaseId(1), 1), (ReleaseId(2), 0), (ReleaseId(3), 0)];
        select_since(&mut read, &since);
        let rows = read.run(&mut conn).await.unwrap();
        let mut third = Tally::new(&policy, UserId(1));
        let mut third_counted = Counted::default();
        let mut polls = [
            Catching {
                release: ReleaseId(3),
                tally: &mut third,
                counted: &mut third_counted,
            },
            Catching {
                release: ReleaseId(1),
                tally: &mut first,
                counted: &mut first_counted,
            },
            Catching {
                release: ReleaseId(2),
                tally: &mut second,
                counted: &mut second_counted,
            },
        ];
        cast_rows(&rows, &mut polls).unwrap();

        assert_eq!(voters(&first), [11, 12, 13]);
        assert_eq!(
            first_counted,
            Counted {
                last_id: 4,
                stored_since: 0
            }
        );
        assert_eq!(voters(&second), [21, 22]);
        assert!(voters(&third).is_empty());
        assert_eq!(third_counted, Counted::default());
        assert_eq!(
            second_counted,
            Counted {
                last_id: 5,
                stored_since: 0
            }
        );
        // Caught up from the same counts one at a time, each tally ends the same.
        let mut one = Tally::new(&policy, UserId(1));
        one.cast(go(11));
        one.cast(go(12));
        let counted = Counted {
            last_id: 1,
            stored_since: 1,
        };
        let alone = cast_since(&mut *conn, ReleaseId(1), &mut one, counted)
            .await
            .unwrap();
        assert_eq!((one, alone), (first, first_counted));
    }
}
