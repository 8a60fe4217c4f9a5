//! Statements gathered to run in one round trip: `SQLite` runs them in order, as if each were
//! sent alone, but the writer's connection is handed to its thread once instead of per statement.

use anyhow::Context as _;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments as _, Encode, Sqlite, SqliteExecutor, Type};

/// The longest batch kept prepared between runs.
const REPEATED_SQL: usize = 2048;

/// SQL text and its bound values, in order; `?` placeholders only, since numbered ones would
/// count across statements.
#[derive(Default)]
pub struct Batch {
    sql: String,
    args: SqliteArguments<'static>,
    /// The first value that could not be bound, reported by [`Batch::run`].
    error: Option<String>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    /// Starts the next statement with `sql`.
    pub fn statement(&mut self, sql: &str) -> &mut Batch {
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self
    }

    /// Continues the current statement.
    pub fn push(&mut self, sql: &str) -> &mut Batch {
        self.sql.push_str(sql);
        self
    }

    /// Continues the current statement with `rows` rows of `columns` placeholders each.
    pub fn values(&mut self, rows: usize, columns: usize) -> &mut Batch {
        let row = format!("({})", vec!["?"; columns].join(", "));
        self.sql.push_str(&vec![row; rows].join(", "));
        self
    }

    /// Binds the next `?`.
    pub fn bind<T>(&mut self, value: T) -> &mut Batch
    where
        T: Encode<'static, Sqlite> + Type<Sqlite> + Send + 'static,
    {
        if let Err(error) = self.args.add(value) {
            self.error.get_or_insert_with(|| error.to_string());
        }
        self
    }

    /// Runs every statement, in order, and returns the rows any of them returned.
    pub async fn run(self, db: impl SqliteExecutor<'_>) -> anyhow::Result<Vec<SqliteRow>> {
        if let Some(error) = self.error {
            anyhow::bail!("Cannot bind a value to write: {error}");
        }
        if self.sql.is_empty() {
            return Ok(Vec::new());
        }
        // A short batch is a shape that comes back (a click, a timer firing) and is worth
        // keeping prepared; long ones rarely repeat and would fill the statement cache.
        let repeats = self.sql.len() <= REPEATED_SQL;
        sqlx::query_with(&self.sql, self.args)
            .persistent(repeats)
            .fetch_all(db)
            .await
            .context("Cannot write the changes")
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, Row as _, SqliteConnection};

    use super::*;

    #[tokio::test]
    async fn statements_run_in_order_with_their_own_values_and_return_their_rows() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let mut batch = Batch::new();
        batch.statement("CREATE TABLE t (n INTEGER, s TEXT)");
        batch
            .statement("INSERT INTO t (n, s) VALUES ")
            .values(2, 2)
            .bind(1_i64)
            .bind("one")
            .bind(2_i64)
            .bind("two");
        batch
            .statement("UPDATE t SET s = ? WHERE n = ?")
            .bind("uno")
            .bind(1_i64);
        batch
            .statement("INSERT INTO t (n, s) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM t WHERE n = ?) RETURNING n")
            .bind(3_i64)
            .bind("three")
            .bind(3_i64);
        batch
            .statement("INSERT INTO t (n, s) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM t WHERE n = ?) RETURNING n")
            .bind(2_i64)
            .bind("again")
            .bind(2_i64);
        let returned = batch.run(&mut conn).await.unwrap();
        let returned: Vec<i64> = returned.iter().map(|row| row.get(0)).collect();
        assert_eq!(returned, [3]);
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT n, s FROM t ORDER BY n")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            rows,
            [(1, "uno".into()), (2, "two".into()), (3, "three".into())]
        );
    }

    #[tokio::test]
    async fn an_empty_batch_sends_nothing_and_a_failing_statement_fails_the_batch() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        assert!(Batch::new().run(&mut conn).await.unwrap().is_empty());
        let mut batch = Batch::new();
        batch.statement("CREATE TABLE t (n INTEGER NOT NULL)");
        batch
            .statement("INSERT INTO t (n) VALUES (?)")
            .bind(None::<i64>);
        let Err(error) = batch.run(&mut conn).await else {
            panic!("a NULL went into a NOT NULL column");
        };
        assert!(format!("{error:#}").contains("NOT NULL"), "{error:#}");
    }
}
