//! Housekeeping: forgets what is no longer needed, hourly on the service's clock.

use chrono::TimeDelta;
use tokio::sync::watch;
use tracing::{error, info};

use crate::service::Housekeeping;

/// Handled interaction ids are kept this long: Discord never resends one after its token's
/// 15 minutes, and the signature freshness check refuses anything older than 5.
const KEEP_INTERACTIONS: TimeDelta = TimeDelta::days(1);
/// Delivered Discord messages are kept this long, for anyone looking into a delivery.
const KEEP_DELIVERED: TimeDelta = TimeDelta::days(7);

/// Prunes now and every hour until `stop` turns true.
pub async fn run(housekeeping: Housekeeping, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(cause) = prune(&housekeeping).await {
            error!("Housekeeping failed, trying again in an hour: {cause:#}");
        }
        if !housekeeping.pause(TimeDelta::hours(1), &mut stop).await {
            return;
        }
    }
}

/// Deletes the interaction ids and delivered messages past their keeping time.
pub async fn prune(housekeeping: &Housekeeping) -> anyhow::Result<()> {
    let now = housekeeping.now();
    let pruned = housekeeping
        .prune(now - KEEP_INTERACTIONS, now - KEEP_DELIVERED)
        .await?;
    if pruned > 0 {
        info!(pruned, "Pruned old interaction ids and delivered messages");
    }
    Ok(())
}
