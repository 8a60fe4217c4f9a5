//! The scheduler: sleeps until the earliest timer in the database, then fires what is due.

use tokio::sync::watch;
use tracing::warn;

use crate::service::Timers;

/// Fires timers until `shutdown` turns true.
pub async fn run(timers: Timers, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(cause) = timers.fire_due().await {
            warn!("Firing timers failed, trying again in a second: {cause:#}");
            // Real time, not the injected clock: this only paces retries of a failing database.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let next = match timers.earliest().await {
            Ok(next) => next,
            // Look again soon rather than wait for a wake-up that may never come.
            Err(_) => Some(timers.now() + chrono::TimeDelta::seconds(1)),
        };
        timers.idle(next, &mut shutdown).await;
    }
}
