//! What the dashboard reads: pages of releases, one release's storyboard, the figures' weekly
//! trend and the chain's check. It only reads.

use super::view::ReleaseView;
use super::{Service, StoredRelease};
use crate::domain::stats::{DoraView, Week};
use crate::domain::ReleaseId;
use crate::store;
use crate::store::audit::{ExportedEvent, Head, Verdict};
use crate::store::releases::Filter;

/// One page of the release list, and how many releases match in all.
pub struct ReleasesPage {
    pub releases: Vec<StoredRelease>,
    pub total: u64,
}

/// Everything one release's storyboard shows.
pub struct Storyboard {
    pub stored: StoredRelease,
    pub view: ReleaseView,
    /// The release's audit events, oldest first, with their hashes.
    pub events: Vec<ExportedEvent>,
}

/// The DORA figures of a period, and the same figures week by week.
pub struct Trend {
    pub figures: DoraView,
    pub weeks: Vec<Week>,
}

/// The audit chain's head and what checking it found.
pub struct AuditCheck {
    pub head: Head,
    pub verdict: Verdict,
}

impl Service {
    /// The releases `filter` matches, newest first, from one snapshot.
    pub async fn releases_page(&self, filter: &Filter) -> anyhow::Result<ReleasesPage> {
        let mut read = self.db.reader().begin().await?;
        let total = store::releases::count(&mut *read, filter).await?;
        let releases = store::releases::page(&mut *read, filter).await?;
        read.commit().await?;
        Ok(ReleasesPage { releases, total })
    }

    /// The release and its own audit events; `None` for an unknown id.
    pub async fn storyboard(&self, id: ReleaseId) -> anyhow::Result<Option<Storyboard>> {
        let Some((stored, view)) = self.read_model(id).await? else {
            return Ok(None);
        };
        let events = store::audit::of_release(self.db.reader(), id.0).await?;
        Ok(Some(Storyboard {
            stored,
            view,
            events,
        }))
    }

    /// The figures of `environment` over the last `days` days, and week by week.
    pub async fn trend(&self, days: i64, environment: &str) -> anyhow::Result<Trend> {
        let trend = super::queries::read_trend(&self.db, (days, environment), self.now()).await?;
        Ok(Trend {
            figures: trend.figures.view(trend.rollbacks),
            weeks: trend.weeks,
        })
    }

    /// The chain's head and a check of every event, streamed.
    pub async fn audit_check(&self) -> anyhow::Result<AuditCheck> {
        let head = store::audit::head(self.db.reader()).await?;
        let verdict = store::audit::verify(self.db.reader(), self.db.audit_key(), None).await?;
        Ok(AuditCheck { head, verdict })
    }
}
