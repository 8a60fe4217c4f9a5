//! The checkpointer: copies committed pages from the write-ahead log into the database file,
//! off the write path.

use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use crate::service::Wal;

/// How long the checkpointer gathers commits before it copies them: a busy poll commits
/// hundreds of times a second, and one copy serves them all.
const GATHER: Duration = Duration::from_millis(200);
/// How often it looks anyway, should a wake-up be missed: a notified wake-up is coalesced.
const LOOK_EVERY: Duration = Duration::from_secs(10);

/// Checkpoints after commits until `stop` turns true. `SQLite` would otherwise checkpoint inside
/// the commit that fills the log, and that commit would wait for the copy and its `fsync`
/// while every request of its group waits behind it.
pub async fn run(wal: Wal, mut stop: watch::Receiver<bool>) {
    loop {
        // Real time, not the injected clock: this paces disk work, not anything a user sees.
        tokio::select! {
            () = wal.committed() => {}
            () = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(GATHER) => {}
            _ = stop.changed() => return,
        }
        if let Err(cause) = wal.checkpoint().await {
            warn!("Cannot checkpoint the database, trying again after the next commit: {cause:#}");
        }
    }
}
