//! The executor's port: the jobs the write path queued, their start and their outcome.

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::super::records::Record;
use super::super::{background, Service};
use crate::config::ExecutorConfig;
use crate::domain::lifecycle::inputs::Outcome;
use crate::domain::rollout::Rollout;
use crate::domain::Release;
use crate::store;
pub use crate::store::executions::Execution;

#[derive(Clone)]
pub struct Jobs(pub(super) Service);

impl Jobs {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// Whether any environment's actions are carried out by an executor.
    pub fn has_executor(&self) -> bool {
        self.0.config.has_executor()
    }

    /// How actions in `environment` are carried out, when an executor is configured.
    pub fn executor(&self, environment: &str) -> Option<&ExecutorConfig> {
        self.0.config.executor_for(environment)
    }

    pub fn rollout(&self, environment: &str) -> &Rollout {
        self.0.config.rollout_for(environment)
    }

    /// The jobs waiting to run, oldest first.
    pub async fn pending(&self) -> anyhow::Result<Vec<Execution>> {
        store::executions::pending(self.0.db.reader()).await
    }

    /// Jobs that were running when gonogo stopped.
    pub async fn orphaned(&self) -> anyhow::Result<Vec<Execution>> {
        store::executions::orphaned(self.0.db.reader()).await
    }

    /// Marks `job` running, committed before it starts; `false` when another start took it.
    pub async fn start(&self, job: &Execution) -> anyhow::Result<bool> {
        background(self.0.record(None, Record::JobStarted(job.id)).await).map(|rows| rows == 1)
    }

    /// A job left running by a process that died: a command's outcome is unknown, so its
    /// release halts and asks a person (`problem` says what to check); a webhook is queued
    /// again with the same key.
    pub async fn orphan(&self, job: Execution, problem: Option<&str>) -> anyhow::Result<()> {
        let unknown = problem.is_some();
        let record = Record::JobOrphaned {
            job: job.id,
            unknown,
        };
        background(self.0.record(None, record).await)?;
        match problem {
            Some(problem) => {
                self.done(job, Outcome::Failed(problem.to_owned()), String::new())
                    .await
            }
            None => Ok(()),
        }
    }

    /// Records a job's outcome, with the tail of what it printed, and lets its release move on.
    pub async fn done(
        &self,
        job: Execution,
        outcome: Outcome,
        output: String,
    ) -> anyhow::Result<()> {
        self.0.action_done(job, outcome, output).await
    }

    /// The release a job acts on, as committed.
    pub async fn release(&self, job: &Execution) -> anyhow::Result<Option<Release>> {
        let stored = store::releases::get(self.0.db.reader(), job.release_id).await?;
        Ok(stored.map(|stored| stored.release))
    }

    /// Waits until a commit may have queued a job, or shutdown.
    pub async fn idle(&self, shutdown: &mut watch::Receiver<bool>) {
        super::idle(self.0.clock.as_ref(), &self.0.wakes.jobs, None, shutdown).await;
    }

    /// Waits until shutdown: with no executor, nothing is ever queued.
    pub async fn until_shutdown(&self, shutdown: &mut watch::Receiver<bool>) {
        let _ = shutdown.wait_for(|stop| *stop).await;
    }
}
