//! Persistence in `SQLite` or PostgreSQL: the pools, the migrations of each and one module per
//! table group, the backend known only here.

pub mod audit;
pub mod batch;
pub mod copy;
pub mod executions;
pub mod interactions;
pub mod lease;
pub mod outbox;
pub mod releases;
pub mod timers;
pub mod votes;
pub mod wakes;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions as _, Executor as _, Transaction};

use crate::config::without_password;

pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Write transaction type used throughout the service.
pub type Tx = Transaction<'static, Any>;

/// The most pages the write-ahead log holds before the writer copies them into the database
/// itself, inside a commit. The checkpointer copies them long before, off the write path; this
/// only bounds the log should it stop.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// Which database server holds the tables, chosen by the scheme of `database.url`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file beside the process: the embedded default.
    Sqlite,
    /// A server that several replicas share.
    Postgres,
}

impl Backend {
    /// The backend `url` names, or why it names none.
    pub fn of(url: &str) -> anyhow::Result<Backend> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => anyhow::bail!(
                "Cannot use the database url `{}`: it must start with sqlite:// or postgres://",
                without_password(url)
            ),
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// The database: one writer connection, so write transactions queue in-process instead of
/// spinning on a lock, and a few readers that run beside it.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    /// Where the database is, password included: never printed.
    url: String,
    writer: AnyPool,
    reader: AnyPool,
    /// The key the audit chain is extended and checked with, if it has one.
    audit_key: Option<audit::AuditKey>,
}

/// The `SQLite` durability settings shared by the bot and its benchmark: WAL with
/// `synchronous=NORMAL` survives a crash of the process; only a power loss may drop the last
/// commits.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
    PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// How a PostgreSQL session of gonogo behaves. A replica stopped in the middle of a write
/// group (a frozen VM, a `SIGSTOP`) would hold the write lock for as long as its connection
/// lives: the server ends a transaction left idle for 2 s instead, so the other replicas go on
/// and the stopped one's group is rolled back. A write waits at most 5 s for a lock. A batch
/// writes its texts in as quoted literals, which assumes standard conforming strings.
const POSTGRES_SESSION: &str = "SET idle_in_transaction_session_timeout = 2000; \
    SET lock_timeout = 5000; SET standard_conforming_strings = on;";

/// The options of a connection to `url`: an `SQLite` file is created when missing.
fn connect_options(backend: Backend, url: &str) -> anyhow::Result<AnyConnectOptions> {
    let cannot = || format!("Cannot parse the database url `{}`", without_password(url));
    let url = match backend {
        Backend::Sqlite => SqliteConnectOptions::from_str(url)
            .with_context(cannot)?
            .create_if_missing(true)
            .to_url_lossy(),
        Backend::Postgres => url.parse().with_context(cannot)?,
    };
    AnyConnectOptions::from_url(&url).with_context(cannot)
}

/// A pool of up to `max` connections, `pragmas` run on each `SQLite` connection as it opens.
/// An `SQLite` connection is not pinged each time it is taken: a ping is one more round trip to
/// its thread, and can find nothing wrong that the next statement would not. A PostgreSQL one
/// is: the server may have ended it (a restart, a failover, a stalled transaction cut off),
/// and the ping replaces it before a request is written on it.
fn pool(backend: Backend, max: u32, pragmas: String) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(max)
        .test_before_acquire(backend == Backend::Postgres)
        .acquire_timeout(Duration::from_secs(10));
    let pragmas = match backend {
        Backend::Sqlite => pragmas,
        Backend::Postgres => POSTGRES_SESSION.to_owned(),
    };
    options.after_connect(move |conn, _| {
        let pragmas = pragmas.clone();
        Box::pin(async move { conn.execute(pragmas.as_str()).await.map(drop) })
    })
}

impl Db {
    /// Whether `url` names a database gonogo can use, before anything connects: a url that
    /// does not is refused at once rather than retried.
    pub fn check_url(url: &str) -> anyhow::Result<()> {
        connect_options(Backend::of(url)?, url).map(drop)
    }

    /// Opens (creating if missing) the database. Migrations are separate: see [`Db::migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let options = connect_options(backend, url)?;
        let cannot = || format!("Cannot open the database `{}`", without_password(url));
        let writer_pragmas =
            format!("{SQLITE_PRAGMAS} PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};");
        let writer = pool(backend, 1, writer_pragmas)
            .connect_with(options.clone())
            .await
            .with_context(cannot)?;
        let reader = pool(backend, 4, SQLITE_PRAGMAS.to_owned())
            .connect_with(options)
            .await
            .with_context(cannot)?;
        Ok(Db {
            backend,
            url: url.to_owned(),
            writer,
            reader,
            audit_key: None,
        })
    }

    /// Opens the database at `url`, its audit chain keyed by `audit_secret` when there is one.
    pub async fn open(url: &str, audit_secret: Option<&str>) -> anyhow::Result<Db> {
        Ok(Db::connect(url)
            .await?
            .with_audit_key(audit_secret.map(audit::AuditKey::new)))
    }

    /// The same database, its audit chain keyed with `key` from now on.
    #[must_use]
    pub fn with_audit_key(mut self, key: Option<audit::AuditKey>) -> Db {
        self.audit_key = key;
        self
    }

    pub fn audit_key(&self) -> Option<&audit::AuditKey> {
        self.audit_key.as_ref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether other processes may write this database too, so nothing kept in memory
    /// between transactions is known to be current: PostgreSQL, which replicas share.
    pub fn shared(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// The url the database was opened at, for a connection of another kind to it.
    fn url(&self) -> &str {
        &self.url
    }

    /// Brings the schema up to this build's. A database migrated by a newer gonogo is refused:
    /// this build would not know its tables.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.backend
            .migrator()
            .run(&self.writer)
            .await
            .map_err(|error| match error {
                sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(
                    "The database's schema is newer than this gonogo's: it has migration \
                     {version}, which this build does not know. Run the newer gonogo, or \
                     restore a backup taken before it migrated"
                ),
                other => anyhow::Error::new(other),
            })
            .context("Cannot apply the database migrations")
    }

    /// Starts the one write transaction of a state change.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        self.writer
            .begin()
            .await
            .context("Cannot start a database transaction")
    }

    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Copies what the `SQLite` write-ahead log holds into the database file without waiting
    /// for the writer or the readers; returns the log's pages and how many of them are
    /// copied. A server database has no such log to copy.
    pub async fn checkpoint(&self) -> anyhow::Result<(i64, i64)> {
        if self.backend == Backend::Postgres {
            return Ok((0, 0));
        }
        let (_busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.reader)
                .await
                .context("Cannot checkpoint the database")?;
        Ok((log, copied))
    }

    /// Whether the database answers a query.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .context("The database does not answer")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// A fresh database file with every migration applied, and the directory that holds it: the
/// fixture of the tests that read and write tables.
#[cfg(test)]
pub(crate) async fn test_db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("gonogo.db").display());
    let db = Db::connect(&url).await.expect("open the database");
    db.migrate().await.expect("migrate the database");
    (db, dir)
}

/// Formats a time the way every table stores it (`2026-03-02T10:00:00.000Z`): fixed width, so
/// text order is time order. RFC 3339 with milliseconds and `Z` is exactly that format, and
/// chrono writes it without interpreting a format string on every call.
pub fn ts(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .with_context(|| format!("Cannot read the stored time `{text}`"))
}

/// Snowflakes fit in the `SQLite` signed 64-bit integers until the year 2084.
#[expect(clippy::cast_possible_wrap, reason = "snowflakes stay below 2^63")]
pub fn sf(id: u64) -> i64 {
    id as i64
}

#[expect(clippy::cast_sign_loss, reason = "stored from a u64 by `sf`")]
pub fn unsf(id: i64) -> u64 {
    id as u64
}

#[cfg(test)]
mod tests {
    use super::test_db;

    #[tokio::test]
    async fn a_database_a_newer_gonogo_migrated_is_refused_with_what_to_do() {
        let (db, _dir) = test_db().await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from a newer gonogo', 1, X'00', 0)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let refused = db.migrate().await.unwrap_err();
        let text = format!("{refused:#}");
        assert!(
            text.contains("newer than this gonogo's: it has migration 9999"),
            "{text}"
        );
        assert!(text.contains("Run the newer gonogo"), "{text}");
    }

    #[tokio::test]
    async fn the_writer_leaves_the_log_to_the_checkpointer_which_copies_all_of_it() {
        let (db, _dir) = test_db().await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE filler (text TEXT NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Past SQLite's own threshold of 1,000 pages, at which a writer checkpoints itself.
        for _ in 0..12 {
            let mut tx = db.begin().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
                 INSERT INTO filler SELECT printf('%.4000c', 'x') FROM n",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let (log, copied) = db.checkpoint().await.unwrap();
        assert!(
            log > 1_000,
            "the writer checkpointed itself: {log} pages left"
        );
        assert_eq!(copied, log);
    }
}
