//! The `leader_lease` row: which replica leads, under which term, until when on the database's
//! clock; and the lock every write group holds, which a takeover waits for.

use anyhow::Context as _;
use sqlx::{AnyConnection, Row as _};

use super::{Backend, Db};

/// The lease as one replica found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The current term: raised by every takeover.
    pub term: i64,
    /// Whether the replica that asked holds it now.
    pub held: bool,
}

/// The database's clock in milliseconds since 1970, so replicas on hosts whose clocks differ
/// agree on when a lease expires.
fn now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

/// The key of the PostgreSQL advisory lock that write groups and takeovers hold: its number
/// spells "gonogo".
pub const WRITE_LOCK: i64 = 0x676f_6e6f_676f;

/// Takes the lock that serializes write groups across replicas, until the transaction ends:
/// it keeps the audit chain a single line and lets a takeover wait for the group in flight.
/// `SQLite` serializes writers itself.
pub async fn lock_writes(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(conn)
            .await
            .context("Cannot take the write lock")?;
    }
    Ok(())
}

/// Opens a write transaction that holds the write lock: on PostgreSQL the lock is taken with
/// the `BEGIN`, in the same round trip.
pub async fn begin_writes(db: &Db) -> anyhow::Result<super::Tx> {
    match db.backend() {
        Backend::Sqlite => db.begin().await,
        Backend::Postgres => db
            .writer()
            .begin_with(format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .await
            .context("Cannot start a database transaction and take the write lock"),
    }
}

/// Renews the lease for `holder` when it holds it under `term`, or takes it over with the next
/// term when it has expired, valid `valid_ms` from now on the database's clock. A takeover
/// waits for the write group in flight, so no write of the old term commits after it.
pub async fn claim(
    db: &Db,
    holder: &str,
    term: Option<i64>,
    valid_ms: i64,
) -> anyhow::Result<Lease> {
    let now = now_ms(db.backend());
    let mut tx = db
        .writer()
        .begin()
        .await
        .context("Cannot claim the lease")?;
    let renewed = sqlx::query(&format!(
        "UPDATE leader_lease SET expires_ms = {now} + $1 \
         WHERE id = 1 AND holder = $2 AND term = $3 AND expires_ms > {now} RETURNING term"
    ))
    .bind(valid_ms)
    .bind(holder)
    .bind(term.unwrap_or(-1))
    .fetch_optional(&mut *tx)
    .await
    .context("Cannot renew the lease")?;
    if let Some(row) = renewed {
        tx.commit().await.context("Cannot renew the lease")?;
        return Ok(Lease {
            term: row.try_get(0)?,
            held: true,
        });
    }
    let expired: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT term FROM leader_lease WHERE id = 1 AND expires_ms <= {now}"
    ))
    .fetch_optional(&mut *tx)
    .await
    .context("Cannot read the lease")?;
    if expired.is_some() {
        lock_writes(&mut tx, db.backend()).await?;
        let taken = sqlx::query(&format!(
            "UPDATE leader_lease SET term = term + 1, holder = $1, expires_ms = {now} + $2 \
             WHERE id = 1 AND expires_ms <= {now} RETURNING term"
        ))
        .bind(holder)
        .bind(valid_ms)
        .fetch_optional(&mut *tx)
        .await
        .context("Cannot take the lease over")?;
        if let Some(row) = taken {
            tx.commit().await.context("Cannot take the lease over")?;
            return Ok(Lease {
                term: row.try_get(0)?,
                held: true,
            });
        }
    }
    tx.rollback().await.context("Cannot read the lease")?;
    Ok(Lease {
        term: current_term(db.reader()).await?,
        held: false,
    })
}

/// Gives the lease up at once, so a successor need not wait for it to expire.
pub async fn release(db: &Db, holder: &str, term: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE leader_lease SET expires_ms = 0 WHERE id = 1 AND holder = $1 AND term = $2",
    )
    .bind(holder)
    .bind(term)
    .execute(db.writer())
    .await
    .context("Cannot give the lease up")?;
    Ok(())
}

/// The term now, as a write group reads it under the write lock.
pub async fn current_term<'c>(db: impl sqlx::AnyExecutor<'c>) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT term FROM leader_lease WHERE id = 1")
        .fetch_one(db)
        .await
        .context("Cannot read the lease's term")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lease_is_renewed_by_its_holder_and_taken_over_with_the_next_term_once_expired() {
        let (db, _dir) = crate::store::test_db().await;
        let first = claim(&db, "a", None, 60_000).await.unwrap();
        assert_eq!(
            first,
            Lease {
                term: 1,
                held: true
            }
        );
        let refused = claim(&db, "b", None, 60_000).await.unwrap();
        assert_eq!(
            refused,
            Lease {
                term: 1,
                held: false
            }
        );
        let renewed = claim(&db, "a", Some(1), 60_000).await.unwrap();
        assert_eq!(
            renewed,
            Lease {
                term: 1,
                held: true
            }
        );
        // Its holder under an older term renews nothing.
        let stale = claim(&db, "a", Some(0), 60_000).await.unwrap();
        assert_eq!(
            stale,
            Lease {
                term: 1,
                held: false
            }
        );

        // Expired: the next claim takes it with the next term, and the old holder's renewal
        // under its term fails.
        claim(&db, "a", Some(1), -1).await.unwrap();
        let taken = claim(&db, "b", None, 60_000).await.unwrap();
        assert_eq!(
            taken,
            Lease {
                term: 2,
                held: true
            }
        );
        let late = claim(&db, "a", Some(1), 60_000).await.unwrap();
        assert_eq!(
            late,
            Lease {
                term: 2,
                held: false
            }
        );

        // Given up, it is taken at once.
        release(&db, "b", 2).await.unwrap();
        let next = claim(&db, "a", None, 60_000).await.unwrap();
        assert_eq!(
            next,
            Lease {
                term: 3,
                held: true
            }
        );
        assert_eq!(current_term(db.reader()).await.unwrap(), 3);
    }
}
