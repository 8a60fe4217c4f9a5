//! Prometheus text exposition, read through the store at scrape time so it needs no state.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::service::Service;
use crate::store;

/// Discord's answers worth watching: Discord bans an address that makes 10,000 invalid
/// requests (401, 403, 429) in 10 minutes.
#[derive(Debug, Default)]
pub struct DiscordAnswers {
    unauthorized: AtomicU64,
    forbidden: AtomicU64,
    rate_limited: AtomicU64,
}

impl DiscordAnswers {
    /// Counts an answer with this status, if it is one of those watched.
    pub fn count(&self, status: u16) {
        let counter = match status {
            401 => &self.unauthorized,
            403 => &self.forbidden,
            429 => &self.rate_limited,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn each(&self) -> [(&'static str, u64); 3] {
        [
            ("401", self.unauthorized.load(Ordering::Relaxed)),
            ("403", self.forbidden.load(Ordering::Relaxed)),
            ("429", self.rate_limited.load(Ordering::Relaxed)),
        ]
    }
}

pub async fn render(service: &Service) -> anyhow::Result<String> {
    let db = service.db.reader();
    let mut out = String::new();
    out.push_str(
        "# HELP gonogo_releases Live releases by lifecycle state.\n# TYPE gonogo_releases gauge\n",
    );
    for (state, n) in store::releases::count_by_state(db).await? {
        writeln!(out, "gonogo_releases{{state=\"{state}\"}} {n}")?;
    }
    let votes = store::votes::count(db).await?;
    writeln!(out, "# HELP gonogo_votes_total Accepted votes.\n# TYPE gonogo_votes_total counter\ngonogo_votes_total {votes}")?;
    out.push_str(
        "# HELP gonogo_outbox Discord messages not delivered yet: pending, failing (retried with \
         backoff) or parked (refused for good), by kind.\n# TYPE gonogo_outbox gauge\n",
    );
    let undelivered = store::outbox::count_undelivered(db).await?;
    for (state, kind, n) in &undelivered {
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
    for (status, n) in service.discord_answers.each() {
        writeln!(
            out,
            "gonogo_discord_responses_total{{status=\"{status}\"}} {n}"
        )?;
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
