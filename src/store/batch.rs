//! Statements gathered to run together: `SQLite` runs them in one round trip, in order, as if
//! each were sent alone; PostgreSQL, which prepares one statement at a time, runs them one
//! after another on the same connection.

use anyhow::Context as _;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection};

/// The longest batch kept prepared between runs.
const REPEATED_SQL: usize = 2048;

/// A bound value: an integer or a text, either of which may be NULL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Value {
        Value::Int(value)
    }
}

/// Flags are stored as 0 or 1 on both backends.
impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Int(Some(i64::from(value)))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Text(Some(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Text(Some(value.to_owned()))
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Value {
        Value::Text(value)
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Value {
        Value::Text(value.map(str::to_owned))
    }
}

/// SQL text and its bound values, in order; `?` placeholders only, since numbered ones would
/// count across statements.
#[derive(Default)]
pub struct Batch {
    sql: String,
    values: Vec<Value>,
    /// Where each statement ends: its end in `sql` and in `values`.
    ends: Vec<(usize, usize)>,
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
            self.end_statement();
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self
    }

    fn end_statement(&mut self) {
        self.ends.push((self.sql.len(), self.values.len()));
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
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Batch {
        self.values.push(value.into());
        self
    }

    /// Runs every statement, in order, and returns the rows any of them returned.
    pub async fn run(mut self, conn: &mut AnyConnection) -> anyhow::Result<Vec<AnyRow>> {
        if self.sql.is_empty() {
            return Ok(Vec::new());
        }
        if conn.backend_name() != "PostgreSQL" {
            // A short batch is a shape that comes back (a click, a timer firing) and is worth
            // keeping prepared; long ones rarely repeat and would fill the statement cache.
            let repeats = self.sql.len() <= REPEATED_SQL;
            return bound(sqlx::query(&self.sql), self.values)
                .persistent(repeats)
                .fetch_all(conn)
                .await
                .context("Cannot write the changes");
        }
        self.end_statement();
        let mut rows = Vec::new();
        let mut values = self.values.into_iter();
        let (mut sql_from, mut values_from) = (0, 0);
        for (sql_end, values_end) in self.ends {
            let statement = numbered(self.sql[sql_from..sql_end].trim_start_matches(";\n"));
            let taken = values.by_ref().take(values_end - values_from).collect();
            rows.extend(
                bound(sqlx::query(&statement), taken)
                    .fetch_all(&mut *conn)
                    .await
                    .context("Cannot write the changes")?,
            );
            (sql_from, values_from) = (sql_end, values_end);
        }
        Ok(rows)
    }
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

fn bound(mut query: Query<'_>, values: Vec<Value>) -> Query<'_> {
    for value in values {
        query = match value {
            Value::Int(int) => query.bind(int),
            Value::Text(text) => query.bind(text),
        };
    }
    query
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`, ..., as PostgreSQL writes them; a
/// `?` inside a quoted literal is left alone.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quoted = false;
    let mut next = 0;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                next += 1;
                out.push('$');
                out.push_str(&next.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, Row as _};

    use super::*;

    async fn memory() -> AnyConnection {
        sqlx::any::install_default_drivers();
        AnyConnection::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn statements_run_in_order_with_their_own_values_and_return_their_rows() {
        let mut conn = memory().await;
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
        let mut conn = memory().await;
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

    #[test]
    fn placeholders_are_numbered_outside_quoted_literals() {
        assert_eq!(
            numbered("UPDATE t SET s = ?, q = '?' WHERE n = ? AND m IN (?, ?)"),
            "UPDATE t SET s = $1, q = '?' WHERE n = $2 AND m IN ($3, $4)"
        );
    }
}
