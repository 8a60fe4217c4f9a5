//! The service: every change goes through the one write path (load → decide in the domain →
//! commit state, audit events, timers and outbox rows in one transaction), then wakes the
//! dispatcher and the scheduler. Reads come from a neutral read model.

mod answers;
mod apply;
mod board;
mod bookkeeping;
mod changes;
mod deploy;
mod error;
pub mod leadership;
mod lookups;
mod pipeline;
pub mod ports;
mod queries;
mod queue;
mod records;
mod unit;
pub mod view;
pub use crate::store::audit::{ExportedEvent, Head, Verdict};
pub use crate::store::releases::{Filter, StoredRelease};
pub use board::{AuditCheck, ReleasesPage, Storyboard, Trend};
pub use pipeline::{Listed, PipelineRelease, Waited, MAX_PAGE};
mod writer;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use serde_json::json;
use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::config::{Config, ExecutorConfig};
use crate::domain::checklist;
use crate::domain::contract::Contract;
use crate::domain::lifecycle::inputs::{Outcome, Plan};
use crate::domain::lifecycle::{poll, reports};
use crate::domain::{Choice, PlanRequest, Release, ReleaseId, ReleaseKind, Role, UserId, Version};
use crate::messages::Messages;
use crate::store::executions::Execution;
use crate::store::{self, Db};
pub use answers::DiscordAnswers;
pub use error::{refused, Error, Result, UserError};
pub use ports::Firing;
pub use ports::{Counts, Housekeeping, Jobs, MetricReader, Outbox, Settlement, Timers, Wal};
pub use queries::{stats_text, Figures};
use queue::WriteQueue;
use records::Record;
use unit::Wake;
pub use writer::{Ask, Target};
use writer::{Change, DeployRequest, Done, VoteRequest};

/// Who is acting, with the policy roles they hold right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub name: String,
    pub roles: Vec<Role>,
}

/// What a vote did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteResult {
    pub release: Release,
    pub choice: Choice,
    pub changed: bool,
}

/// The one way into the store. Its fields are private: a door or a loop gets a narrow port
/// from it, so every write reaches the database through the one write path.
#[derive(Clone)]
pub struct Service {
    db: Db,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    messages: Arc<Messages>,
    wakes: Arc<Wakes>,
    /// Discord's answers that the metrics count.
    discord_answers: Arc<DiscordAnswers>,
    /// Whether the slash commands are registered: until then gonogo is alive but not ready.
    ready: Arc<tokio::sync::watch::Sender<bool>>,
    writes: Arc<WriteQueue>,
    /// Where the metric gates read, when they watch rollouts.
    metric_reader: Option<Arc<dyn MetricReader>>,
    /// Pipelines waiting for releases to change.
    changes: Arc<changes::Changes>,
    /// Whether this replica leads, and under which term.
    leadership: Arc<leadership::Leadership>,
}

/// The background loops' wake-ups, each notified after a commit that gave it work.
#[derive(Default)]
struct Wakes {
    /// Messages were queued for Discord.
    outbox: Notify,
    /// A timer was set or cleared.
    timers: Notify,
    /// An executor job may have been queued.
    jobs: Notify,
    /// Any commit of the write path: its pages wait in the write-ahead log.
    wal: Notify,
}

impl Service {
    /// A service over `db`. `metric_reader` is where the metric gates read, when the config
    /// names a Prometheus.
    pub fn new(
        db: Db,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
        messages: Arc<Messages>,
        metric_reader: Option<Arc<dyn MetricReader>>,
    ) -> Service {
        Service {
            metric_reader,
            db,
            config,
            clock,
            messages,
            wakes: Arc::default(),
            discord_answers: Arc::default(),
            ready: Arc::new(tokio::sync::watch::Sender::new(false)),
            writes: Arc::default(),
            changes: Arc::default(),
            leadership: Arc::default(),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The counters of Discord's answers, shared with the REST client that counts them.
    pub fn discord_answers(&self) -> &Arc<DiscordAnswers> {
        &self.discord_answers
    }

    /// Waits `wait` on the service's clock; `false` when shutdown came first.
    pub async fn pause(&self, wait: TimeDelta, stop: &mut watch::Receiver<bool>) -> bool {
        let until = self.now() + wait;
        tokio::select! {
            () = self.clock.sleep_until(until) => true,
            _ = stop.changed() => false,
        }
    }

    /// Marks gonogo ready: its commands are registered with Discord.
    pub fn mark_ready(&self) {
        self.ready.send_replace(true);
    }

    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until gonogo is ready.
    pub async fn wait_ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// With `audit.key` set, makes sure the chain's newest row is keyed, appending an event
    /// that says the key was adopted when it is not: `audit verify` under the key then knows
    /// an unkeyed head for a rewrite.
    pub async fn key_the_audit_chain(&self) -> anyhow::Result<()> {
        if self.db.audit_key().is_none() {
            return Ok(());
        }
        background(self.record(None, Record::AdoptAuditKey).await).map(drop)
    }

    /// Records an interaction that was refused before it reached the write path as handled,
    /// so that a replay of it is answered as one. A replay, or a refusal past Discord's
    /// deadline, has nothing left to record.
    pub async fn record_handled(&self, interaction: u64) -> anyhow::Result<()> {
        match self.record(Some(interaction), Record::Refused).await {
            Ok(_) | Err(Error::User(UserError::AlreadyHandled | UserError::TooLate)) => Ok(()),
            Err(Error::User(UserError::Fenced { term, current })) => Err(anyhow::anyhow!(
                "Refused: this replica asked under term {}, and term {current} leads now",
                term.map_or_else(|| "none".to_owned(), |term| term.to_string())
            )),
            Err(Error::User(refusal)) => Err(anyhow::anyhow!("{refusal:?}")),
            Err(Error::Internal(cause)) => Err(cause),
        }
    }

    /// Now, to the millisecond: the precision every time is stored at, so a release kept in
    /// memory and the same release read back agree on when its clock ends.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(3)
    }

    /// What the deploy phase needs from the config, for a release in `environment`.
    pub fn deploy_plan(&self, environment: &str) -> Plan<'_> {
        Plan {
            rollout: self.config.rollout_for(environment),
            executor: self.config.executor_for(environment).is_some(),
            gates: self.config.gates.metric_gates(),
            past_guardrails: false,
            order: None,
        }
    }

    /// Wakes this replica's loops for what other replicas commit, until `stop`.
    pub async fn listen_for_commits(self, mut stop: watch::Receiver<bool>) {
        let mut listener = loop {
            match store::wakes::Listener::connect(&self.db).await {
                Ok(listener) => break listener,
                Err(cause) => tracing::warn!("{cause:#}; trying again in a second"),
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        };
        loop {
            tokio::select! {
                next = listener.next() => match next {
                    Ok(letters) => self.wake(Wake::from_letters(&letters)),
                    Err(cause) => {
                        tracing::warn!("{cause:#}; trying again in a second");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }

    fn wake(&self, wake: Wake) {
        self.wakes.wal.notify_one();
        if wake.outbox {
            self.wakes.outbox.notify_one();
        }
        if wake.timers {
            self.wakes.timers.notify_one();
        }
        if wake.actions {
            self.wakes.jobs.notify_one();
        }
    }

    /// `/release plan`: records the release, queues its card and thread, sets its expiry.
    pub async fn plan(
        &self,
        interaction: u64,
        actor: &Actor,
        request: PlanRequest,
    ) -> Result<StoredRelease> {
        let actor = actor.clone();
        match self
            .submit(
                Some(interaction),
                Change::Plan {
                    actor,
                    request: Box::new(request),
                },
            )
            .await?
        {
            Done::Planned(stored) => Ok(stored),
            _ => Err(unexpected("plan")),
        }
    }

    /// The Promote button: plans a completed release in its environment's `next`.
    pub async fn promote(
        &self,
        interaction: u64,
        actor: &Actor,
        from: ReleaseId,
    ) -> Result<StoredRelease> {
        let change = Change::Promote {
            actor: actor.clone(),
            from,
        };
        match self.submit(Some(interaction), change).await? {
            Done::Planned(stored) => Ok(stored),
            _ => Err(unexpected("promotion")),
        }
    }

    /// A Go click, or a No-Go with its reason.
    pub async fn vote(
        &self,
        interaction: u64,
        actor: &Actor,
        release: ReleaseId,
        choice: Choice,
        reason: Option<String>,
    ) -> Result<VoteResult> {
        let change = Change::Vote(VoteRequest {
            actor: actor.clone(),
            release,
            choice,
            reason,
        });
        match self.submit(Some(interaction), change).await? {
            Done::Voted(result) => Ok(result),
            _ => Err(unexpected("vote")),
        }
    }

    /// `/release cancel`.
    pub async fn cancel(
        &self,
        interaction: u64,
        actor: &Actor,
        version: &str,
        environment: Option<&str>,
        reason: String,
    ) -> Result<Release> {
        let change = Change::Cancel {
            actor: actor.clone(),
            version: Version::parse(version).map_err(UserError::InvalidInput)?,
            environment: environment.map(str::to_owned),
            reason,
        };
        match self.submit(Some(interaction), change).await? {
            Done::Cancelled(release) => Ok(release),
            _ => Err(unexpected("cancel")),
        }
    }

    /// `/deploy`, `/release halt`, `/release resume`, `/rollback`, and the card's buttons.
    pub async fn deployment(
        &self,
        interaction: u64,
        actor: &Actor,
        target: Target,
        ask: Ask,
    ) -> Result<Release> {
        let change = Change::Deploy(DeployRequest {
            actor: actor.clone(),
            target,
            ask,
        });
        match self.submit(Some(interaction), change).await? {
            Done::Deployed(release) => Ok(release),
            _ => Err(unexpected("deployment request")),
        }
    }

    /// An executor job's outcome, with the tail of what it printed.
    pub async fn action_done(
        &self,
        execution: Execution,
        outcome: Outcome,
        output: String,
    ) -> anyhow::Result<()> {
        let change = Change::ActionDone {
            execution,
            outcome,
            output,
        };
        background(self.submit(None, change).await).map(drop)
    }

    /// The version of a release a button belongs to, for the modal it opens.
    pub async fn version_of(&self, release: ReleaseId) -> Result<String> {
        Ok(self.on_card(release).await?.version.to_string())
    }

    /// The release a card's component names, as committed; a stale card when it is gone.
    async fn on_card(&self, release: ReleaseId) -> Result<Release> {
        match store::releases::get(self.db.reader(), release).await? {
            Some(stored) => Ok(stored.release),
            None => Err(UserError::StaleCard.into()),
        }
    }

    /// Whether `actor` could cast `choice` now, without storing anything: lets the No-Go
    /// button refuse at once instead of after the reason has been typed.
    pub async fn check_vote(
        &self,
        actor: &Actor,
        release: ReleaseId,
        choice: Choice,
    ) -> Result<Release> {
        let release = self.on_card(release).await?;
        let policy = self.config.policies.get(release.kind);
        poll::may_vote(&release, policy, actor.id, &actor.roles, choice, self.now())
            .map_err(|refusal| refused(&release.version, refusal))?;
        Ok(release)
    }

    /// The rollback contract a release of `kind` in `environment` is approved under now.
    pub fn contract_for(&self, kind: ReleaseKind, environment: &str) -> anyhow::Result<Contract> {
        let config = &self.config;
        let procedure = match config.executor_for(environment) {
            Some(ExecutorConfig::Command { rollback, .. }) => {
                json!({ "executor": "command", "argv": rollback.join(" ") })
            }
            Some(ExecutorConfig::Webhook { url, .. }) => {
                json!({ "executor": "webhook", "url": url })
            }
            None => json!({ "executor": "none" }),
        };
        Ok(Contract::new(
            &config.gates.metrics,
            config.gates.max_complaints,
            config.policies.get(kind).rollback_window,
            self.messages.render("rollback_procedure", procedure)?,
        ))
    }

    /// Whether a checklist menu's `selected` items would untick any of `section`: then the
    /// version, for the modal that asks why.
    pub async fn checklist_unticks(
        &self,
        actor: &Actor,
        release: ReleaseId,
        (section, selected): (usize, &[usize]),
    ) -> Result<Option<String>> {
        let release = self.on_card(release).await?;
        // A refused tick is refused before anyone types why.
        checklist::may_tick(&release, &self.config.policies.planners, &actor.roles)
            .map_err(|refusal| refused(&release.version, refusal))?;
        let unticked = !checklist::unticks(&release, section, selected).is_empty();
        Ok(unticked.then(|| release.version.to_string()))
    }

    /// Whether `actor` may report a problem with `release` now, without storing anything: a
    /// second report is refused at the click. Answers the version, for the modal.
    pub async fn check_report(&self, actor: &Actor, release: ReleaseId) -> Result<String> {
        let release = self.on_card(release).await?;
        reports::may_report(&release, actor.id)
            .map_err(|refusal| refused(&release.version, refusal))?;
        Ok(release.version.to_string())
    }
}

/// The write path answered a change with the outcome of another kind: a bug of ours.
fn unexpected(what: &str) -> Error {
    Error::Internal(anyhow::anyhow!(
        "the write path answered a {what} with another outcome"
    ))
}

/// A background write's answer: a refusal there is a bug of ours, not a person's mistake.
fn background<T>(answer: Result<T>) -> anyhow::Result<T> {
    match answer {
        Ok(done) => Ok(done),
        Err(Error::Internal(cause)) => Err(cause),
        Err(Error::User(UserError::Fenced { term, current })) => Err(anyhow::anyhow!(
            "Refused: this replica asked under term {}, and term {current} leads now",
            term.map_or_else(|| "none".to_owned(), |term| term.to_string())
        )),
        Err(Error::User(refusal)) => Err(anyhow::anyhow!("{refusal:?}")),
    }
}
