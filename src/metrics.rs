//! Prometheus text exposition, read through the store at scrape time so it needs no state.

use std::fmt::Write as _;

use crate::service::Service;
use crate::store;

pub async fn render(service: &Service) -> anyhow::Result<String> {
    let db = service.db.reader();
    let mut out = String::new();
    out.push_str(
        "# HELP gonogo_releases Releases by lifecycle state.\n# TYPE gonogo_releases gauge\n",
    );
    for (state, n) in store::releases::count_by_state(db).await? {
        writeln!(out, "gonogo_releases{{state=\"{state}\"}} {n}")?;
    }
    let votes = store::votes::count(db).await?;
    writeln!(out, "# HELP gonogo_votes_total Accepted votes.\n# TYPE gonogo_votes_total counter\ngonogo_votes_total {votes}")?;
    out.push_str(
        "# HELP gonogo_outbox Discord messages by delivery state.\n# TYPE gonogo_outbox gauge\n",
    );
    for (state, n) in store::outbox::count_by_state(db).await? {
        writeln!(out, "gonogo_outbox{{state=\"{state}\"}} {n}")?;
    }
    let head = store::audit::head(db).await?;
    writeln!(
        out,
        "# HELP gonogo_audit_head_info The audit chain's newest event: compare with `gonogo audit verify --since-head COUNT:HASH`.\n\
         # TYPE gonogo_audit_head_info gauge\n\
         gonogo_audit_head_info{{count=\"{}\",hash=\"{}\"}} 1",
        head.count, head.hash
    )?;
    Ok(out)
}
