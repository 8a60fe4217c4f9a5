//! The move from `SQLite` to PostgreSQL: every table copied row for row in one transaction of
//! the target, which must hold no data, and the audit chain verified on both sides.

use anyhow::Context as _;
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Row as _, ValueRef as _};

use super::audit::{self, Head, Verdict};
use super::batch::{Batch, Value};
use super::{lease, Backend, Db};

/// The tables gonogo keeps, parents before the rows that name them, and the columns that
/// are computed rather than copied.
const TABLES: [&str; 7] = [
    "releases",
    "votes",
    "audit_events",
    "outbox",
    "timers",
    "interactions",
    "executions",
];
const COMPUTED: [&str; 1] = ["version_key"];
/// Tables whose ids the database hands out: their counters continue after the copied rows.
const NUMBERED: [&str; 4] = ["votes", "outbox", "timers", "executions"];
const ROWS_PER_INSERT: usize = 200;

/// What a move copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// Rows per table, in [`TABLES`] order.
    pub rows: Vec<(&'static str, u64)>,
    /// The audit chain's head, the same on both sides.
    pub head: Head,
}

/// Copies `source`, an `SQLite` database, into the empty PostgreSQL database `target`.
pub async fn move_to(source: &Db, target: &Db) -> anyhow::Result<Moved> {
    if source.backend() != Backend::Sqlite || target.backend() != Backend::Postgres {
        anyhow::bail!(
            "gonogo moves an SQLite database into PostgreSQL: set database.url to the SQLite \
             file and give --to a postgres:// url"
        );
    }
    let key = source.audit_key();
    let Verdict::Intact(events) = audit::verify(source.reader(), key, None).await? else {
        anyhow::bail!(
            "The SQLite database's audit chain does not verify: run `gonogo audit verify` and \
             settle that before moving it"
        );
    };
    target.migrate().await?;
    if let Some((table, rows)) = holding_data(target).await? {
        anyhow::bail!(
            "The target database already holds data ({rows} rows in {table}): give an empty \
             database, so nothing in it is overwritten or mixed in"
        );
    }
    let mut tx = lease::begin_writes(target).await?;
    let mut rows = Vec::new();
    for table in TABLES {
        rows.push((table, copy_table(source, &mut tx, table).await?));
    }
    for table in NUMBERED {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("Cannot continue the ids of {table}"))?;
    }
    tx.commit().await.context("Cannot commit the move")?;
    let head = audit::head(source.reader()).await?;
    match audit::verify(target.reader(), key, Some(&head)).await? {
        Verdict::Intact(count) if count == events => {}
        verdict => anyhow::bail!("The moved audit chain does not verify: {verdict:?}"),
    }
    Ok(Moved { rows, head })
}

/// The first gonogo table of `db` that holds rows, with its count.
async fn holding_data(db: &Db) -> anyhow::Result<Option<(&'static str, i64)>> {
    for table in TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.reader())
            .await
            .with_context(|| format!("Cannot count the rows of {table}"))?;
        if rows > 0 {
            return Ok(Some((table, rows)));
        }
    }
    Ok(None)
}

/// Copies every row of `table`, in id order, and returns how many.
async fn copy_table(source: &Db, tx: &mut super::Tx, table: &str) -> anyhow::Result<u64> {
    // Each column's declared type says how to bind its nulls as well as its values.
    let declared: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT name, type FROM pragma_table_info('{table}')"
    ))
    .fetch_all(source.reader())
    .await
    .with_context(|| format!("Cannot list the columns of {table}"))?;
    let (columns, texts): (Vec<String>, Vec<bool>) = declared
        .into_iter()
        .filter(|(column, _)| !COMPUTED.contains(&column.as_str()))
        .map(|(column, kind)| (column, kind.eq_ignore_ascii_case("TEXT")))
        .unzip();
    let list = columns.join(", ");
    let read = sqlx::query(&format!("SELECT {list} FROM {table} ORDER BY id"))
        .fetch_all(source.reader())
        .await
        .with_context(|| format!("Cannot read {table}"))?;
    for chunk in read.chunks(ROWS_PER_INSERT) {
        let mut insert = Batch::new();
        insert
            .statement(&format!("INSERT INTO {table} ({list}) VALUES "))
            .values(chunk.len(), columns.len());
        for row in chunk {
            for (index, text) in texts.iter().enumerate() {
                insert.bind(value(row, index, *text)?);
            }
        }
        insert
            .run(tx)
            .await
            .with_context(|| format!("Cannot copy {table}"))?;
    }
    Ok(u64::try_from(read.len()).unwrap_or(u64::MAX))
}

/// One stored value as it is bound again, in a column declared `TEXT` when `text`:
/// gonogo keeps integers and texts, and nulls.
fn value(row: &sqlx::any::AnyRow, index: usize, text: bool) -> anyhow::Result<Value> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(if text {
            Value::Text(None)
        } else {
            Value::Int(None)
        });
    }
    let kind = raw.type_info().kind();
    match kind {
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt if !text => {
            Ok(Value::Int(Some(row.try_get::<i64, _>(index)?)))
        }
        AnyTypeInfoKind::Text if text => Ok(Value::Text(Some(row.try_get::<String, _>(index)?))),
        other => anyhow::bail!("Cannot move a value of type {other:?} in column {index}"),
    }
}
