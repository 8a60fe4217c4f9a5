//! The deploy phase's requests on the one write path: start, halt, resume and roll back a
//! release, and an executor job's outcome.

use super::apply::apply;
use super::error::{refused, Result, UserError};
use super::lookups::as_decided;
use super::writer::{Ask, DeployRequest, Done, Target, Writer};
use crate::domain::lifecycle::deploy;
use crate::domain::lifecycle::inputs::{Outcome, Person, Plan};
use crate::domain::lifecycle::{oncall, overrides, reports, retro, rollback};
use crate::domain::order::{self, Order};
use crate::domain::{checklist, lookup, Release, ReleaseId, Transition, Version};
use crate::store;
use crate::store::executions::Execution;
use chrono::{DateTime, Utc};

impl Writer<'_> {
    pub(super) async fn deploy(&mut self, request: &DeployRequest) -> Result<Done> {
        let id = self.meant(request).await?;
        let service = self.service;
        let config = &service.config;
        let now = self.unit.now;
        let actor = &request.actor;
        let by = Person {
            id: actor.id,
            name: &actor.name,
            roles: &actor.roles,
        };
        let (others, completed_before) = match request.ask {
            Ask::Start => self.start_context(id).await?,
            _ => (Vec::new(), None),
        };
        let Some(loaded) = self.kept.get_mut(&id) else {
            return Err(UserError::StaleCard.into());
        };
        let release = &loaded.release;
        let mut plan = service.deploy_plan(&release.environment);
        plan.order = config
            .environment(&release.environment)
            .and_then(|settings| {
                Some(Order {
                    environment: &release.environment,
                    after: settings.after.as_deref()?,
                    soak: settings.soak,
                    completed_at: completed_before,
                })
            });
        let policy = config.policies.get(release.kind);
        let decided = match &request.ask {
            Ask::Start => overrides::past_guardrails(release, "deploy", |past_guardrails| {
                let plan = Plan {
                    past_guardrails,
                    ..plan
                };
                deploy::start(
                    release,
                    &loaded.tally,
                    &others,
                    &config.windows,
                    plan,
                    by,
                    now,
                )
            }),
            Ask::Halt { reason } => deploy::halt(release, by, reason, now),
            Ask::Resume => deploy::resume(release, by, plan, now),
            Ask::Rollback { reason } => {
                overrides::past_guardrails(release, "rollback", |past_guardrails| {
                    let plan = Plan {
                        past_guardrails,
                        ..plan
                    };
                    rollback::roll_back(release, policy, by, reason, plan, now)
                })
            }
            Ask::Override { reason } => overrides::request(release, by, reason, now),
            Ask::ApproveOverride => overrides::approve(release, by, now),
            Ask::Postmortem { text } => overrides::file_postmortem(release, by, text, now),
            Ask::Retrospective(answers) => retro::file(release, by, answers, now),
            Ask::Tick {
                section,
                selected,
                reason,
            } => checklist::select(
                release,
                &config.policies.planners,
                by,
                (*section, selected),
                reason.as_deref(),
                now,
            ),
            Ask::ClaimOnCall => oncall::claim(release, by, now),
            Ask::Check { item, passed, url } => {
                let report = checklist::Report {
                    item,
                    passed: *passed,
                    url: url.as_deref(),
                };
                checklist::report(release, &actor.name, &report, now)
            }
            Ask::Report { text } => {
                let limit = config.gates.max_complaints;
                reports::report_problem(release, (plan, limit), by, text, now)
            }
        };
        let step = decided.map_err(|refusal| refused(&release.version, refusal))?;
        apply(self.unit, config, &loaded.release, &step).await?;
        loaded.release = step.release;
        Ok(Done::Deployed(loaded.release.clone()))
    }

    /// What starting release `id` is decided against: the releases holding its
    /// environment's deploy lock, and when the same version last completed in the
    /// environment it must follow, if it follows one.
    async fn start_context(
        &mut self,
        id: ReleaseId,
    ) -> Result<(Vec<Release>, Option<DateTime<Utc>>)> {
        let Some(release) = self.kept.get(&id).map(|l| l.release.clone()) else {
            return Ok((Vec::new(), None));
        };
        let others = self.holding_lock(&release.environment).await?;
        let after = self
            .service
            .config
            .environment(&release.environment)
            .and_then(|settings| settings.after.clone());
        let Some(after) = after else {
            return Ok((others, None));
        };
        let before = self.releases_of(&release.version, Some(&after)).await?;
        Ok((others, order::last_completed(&before)))
    }

    /// The release a deploy-phase request means, caught up with time.
    async fn meant(&mut self, request: &DeployRequest) -> Result<ReleaseId> {
        let id = match &request.target {
            Target::Version {
                version,
                environment,
            } => {
                let version = Version::parse(version).map_err(UserError::InvalidInput)?;
                let found = self.releases_of(&version, environment.as_deref()).await?;
                let release = lookup::pick(found, environment.as_deref())
                    .map_err(|r| refused(&version, r))?;
                release.id
            }
            Target::Running { environment } => {
                // The lookup reads what this group has decided so far.
                self.unit.flush().await?;
                let running = store::releases::holding_lock_anywhere(&mut *self.unit.tx).await?;
                let stored = lookup::pick_running(running, environment.as_deref())
                    .map_err(|r| refused(&"(none given)", r))?;
                stored.release.id
            }
            Target::Card(id) => *id,
        };
        self.catch_up(id).await?;
        Ok(id)
    }

    /// Records how an executor job ended and lets the release move on, in one transaction.
    pub(super) async fn action_done(
        &mut self,
        execution: &Execution,
        outcome: &Outcome,
        output: &str,
    ) -> Result<Done> {
        let succeeded = *outcome == Outcome::Succeeded;
        let now = self.unit.now;
        let tx = &mut *self.unit.tx;
        store::executions::finish(tx, execution.id, succeeded, output, now).await?;
        let id = execution.release_id;
        self.unit.last_actions.remove(&id);
        self.load(id).await?;
        if let Some(loaded) = self.kept.get_mut(&id) {
            let plan = self.service.deploy_plan(&loaded.release.environment);
            let step: Option<Transition> =
                deploy::action_finished(&loaded.release, execution.action, outcome, plan, now);
            if let Some(step) = step {
                apply(self.unit, &self.service.config, &loaded.release, &step).await?;
                loaded.release = step.release;
            }
        }
        Ok(Done::Fired)
    }
}

impl Writer<'_> {
    /// Every release of `version`, newest first, as this group has left them: in
    /// `environment` only, when it is given.
    pub(super) async fn releases_of(
        &mut self,
        version: &Version,
        environment: Option<&str>,
    ) -> anyhow::Result<Vec<Release>> {
        let environment = environment.map(str::trim);
        let Some(read) = self.lookups.of_version(version, environment) else {
            // The lookup reads what this group has decided so far.
            self.unit.flush().await?;
            let found = store::releases::by_version(&mut *self.unit.tx, version, environment);
            return Ok(found.await?.into_iter().map(|s| s.release).collect());
        };
        // Versions are equal build metadata aside, as their keys are.
        Ok(self.as_decided(read, |release| {
            release.version == *version && environment.is_none_or(|e| release.environment == e)
        }))
    }

    /// The releases holding the deploy lock of `environment`, as this group has left them.
    async fn holding_lock(&mut self, environment: &str) -> anyhow::Result<Vec<Release>> {
        let Some(read) = self.lookups.holding(environment) else {
            self.unit.flush().await?;
            let found = store::releases::holding_lock(&mut *self.unit.tx, environment);
            return Ok(found.await?.into_iter().map(|s| s.release).collect());
        };
        Ok(self.as_decided(read, |release| {
            release.environment == environment && release.state.holds_deploy_lock()
        }))
    }

    fn as_decided(&self, read: &[Release], wanted: impl Fn(&Release) -> bool) -> Vec<Release> {
        let copies = self.touched.iter().filter_map(|id| self.kept.get(id));
        as_decided(read, self.touched, copies.map(|c| &c.release), wanted)
    }
}
