//! The write path's writer: each group goes load → decide in the domain → apply → commit,
//! in one transaction, each request decided in arrival order against the state its
//! predecessors left. The writer keeps the releases that still change between groups.

use rustc_hash::{FxHashMap, FxHashSet};
use tokio::time::Instant;

use super::apply::apply;
use super::error::{refused, Error, Result, UserError};
use super::lookups::Lookups;
use super::records::Record;
use super::unit::Unit;
use super::{Actor, Service, VoteResult};
use crate::domain::checklist;
use crate::domain::gates::Look;
use crate::domain::lifecycle::inputs::Outcome;
use crate::domain::lifecycle::inputs::Person;
use crate::domain::lifecycle::{self, poll, promote};
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
        request: Box<PlanRequest>,
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
    /// A write that moves no release.
    Record(Record),
    /// The Promote button of a completed release: plans it in the next environment.
    Promote {
        actor: Actor,
        from: ReleaseId,
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
    /// Someone is on call for the verification.
    ClaimOnCall,
    /// A pipeline reports on a checklist item.
    Check {
        item: String,
        passed: bool,
        url: Option<String>,
    },
    /// Checklist section `section` set to exactly the `selected` items ticked.
    Tick {
        section: usize,
        selected: Vec<usize>,
        reason: Option<String>,
    },
}

impl Change {
    /// Whether the change is a decision of the leader's background work, such as a timer
    /// firing or an executor job's start: it carries the term it was asked under. The outcome
    /// of what already happened (a job that finished, a message Discord took) is a fact,
    /// recorded under any term: refused, it would have the next leader do it again.
    pub(super) fn runs_on_leader(&self) -> bool {
        match self {
            Change::Timer { .. } => true,
            Change::Record(record) => record.runs_on_leader(),
            _ => false,
        }
    }
}

/// A Go click, or a No-Go with its reason.
pub(super) struct VoteRequest {
    pub actor: Actor,
    pub release: ReleaseId,
    pub choice: Choice,
    pub reason: Option<String>,
}

/// A request as the writer takes it.
pub(super) struct Request<'a> {
    /// The Discord interaction that asked for it, so a replay changes nothing.
    pub interaction: Option<u64>,
    /// The term background work was asked under.
    pub term: Option<i64>,
    pub change: &'a Change,
    /// Whether anyone still waits for its answer; one nobody waits for is not written.
    pub live: bool,
}

/// What a change did.
pub(super) enum Done {
    Planned(StoredRelease),
    /// A pipeline's plan that an earlier identical one already made: that release.
    Replanned(StoredRelease),
    Voted(VoteResult),
    Cancelled(Release),
    /// The release after a deploy-phase request.
    Deployed(Release),
    Fired,
    /// A record written, with the rows it changed.
    Recorded(u64),
}

/// A group's answers, one per job, in order; an `Err` here fails the whole group.
pub(super) type Answers = Vec<Result<Done, UserError>>;

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
    /// Whether the writer committed a group within `recently`.
    pub(super) fn committed_within(&self, recently: std::time::Duration) -> bool {
        self.last_commit.is_some_and(|at| at.elapsed() < recently)
    }

    /// The standing of the poll on `id`, if the writer keeps the release.
    pub(super) fn tally(&self, id: ReleaseId) -> Option<&Tally> {
        self.releases.get(&id).map(|loaded| &loaded.tally)
    }
}

pub(super) type Releases = FxHashMap<ReleaseId, Loaded>;

/// A release and the standing of its poll.
pub(super) struct Loaded {
    pub release: Release,
    pub tally: Tally,
    /// Where the tally stands among the stored votes, so it can catch up with the votes other
    /// replicas stored since.
    pub counted: store::votes::Counted,
}

impl Service {
    /// Writes a group in one transaction; a group that fails forgets what it touched.
    pub(super) async fn try_group(
        &self,
        kept: &mut Kept,
        jobs: &[Request<'_>],
    ) -> anyhow::Result<Answers> {
        let mut touched = FxHashSet::default();
        if self.db.shared() {
            // Other replicas extend the chain too: its head is read under the write lock.
            kept.audit_head = None;
        }
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
        jobs: &[Request<'_>],
    ) -> anyhow::Result<Answers> {
        let mut unit = Unit::begin(&self.db, self.now(), kept.audit_head.take()).await?;
        let live: Vec<bool> = jobs.iter().map(|job| job.live).collect();
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
        // Background work is written only under the term it was asked under; the write lock
        // the group holds keeps a takeover from raising the term before the group commits.
        let term_now = if jobs.iter().any(|job| job.term.is_some()) {
            Some(store::lease::current_term(&mut *unit.tx).await?)
        } else {
            None
        };
        let fenced = |job: &Request<'_>| match (job.term, term_now) {
            (Some(term), Some(current)) => (term != current).then_some(UserError::Fenced {
                term: Some(term),
                current,
            }),
            _ => None,
        };
        // The timers the group fires, read in one statement rather than a round trip each.
        let firing: Vec<&Timer> = jobs
            .iter()
            .filter(|job| fenced(job).is_none())
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
        let decided: Vec<&Change> = jobs
            .iter()
            .zip(&live)
            .filter(|(job, live)| **live && fenced(job).is_none())
            .map(|(job, _)| job.change)
            .collect();
        let lookups = self
            .read_ahead(&mut unit, kept, touched, &taken, &decided)
            .await?;
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
            if let Some(refusal) = fenced(job) {
                answers.push(Err(refusal));
                continue;
            }
            let mut writer = Writer {
                service: self,
                unit: &mut unit,
                kept: &mut kept.releases,
                touched,
                lookups: &lookups,
                taken: &taken,
            };
            answers.push(match writer.decide(job.interaction, job.change).await {
                Ok(done) => Ok(done),
                Err(Error::User(refusal)) => Err(refusal),
                Err(Error::Internal(cause)) => return Err(cause),
            });
        }
        let (wake, audit_head) = unit.commit().await?;
        kept.audit_head = audit_head;
        kept.last_commit = Some(Instant::now());
        self.wake(wake);
        self.changes.publish(touched.iter().filter_map(|id| {
            let loaded = kept.releases.get(id)?;
            Some((*id, loaded.release.state))
        }));
        // Only releases that still change on their own are worth keeping in memory: open
        // polls take votes, rollouts take timer firings. At most one rollout per environment.
        kept.releases.retain(|_, loaded| {
            let state = loaded.release.state;
            state.is_open() || state.holds_deploy_lock()
        });
        Ok(answers)
    }
}

impl Service {
    /// Reads what a group's changes are about before deciding any, a statement for all of
    /// them rather than a round trip each: every release of the versions its requests name;
    /// the releases its clicks, card buttons, firing timers and those lookups mean; then the
    /// deploy locks its deploys may take.
    async fn read_ahead(
        &self,
        unit: &mut Unit,
        kept: &mut Kept,
        touched: &mut FxHashSet<ReleaseId>,
        taken: &std::collections::HashSet<i64>,
        decided: &[&Change],
    ) -> anyhow::Result<Lookups> {
        let mut about: Vec<ReleaseId> = decided
            .iter()
            .filter_map(|change| match change {
                Change::Vote(request) => Some(request.release),
                Change::Deploy(DeployRequest {
                    target: Target::Card(id),
                    ..
                }) => Some(*id),
                Change::Timer { timer, .. } if taken.contains(&timer.id) => Some(timer.release_id),
                _ => None,
            })
            .collect();
        let named: Vec<(Version, Option<&str>)> = decided
            .iter()
            .filter_map(|change| match change {
                Change::Deploy(DeployRequest {
                    target:
                        Target::Version {
                            version,
                            environment,
                        },
                    ..
                }) => Some((Version::parse(version).ok()?, environment.as_deref())),
                Change::Cancel {
                    version,
                    environment,
                    ..
                } => Some((version.clone(), environment.as_deref())),
                _ => None,
            })
            .collect();
        let mut lookups = Lookups::default();
        about.extend(lookups.read_versions(&mut unit.tx, &named).await?);
        Writer {
            service: self,
            unit: &mut *unit,
            kept: &mut kept.releases,
            touched,
            lookups: &lookups,
            taken,
        }
        .load_all(&about)
        .await?;
        // The environments of the releases the group's deploys start.
        let starting = decided.iter().filter_map(|change| match change {
            Change::Deploy(request) if request.ask == Ask::Start => match &request.target {
                Target::Card(id) => Some(*id),
                Target::Version {
                    version,
                    environment,
                } => lookups.pick(&Version::parse(version).ok()?, environment.as_deref()),
                Target::Running { .. } => None,
            },
            _ => None,
        });
        let environments = starting
            .filter_map(|id| Some(kept.releases.get(&id)?.release.environment.clone()))
            .collect();
        lookups.read_holding(&mut unit.tx, environments).await?;
        Ok(lookups)
    }
}

/// Decides one change inside its group's transaction.
pub(super) struct Writer<'a> {
    pub service: &'a Service,
    pub unit: &'a mut Unit,
    pub kept: &'a mut Releases,
    pub(super) touched: &'a mut FxHashSet<ReleaseId>,
    /// What the group's lookups by version and by deploy lock read as it began.
    pub(super) lookups: &'a Lookups,
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
            Change::Record(record) => self.record(record).await,
            Change::Promote { actor, from } => self.promote(actor, *from).await,
            Change::Timer { timer, look } => {
                if !self.taken.contains(&timer.id) {
                    return Ok(Done::Fired);
                }
                self.load(timer.release_id).await?;
                if let Some(loaded) = self.kept.get_mut(&timer.release_id) {
                    let plan = self.service.deploy_plan(&loaded.release.environment);
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
        if let Some(done) = self.planned_before(actor, request).await? {
            return Ok(done);
        }
        let same_version = store::releases::by_version(
            &mut *self.unit.tx,
            &request.version,
            Some(&request.environment),
        )
        .await?;
        if request.origin.token.is_some() {
            if let Some(earlier) = lookup::same_plan(&same_version, request, actor.id) {
                return Ok(Done::Replanned(earlier.clone()));
            }
        }
        if let Err(refusal) = lookup::ensure_unplanned(&same_version, &request.environment) {
            return Err(refused(&request.version, refusal).into());
        }
        let stored = self.insert_planned(actor, request).await?;
        Ok(Done::Planned(stored))
    }

    /// Records a release planned by `actor`, with its card, thread and expiry queued: held
    /// to a poll, or approved at once where its environment takes none.
    pub(super) async fn insert_planned(
        &mut self,
        actor: &Actor,
        request: &PlanRequest,
    ) -> Result<StoredRelease> {
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
        step.release.checklist = checklist::for_release(&config.checklist, required);
        if config
            .environment(&request.environment)
            .is_some_and(|environment| !environment.approval)
        {
            step = poll::approve_without_poll(step, self.unit.now);
            let contract = self
                .service
                .contract_for(request.kind, &request.environment)?;
            poll::fix_on_approval(&mut step, contract);
        }
        let stored = StoredRelease {
            release: step.release.clone(),
            author_name: actor.name.clone(),
            card_channel_id: config.channels.releases,
            card_message_id: None,
            thread_id: None,
            revision: 0,
        };
        store::releases::insert(&mut self.unit.tx, &stored).await?;
        apply(self.unit, &self.service.config, &step.release, &step).await?;
        // The group's lookups find it by its copy, as they find every release it changed.
        let policy = config.policies.get(request.kind);
        self.touched.insert(id);
        self.kept.insert(
            id,
            Loaded {
                tally: Tally::new(policy, stored.release.author),
                release: step.release,
                counted: store::votes::Counted::default(),
            },
        );
        Ok(stored)
    }

    /// Plans release `from` again in its environment's `next`, with the evidence of how it
    /// went there.
    async fn promote(&mut self, actor: &Actor, from: ReleaseId) -> Result<Done> {
        self.unit.flush().await?;
        let Some(stored) = store::releases::get(&mut *self.unit.tx, from).await? else {
            return Err(UserError::StaleCard.into());
        };
        let release = stored.release;
        let config = &self.service.config;
        let next = config
            .environment(&release.environment)
            .and_then(|settings| settings.next.clone());
        let Some(next) = next else {
            let refusal = Refusal::CannotPromote {
                state: release.state,
            };
            return Err(refused(&release.version, refusal).into());
        };
        let in_next =
            store::releases::by_version(&mut *self.unit.tx, &release.version, Some(&next)).await?;
        let plan = self.service.deploy_plan(&release.environment);
        let gates = release
            .deployment
            .as_ref()
            .and_then(|d| plan.gates?.view(&d.watch));
        let by = Person {
            id: actor.id,
            name: &actor.name,
            roles: &actor.roles,
        };
        let request = promote::promotion(&release, &next, by, &in_next, gates)
            .map_err(|refusal| refused(&release.version, refusal))?;
        Ok(Done::Planned(self.insert_planned(actor, &request).await?))
    }

    /// The release a pipeline's `Idempotency-Key` already planned: the same release when the
    /// request is the same, a refusal when the key was used for another.
    async fn planned_before(
        &mut self,
        actor: &Actor,
        request: &PlanRequest,
    ) -> Result<Option<Done>> {
        let (Some(token), Some(key)) = (&request.origin.token, &request.origin.idempotency_key)
        else {
            return Ok(None);
        };
        let Some(earlier) =
            store::releases::by_idempotency_key(&mut *self.unit.tx, token, key).await?
        else {
            return Ok(None);
        };
        if lookup::is_same_plan(&earlier.release, request, actor.id) {
            return Ok(Some(Done::Replanned(earlier)));
        }
        let r = &earlier.release;
        Err(UserError::InvalidInput(format!(
            "this Idempotency-Key already planned release {} ({} in {}) with other fields; \
             send a new key for a new plan",
            r.id.0, r.version, r.environment
        ))
        .into())
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
        if poll::awaits_contract(&step) {
            let contract =
                service.contract_for(loaded.release.kind, &loaded.release.environment)?;
            poll::fix_on_approval(&mut step, contract);
        }
        if let Some(ballot) = &step.ballot {
            loaded.counted.stored_since += 1;
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
        let found = self.releases_of(version, environment).await?;
        let id = match lookup::pick(found, environment) {
            Ok(release) => release.id,
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
        self.load_all(&[id]).await
    }

    /// The kept copies of releases, those not kept read from the database in one statement.
    /// When other replicas share the database, kept copies are read again, their rows locked,
    /// and the tally of an open poll catches up with the votes stored since. Each release is
    /// read once per group: what the group decided since lives in its copy.
    pub(super) async fn load_all(&mut self, ids: &[ReleaseId]) -> anyhow::Result<()> {
        let shared = self.service.db.shared();
        let wanted: Vec<ReleaseId> = ids
            .iter()
            .copied()
            .filter(|id| self.touched.insert(*id))
            .filter(|id| shared || !self.kept.contains_key(id))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // The releases and the votes stored since on those polling, in one round trip.
        let since: Vec<(ReleaseId, i64)> = wanted
            .iter()
            .map(|id| (*id, self.kept.get(id).map_or(0, |l| l.counted.last_id)))
            .collect();
        let mut read = store::batch::Batch::new();
        store::releases::lock_all(&mut read, self.unit.backend, &wanted);
        store::votes::select_since(&mut read, &since);
        let rows = read.run(&mut self.unit.tx).await?;
        let found = store::releases::read_rows(&rows)?;
        let mut gone: FxHashSet<ReleaseId> = wanted.into_iter().collect();
        // A rollout's timers fire many times, and nothing reads its poll's standing again
        // once it has started: its approvers were named in the start notice.
        let mut polls = FxHashSet::default();
        for stored in found {
            let id = stored.release.id;
            gone.remove(&id);
            let policy = self.service.config.policies.get(stored.release.kind);
            let loaded = self.kept.entry(id).or_insert_with(|| Loaded {
                tally: Tally::new(policy, stored.release.author),
                release: stored.release.clone(),
                counted: store::votes::Counted::default(),
            });
            loaded.release = stored.release;
            if !loaded.release.state.holds_deploy_lock() {
                polls.insert(id);
            }
        }
        for id in gone {
            self.kept.remove(&id);
        }
        if polls.is_empty() {
            return Ok(());
        }
        let mut catching: Vec<store::votes::Catching<'_>> = self
            .kept
            .iter_mut()
            .filter(|(id, _)| polls.contains(*id))
            .map(|(id, loaded)| store::votes::Catching {
                release: *id,
                tally: &mut loaded.tally,
                counted: &mut loaded.counted,
            })
            .collect();
        store::votes::cast_rows(&rows, &mut catching)?;
        Ok(())
    }
}
