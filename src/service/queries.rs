//! Read-only questions: `/release status` and `/release list`.

use super::{Answer, Service, UserError};
use crate::discord::card::CardView;
use crate::domain::ReleaseId;
use crate::store;
use crate::store::releases::StoredRelease;

/// How many releases `/release list` shows.
const LIST_LIMIT: u32 = 10;

impl Service {
    /// The named release, or the newest one when no version is given.
    pub async fn status(
        &self,
        version: Option<&str>,
        environment: Option<&str>,
    ) -> Answer<CardView> {
        let db = self.db.reader();
        let stored = match version {
            Some(text) => match self.find(db, text, environment).await? {
                Ok(stored) => stored,
                Err(error) => return Ok(Err(error)),
            },
            None => match store::releases::recent(db, 1).await?.pop() {
                Some(stored) => stored,
                None => return Ok(Err(UserError::UnknownRelease("(none yet)".to_owned()))),
            },
        };
        let view = self
            .card_snapshot(stored.release.id)
            .await?
            .map(|(_, view)| view);
        Ok(view.ok_or_else(|| UserError::UnknownRelease(stored.release.version.to_string())))
    }

    pub async fn list(&self) -> anyhow::Result<Vec<StoredRelease>> {
        store::releases::recent(self.db.reader(), LIST_LIMIT).await
    }

    /// The card of a release as of one consistent snapshot, with that snapshot's revision
    /// (the release's newest audit event), so a sender can tell whether it is still current.
    pub async fn card_snapshot(&self, id: ReleaseId) -> anyhow::Result<Option<(i64, CardView)>> {
        // One read transaction: the release, its votes and the revision all come from the same
        // committed state, never a mix of before and after a concurrent vote.
        let mut read = self.db.reader().begin().await?;
        let revision = store::audit::latest_for_release(&mut *read, id).await?;
        let Some(stored) = store::releases::get(&mut *read, id).await? else {
            return Ok(None);
        };
        let history = store::votes::history(&mut *read, id).await?;
        read.commit().await?;
        let policy = self.config.policies.get(stored.release.kind);
        Ok(Some((revision, CardView::new(&stored, policy, &history))))
    }
}
