//! Prometheus text exposition, read from the database at scrape time so it needs no state.

use std::fmt::Write as _;

use sqlx::Row;

use crate::service::Service;

pub async fn render(service: &Service) -> anyhow::Result<String> {
    let db = service.db.reader();
    let mut out = String::new();
    out.push_str(
        "# HELP gonogo_releases Releases by lifecycle state.\n# TYPE gonogo_releases gauge\n",
    );
    for row in
        sqlx::query("SELECT state, COUNT(*) AS n FROM releases GROUP BY state ORDER BY state")
            .fetch_all(db)
            .await?
    {
        let state: String = row.try_get("state")?;
        let n: i64 = row.try_get("n")?;
        writeln!(out, "gonogo_releases{{state=\"{state}\"}} {n}")?;
    }
    let votes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM votes")
        .fetch_one(db)
        .await?;
    writeln!(out, "# HELP gonogo_votes_total Accepted votes.\n# TYPE gonogo_votes_total counter\ngonogo_votes_total {votes}")?;
    out.push_str(
        "# HELP gonogo_outbox Discord messages by delivery state.\n# TYPE gonogo_outbox gauge\n",
    );
    for row in sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
        .fetch_all(db)
        .await?
    {
        let state: String = row.try_get("state")?;
        let n: i64 = row.try_get("n")?;
        writeln!(out, "gonogo_outbox{{state=\"{state}\"}} {n}")?;
    }
    Ok(out)
}
