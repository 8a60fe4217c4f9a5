//! Counters of Discord's answers worth watching, counted by the REST client and read by the
//! metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Discord's answers worth watching: Discord bans an address that makes 10,000 invalid
/// requests (401, 403, 429) in 10 minutes.
#[derive(Debug, Default)]
pub struct DiscordAnswers {
    unauthorized: AtomicU64,
    forbidden: AtomicU64,
    rate_limited: AtomicU64,
}

impl DiscordAnswers {
    /// Counts an answer with this status, if it is one of those watched.
    pub fn count(&self, status: u16) {
        let counter = match status {
            401 => &self.unauthorized,
            403 => &self.forbidden,
            429 => &self.rate_limited,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Each watched status with its count so far.
    pub fn each(&self) -> [(&'static str, u64); 3] {
        [
            ("401", self.unauthorized.load(Ordering::Relaxed)),
            ("403", self.forbidden.load(Ordering::Relaxed)),
            ("429", self.rate_limited.load(Ordering::Relaxed)),
        ]
    }
}
