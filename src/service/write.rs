//! The one write path. Every request that changes state (plan, vote, cancel, deploy, halt,
//! resume, rollback, an executor's outcome, a timer firing)
//! goes load → decide in the domain → apply → commit here. Requests that arrive together form
//! a group that shares one transaction and one commit, each still decided in arrival order
//! against the state its predecessors left.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use rustc_hash::{FxHashMap, FxHashSet};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::apply::apply;
use super::error::{refused, Error, Result, UserError};
use super::unit::Unit;
use super::{Actor, Service, VoteResult};
use crate::domain::gates::Look;
use crate::domain::lifecycle::deploy::Outcome;
use crate::domain::lifecycle::{self, poll};
use crate::domain::{checklist, contract};
use crate::domain::{
    lookup, Ballot, Choice, PlanRequest, Refusal, Release, ReleaseId, Tally, TimerKind, Version,
};
use crate::store;
use crate::store::executions::Execution;
use crate::store::releases::StoredRelease;
use crate::store::timers::Timer;
use crate::store::votes::NewVote;

/// A request to change state.
pub(super) enum Change {
    Plan {
        actor: Actor,
        request: PlanRequest,
    },
    Vote(VoteRequest),
    Cancel {
        actor: Actor,
        version: Version,
        environment: Option<String>,
        reason: String,
    },
    /// A timer fired, with the metric gates' look taken for it when it needs one.
    Timer {
        timer: Timer,
        look: Option<Look>,
    },
    /// A request of the deploy phase about the release a typed version means.
    Deploy(DeployRequest),
    /// An executor job came back.
    ActionDone {
        execution: Execution,
        outcome: Outcome,
        output: String,
    },
}

/// What someone asks of a deployment, and about which release.
pub(super) struct DeployRequest {
    pub actor: Actor,
    pub target: Target,
    pub ask: Ask,
}

/// Which release a deploy-phase request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A typed version, and the environment when it lives in several.
    Version {
        version: String,
        environment: Option<String>,
    },
    /// The one release rolling out now (in the environment, if named): `/rollback` alone.
    Running { environment: Option<String> },
    /// A button on the release's card.
    Card(ReleaseId),
}

/// What is asked of the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    Start,
    Halt {
        reason: String,
    },
    Resume,
    Rollback {
        reason: String,
    },
    /// A problem report from chat, which counts toward an automatic rollback.
    Report {
        text: String,
    },
    /// Ask an exec to let the release past a guardrail once.
    Override {
        reason: String,
    },
    /// An exec approves the release's open override request.
    ApproveOverride,
    /// The post-mortem of an approved override.
    Postmortem {
        text: String,
    },
    /// Someone's retrospective of a finished release.
    Retrospective(crate::domain::lifecycle::retro::Answers),
    /// Checklist section `section` set to exactly the `selected` items ticked.
    Tick {
        section: usize,
        selected: Vec<usize>,
        reason: Option<String>,
    },
}

/// A Go click, or a No-Go with its reason.
pub(super) struct VoteRequest {
    pub actor: Actor,
    pub release: ReleaseId,
    pub choice: Choice,
    pub reason: Option<String>,
}

/// What a change did.
pub(super) enum Done {
    Planned(StoredRelease),
    Voted(VoteResult),
    Cancelled(Release),
    /// The release after a deploy-phase request.
    Deployed(Release),
    Fired,
}

/// One request waiting for its group's commit.
struct Job {
    interaction: Option<u64>,
    change: Change,
    reply: oneshot::Sender<Result<Done>>,
    queued_at: Instant,
}

/// Discord stops waiting for an interaction's answer after 3 seconds. A request still queued by
/// then, or whose HTTP request was dropped, is discarded unwritten: nobody can be told of it.
const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

impl Job {
    fn is_abandoned(&self) -> bool {
        self.interaction.is_some()
            && (self.reply.is_closed() || self.queued_at.elapsed() > INTERACTION_DEADLINE)
    }
}

/// Requests waiting to be written, and the lock held by whoever writes the next group, which
/// guards what the writer keeps in memory between groups.
#[derive(Default)]
pub(super) struct WriteQueue {
    pending: Mutex<Vec<Job>>,
    writer: tokio::sync::Mutex<Kept>,
}

/// What the writer keeps between groups. Only the writer changes releases and extends the
/// audit chain, so its copies stay current for as long as its groups commit; a group that
/// fails forgets what it touched, and a writer that dies forgets everything.
#[derive(Default)]
pub(super) struct Kept {
    /// Releases that still change on their own, so a busy poll is not read back per click.
    releases: Releases,
    /// The audit chain's last row, so a group does not read it back.
    audit_head: Option<(i64, String)>,
    last_commit: Option<Instant>,
}

impl Kept {
    /// The standing of the poll on `id`, if the writer keeps the release.
    pub(super) fn tally(&self, id: ReleaseId) -> Option<&Tally> {
        self.releases.get(&id).map(|loaded| &loaded.tally)
    }
}

/// A writer that committed this recently is busy: a small group then waits [`GATHER`] for
/// the requests arriving behind it, since a group's commit costs about the same whatever its
/// size. An idle writer never waits.
const BUSY: Duration = Duration::from_millis(2);
const GATHER: Duration = Duration::from_micros(500);
/// A group at least this large is worth writing at once.
const FULL_GROUP: usize = 16;

pub(super) type Releases = FxHashMap<ReleaseId, Loaded>;

/// A release and the standing of its poll.
pub(super) struct Loaded {
    pub release: Release,
    pub tally: Tally,
}

/// A group's answers, one per job, in order; an `Err` here fails the whole group.
type Answers = Vec<Result<Done, UserError>>;

impl WriteQueue {
    /// What the writer keeps, once no group is being written: it then matches the database.
    pub(super) async fn between_groups(&self) -> tokio::sync::MutexGuard<'_, Kept> {
        self.writer.lock().await
    }

    fn push(&self, job: Job) -> anyhow::Result<()> {
        self.lock_pending()?.push(job);
        Ok(())
    }

    fn pending_len(&self) -> anyhow::Result<usize> {
        Ok(self.lock_pending()?.len())
    }

    fn take_pending(&self) -> anyhow::Result<Vec<Job>> {
        Ok(std::mem::take(&mut *self.lock_pending()?))
    }

    fn lock_pending(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Vec<Job>>> {
        self.pending
            .lock()
            .map_err(|_| anyhow::anyhow!("the write queue is poisoned"))
    }
}

impl Service {
    /// Writes `change` through the one write path and waits for its commit. `interaction` is
    /// the Discord interaction that asked for it, so a replay changes nothing.
    pub(super) async fn submit(&self, interaction: Option<u64>, change: Change) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.writes.push(Job {
            interaction,
            change,
            reply,
            queued_at: Instant::now(),
        })?;
        {
            // Whoever holds the writer lock writes everything queued so far: this request
            // too, unless an earlier writer already took it.
            let mut writer = self.writes.writer.lock().await;
            // Requests on their way join this group: while the writer is busy, those arriving
            // within `GATHER`; then those already read and being decoded on other tasks, which
            // get a scheduler turn first.
            let mut waiting = self.writes.pending_len()?;
            let busy = writer.last_commit.is_some_and(|at| at.elapsed() < BUSY);
            if busy && waiting > 0 && waiting < FULL_GROUP {
                tokio::time::sleep(GATHER).await;
                waiting = self.writes.pending_len()?;
            }
            while waiting > 0 {
                tokio::task::yield_now().await;
                let now_waiting = self.writes.pending_len()?;
                if now_waiting == waiting {
                    break;
                }
                waiting = now_waiting;
            }
            let jobs = self.writes.take_pending()?;
            if !jobs.is_empty() {
                let service = self.clone();
                let mut kept = std::mem::take(&mut *writer);
                // Spawned, so a dropped request cannot abandon the others of its group. If it
                // is dropped, the next writer starts with nothing kept and reads afresh; the
                // one writer connection still keeps the two groups apart.
                *writer = tokio::spawn(async move {
                    service.write_group(&mut kept, jobs).await;
                    kept
                })
                .await
                .context("The writer panicked")?;
            }
        }
        answer.await.context("The writer ended without an answer")?
    }

    async fn write_group(&self, kept: &mut Kept, jobs: Vec<Job>) {
        match self.try_group(kept, &jobs).await {
            Ok(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(Error::User));
                }
            }
            // One failing request must not fail the others: write each on its own.
            Err(_) if jobs.len() > 1 => {
                for job in jobs {
                    let answer = match self.try_group(kept, std::slice::from_ref(&job)).await {
                        Ok(mut answers) => answers.remove(0).map_err(Error::User),
                        Err(error) => Err(Error::Internal(error)),
                    };
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => {
                for job in jobs {
                    let copy = anyhow::anyhow!("{error:#}");
                    let _ = job.reply.send(Err(Error::Internal(copy)));
                }
            }
        }
    }

    async fn try_group(&self, kept: &mut Kept, jobs: &[Job]) -> anyhow::Result<Answers> {
        let mut touched = FxHashSet::default();
        let result = self
            .write_in_one_transaction(kept, &mut touched, jobs)
            .await;
        if result.is_err() {
            // The copies may hold changes that were rolled back.
            kept.releases.retain(|id, _| !touched.contains(id));
            kept.audit_head = None;
        }
        result
    }

    async fn write_in_one_transaction(
        &self,
        kept: &mut Kept,
        touched: &mut FxHashSet<ReleaseId>,
        jobs: &[Job],
    ) -> anyhow::Result<Answers> {
        let mut unit = Unit::begin(&self.db, self.now(), kept.audit_head.take()).await?;
        // Decided once per group, so a request is either written whole or not at all.
        let live: Vec<bool> = jobs.iter().map(|job| !job.is_abandoned()).collect();
        let ids: Vec<u64> = jobs
            .iter()
            .zip(&live)
            .filter(|(_, live)| **live)
            .filter_map(|(job, _)| job.interaction)
            .collect();
        // Recorded as handled up front, refused or not: a replay of a refused request must
        // not take effect later, once the state would let it. An id missing here was handled
        // before, or earlier in this group: either way a replay.
        let mut claimed = store::interactions::claim_all(&mut unit.tx, &ids, unit.now).await?;
        // The timers the group fires, read in one statement rather than a round trip each.
        let firing: Vec<&Timer> = jobs
            .iter()
            .filter_map(|job| match &job.change {
                Change::Timer { timer, .. } => Some(timer),
                _ => None,
            })
            .collect();
        let taken = store::timers::take_all(&mut unit.tx, &firing).await?;
        // The executor's last job of every release due a progress notice, in one statement.
        let ticking: Vec<ReleaseId> = firing
            .iter()
            .filter(|timer| timer.kind == TimerKind::ProgressTick)
            .map(|timer| timer.release_id)
            .collect();
        if !ticking.is_empty() {
            let mut last = store::executions::last_of(&mut unit.tx, &ticking).await?;
            for id in ticking {
                unit.last_actions.insert(id, last.remove(&id));
            }
        }
        let mut answers = Vec::with_capacity(jobs.len());
        for (job, live) in jobs.iter().zip(live) {
            if !live {
                answers.push(Err(UserError::TooLate));
                continue;
            }
            if let Some(id) = job.interaction {
                if !claimed.remove(&id) {
                    answers.push(Err(UserError::AlreadyHandled));
                    continue;
                }
            }
            let mut writer = Writer {
                service: self,
                unit: &mut unit,
                kept: &mut kept.releases,
                touched,
                taken: &taken,
            };
            answers.push(match writer.decide(job.interaction, &job.change).await {
                Ok(done) => Ok(done),
                Err(Error::User(refusal)) => Err(refusal),
                Err(Error::Internal(cause)) => return Err(cause),
            });
        }
        let (wake, audit_head) = unit.commit().await?;
        kept.audit_head = audit_head;
        kept.last_commit = Some(Instant::now());
        self.wake(wake);
        // Only releases that still change on their own are worth keeping in memory: open
        // polls take votes, rollouts take timer firings. At most one rollout per environment.
        kept.releases.retain(|_, loaded| {
            let state = loaded.release.state;
            state.is_open() || state.holds_deploy_lock()
        });
        Ok(answers)
    }
}

/// Decides one change inside its group's transaction.
pub(super) struct Writer<'a> {
    pub service: &'a Service,
    pub unit: &'a mut Unit,
    pub kept: &'a mut Releases,
    touched: &'a mut FxHashSet<ReleaseId>,
    /// The ids of the group's timers that were still due as read, and so fire.
    taken: &'a std::collections::HashSet<i64>,
}

impl Writer<'_> {
    async fn decide(&mut self, interaction: Option<u64>, change: &Change) -> Result<Done> {
        match change {
            Change::Plan { actor, request } => self.plan(actor, request).await,
            Change::Vote(request) => self.vote(interaction, request).await,
            Change::Cancel {
                actor,
                version,
                environment,
                reason,
            } => {
                self.cancel(actor, version, environment.as_deref(), reason)
                    .await
            }
            Change::Deploy(request) => self.deploy(request).await,
            Change::ActionDone {
                execution,
                outcome,
                output,
            } => self.action_done(execution, outcome, output).await,
            Change::Timer { timer, look } => {
                if !self.taken.contains(&timer.id) {
                    return Ok(Done::Fired);
                }
                self.load(timer.release_id).await?;
                if let Some(loaded) = self.kept.get_mut(&timer.release_id) {
                    let plan = self.service.deploy_plan();
                    let times = (timer.due_at, self.unit.now);
                    let fired = lifecycle::on_timer(
                        &loaded.release,
                        timer.kind,
                        plan,
                        times,
                        look.as_ref(),
                    );
                    if let Some(step) = fired {
                        apply(self.unit, &self.service.config, &loaded.release, &step).await?;
                        loaded.release = step.release;
                    }
                }
                Ok(Done::Fired)
            }
        }
    }

    async fn plan(&mut self, actor: &Actor, request: &PlanRequest) -> Result<Done> {
        let planners = &self.service.config.policies.planners;
        poll::may_plan(&actor.roles, planners).map_err(|r| refused(&request.version, r))?;
        // The lookup reads what this group has decided so far.
        self.unit.flush().await?;
        let same_version = store::releases::by_version(
            &mut *self.unit.tx,
            &request.version,
            Some(&request.environment),
        )
        .await?;
        if let Err(refusal) = lookup::ensure_unplanned(&same_version, &request.environment) {
            return Err(refused(&request.version, refusal).into());
        }
        let id = store::releases::next_id(&mut *self.unit.tx).await?;
        let config = &self.service.config;
        let mut step = poll::plan(
            id,
            request.clone(),
            actor.id,
            config.rollout.vote_ttl,
            self.unit.now,
        );
        // The sections its type requires now are the ones it must tick.
        let required = &config.policies.get(request.kind).checklist;
        let sections: Vec<_> = config
            .checklist
            .iter()
            .filter(|section| required.contains(&section.name))
            .collect();
        step.release.checklist = checklist::for_release(&sections);
        let stored = StoredRelease {
            release: step.release.clone(),
            author_name: actor.name.clone(),
            card_channel_id: config.channels.releases,
            card_message_id: None,
            thread_id: None,
            revision: 0,
        };
        store::releases::insert(&mut *self.unit.tx, &stored).await?;
        apply(self.unit, &self.service.config, &step.release, &step).await?;
        Ok(Done::Planned(stored))
    }

    async fn vote(&mut self, interaction: Option<u64>, request: &VoteRequest) -> Result<Done> {
        let VoteRequest {
            actor,
            release,
            choice,
            reason,
        } = request;
        let (release, choice) = (*release, *choice);
        let service = self.service;
        let now = self.unit.now;
        self.catch_up(release).await?;
        let Some(loaded) = self.kept.get_mut(&release) else {
            return Err(UserError::StaleCard.into());
        };
        let ballot = Ballot {
            voter: actor.id,
            voter_name: actor.name.clone(),
            roles: actor.roles.clone(),
            choice,
            reason: reason.clone(),
            at: now,
        };
        let policy = service.config.policies.get(loaded.release.kind);
        let mut step = match poll::vote(&loaded.release, policy, &mut loaded.tally, &ballot, now) {
            Ok(step) => step,
            Err(refusal) => return Err(refused(&loaded.release.version, refusal).into()),
        };
        contract::fix_on_approval(&mut step, service.contract_for(loaded.release.kind));
        if let Some(ballot) = &step.ballot {
            self.unit.record_vote(NewVote {
                release,
                ballot: ballot.clone(),
                interaction_id: interaction,
            });
        }
        apply(self.unit, &self.service.config, &loaded.release, &step).await?;
        let changed = step.ballot.is_some();
        loaded.release = step.release;
        Ok(Done::Voted(VoteResult {
            release: loaded.release.clone(),
            choice,
            changed,
        }))
    }

    async fn cancel(
        &mut self,
        actor: &Actor,
        version: &Version,
        environment: Option<&str>,
        reason: &str,
    ) -> Result<Done> {
        self.unit.flush().await?;
        let found = store::releases::by_version(&mut *self.unit.tx, version, environment).await?;
        let id = match lookup::pick(found, environment) {
            Ok(stored) => stored.release.id,
            Err(refusal) => return Err(refused(version, refusal).into()),
        };
        let now = self.unit.now;
        self.catch_up(id).await?;
        let Some(loaded) = self.kept.get_mut(&id) else {
            return Err(refused(version, Refusal::UnknownRelease).into());
        };
        let step = match poll::cancel(
            &loaded.release,
            actor.id,
            &actor.name,
            &actor.roles,
            reason,
            now,
        ) {
            Ok(step) => step,
            Err(refusal) => return Err(refused(version, refusal).into()),
        };
        apply(self.unit, &self.service.config, &loaded.release, &step).await?;
        loaded.release = step.release;
        Ok(Done::Cancelled(loaded.release.clone()))
    }

    /// Brings the kept release up to date with whatever time alone has made due: a poll
    /// past its time to live expires here, before any request is decided against it.
    pub(super) async fn catch_up(&mut self, id: ReleaseId) -> anyhow::Result<()> {
        self.load(id).await?;
        let Some(loaded) = self.kept.get_mut(&id) else {
            return Ok(());
        };
        if let Some(step) = lifecycle::catch_up(&loaded.release, self.unit.now) {
            apply(self.unit, &self.service.config, &loaded.release, &step).await?;
            loaded.release = step.release;
        }
        Ok(())
    }

    /// The kept copy of a release, read from the database when it is not kept.
    pub(super) async fn load(&mut self, id: ReleaseId) -> anyhow::Result<()> {
        if self.touched.insert(id) && !self.kept.contains_key(&id) {
            let tx = &mut *self.unit.tx;
            if let Some(stored) = store::releases::get(&mut *tx, id).await? {
                let policy = self.service.config.policies.get(stored.release.kind);
                let loaded = Loaded {
                    tally: store::votes::tally(&mut *tx, &stored.release, policy).await?,
                    release: stored.release,
                };
                self.kept.insert(id, loaded);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::{Role, UserId};
    use crate::messages::Messages;

    const CONFIG: &str = r#"
[discord]
application_id = "123456789012345678"
public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
guild_id = "234567890123456780"
[channels]
releases = "345678901234567890"
[roles]
lead = "500000000000000001"
security = "500000000000000002"
team = "500000000000000003"
exec = "500000000000000004"
"#;

    fn plan(version: &str, kind: &str) -> Change {
        Change::Plan {
            actor: Actor {
                id: UserId(7),
                name: "The author".into(),
                roles: vec![Role::Lead],
            },
            request: PlanRequest::parse(version, kind, "x", None, None).unwrap(),
        }
    }

    fn service_on(db: crate::store::Db) -> Service {
        let env = [("GONOGO_DISCORD__TOKEN", "t")];
        let config = Arc::new(crate::config::load_from_str(CONFIG, &env).unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        ));
        Service::new(db, config, clock, Arc::new(Messages::embedded()))
    }

    #[tokio::test]
    async fn a_card_from_the_writers_standing_is_the_card_counted_from_the_votes() {
        let (db, _dir) = crate::store::test_db().await;
        let service = service_on(db.clone());
        let Ok(Done::Planned(planned)) = service.submit(Some(1), plan("7.0.0", "major")).await
        else {
            panic!("the release is planned");
        };
        let id = planned.release.id;
        for n in 0..3 {
            let vote = Change::Vote(VoteRequest {
                actor: Actor {
                    id: UserId(100 + n),
                    name: format!("Voter {n}"),
                    roles: vec![Role::Team],
                },
                release: id,
                choice: Choice::Go,
                reason: None,
            });
            let voted = service.submit(Some(10 + n), vote).await;
            assert!(matches!(voted, Ok(Done::Voted(_))), "vote {n} is accepted");
        }
        assert!(service.writes.between_groups().await.tally(id).is_some());
        let (revision, from_writer) = service.card_snapshot(id).await.unwrap().unwrap();

        // A service that keeps nothing counts the votes from the database.
        let counted = service_on(db);
        assert!(counted.writes.between_groups().await.tally(id).is_none());
        let (read_revision, from_votes) = counted.card_snapshot(id).await.unwrap().unwrap();

        assert_eq!(revision, read_revision);
        let names: Vec<&str> = from_writer.votes.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["Voter 0", "Voter 1", "Voter 2"]);
        assert_eq!(
            serde_json::to_value(&from_writer).unwrap(),
            serde_json::to_value(&from_votes).unwrap()
        );
    }

    #[tokio::test]
    async fn a_request_queued_past_discords_deadline_is_discarded_unwritten() {
        let (db, _dir) = crate::store::test_db().await;
        let service = service_on(db);

        let (stale_reply, stale_answer) = oneshot::channel();
        let waited = Instant::now()
            .checked_sub(INTERACTION_DEADLINE + Duration::from_millis(1))
            .unwrap();
        service
            .writes
            .push(Job {
                interaction: Some(1),
                change: plan("1.0.0", "patch"),
                reply: stale_reply,
                queued_at: waited,
            })
            .unwrap();
        let (gone_reply, gone_answer) = oneshot::channel();
        drop(gone_answer);
        service
            .writes
            .push(Job {
                interaction: Some(2),
                change: plan("2.0.0", "patch"),
                reply: gone_reply,
                queued_at: Instant::now(),
            })
            .unwrap();
        let fresh = service.submit(Some(3), plan("3.0.0", "patch")).await;
        assert!(matches!(fresh, Ok(Done::Planned(_))));
        assert!(matches!(
            stale_answer.await.unwrap(),
            Err(Error::User(UserError::TooLate))
        ));
        let versions: Vec<String> = sqlx::query_scalar("SELECT version FROM releases")
            .fetch_all(service.db.reader())
            .await
            .unwrap();
        assert_eq!(versions, ["3.0.0"]);
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM interactions")
            .fetch_all(service.db.reader())
            .await
            .unwrap();
        assert_eq!(ids, [3]);
    }
}
