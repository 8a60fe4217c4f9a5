//! Read-only questions: `/release status`, `/release list`, and a card's read model.

use super::error::{refused, Result};
use super::view::{PollView, ReleaseView, UndeliveredView};
use super::{Service, UserError};
use crate::domain::lifecycle::overrides;
use crate::domain::stats;
use crate::domain::{lookup, Refusal, ReleaseId, ReleaseState, Version};
use crate::store;
use crate::store::releases::StoredRelease;

/// At most this many undelivered messages are listed, so the answer stays within Discord's
/// 2,000 characters.
const MAX_UNDELIVERED_LISTED: usize = 2;

/// How many releases `/release list` shows.
const LIST_LIMIT: u32 = 10;

impl Service {
    /// The named release, or the newest one when no version is given.
    pub async fn status(
        &self,
        version: Option<&str>,
        environment: Option<&str>,
    ) -> Result<ReleaseView> {
        let db = self.db.reader();
        let stored = match version {
            Some(text) => {
                let version = Version::parse(text).map_err(UserError::InvalidInput)?;
                let found = store::releases::by_version(db, &version, environment).await?;
                lookup::pick(found, environment).map_err(|r| refused(&version, r))?
            }
            None => store::releases::recent(db, 1)
                .await?
                .pop()
                .ok_or_else(|| refused(&"(none yet)", Refusal::UnknownRelease))?,
        };
        let version = stored.release.version.to_string();
        let Some((_, mut view)) = self.card_snapshot(stored.release.id).await? else {
            return Err(refused(&version, Refusal::UnknownRelease).into());
        };
        let undelivered = store::outbox::undelivered(db, stored.release.id).await?;
        view.undelivered = undelivered
            .iter()
            .take(MAX_UNDELIVERED_LISTED)
            .map(|row| UndeliveredView::new(row, &stored))
            .collect();
        Ok(view)
    }

    pub async fn list(&self) -> anyhow::Result<Vec<StoredRelease>> {
        store::releases::recent(self.db.reader(), LIST_LIMIT).await
    }

    /// The DORA figures of `environment` over the last `days` days, in the words of the
    /// `stats` message, and week by week for the trend chart: one read of the audit trail.
    pub async fn stats(&self, days: i64, environment: &str) -> anyhow::Result<Figures> {
        let trend = read_trend(&self.db, (days, environment), self.now()).await?;
        let text = render_stats(&self.db, &self.messages, &trend).await?;
        Ok(Figures {
            text,
            weeks: trend.weeks,
        })
    }

    /// Every release with an approved override whose post-mortem is not filed yet.
    pub async fn open_postmortems(&self) -> anyhow::Result<Vec<StoredRelease>> {
        open_postmortems(&self.db).await
    }

    /// The read model of a release, with the revision of the snapshot it was read from: it
    /// shows at least that revision, so a sender can tell whether what it rendered is current.
    pub async fn card_snapshot(&self, id: ReleaseId) -> anyhow::Result<Option<(i64, ReleaseView)>> {
        Ok(self
            .read_model(id)
            .await?
            .map(|(stored, view)| (stored.revision, view)))
    }

    /// The release as stored and its read model, from one snapshot.
    pub(super) async fn read_model(
        &self,
        id: ReleaseId,
    ) -> anyhow::Result<Option<(StoredRelease, ReleaseView)>> {
        let mut read = self.db.reader().begin().await?;
        let Some(stored) = store::releases::get(&mut *read, id).await? else {
            return Ok(None);
        };
        // An open poll's card is rendered again and again as votes come in: it takes the
        // writer's standing, between groups, instead of reading every vote back. That standing
        // is committed and at least as new as this snapshot. Any other poll no longer changes
        // and is counted from the snapshot, without holding up the writer.
        // With other replicas on the database, the writer's standing may be older than the
        // snapshot: it is counted from the snapshot then.
        let kept = if stored.release.state.is_open() && !self.db.shared() {
            let kept = self.writes.between_groups().await;
            kept.tally(id).map(PollView::of)
        } else {
            None
        };
        let poll = if let Some(poll) = kept {
            poll
        } else {
            let policy = self.config.policies.get(stored.release.kind);
            PollView::of(&store::votes::tally(&mut *read, &stored.release, policy).await?)
        };
        let executions = store::executions::history(&mut *read, id).await?;
        read.commit().await?;
        let release = &stored.release;
        let mut view = ReleaseView::new(
            &stored,
            self.deploy_plan(&release.environment),
            poll,
            &executions,
        );
        if release.state == ReleaseState::Completed {
            view.promote_to = self.promote_to(&release.environment).map(str::to_owned);
        }
        Ok(Some((stored, view)))
    }
}

impl Service {
    /// The environment a release completed in `environment` is promoted to, if any.
    pub fn promote_to(&self, environment: &str) -> Option<&str> {
        self.config.environment(environment)?.next.as_deref()
    }
}

/// The figures `/release stats` answers with: their text, and their weeks for the chart.
pub struct Figures {
    pub text: String,
    pub weeks: Vec<stats::Week>,
}

/// The DORA figures of an environment over the last `days` days up to `now`, rendered:
/// `/release stats` and `gonogo stats` print the same text.
pub async fn stats_text(
    db: &crate::store::Db,
    messages: &crate::messages::Messages,
    (days, environment): (i64, &str),
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let trend = read_trend(db, (days, environment), now).await?;
    render_stats(db, messages, &trend).await
}

/// The figures of `environment` over the last `days` days up to `now`, and week by week.
/// The facts reach back to the start of the first whole week, which may be before the period.
pub(super) async fn read_trend(
    db: &crate::store::Db,
    (days, environment): (i64, &str),
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<stats::Trend> {
    let since = now - chrono::TimeDelta::weeks((days + 6) / 7);
    let facts = store::audit::facts_since(db, since).await?;
    Ok(stats::trend(&facts, days, now, environment))
}

/// The `stats` message of `trend`, with the post-mortems still open.
async fn render_stats(
    db: &crate::store::Db,
    messages: &crate::messages::Messages,
    trend: &stats::Trend,
) -> anyhow::Result<String> {
    let open: Vec<String> = open_postmortems(db)
        .await?
        .iter()
        .map(|stored| stored.release.version.to_string())
        .collect();
    messages.render(
        "stats",
        serde_json::json!({
            "dora": trend.figures.view(trend.rollbacks),
            "postmortems": open,
        }),
    )
}

/// Every release with an approved override whose post-mortem is not filed yet.
async fn open_postmortems(db: &crate::store::Db) -> anyhow::Result<Vec<StoredRelease>> {
    let overridden = store::releases::overridden(db.reader()).await?;
    Ok(overridden
        .into_iter()
        .filter(|stored| overrides::open_postmortems(&stored.release) > 0)
        .collect())
}
