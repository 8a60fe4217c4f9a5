//! Who waits for a release to change: a pipeline's long poll subscribes to its release, and
//! the writer publishes each release's state after the commit that changed it. Every waiter
//! of one change shares one read of the release, however many there are.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use tokio::sync::{watch, OnceCell};

use super::pipeline::PipelineRelease;
use crate::domain::{ReleaseId, ReleaseState};

/// A state a release was committed in, and the release as read once for all its waiters.
#[derive(Clone)]
pub(super) struct Change {
    pub state: ReleaseState,
    pub read: Arc<OnceCell<PipelineRelease>>,
}

/// The releases someone waits on, each with the change last published for it.
#[derive(Default)]
pub(super) struct Changes {
    watched: Mutex<FxHashMap<ReleaseId, watch::Sender<Option<Change>>>>,
}

impl Changes {
    /// A receiver that sees every state `id` is committed in from now on.
    pub(super) fn subscribe(&self, id: ReleaseId) -> watch::Receiver<Option<Change>> {
        let mut watched = self.lock();
        watched
            .entry(id)
            .or_insert_with(|| watch::Sender::new(None))
            .subscribe()
    }

    /// Tells whoever waits on `id` that it is now in `state`; forgets releases nobody waits on.
    pub(super) fn publish(&self, changed: impl IntoIterator<Item = (ReleaseId, ReleaseState)>) {
        let mut watched = self.lock();
        if watched.is_empty() {
            return;
        }
        for (id, state) in changed {
            if let Some(sender) = watched.get(&id) {
                sender.send_if_modified(|seen| {
                    if seen.as_ref().is_some_and(|seen| seen.state == state) {
                        return false;
                    }
                    *seen = Some(Change {
                        state,
                        read: Arc::default(),
                    });
                    true
                });
            }
        }
        Self::forget_unwatched(&mut watched);
    }

    /// Forgets the releases nobody waits on any more, such as a wait on an unknown id.
    pub(super) fn prune(&self) {
        Self::forget_unwatched(&mut self.lock());
    }

    fn forget_unwatched(watched: &mut FxHashMap<ReleaseId, watch::Sender<Option<Change>>>) {
        watched.retain(|_, sender| sender.receiver_count() > 0);
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, FxHashMap<ReleaseId, watch::Sender<Option<Change>>>> {
        self.watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(receiver: &mut watch::Receiver<Option<Change>>) -> Option<ReleaseState> {
        receiver.borrow_and_update().as_ref().map(|c| c.state)
    }

    #[test]
    fn a_waiter_sees_a_new_state_of_its_release_only() {
        let changes = Changes::default();
        let mut mine = changes.subscribe(ReleaseId(1));
        changes.publish([(ReleaseId(2), ReleaseState::Approved)]);
        assert!(!mine.has_changed().unwrap());
        changes.publish([(ReleaseId(1), ReleaseState::Approved)]);
        assert!(mine.has_changed().unwrap());
        assert_eq!(state(&mut mine), Some(ReleaseState::Approved));
        changes.publish([(ReleaseId(1), ReleaseState::Approved)]);
        assert!(
            !mine.has_changed().unwrap(),
            "the same state again is no change"
        );
    }

    #[test]
    fn the_waiters_of_one_change_share_its_read() {
        let changes = Changes::default();
        let (mut one, mut two) = (
            changes.subscribe(ReleaseId(1)),
            changes.subscribe(ReleaseId(1)),
        );
        changes.publish([(ReleaseId(1), ReleaseState::Approved)]);
        let (a, b) = (
            one.borrow_and_update().clone(),
            two.borrow_and_update().clone(),
        );
        assert!(Arc::ptr_eq(&a.unwrap().read, &b.unwrap().read));
        changes.publish([(ReleaseId(1), ReleaseState::Deploying)]);
        let next = one.borrow_and_update().clone().unwrap();
        assert_eq!(next.state, ReleaseState::Deploying);
        assert!(next.read.get().is_none(), "a new change is read anew");
    }

    #[test]
    fn a_release_nobody_waits_on_is_forgotten() {
        let changes = Changes::default();
        let waiter = changes.subscribe(ReleaseId(1));
        drop(waiter);
        changes.prune();
        assert!(changes.lock().is_empty());
    }
}
