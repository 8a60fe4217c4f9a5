//! The executor: runs the jobs the write path queued in `executions`, each once, and reports
//! every outcome back through the write path. A command that was running when gonogo died
//! comes back as unknown and halts its release; a webhook is sent again with its key.

mod command;
mod webhook;

use serde::Serialize;
use tokio::sync::watch;
use tracing::{info_span, warn, Instrument as _};

use crate::config::ExecutorConfig;
use crate::domain::lifecycle::inputs::Outcome;
use crate::domain::Action;
use crate::service::ports::jobs::Execution;
use crate::service::Jobs;

/// The most of an action's output kept in the deployment log.
const OUTPUT_TAIL: usize = 2000;

/// The facts every executor passes: as `{placeholders}` and `GONOGO_*` variables to a
/// command, as the JSON body of a webhook.
#[derive(Clone, Debug, Serialize)]
pub struct Facts {
    pub action: &'static str,
    pub release_id: i64,
    pub version: String,
    pub kind: String,
    pub stage: String,
    pub percent: u8,
}

/// Runs jobs until `shutdown` turns true.
pub async fn run(jobs: Jobs, mut shutdown: watch::Receiver<bool>) {
    if !jobs.has_executor() {
        // No executor: nothing is ever queued, but the task lives as long as the others.
        jobs.until_shutdown(&mut shutdown).await;
        return;
    }
    if let Err(cause) = recover(&jobs).await {
        warn!("Cannot recover the executor's interrupted jobs: {cause:#}");
    }
    loop {
        if *shutdown.borrow() {
            return;
        }
        match jobs.pending().await {
            Ok(pending) => {
                for job in pending {
                    start(&jobs, job).await;
                }
            }
            Err(cause) => warn!("Cannot read the executor's jobs: {cause:#}"),
        }
        jobs.idle(&mut shutdown).await;
    }
}

/// Marks a job running, committed before it starts, then runs it on its own task.
async fn start(jobs: &Jobs, job: Execution) {
    match jobs.start(&job).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(cause) => {
            warn!(job = job.id, "Cannot start an executor job: {cause:#}");
            return;
        }
    }
    let jobs = jobs.clone();
    let span = info_span!(
        "job",
        job = job.id,
        release_id = job.release_id.0,
        action = job.action.name()
    );
    tokio::spawn(
        async move {
            let (outcome, output) = match facts(&jobs, &job).await {
                Ok((facts, config)) => perform(&config, &job, &facts).await,
                Err(cause) => (Outcome::Failed(format!("{cause:#}")), String::new()),
            };
            if let Err(cause) = jobs.done(job, outcome, output).await {
                warn!("Cannot record an executor job's outcome: {cause:#}");
            }
        }
        .instrument(span),
    );
}

async fn perform(config: &ExecutorConfig, job: &Execution, facts: &Facts) -> (Outcome, String) {
    match config {
        ExecutorConfig::Command {
            deploy,
            rollback,
            timeout,
        } => {
            let argv = match job.action {
                Action::Deploy { .. } => deploy,
                Action::Rollback { .. } => rollback,
            };
            command::run(argv, facts, timeout.to_std().unwrap_or_default()).await
        }
        ExecutorConfig::Webhook {
            url,
            secret,
            timeout,
        } => {
            let timeout = timeout.to_std().unwrap_or_default();
            webhook::send(url, secret.expose(), &job.idempotency_key, facts, timeout).await
        }
    }
}

/// What a job tells its executor, and the executor of its release's environment.
async fn facts(jobs: &Jobs, job: &Execution) -> anyhow::Result<(Facts, ExecutorConfig)> {
    let release = jobs
        .release(job)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the release no longer exists"))?;
    let config = jobs
        .executor(&release.environment)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no executor deploys to {}", release.environment))?;
    let stage = jobs.rollout(&release.environment).stage(job.action.stage());
    let facts = Facts {
        action: job.action.name(),
        release_id: release.id.0,
        version: release.version.to_string(),
        kind: release.kind.to_string(),
        stage: stage.map_or_else(String::new, |s| s.name.clone()),
        percent: match job.action {
            Action::Deploy { percent, .. } => percent,
            Action::Rollback { .. } => 0,
        },
    };
    Ok((facts, config))
}

/// Jobs left running by a process that died: a command's outcome is unknown, so its release
/// halts and asks a person; a webhook is simply sent again, with the same key.
async fn recover(jobs: &Jobs) -> anyhow::Result<()> {
    const UNKNOWN: &str = "its outcome is unknown: gonogo stopped while the command ran. \
        Check what it did, then retry the stage or roll back";
    for job in jobs.orphaned().await? {
        let release = jobs.release(&job).await?;
        let config = release.and_then(|r| jobs.executor(&r.environment).cloned());
        let problem = match config {
            Some(ExecutorConfig::Webhook { .. }) => None,
            _ => Some(UNKNOWN),
        };
        jobs.orphan(job, problem).await?;
    }
    Ok(())
}

/// The last `OUTPUT_TAIL` characters of `text`.
fn tail(text: &str) -> String {
    let skip = text.chars().count().saturating_sub(OUTPUT_TAIL);
    text.chars().skip(skip).collect()
}
