//! The service: load → decide in the domain → commit the state, audit events, timers and
//! outbox rows in one transaction → wake the dispatcher and the scheduler.

mod apply;
mod queries;
mod unit;
mod votes;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{self, Choice, PlanRequest, Refusal, Release, Role, UserId};
use crate::messages::Messages;
use crate::store::releases::StoredRelease;
use crate::store::timers::TimerKind;
use crate::store::{self, Db};
use unit::Unit;

/// Who is acting, with the policy roles they hold right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub name: String,
    pub roles: Vec<Role>,
}

/// A request the person must fix or cannot make; shown to them alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    Refused {
        release: Release,
        refusal: Refusal,
    },
    InvalidInput(String),
    UnknownRelease(String),
    /// The version lives in several environments; the person must say which.
    AmbiguousVersion {
        version: String,
        environments: Vec<String>,
    },
    AlreadyPlanned {
        release: Release,
    },
    StaleCard,
    AlreadyHandled,
}

/// A service call's result: done, refused (a user error), or broken (an internal error).
pub type Answer<T> = Result<Result<T, UserError>, anyhow::Error>;

/// What a vote did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteResult {
    pub release: Release,
    pub choice: Choice,
    pub changed: bool,
}

/// Shared handle to the bot's state and collaborators.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub messages: Arc<Messages>,
    /// Woken after every commit that queued Discord messages.
    pub outbox_wake: Arc<Notify>,
    /// Woken after every commit that set or cleared a timer.
    pub timers_wake: Arc<Notify>,
    votes: Arc<votes::VoteQueue>,
}

impl Service {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
        messages: Arc<Messages>,
    ) -> Service {
        Service {
            db,
            config,
            clock,
            messages,
            outbox_wake: Arc::new(Notify::new()),
            timers_wake: Arc::new(Notify::new()),
            votes: Arc::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn wake(&self) {
        self.outbox_wake.notify_one();
        self.timers_wake.notify_one();
    }

    /// `/release plan`: records the release, queues its card and thread, sets its expiry.
    pub async fn plan(
        &self,
        interaction: u64,
        actor: &Actor,
        request: PlanRequest,
    ) -> Answer<StoredRelease> {
        let now = self.now();
        let mut unit = Unit::begin(&self.db, now).await?;
        let tx = &mut unit.tx;
        if !store::interactions::claim(&mut **tx, interaction, now).await? {
            return Ok(Err(UserError::AlreadyHandled));
        }
        let planned = store::releases::by_version(&mut **tx, &request.version).await?;
        let live = planned.into_iter().find(|s| {
            s.release.environment == request.environment && !s.release.state.ended_unshipped()
        });
        if let Some(live) = live {
            return Ok(Err(UserError::AlreadyPlanned {
                release: live.release,
            }));
        }
        let id = store::releases::next_id(&mut **tx).await?;
        let step =
            domain::transition::plan(id, request, actor.id, self.config.rollout.vote_ttl, now);
        let stored = StoredRelease {
            release: step.release.clone(),
            author_name: actor.name.clone(),
            card_channel_id: self.config.channels.releases,
            card_message_id: None,
            thread_id: None,
        };
        store::releases::insert(&mut **tx, &stored).await?;
        self.apply(&mut unit, &step, &step.release, &[], now)
            .await?;
        unit.commit().await?;
        self.wake();
        Ok(Ok(stored))
    }

    /// `/release cancel`.
    pub async fn cancel(
        &self,
        interaction: u64,
        actor: &Actor,
        version: &str,
        environment: Option<&str>,
        reason: String,
    ) -> Answer<Release> {
        let now = self.now();
        let mut unit = Unit::begin(&self.db, now).await?;
        if !store::interactions::claim(&mut *unit.tx, interaction, now).await? {
            return Ok(Err(UserError::AlreadyHandled));
        }
        let stored = match self.find(&mut *unit.tx, version, environment).await? {
            Ok(stored) => stored,
            Err(user_error) => return Ok(Err(user_error)),
        };
        match domain::transition::cancel(
            &stored.release,
            actor.id,
            &actor.name,
            &actor.roles,
            &reason,
            now,
        ) {
            Ok(step) => {
                let history = store::votes::history(&mut *unit.tx, step.release.id).await?;
                self.apply(&mut unit, &step, &stored.release, &history, now)
                    .await?;
                unit.commit().await?;
                self.wake();
                Ok(Ok(step.release))
            }
            Err(refusal) => Ok(Err(UserError::Refused {
                release: stored.release,
                refusal,
            })),
        }
    }

    /// Fires every timer due by now, each in its own transaction. A timer that fails is set
    /// aside for a minute, so it cannot hold up the others.
    pub async fn fire_due_timers(&self) -> anyhow::Result<()> {
        let now = self.now();
        for timer in store::timers::due(self.db.reader(), now).await? {
            if let Err(cause) = self.fire(&timer, now).await {
                tracing::warn!(
                    timer = timer.id,
                    "Cannot fire a timer, trying it again later: {cause:#}"
                );
                let later = now + chrono::TimeDelta::minutes(1);
                store::timers::postpone(self.db.writer(), timer.id, later).await?;
            }
        }
        Ok(())
    }

    async fn fire(&self, timer: &store::timers::Timer, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut unit = Unit::begin(&self.db, now).await?;
        store::timers::delete(&mut *unit.tx, timer.id).await?;
        match timer.kind {
            TimerKind::PollExpiry => {
                if let Some(stored) = store::releases::get(&mut *unit.tx, timer.release_id).await? {
                    self.expire_if_due(&mut unit, &stored.release, now).await?;
                }
            }
        }
        unit.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    async fn expire_if_due(
        &self,
        unit: &mut Unit,
        release: &Release,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Release>> {
        let Some(step) = domain::transition::expire(release, now) else {
            return Ok(None);
        };
        let history = store::votes::history(&mut *unit.tx, release.id).await?;
        self.apply(unit, &step, release, &history, now).await?;
        Ok(Some(step.release))
    }

    /// Looks a release up by the version (and environment) a person typed: the newest one,
    /// unless the version lives in several environments and none was named.
    async fn find(
        &self,
        db: impl sqlx::SqliteExecutor<'_>,
        version: &str,
        environment: Option<&str>,
    ) -> anyhow::Result<Result<StoredRelease, UserError>> {
        let version = match domain::Version::parse(version) {
            Ok(version) => version,
            Err(problem) => return Ok(Err(UserError::InvalidInput(problem))),
        };
        let mut found = store::releases::by_version(db, &version).await?;
        if let Some(environment) = environment {
            found.retain(|s| s.release.environment == environment.trim());
        }
        let mut environments: Vec<String> = found
            .iter()
            .map(|s| s.release.environment.clone())
            .collect();
        environments.sort();
        environments.dedup();
        if environments.len() > 1 {
            return Ok(Err(UserError::AmbiguousVersion {
                version: version.to_string(),
                environments,
            }));
        }
        Ok(found
            .into_iter()
            .next()
            .ok_or_else(|| UserError::UnknownRelease(version.to_string())))
    }
}
