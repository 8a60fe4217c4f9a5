//! Statements gathered to run together, in one round trip, in order, as if each were sent
//! alone: `SQLite` takes them with their bound values; PostgreSQL, which prepares one
//! statement at a time, takes them as one simple query with the values written in.

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
    blocks: Vec<Block>,
}

/// Where [`Batch::values`] wrote its rows into the SQL text, and their shape.
#[derive(Clone, Copy, Debug)]
struct Block {
    at: usize,
    len: usize,
    rows: usize,
    columns: usize,
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
        let at = self.sql.len();
        let row = format!("({})", vec!["?"; columns].join(", "));
        self.sql.push_str(&vec![row; rows].join(", "));
        let len = self.sql.len() - at;
        self.blocks.push(Block {
            at,
            len,
            rows,
            columns,
        });
        self
    }

    /// Binds the next `?`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Batch {
        self.values.push(value.into());
        self
    }

    /// Runs every statement, in order, and returns the rows any of them returned.
    pub async fn run(self, conn: &mut AnyConnection) -> anyhow::Result<Vec<AnyRow>> {
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
        // One prepared statement per round trip would hold the write lock for as many round
        // trips as the batch has statements.
        let sql = with_values(&self.sql, self.values, &self.blocks)?;
        sqlx::Executor::fetch_all(conn, sqlx::raw_sql(&sql))
            .await
            .context("Cannot write the changes")
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

/// `sql` with each `?` placeholder outside a quoted literal replaced by the next of `values`
/// as a literal of the type it would have been bound as: PostgreSQL resolves the statement
/// exactly as it would with bound values. A text is quoted with its quotes doubled, which is
/// the whole of the escaping under `standard_conforming_strings`, which every gonogo session
/// sets. A text holding a NUL is refused, as PostgreSQL refuses it as a bound value.
///
/// Several `VALUES` rows of [`Batch::values`] are written as one array per column instead,
/// `SELECT * FROM unnest(…)`: PostgreSQL reads an array literal at a fraction of the cost of
/// as many literals, which is most of the cost of a group's votes and audit rows.
fn with_values(sql: &str, values: Vec<Value>, blocks: &[Block]) -> anyhow::Result<String> {
    let mut out = String::with_capacity(sql.len() + 16 * values.len());
    let mut values = values.into_iter();
    let mut blocks = blocks.iter().peekable();
    let mut quoted = false;
    let mut skip_to = 0;
    for (at, c) in sql.char_indices() {
        if at < skip_to {
            continue;
        }
        if let Some(block) = blocks.next_if(|block| block.at == at) {
            let taken: Vec<Value> = values.by_ref().take(block.rows * block.columns).collect();
            anyhow::ensure!(
                taken.len() == block.rows * block.columns,
                "A batch has fewer values than placeholders"
            );
            if block.rows > 1 && out.ends_with("VALUES ") {
                if let Some(columns) = arrays(&taken, block.columns)? {
                    out.truncate(out.len() - "VALUES ".len());
                    write_unnest(&mut out, &columns);
                    skip_to = at + block.len;
                    continue;
                }
            }
            write_rows(&mut out, taken, block.columns)?;
            skip_to = at + block.len;
            continue;
        }
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let value = values
                    .next()
                    .context("A batch has fewer values than placeholders")?;
                literal(&mut out, value)?;
            }
            _ => out.push(c),
        }
    }
    anyhow::ensure!(
        values.next().is_none(),
        "A batch has more values than placeholders"
    );
    Ok(out)
}

/// Rows as `VALUES` rows of literals.
fn write_rows(out: &mut String, values: Vec<Value>, columns: usize) -> anyhow::Result<()> {
    for (index, value) in values.into_iter().enumerate() {
        let column = index % columns;
        if column == 0 {
            out.push_str(if index == 0 { "(" } else { "), (" });
        } else {
            out.push_str(", ");
        }
        literal(out, value)?;
    }
    out.push(')');
    Ok(())
}

/// Row-major `values` as one typed array literal per column; `None` when a column mixes
/// integers and texts, which only separate literals can carry.
fn arrays(values: &[Value], columns: usize) -> anyhow::Result<Option<Vec<String>>> {
    let mut arrays = Vec::with_capacity(columns);
    for column in 0..columns {
        let cells = values.iter().skip(column).step_by(columns);
        let texts = match &values[column] {
            Value::Int(_) => false,
            Value::Text(_) => true,
        };
        let mut array = String::from("'{");
        for (row, cell) in cells.enumerate() {
            if row > 0 {
                array.push(',');
            }
            match (cell, texts) {
                (Value::Int(None) | Value::Text(None), _) => array.push_str("NULL"),
                (Value::Int(Some(int)), false) => array.push_str(&int.to_string()),
                (Value::Text(Some(text)), true) => array_element(&mut array, text)?,
                _ => return Ok(None),
            }
        }
        array.push_str(if texts { "}'::TEXT[]" } else { "}'::BIGINT[]" });
        arrays.push(array);
    }
    Ok(Some(arrays))
}

/// A text as a quoted element of an array literal that is itself inside a quoted literal.
fn array_element(array: &mut String, text: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !text.contains('\0'),
        "A text holds a NUL character, which PostgreSQL does not store"
    );
    array.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                array.push('\\');
                array.push(c);
            }
            '\'' => array.push_str("''"),
            _ => array.push(c),
        }
    }
    array.push('"');
    Ok(())
}

fn write_unnest(out: &mut String, columns: &[String]) {
    out.push_str("SELECT * FROM unnest(");
    out.push_str(&columns.join(", "));
    out.push(')');
}

fn literal(out: &mut String, value: Value) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    match value {
        Value::Int(None) => out.push_str("NULL::BIGINT"),
        Value::Int(Some(int)) => write!(out, "({int})::BIGINT").expect("a String takes writes"),
        Value::Text(None) => out.push_str("NULL::TEXT"),
        Value::Text(Some(text)) => {
            anyhow::ensure!(
                !text.contains('\0'),
                "A text holds a NUL character, which PostgreSQL does not store"
            );
            out.push('\'');
            out.push_str(&text.replace('\'', "''"));
            out.push_str("'::TEXT");
        }
    }
    Ok(())
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
    fn values_are_written_in_as_typed_literals_outside_quoted_literals() {
        let values = vec![
            Value::from("it's ?"),
            Value::from(-5_i64),
            Value::Int(None),
            Value::Text(None),
            Value::from(7_i64),
        ];
        assert_eq!(
            with_values(
                "UPDATE t SET s = ?, q = '?' WHERE n = ? AND m IN (?, ?, ?)",
                values,
                &[]
            )
            .unwrap(),
            "UPDATE t SET s = 'it''s ?'::TEXT, q = '?' WHERE n = (-5)::BIGINT \
             AND m IN (NULL::BIGINT, NULL::TEXT, (7)::BIGINT)"
        );
        let error = with_values("SELECT ?", vec![Value::from("a\0b")], &[]).unwrap_err();
        assert!(error.to_string().contains("NUL"), "{error}");
        assert!(with_values("SELECT ?, ?", vec![Value::from(1_i64)], &[]).is_err());
        let two = vec![Value::from(1_i64), Value::from(2_i64)];
        assert!(with_values("SELECT ?", two, &[]).is_err());
    }

    #[test]
    fn several_rows_go_to_postgresql_as_one_array_per_column_and_one_row_as_literals() {
        let mut batch = Batch::new();
        batch
            .statement("INSERT INTO t (n, s) VALUES ")
            .values(3, 2)
            .push(" ON CONFLICT DO NOTHING RETURNING n")
            .bind(1_i64)
            .bind(r#"it's "quoted" \ and {braced}, NULL"#)
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(-3_i64)
            .bind("");
        batch
            .statement("DELETE FROM t WHERE (n, s) IN (VALUES ")
            .values(1, 2)
            .push(")")
            .bind(4_i64)
            .bind("four");
        // A column holding both an integer and a text cannot be one array.
        batch
            .statement("SELECT ?, x FROM (VALUES ")
            .bind("first")
            .values(2, 1)
            .push(") AS v (x)")
            .bind(5_i64)
            .bind("five");
        assert_eq!(
            with_values(&batch.sql, batch.values, &batch.blocks).unwrap(),
            "INSERT INTO t (n, s) SELECT * FROM unnest('{1,NULL,-3}'::BIGINT[], \
             '{\"it''s \\\"quoted\\\" \\\\ and {braced}, NULL\",NULL,\"\"}'::TEXT[]) \
             ON CONFLICT DO NOTHING RETURNING n;\n\
             DELETE FROM t WHERE (n, s) IN (VALUES ((4)::BIGINT, 'four'::TEXT));\n\
             SELECT 'first'::TEXT, x FROM (VALUES ((5)::BIGINT), ('five'::TEXT)) AS v (x)"
        );
        let mut short = Batch::new();
        short
            .statement("INSERT INTO t (n) VALUES ")
            .values(2, 1)
            .bind(1_i64);
        assert!(with_values(&short.sql, short.values, &short.blocks).is_err());
    }
}
