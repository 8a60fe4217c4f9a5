//! Who waits for a release to change: a pipeline's long poll subscribes to its release, and
//! the writer publishes each release's state after the commit that changed it.

use std::sync::Mutex;

use rustc_hash::FxHashMap;
use tokio::sync::watch;

use crate::domain::{ReleaseId, ReleaseState};

/// The releases someone waits on, each with the state last published for it.
#[derive(Default)]
pub(super) struct Changes {
    watched: Mutex<FxHashMap<ReleaseId, watch::Sender<Option<ReleaseState>>>>,
}

impl Changes {
    /// A receiver that sees every state `id` is committed in from now on.
    pub(super) fn subscribe(&self, id: ReleaseId) -> watch::Receiver<Option<ReleaseState>> {
        let mut watched = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        watched
            .entry(id)
            .or_insert_with(|| watch::Sender::new(None))
            .subscribe()
    }

    /// Tells whoever waits on `id` that it is now in `state`; forgets releases nobody waits on.
    pub(super) fn publish(&self, changed: impl IntoIterator<Item = (ReleaseId, ReleaseState)>) {
        let mut watched = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if watched.is_empty() {
            return;
        }
        for (id, state) in changed {
            if let Some(sender) = watched.get(&id) {
                sender.send_if_modified(|seen| {
                    let modified = *seen != Some(state);
                    *seen = Some(state);
                    modified
                });
            }
        }
        watched.retain(|_, sender| sender.receiver_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_sees_a_new_state_of_its_release_only() {
        let changes = Changes::default();
        let mut mine = changes.subscribe(ReleaseId(1));
        changes.publish([(ReleaseId(2), ReleaseState::Approved)]);
        assert!(!mine.has_changed().unwrap());
        changes.publish([(ReleaseId(1), ReleaseState::Approved)]);
        assert!(mine.has_changed().unwrap());
        assert_eq!(*mine.borrow_and_update(), Some(ReleaseState::Approved));
        changes.publish([(ReleaseId(1), ReleaseState::Approved)]);
        assert!(
            !mine.has_changed().unwrap(),
            "the same state again is no change"
        );
    }

    #[test]
    fn a_release_nobody_waits_on_is_forgotten() {
        let changes = Changes::default();
        let waiter = changes.subscribe(ReleaseId(1));
        drop(waiter);
        changes.publish([(ReleaseId(3), ReleaseState::Voting)]);
        assert!(changes.watched.lock().unwrap().is_empty());
    }
}
