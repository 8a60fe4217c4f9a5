//! Housekeeping: forgets what is no longer needed, hourly on the service's clock.

use chrono::TimeDelta;
use tokio::sync::watch;
use tracing::{error, info};

use crate::service::Service;
use crate::store;

/// Handled interaction ids are kept this long: Discord never resends one after its token's
/// 15 minutes, and the signature freshness check refuses anything older than 5.
const KEEP_INTERACTIONS: TimeDelta = TimeDelta::days(1);
/// Delivered Discord messages are kept this long, for anyone looking into a delivery.
const KEEP_DELIVERED: TimeDelta = TimeDelta::days(7);

/// Prunes now and every hour until `stop` turns true.
pub async fn run(service: Service, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(cause) = prune(&service).await {
            error!("Housekeeping failed, trying again in an hour: {cause:#}");
        }
        if !service.pause(TimeDelta::hours(1), &mut stop).await {
            return;
        }
    }
}

/// Deletes the interaction ids and delivered messages past their keeping time.
pub async fn prune(service: &Service) -> anyhow::Result<()> {
    let now = service.now();
    let db = service.db.writer();
    let interactions = store::interactions::prune(db, now - KEEP_INTERACTIONS).await?;
    let delivered = store::outbox::prune_sent(db, now - KEEP_DELIVERED).await?;
    if interactions + delivered > 0 {
        info!(
            interactions,
            delivered, "Pruned old interaction ids and delivered messages"
        );
    }
    Ok(())
}
