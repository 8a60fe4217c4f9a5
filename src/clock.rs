//! Injected time: the system clock in production, a hand-driven clock in tests.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// A source of `now` that can also wait until a given moment.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to, so tests can cross 24 hours without waiting.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
    /// How many sleeps began for each instant: a test's positive sign that a loop has
    /// looked at its work and gone back to waiting for that moment.
    sleeps: Arc<Mutex<HashMap<DateTime<Utc>, u64>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(watch::Sender::new(start)),
            sleeps: Arc::default(),
        }
    }

    pub fn advance(&self, by: TimeDelta) {
        self.now.send_modify(|now| *now += by);
    }

    /// How many sleeps until `at` have begun so far.
    pub fn sleeps_until(&self, at: DateTime<Utc>) -> u64 {
        let sleeps = self.sleeps.lock().unwrap_or_else(PoisonError::into_inner);
        sleeps.get(&at).copied().unwrap_or(0)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut rx = self.now.subscribe();
        *self
            .sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(at)
            .or_default() += 1;
        Box::pin(async move {
            // The sender lives as long as `self`, so `wait_for` only ends when time has come.
            let _ = rx.wait_for(|now| *now >= at).await;
        })
    }
}
