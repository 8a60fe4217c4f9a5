//! The scheduler: sleeps until the earliest timer in the database, then fires what is due.

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};
use tracing::warn;

use crate::clock::Clock;
use crate::service::Service;
use crate::store;

/// Fires timers until `shutdown` turns true.
pub async fn run(service: Service, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(cause) = service.fire_due_timers().await {
            warn!("Firing timers failed, trying again in a second: {cause:#}");
            // Real time, not the injected clock: this only paces retries of a failing database.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let next = match store::timers::earliest(service.db.reader()).await {
            Ok(next) => next,
            // Look again soon rather than wait for a wake-up that may never come.
            Err(_) => Some(service.now() + chrono::TimeDelta::seconds(1)),
        };
        idle(
            service.clock.as_ref(),
            &service.timers_wake,
            next,
            &mut shutdown,
        )
        .await;
    }
}

/// Waits for new work: a wake-up after a commit, the clock reaching `next`, or shutdown.
pub async fn idle(
    clock: &dyn Clock,
    wake: &Notify,
    next: Option<DateTime<Utc>>,
    shutdown: &mut watch::Receiver<bool>,
) {
    tokio::select! {
        () = wake.notified() => {}
        () = async {
            match next {
                Some(at) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        } => {}
        _ = shutdown.changed() => {}
    }
}
