//! Read-only questions: `/release status` and `/release list`.

use super::{Answer, Service, UserError};
use crate::discord::card::CardView;
use crate::domain::Version;
use crate::store;
use crate::store::releases::StoredRelease;

/// How many releases `/release list` shows.
const LIST_LIMIT: u32 = 10;

/// One release and its poll, as `/release status` shows it.
pub type ReleaseStatus = CardView;

/// The recent releases, newest first.
pub type ReleaseList = Vec<StoredRelease>;

impl Service {
    /// The named release, or the newest one when no version is given.
    pub async fn status(&self, version: Option<&str>) -> Answer<ReleaseStatus> {
        let db = self.db.reader();
        let stored = match version {
            Some(text) => {
                let version = match Version::parse(text) {
                    Ok(version) => version,
                    Err(problem) => return Ok(Err(UserError::InvalidInput(problem))),
                };
                let Some(stored) = store::releases::find_by_version(db, &version).await? else {
                    return Ok(Err(UserError::UnknownRelease(version.to_string())));
                };
                stored
            }
            None => match store::releases::recent(db, 1).await?.pop() {
                Some(stored) => stored,
                None => return Ok(Err(UserError::UnknownRelease("(none yet)".to_owned()))),
            },
        };
        self.card_view(&stored).await.map(Ok)
    }

    pub async fn list(&self) -> Answer<ReleaseList> {
        Ok(Ok(
            store::releases::recent(self.db.reader(), LIST_LIMIT).await?
        ))
    }

    /// The card of a stored release, from its committed votes.
    pub async fn card_view(&self, stored: &StoredRelease) -> anyhow::Result<CardView> {
        let history = store::votes::history(self.db.reader(), stored.release.id).await?;
        let policy = self.config.policies.get(stored.release.kind);
        Ok(CardView::new(stored, policy, &history))
    }
}

impl Service {
    /// Whether `actor` could cast `choice` now, without storing anything: lets the No-Go
    /// button refuse at once instead of after the reason has been typed.
    pub async fn check_vote(
        &self,
        actor: &super::Actor,
        release: crate::domain::ReleaseId,
        choice: crate::domain::Choice,
    ) -> Answer<crate::domain::Release> {
        let db = self.db.reader();
        let Some(stored) = store::releases::get(db, release).await? else {
            return Ok(Err(UserError::StaleCard));
        };
        let now = self.now();
        let policy = self.config.policies.get(stored.release.kind);
        let history = store::votes::history(db, release).await?;
        let trial = crate::domain::Ballot {
            voter: actor.id,
            voter_name: actor.name.clone(),
            roles: actor.roles.clone(),
            choice,
            reason: Some("(checking eligibility)".to_owned()),
            at: now,
        };
        let release = stored.release;
        Ok(
            match crate::domain::transition::vote(&release, policy, &history, &trial, now) {
                Ok(_) => Ok(release),
                Err(refusal) => Err(UserError::Refused { release, refusal }),
            },
        )
    }
}
