//! Votes, committed in groups: clicks that arrive together share one transaction and one
//! commit, each still decided by the domain in arrival order against the state before it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::unit::Unit;
use super::{Actor, Answer, Service, UserError, VoteResult};
use crate::domain::{self, Ballot, Choice, Release, ReleaseId};
use crate::store::votes::NewVote;
use crate::store::{self, Tx};

/// One click waiting for its group's commit.
struct Job {
    interaction: u64,
    actor: Actor,
    release: ReleaseId,
    choice: Choice,
    reason: Option<String>,
    reply: oneshot::Sender<Answer<VoteResult>>,
}

/// Clicks waiting to be written, and the lock held by whoever writes the next group, which
/// guards the polls kept in memory between groups.
#[derive(Default)]
pub(super) struct VoteQueue {
    pending: Mutex<Vec<Job>>,
    writer: tokio::sync::Mutex<Polls>,
}

/// Polls kept between groups, so a busy poll is not read back from the database per click.
type Polls = HashMap<ReleaseId, Poll>;

/// A release and every ballot on it, as of its newest audit event (`revision`): every change
/// to a release appends one, so a differing revision means the copy is stale.
struct Poll {
    revision: i64,
    release: Release,
    history: Vec<Ballot>,
}

type Answers = Vec<Result<VoteResult, UserError>>;

impl VoteQueue {
    fn take_pending(&self) -> anyhow::Result<Vec<Job>> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| anyhow::anyhow!("the vote queue is poisoned"))?;
        Ok(std::mem::take(&mut *pending))
    }
}

impl Service {
    /// A Go click, or a No-Go with its reason.
    pub async fn vote(
        &self,
        interaction: u64,
        actor: &Actor,
        release: ReleaseId,
        choice: Choice,
        reason: Option<String>,
    ) -> Answer<VoteResult> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            interaction,
            actor: actor.clone(),
            release,
            choice,
            reason,
            reply,
        };
        self.votes
            .pending
            .lock()
            .map_err(|_| anyhow::anyhow!("the vote queue is poisoned"))?
            .push(job);
        {
            // Whoever holds the writer lock writes everything queued so far: this click too,
            // unless an earlier writer already took it.
            let mut writer = self.votes.writer.lock().await;
            let jobs = self.votes.take_pending()?;
            if !jobs.is_empty() {
                let service = self.clone();
                let mut polls = std::mem::take(&mut *writer);
                // Spawned, so a dropped request cannot abandon the other clicks of its group. If
                // it is dropped, the next writer starts with no kept polls and reads them afresh;
                // the one writer connection still keeps the two groups apart.
                *writer = tokio::spawn(async move {
                    service.write_group(&mut polls, jobs).await;
                    polls
                })
                .await
                .context("The vote writer panicked")?;
            }
        }
        answer
            .await
            .context("The vote writer ended without an answer")?
    }

    /// Whether `actor` could cast `choice` now, without storing anything: lets the No-Go
    /// button refuse at once instead of after the reason has been typed.
    pub async fn check_vote(
        &self,
        actor: &Actor,
        release: ReleaseId,
        choice: Choice,
    ) -> Answer<Release> {
        let db = self.db.reader();
        let Some(stored) = store::releases::get(db, release).await? else {
            return Ok(Err(UserError::StaleCard));
        };
        let now = self.now();
        let policy = self.config.policies.get(stored.release.kind);
        let history = store::votes::history(db, release).await?;
        let trial = Ballot {
            voter: actor.id,
            voter_name: actor.name.clone(),
            roles: actor.roles.clone(),
            choice,
            reason: Some("(checking eligibility)".to_owned()),
            at: now,
        };
        let release = stored.release;
        Ok(
            match domain::transition::vote(&release, policy, &history, &trial, now) {
                Ok(_) => Ok(release),
                Err(refusal) => Err(UserError::Refused { release, refusal }),
            },
        )
    }

    async fn write_group(&self, polls: &mut Polls, jobs: Vec<Job>) {
        match self.try_group(polls, &jobs).await {
            Ok(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            // One failing click must not fail the others: write each on its own.
            Err(_) if jobs.len() > 1 => {
                for job in jobs {
                    let answer = match self.try_group(polls, std::slice::from_ref(&job)).await {
                        Ok(mut answers) => Ok(answers.remove(0)),
                        Err(error) => Err(error),
                    };
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => {
                for job in jobs {
                    let _ = job.reply.send(Err(anyhow::anyhow!("{error:#}")));
                }
            }
        }
    }

    async fn try_group(&self, polls: &mut Polls, jobs: &[Job]) -> anyhow::Result<Answers> {
        let mut touched = HashSet::new();
        let result = self
            .write_in_one_transaction(polls, &mut touched, jobs)
            .await;
        if result.is_err() {
            // The copies may hold changes that were rolled back.
            polls.retain(|id, _| !touched.contains(id));
        }
        result
    }

    async fn write_in_one_transaction(
        &self,
        polls: &mut Polls,
        touched: &mut HashSet<ReleaseId>,
        jobs: &[Job],
    ) -> anyhow::Result<Answers> {
        let now = self.now();
        let mut unit = Unit::begin(&self.db, now).await?;
        let ids: Vec<u64> = jobs.iter().map(|job| job.interaction).collect();
        // Handled before, or earlier in this group: either way a replay.
        let mut handled = store::interactions::handled(&mut unit.tx, &ids).await?;
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            if !handled.insert(job.interaction) {
                answers.push(Err(UserError::AlreadyHandled));
                continue;
            }
            if touched.insert(job.release) {
                refresh_poll(&mut unit.tx, polls, job.release).await?;
            }
            answers.push(self.vote_in(&mut unit, polls, job, now).await?);
        }
        // The revisions below read what this group wrote.
        unit.flush().await?;
        for id in touched.iter() {
            if let Some(poll) = polls.get_mut(id) {
                poll.revision = store::audit::latest_for_release(&mut *unit.tx, *id).await?;
            }
        }
        unit.commit().await?;
        self.wake();
        // A decided poll takes no more votes; only open ones are worth keeping in memory.
        polls.retain(|_, poll| poll.release.state.is_open());
        Ok(answers)
    }

    /// Decides and writes one click inside the group's transaction.
    async fn vote_in(
        &self,
        unit: &mut Unit,
        polls: &mut Polls,
        job: &Job,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<VoteResult, UserError>> {
        let Some(Poll {
            release, history, ..
        }) = polls.get_mut(&job.release)
        else {
            return Ok(Err(UserError::StaleCard));
        };
        if let Some(step) = domain::transition::expire(release, now) {
            self.apply(unit, &step, release, history, now).await?;
            *release = step.release;
        }
        let ballot = Ballot {
            voter: job.actor.id,
            voter_name: job.actor.name.clone(),
            roles: job.actor.roles.clone(),
            choice: job.choice,
            reason: job.reason.clone(),
            at: now,
        };
        let policy = self.config.policies.get(release.kind);
        match domain::transition::vote(release, policy, history, &ballot, now) {
            Ok(step) => {
                unit.claim(job.interaction);
                if let Some(ballot) = &step.ballot {
                    unit.record_vote(NewVote {
                        release: job.release,
                        ballot: ballot.clone(),
                        interaction_id: Some(job.interaction),
                    });
                    history.push(ballot.clone());
                }
                self.apply(unit, &step, release, history, now).await?;
                *release = step.release.clone();
                Ok(Ok(VoteResult {
                    release: step.release,
                    choice: job.choice,
                    changed: step.ballot.is_some(),
                }))
            }
            // A refusal stores nothing, not even its interaction id, so it may be tried again.
            Err(refusal) => Ok(Err(UserError::Refused {
                release: release.clone(),
                refusal,
            })),
        }
    }
}

/// Makes the kept copy of a poll current, reading it again only if it changed since.
async fn refresh_poll(tx: &mut Tx, polls: &mut Polls, id: ReleaseId) -> anyhow::Result<()> {
    let revision = store::audit::latest_for_release(&mut **tx, id).await?;
    if polls.get(&id).is_some_and(|poll| poll.revision == revision) {
        return Ok(());
    }
    polls.remove(&id);
    if let Some(stored) = store::releases::get(&mut **tx, id).await? {
        let history = store::votes::history(&mut **tx, id).await?;
        polls.insert(
            id,
            Poll {
                revision,
                release: stored.release,
                history,
            },
        );
    }
    Ok(())
}
