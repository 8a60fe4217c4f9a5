//! The pipeline door's operations: plan, report a check, deploy, read and wait, each on the
//! one write path or the read model the Discord doors use, with a release as JSON.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::error::{Result, UserError};
use super::view::SlotView;
use super::writer::{Ask, Change, DeployRequest, Done, Target};
use super::{unexpected, Actor, Service};
use crate::domain::rollout::Rollout;
use crate::domain::{Milestone, PlanRequest, Refusal, ReleaseId, ReleaseState, Tally};
use crate::store;
use crate::store::releases::{Filter, StoredRelease};

/// A release as the pipeline door shows it: ids as strings, times in RFC 3339.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineRelease {
    pub id: String,
    pub version: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub environment: String,
    pub state: String,
    pub summary: String,
    pub changelog: Option<String>,
    pub commit: Option<String>,
    pub commit_time: Option<String>,
    pub build_url: Option<String>,
    pub artifact: Option<String>,
    /// `token:<name>` when a pipeline planned it, else the person who did.
    pub planned_by: String,
    pub approvals: Vec<Approval>,
    pub votes: Vec<VoteJson>,
    pub checklist: Vec<CheckJson>,
    pub stage: Option<StageJson>,
    pub promoted_from: Option<String>,
    pub links: Links,
}

#[derive(Clone, Debug, Serialize)]
pub struct Approval {
    pub role: String,
    pub needed: usize,
    pub filled_by: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VoteJson {
    pub user_id: String,
    pub name: String,
    pub choice: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckJson {
    pub section: String,
    pub item: String,
    /// `open`, `passed` or `failed`.
    pub status: &'static str,
    /// Who may tick it: `pipeline` or `people`.
    pub by: &'static str,
    /// Who ticked it or last reported on it.
    pub ticked_by: Option<String>,
    pub url: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StageJson {
    pub name: String,
    pub percent: u8,
    pub started_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Links {
    /// The card's message in Discord, once it is posted.
    pub card: Option<String>,
}

/// A page of releases, and the cursor of the next one.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    pub releases: Vec<PipelineRelease>,
    pub next: Option<String>,
}

/// A long poll's answer: the release, and whether it settled the milestone in time.
#[derive(Clone, Debug, Serialize)]
pub struct Waited {
    #[serde(flatten)]
    pub release: PipelineRelease,
    pub reached: bool,
}

fn state_of(release: &PipelineRelease) -> anyhow::Result<ReleaseState> {
    release
        .state
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl PipelineRelease {
    fn new(stored: &StoredRelease, tally: &Tally, rollout: &Rollout, guild: u64) -> Self {
        let release = &stored.release;
        let origin = &release.origin;
        PipelineRelease {
            id: release.id.0.to_string(),
            version: release.version.to_string(),
            kind: release.kind.to_string(),
            environment: release.environment.clone(),
            state: release.state.to_string(),
            summary: release.summary.clone(),
            changelog: release.changelog.clone(),
            commit: origin.commit.clone(),
            commit_time: origin.commit_time.map(rfc3339),
            build_url: origin.build_url.clone(),
            artifact: origin.artifact.clone(),
            planned_by: origin.token.as_ref().map_or_else(
                || stored.author_name.clone(),
                |token| format!("token:{token}"),
            ),
            approvals: SlotView::all_of(tally)
                .into_iter()
                .map(|slot| Approval {
                    role: slot.role,
                    needed: slot.count,
                    filled_by: slot.filled_by,
                })
                .collect(),
            votes: tally
                .current()
                .iter()
                .map(|ballot| VoteJson {
                    user_id: ballot.voter.to_string(),
                    name: ballot.voter_name.clone(),
                    choice: ballot.choice.as_str().to_owned(),
                    at: rfc3339(ballot.at),
                })
                .collect(),
            checklist: release
                .checklist
                .iter()
                .map(|check| CheckJson {
                    section: check.section.clone(),
                    item: check.item.clone(),
                    status: check.status().as_str(),
                    by: if check.by_pipeline {
                        "pipeline"
                    } else {
                        "people"
                    },
                    ticked_by: check.ticked_by.clone(),
                    url: check.url.clone(),
                })
                .collect(),
            stage: release.deployment.as_ref().map(|d| StageJson {
                name: rollout.stage_name(d.stage),
                percent: rollout.stage(d.stage).map_or(0, |s| s.percent),
                started_at: rfc3339(d.stage_started_at),
            }),
            promoted_from: origin.promoted_from.map(|id| id.0.to_string()),
            links: Links {
                card: stored.card_message_id.map(|message| {
                    format!(
                        "https://discord.com/channels/{guild}/{}/{message}",
                        stored.card_channel_id
                    )
                }),
            },
        }
    }
}

/// The longest page the list returns, and the page when no limit is asked for.
pub const MAX_PAGE: u32 = 100;
const DEFAULT_PAGE: u32 = 20;

impl Service {
    /// `POST /api/v1/releases`: plans as `/release plan` does. `true` with a new release,
    /// `false` with the one an identical earlier plan made.
    pub async fn plan_from_pipeline(
        &self,
        actor: &Actor,
        request: PlanRequest,
    ) -> Result<(PipelineRelease, bool)> {
        let change = Change::Plan {
            actor: actor.clone(),
            request: Box::new(request),
        };
        match self.submit(None, change).await? {
            // A new release has no votes yet: nothing to read back.
            Done::Planned(stored) => {
                let policy = self.config.policies.get(stored.release.kind);
                let tally = Tally::new(policy, stored.release.author);
                Ok((self.shown(&stored, &tally), true))
            }
            Done::Replanned(stored) => Ok((self.known(stored.release.id).await?, false)),
            _ => Err(unexpected("plan")),
        }
    }

    /// `POST /api/v1/releases/{id}/checks` and `/deploy`: a deploy-phase request about the
    /// release `id`, answered with the release after it.
    pub async fn pipeline_request(
        &self,
        actor: &Actor,
        id: ReleaseId,
        ask: Ask,
    ) -> Result<PipelineRelease> {
        let change = Change::Deploy(DeployRequest {
            actor: actor.clone(),
            target: Target::Card(id),
            ask,
        });
        match self.submit(None, change).await? {
            Done::Deployed(_) => self.known(id).await,
            _ => Err(unexpected("pipeline request")),
        }
    }

    /// The release `id` as the pipeline door shows it, when there is one.
    pub async fn pipeline_release(&self, id: ReleaseId) -> Result<Option<PipelineRelease>> {
        let mut read = self
            .db
            .reader()
            .begin()
            .await
            .map_err(anyhow::Error::from)?;
        let Some(stored) = store::releases::get(&mut *read, id).await? else {
            return Ok(None);
        };
        let policy = self.config.policies.get(stored.release.kind);
        let tally = store::votes::tally(&mut *read, &stored.release, policy).await?;
        read.commit().await.map_err(anyhow::Error::from)?;
        Ok(Some(self.shown(&stored, &tally)))
    }

    fn shown(&self, stored: &StoredRelease, tally: &Tally) -> PipelineRelease {
        let guild = self.config.discord.guild_id;
        let rollout = self.config.rollout_for(&stored.release.environment);
        PipelineRelease::new(stored, tally, rollout, guild)
    }

    async fn known(&self, id: ReleaseId) -> Result<PipelineRelease> {
        self.pipeline_release(id)
            .await?
            .ok_or_else(|| super::refused(&id.0, Refusal::UnknownRelease).into())
    }

    /// A page of releases, newest first; `cursor` is the `next` of the page before.
    pub async fn pipeline_releases(
        &self,
        mut filter: Filter,
        cursor: Option<&str>,
    ) -> Result<Listed> {
        if let Some(cursor) = cursor {
            let before = cursor.parse().map_err(|_| {
                UserError::InvalidInput(format!("`{cursor}` is not a cursor this list gave"))
            })?;
            filter.before = Some(ReleaseId(before));
        }
        filter.limit = match filter.limit {
            0 => DEFAULT_PAGE,
            limit => limit.min(MAX_PAGE),
        };
        let mut read = self
            .db
            .reader()
            .begin()
            .await
            .map_err(anyhow::Error::from)?;
        let page = store::releases::page(&mut *read, &filter).await?;
        let mut releases = Vec::with_capacity(page.len());
        for stored in &page {
            let policy = self.config.policies.get(stored.release.kind);
            let tally = store::votes::tally(&mut *read, &stored.release, policy).await?;
            releases.push(self.shown(stored, &tally));
        }
        read.commit().await.map_err(anyhow::Error::from)?;
        let full = page.len() == usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let next = page
            .last()
            .filter(|_| full)
            .map(|last| last.release.id.0.to_string());
        Ok(Listed { releases, next })
    }

    /// Waits until release `id` settles `milestone`, or `timeout` passes on the service's
    /// clock; `None` when there is no such release. Waiting costs nothing: the waiter sleeps
    /// until a commit changes its release's state.
    pub async fn wait_for(
        &self,
        id: ReleaseId,
        milestone: Milestone,
        timeout: chrono::TimeDelta,
    ) -> Result<Option<Waited>> {
        // Subscribed before reading, so a change committed in between is not missed.
        let mut changes = self.changes.subscribe(id);
        let deadline = self.now() + timeout;
        let Some(release) = self.pipeline_release(id).await? else {
            drop(changes);
            self.changes.prune();
            return Ok(None);
        };
        if milestone.settled(state_of(&release)?) {
            return Ok(Some(Waited {
                release,
                reached: true,
            }));
        }
        loop {
            tokio::select! {
                published = changes.changed() => {
                    if published.is_err() {
                        return Err(anyhow::anyhow!("the release's changes stopped being published").into());
                    }
                }
                () = self.clock.sleep_until(deadline) => {
                    let release = self.known(id).await?;
                    let reached = milestone.settled(state_of(&release)?);
                    return Ok(Some(Waited { release, reached }));
                }
            }
            let change = changes.borrow_and_update().clone();
            let Some(change) = change.filter(|change| milestone.settled(change.state)) else {
                continue;
            };
            // One read serves every waiter of this change.
            let release = change
                .read
                .get_or_try_init(|| self.known(id))
                .await?
                .clone();
            return Ok(Some(Waited {
                release,
                reached: true,
            }));
        }
    }
}
