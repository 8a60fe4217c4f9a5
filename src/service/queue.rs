//! The write path's queue: requests that arrive together form a group that one writer takes
//! and writes in one transaction, so a group's commit serves them all. A request Discord has
//! stopped waiting for is discarded unwritten.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::error::{Error, Result, UserError};
use super::writer::{Change, Done, Kept, Request};
use super::Service;

/// One request waiting for its group's commit.
pub(super) struct Job {
    interaction: Option<u64>,
    /// The term background work was asked under: refused under a newer one.
    term: Option<i64>,
    change: Change,
    reply: oneshot::Sender<Result<Done>>,
    queued_at: Instant,
}

/// Discord stops waiting for an interaction's answer after 3 seconds. A request still queued by
/// then, or whose HTTP request was dropped, is discarded unwritten: nobody can be told of it.
const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

impl Job {
    /// The job as the writer takes it. Whether it is abandoned is decided here, once per
    /// group, so a request is either written whole or not at all.
    fn request(&self) -> Request<'_> {
        Request {
            interaction: self.interaction,
            term: self.term,
            change: &self.change,
            live: !self.is_abandoned(),
        }
    }

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

/// A writer that committed this recently is busy: a small group then waits [`GATHER`] for
/// the requests arriving behind it, since a group's commit costs about the same whatever its
/// size. An idle writer never waits.
const BUSY: Duration = Duration::from_millis(2);
const GATHER: Duration = Duration::from_micros(500);
/// A group at least this large is worth writing at once.
const FULL_GROUP: usize = 16;

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
        let term = if change.runs_on_leader() {
            // A replica that does not lead asks nothing of the kind.
            let term = self.leadership.term().ok_or(UserError::Fenced {
                term: None,
                current: self.leadership.known_term(),
            })?;
            Some(term)
        } else {
            None
        };
        let (reply, answer) = oneshot::channel();
        self.writes.push(Job {
            interaction,
            term,
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
            let busy = writer.committed_within(BUSY);
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
        let requests: Vec<Request<'_>> = jobs.iter().map(Job::request).collect();
        match self.try_group(kept, &requests).await {
            Ok(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(Error::User));
                }
            }
            // One failing request must not fail the others: write each on its own.
            Err(_) if jobs.len() > 1 => {
                for job in jobs {
                    let answer = match self.try_group(kept, &[job.request()]).await {
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::{Choice, PlanRequest};
    use crate::domain::{Role, UserId};
    use crate::messages::Messages;
    use crate::service::writer::VoteRequest;
    use crate::service::Actor;

    fn plan(version: &str, kind: &str) -> Change {
        Change::Plan {
            actor: Actor {
                id: UserId(7),
                name: "The author".into(),
                roles: vec![Role::Lead],
            },
            request: Box::new(PlanRequest::parse(version, kind, "x", None, None).unwrap()),
        }
    }

    fn service_on(db: crate::store::Db) -> Service {
        let env = [("GONOGO_DISCORD__TOKEN", "t")];
        let minimal = crate::config::tests::minimal();
        let config = Arc::new(crate::config::load_from_str(&minimal, &env).unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        ));
        Service::new(db, config, clock, Arc::new(Messages::embedded()), None)
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
                term: None,
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
                term: None,
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
        let listed = service.list().await.unwrap();
        let versions: Vec<String> = listed
            .iter()
            .map(|s| s.release.version.to_string())
            .collect();
        assert_eq!(versions, ["3.0.0"]);
        // Only the written request's interaction was claimed: a replay of it changes nothing,
        // while the discarded ones were never handled.
        let replay = service.submit(Some(3), plan("4.0.0", "patch")).await;
        assert!(matches!(
            replay,
            Err(Error::User(UserError::AlreadyHandled))
        ));
        for discarded in [1, 2] {
            let again = service
                .submit(Some(discarded), plan(&format!("{discarded}.1.0"), "patch"))
                .await;
            assert!(
                matches!(again, Ok(Done::Planned(_))),
                "interaction {discarded} was never claimed"
            );
        }
    }
}
