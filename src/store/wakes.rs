//! Wake-ups between replicas: a commit that gives the leader's loops work notifies a channel
//! on PostgreSQL, and every replica listens, since any of them may be the leader by then.
//! `SQLite` has one process, whose loops its own commits wake.

use super::batch::Batch;
use anyhow::Context as _;
use sqlx::postgres::PgListener;

use super::{Backend, Db};

const CHANNEL: &str = "gonogo_wakes";

/// Adds to `batch` a notification of `what` (the loops to wake, in a few letters), delivered
/// to the listeners when the transaction commits and never if it rolls back. Its one row has
/// the single column `pg_notify`.
pub fn notify(batch: &mut Batch, backend: Backend, what: &str) {
    if backend == Backend::Postgres {
        batch
            .statement("SELECT pg_notify(?, ?)")
            .bind(CHANNEL)
            .bind(what);
    }
}

/// The notifications of every replica's commits, `None` on `SQLite`.
pub struct Listener(Option<PgListener>);

impl Listener {
    pub async fn connect(db: &Db) -> anyhow::Result<Listener> {
        if db.backend() != Backend::Postgres {
            return Ok(Listener(None));
        }
        let mut listener = PgListener::connect(db.url())
            .await
            .context("Cannot listen for the other replicas' commits")?;
        listener
            .listen(CHANNEL)
            .await
            .context("Cannot listen for the other replicas' commits")?;
        Ok(Listener(Some(listener)))
    }

    /// The next notification's letters; an empty text after a lost connection, when any
    /// notification may have been missed. Never returns on `SQLite`.
    pub async fn next(&mut self) -> anyhow::Result<String> {
        let Some(listener) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        match listener
            .try_recv()
            .await
            .context("Cannot listen for the other replicas' commits")?
        {
            Some(notification) => Ok(notification.payload().to_owned()),
            None => Ok(String::new()),
        }
    }
}
