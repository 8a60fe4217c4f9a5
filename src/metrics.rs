//! Prometheus text exposition of the store's figures, read at scrape time so it needs no state.

use crate::service::{Counts, DiscordAnswers};
use std::fmt::Write as _;

/// The metrics text from the store's figures and Discord's answers.
pub fn render(counts: &Counts, answers: &DiscordAnswers) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str(
        "# HELP gonogo_releases Live releases by lifecycle state.\n# TYPE gonogo_releases gauge\n",
    );
    for (state, n) in &counts.releases {
        writeln!(out, "gonogo_releases{{state=\"{state}\"}} {n}")?;
    }
    let (leader, term) = counts.leader;
    writeln!(
        out,
        "# HELP gonogo_leader Whether this replica leads: runs the timers, deliveries, executor \
         and housekeeping.\n# TYPE gonogo_leader gauge\ngonogo_leader {}",
        u8::from(leader)
    )?;
    writeln!(
        out,
        "# HELP gonogo_leader_term The newest leadership term this replica knows.\n\
         # TYPE gonogo_leader_term gauge\ngonogo_leader_term {term}"
    )?;
    let votes = counts.votes;
    writeln!(out, "# HELP gonogo_votes_total Accepted votes.\n# TYPE gonogo_votes_total counter\ngonogo_votes_total {votes}")?;
    out.push_str(
        "# HELP gonogo_outbox Discord messages not delivered yet: pending, failing (retried with \
         backoff) or parked (refused for good), by kind.\n# TYPE gonogo_outbox gauge\n",
    );
    let undelivered = &counts.undelivered;
    for (state, kind, n) in undelivered {
        writeln!(
            out,
            "gonogo_outbox{{state=\"{state}\",kind=\"{kind}\"}} {n}"
        )?;
    }
    out.push_str(
        "# HELP gonogo_outbox_failing Discord messages whose delivery keeps failing, by kind.\n\
         # TYPE gonogo_outbox_failing gauge\n",
    );
    for (_, kind, n) in undelivered.iter().filter(|(state, ..)| state == "failing") {
        writeln!(out, "gonogo_outbox_failing{{kind=\"{kind}\"}} {n}")?;
    }
    out.push_str(
        "# HELP gonogo_discord_responses_total Discord's 401, 403 and 429 answers.\n\
         # TYPE gonogo_discord_responses_total counter\n",
    );
    for (status, n) in answers.each() {
        writeln!(
            out,
            "gonogo_discord_responses_total{{status=\"{status}\"}} {n}"
        )?;
    }
    let head = &counts.audit_head;
    writeln!(
        out,
        "# HELP gonogo_audit_head_info The audit chain's newest event: compare with `gonogo audit verify --since-head COUNT:HASH`.\n\
         # TYPE gonogo_audit_head_info gauge\n\
         gonogo_audit_head_info{{count=\"{}\",hash=\"{}\"}} 1",
        head.count, head.hash
    )?;
    Ok(out)
}
