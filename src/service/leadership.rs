//! Whether this replica leads, and under which term: claimed from the lease in the database
//! every second, and believed here only until the lease would have run out, on this process's
//! own monotonic clock, which keeps running while the process is stopped.

use std::time::{Duration, Instant};

use rand::Rng as _;
use tokio::sync::watch;

use super::Service;
use crate::store;

/// How long a claimed lease is valid.
pub const LEASE_VALID: Duration = Duration::from_secs(4);
/// How often the lease is renewed, or looked at by a follower.
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);
/// Given up this long before the lease's end, for the time the claim took to reach the
/// database.
const MARGIN: Duration = Duration::from_millis(500);

/// This replica's standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Standing {
    /// The newest term this replica has seen.
    term: i64,
    /// Until when this replica leads under `term`, if it does.
    leads_until: Option<Instant>,
}

pub struct Leadership {
    /// Who this replica is in the lease: unique per process.
    holder: String,
    standing: watch::Sender<Standing>,
}

impl Default for Leadership {
    fn default() -> Leadership {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Leadership {
            holder: format!(
                "{}-{}-{:08x}",
                host.trim(),
                std::process::id(),
                rand::thread_rng().gen::<u32>()
            ),
            standing: watch::Sender::new(Standing::default()),
        }
    }
}

impl Leadership {
    /// The term this replica leads under, while its lease lasts.
    pub fn term(&self) -> Option<i64> {
        let standing = *self.standing.borrow();
        let until = standing.leads_until?;
        (Instant::now() < until).then_some(standing.term)
    }

    /// The newest term seen, led by this replica or another.
    pub fn known_term(&self) -> i64 {
        self.standing.borrow().term
    }

    fn record(&self, lease: store::lease::Lease, asked_at: Instant) {
        let leads_until = lease
            .held
            .then(|| asked_at + LEASE_VALID.saturating_sub(MARGIN));
        self.standing.send_replace(Standing {
            term: lease.term,
            leads_until,
        });
    }

    fn lose(&self) {
        self.standing
            .send_modify(|standing| standing.leads_until = None);
    }

    /// Waits until this replica leads; `false` when `stop` came first.
    pub async fn until_leading(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut standing = self.standing.subscribe();
        loop {
            if *stop.borrow() {
                return false;
            }
            if self.term().is_some() {
                return true;
            }
            tokio::select! {
                _ = standing.changed() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Returns once this replica no longer leads under `term`.
    pub async fn until_term_over(&self, term: i64) {
        let mut standing = self.standing.subscribe();
        loop {
            let until = match self.term() {
                Some(now) if now == term => standing.borrow().leads_until,
                _ => return,
            };
            let Some(until) = until else { return };
            tokio::select! {
                _ = standing.changed() => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }
}

impl Service {
    /// Whether this replica leads, and the term it knows: `/healthz` and `/metrics`.
    pub fn leader(&self) -> (bool, i64) {
        (
            self.leadership.term().is_some(),
            self.leadership.known_term(),
        )
    }

    /// Renews this replica's lease, or takes it over once it has expired. A replica that
    /// cannot reach the database stops leading.
    pub async fn claim_lease(&self) -> anyhow::Result<()> {
        let asked_at = Instant::now();
        let valid_ms = i64::try_from(LEASE_VALID.as_millis()).unwrap_or(i64::MAX);
        let claimed = store::lease::claim(
            &self.db,
            &self.leadership.holder,
            self.leadership.term(),
            valid_ms,
        )
        .await;
        match claimed {
            Ok(lease) => {
                let before = self.leadership.term();
                self.leadership.record(lease, asked_at);
                match (before, lease.held) {
                    (None, true) => tracing::info!(term = lease.term, "This replica leads"),
                    (Some(_), false) => tracing::warn!(
                        term = lease.term,
                        "This replica no longer leads: another took the lease"
                    ),
                    _ => {}
                }
                Ok(())
            }
            Err(cause) => {
                if self.leadership.term().is_some() {
                    self.leadership.lose();
                    tracing::warn!("This replica stops leading: it cannot renew its lease");
                }
                Err(cause)
            }
        }
    }

    /// Gives the lease up on shutdown, so another replica takes over at once.
    pub async fn release_lease(&self) {
        if let Some(term) = self.leadership.term() {
            self.leadership.lose();
            if let Err(cause) = store::lease::release(&self.db, &self.leadership.holder, term).await
            {
                tracing::warn!("Cannot give the lease up: {cause:#}");
            }
        }
    }

    /// The lease's standing, for the loops that run only on the leader.
    pub fn leadership(&self) -> &Leadership {
        &self.leadership
    }
}
