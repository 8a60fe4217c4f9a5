//! The scheduler: sleeps until the next timer in the database falls due, then fires it.

use tokio::sync::watch;
use tracing::warn;

use crate::service::{Firing, Timers};

/// Fires timers until `shutdown` turns true, then lets the writes under way settle.
///
/// Timers that fall due while others are being written are fired at once rather than after
/// them, so a busy minute does not make the next timers late.
pub async fn run(timers: Timers, mut shutdown: watch::Receiver<bool>) {
    let mut firing = Firing::default();
    while !*shutdown.borrow() {
        let now = timers.now();
        if let Err(cause) = timers.fire_due(now, &mut firing).await {
            warn!("Reading the due timers failed, trying again in a second: {cause:#}");
            pause_after_failure().await;
        }
        let next = match timers.next_after(now).await {
            Ok(next) => next,
            // Look again soon rather than wait for a wake-up that may never come.
            Err(_) => Some(now + chrono::TimeDelta::seconds(1)),
        };
        tokio::select! {
            settled = firing.settled(), if !firing.is_empty() => {
                let mut failed = false;
                for (timer, result) in settled {
                    if let Err(cause) = result {
                        warn!(timer, "Cannot fire a timer nor set it aside: {cause:#}");
                        failed = true;
                    }
                }
                if failed {
                    pause_after_failure().await;
                }
            }
            () = timers.idle(next, &mut shutdown) => {}
        }
    }
    while !firing.settled().await.is_empty() {}
}

/// Real time, not the injected clock: this only paces retries of a failing database.
async fn pause_after_failure() {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
