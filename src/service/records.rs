//! The writes that move no release, as the write path takes them: what the doors and loops
//! ask to record, and how a delivery came out.

use chrono::{DateTime, Utc};

use crate::store::outbox::OutboxRow;

/// A write that moves no release.
pub(super) enum Record {
    /// An interaction refused before it reached the write path: claiming its id is all.
    Refused,
    /// An executor job starts: committed before it runs, so a crash leaves its outcome
    /// unknown rather than letting it run again.
    JobStarted(i64),
    /// A job that was running when gonogo stopped: a command's outcome is now unknown; a
    /// webhook is queued again under the same key.
    JobOrphaned { job: i64, unknown: bool },
    /// What became of a pass of deliveries, all settled together.
    Deliveries(Vec<(OutboxRow, Settlement)>),
    /// A timer whose firing failed, set aside until `until`.
    Postpone { timer: i64, until: DateTime<Utc> },
    /// Appends an event that says the audit key was adopted, unless the chain's newest row
    /// is keyed already.
    AdoptAuditKey,
    /// Forgets handled interaction ids and delivered messages older than these.
    Prune {
        interactions: DateTime<Utc>,
        delivered: DateTime<Utc>,
    },
}

impl Record {
    /// Whether it is a decision of the leader's loops, fenced by its term: a job's start, a
    /// job given up as orphaned, a timer set aside, a pruning. How deliveries came out is a
    /// fact, recorded under any term.
    pub(super) fn runs_on_leader(&self) -> bool {
        match self {
            Record::JobStarted(_)
            | Record::JobOrphaned { .. }
            | Record::Postpone { .. }
            | Record::Prune { .. } => true,
            Record::Refused | Record::AdoptAuditKey | Record::Deliveries(_) => false,
        }
    }
}

/// What became of one row's delivery, settled with the others of its pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    Sent,
    /// The card went out; its message id is stored with the row's completion.
    CardPosted(u64),
    ThreadOpened(u64),
    /// The card was edited as of this revision: done only if nothing changed since.
    Refreshed(i64),
    /// Tried again at this time; when it failed (rather than waited out a rate limit), the
    /// time of the failure, which starts the row's failing streak if none is running.
    RetryAt(DateTime<Utc>, Option<DateTime<Utc>>, String),
    /// A global rate limit: this row and every other wait until then.
    PauseAll(DateTime<Utc>, String),
    /// Refused in a way that can never succeed, or failing long after its release ended.
    Parked(String),
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::Record;

    #[test]
    fn the_leaders_decisions_are_fenced_and_what_already_happened_is_not() {
        let now = Utc::now();
        let decisions = [
            Record::JobStarted(1),
            Record::JobOrphaned {
                job: 1,
                unknown: true,
            },
            Record::Postpone {
                timer: 1,
                until: now,
            },
            Record::Prune {
                interactions: now,
                delivered: now,
            },
        ];
        assert!(decisions.iter().all(Record::runs_on_leader));
        let facts = [
            Record::Deliveries(Vec::new()),
            Record::Refused,
            Record::AdoptAuditKey,
        ];
        assert!(!facts.iter().any(Record::runs_on_leader));
    }
}
