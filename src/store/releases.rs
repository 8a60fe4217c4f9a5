//! The `releases` table: the lifecycle state plus where its card and thread live in Discord.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::any::AnyRow;

use sqlx::{AnyExecutor, Row};

use super::batch::Batch;
use super::{parse_ts, sf, ts, unsf};
use crate::domain::{Deployment, Release, ReleaseId, RollbackRequest, UserId, Version};

/// A release with the Discord coordinates of its card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRelease {
    pub release: Release,
    pub author_name: String,
    pub card_channel_id: u64,
    pub card_message_id: Option<u64>,
    pub thread_id: Option<u64>,
    /// Bumped by every change to the release, so a rendered card knows whether it is current.
    pub revision: i64,
}

impl AsRef<Release> for StoredRelease {
    fn as_ref(&self) -> &Release {
        &self.release
    }
}

const COLUMNS: &str = "id, version, kind, state, summary, changelog, environment, author_id, \
    author_name, created_at, expires_at, decided_at, decision_reason, card_channel_id, \
    card_message_id, thread_id, revision, deployed_by, deployed_by_name, deploy_started_at, \
    stage, stage_started_at, clock_ends_at, verify_started_at, halted_at, halted_secs, \
    rollback_by_name, rollback_reason, rollback_requested_at, rollback_failed_at, \
    deploy_finished_at, gate_watch, problem_reports, contract, checklist, overrides, \
    retrospectives, origin, on_call";

fn from_row(row: &AnyRow) -> anyhow::Result<StoredRelease> {
    let parse_err = |e: String| anyhow::anyhow!(e);
    let release = Release {
        id: ReleaseId(row.try_get("id")?),
        version: Version::parse(row.try_get("version")?).map_err(parse_err)?,
        kind: row.try_get::<&str, _>("kind")?.parse().map_err(parse_err)?,
        state: row
            .try_get::<&str, _>("state")?
            .parse()
            .map_err(parse_err)?,
        summary: row.try_get("summary")?,
        changelog: row.try_get("changelog")?,
        environment: row.try_get("environment")?,
        author: UserId(unsf(row.try_get("author_id")?)),
        created_at: parse_ts(row.try_get("created_at")?)?,
        expires_at: parse_ts(row.try_get("expires_at")?)?,
        decided_at: row
            .try_get::<Option<&str>, _>("decided_at")?
            .map(parse_ts)
            .transpose()?,
        decision_reason: row.try_get("decision_reason")?,
        deployment: deployment_from_row(row)?,
        contract: json_column(row, "contract")?,
        checklist: json_column(row, "checklist")?,
        overrides: json_column(row, "overrides")?,
        retrospectives: json_column(row, "retrospectives")?,
        origin: json_column(row, "origin")?,
    };
    Ok(StoredRelease {
        release,
        author_name: row.try_get("author_name")?,
        card_channel_id: unsf(row.try_get("card_channel_id")?),
        card_message_id: row.try_get::<Option<i64>, _>("card_message_id")?.map(unsf),
        thread_id: row.try_get::<Option<i64>, _>("thread_id")?.map(unsf),
        revision: row.try_get("revision")?,
    })
}

fn deployment_from_row(row: &AnyRow) -> anyhow::Result<Option<Deployment>> {
    let Some(started_by) = row.try_get::<Option<i64>, _>("deployed_by")? else {
        return Ok(None);
    };
    let time = |column: &str| -> anyhow::Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<&str>, _>(column)?
            .map(parse_ts)
            .transpose()
    };
    let required = |column: &str| {
        time(column)?.with_context(|| format!("A started deployment has no {column}"))
    };
    let rollback = match time("rollback_requested_at")? {
        Some(requested_at) => Some(RollbackRequest {
            by: row
                .try_get::<Option<String>, _>("rollback_by_name")?
                .unwrap_or_default(),
            reason: row
                .try_get::<Option<String>, _>("rollback_reason")?
                .unwrap_or_default(),
            requested_at,
            failed_at: time("rollback_failed_at")?,
        }),
        None => None,
    };
    Ok(Some(Deployment {
        started_by: UserId(unsf(started_by)),
        started_by_name: row
            .try_get::<Option<String>, _>("deployed_by_name")?
            .unwrap_or_default(),
        started_at: required("deploy_started_at")?,
        stage: u8::try_from(row.try_get::<i64, _>("stage")?)
            .context("Stored stage is out of range")?,
        stage_started_at: required("stage_started_at")?,
        clock_ends_at: time("clock_ends_at")?,
        verify_started_at: time("verify_started_at")?,
        halted_at: time("halted_at")?,
        halted_for: TimeDelta::seconds(row.try_get("halted_secs")?),
        rollback,
        finished_at: time("deploy_finished_at")?,
        watch: json_column(row, "gate_watch")?,
        reports: json_column(row, "problem_reports")?,
        on_call: json_column(row, "on_call")?,
    }))
}

/// The id the next release will get; call inside the write transaction that inserts it.
pub async fn next_id(db: impl AnyExecutor<'_>) -> anyhow::Result<ReleaseId> {
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM releases")
        .fetch_one(db)
        .await
        .context("Cannot allocate a release id")?;
    Ok(ReleaseId(id))
}

pub async fn insert(db: &mut sqlx::AnyConnection, stored: &StoredRelease) -> anyhow::Result<()> {
    let r = &stored.release;
    let mut batch = Batch::new();
    batch
        .statement(&format!("INSERT INTO releases ({COLUMNS}) VALUES "))
        .values(1, COLUMNS.split(',').count())
        .bind(r.id.0)
        .bind(r.version.to_string())
        .bind(r.kind.as_str())
        .bind(r.state.as_str())
        .bind(r.summary.clone())
        .bind(r.changelog.clone())
        .bind(r.environment.clone())
        .bind(sf(r.author.0))
        .bind(stored.author_name.clone())
        .bind(ts(r.created_at))
        .bind(ts(r.expires_at))
        .bind(r.decided_at.map(ts))
        .bind(r.decision_reason.clone())
        .bind(sf(stored.card_channel_id))
        .bind(stored.card_message_id.map(sf))
        .bind(stored.thread_id.map(sf))
        .bind(stored.revision);
    bind_guardrails(bind_deployment(&mut batch, r.deployment.as_ref()), r);
    batch.run(db).await.context("Cannot insert the release")?;
    Ok(())
}

/// Binds the deployment columns, in `COLUMNS` order.
fn bind_deployment<'b>(batch: &'b mut Batch, deployment: Option<&Deployment>) -> &'b mut Batch {
    let rollback = deployment.and_then(|d| d.rollback.as_ref());
    batch
        .bind(deployment.map(|d| sf(d.started_by.0)))
        .bind(deployment.map(|d| d.started_by_name.clone()))
        .bind(deployment.map(|d| ts(d.started_at)))
        .bind(deployment.map(|d| i64::from(d.stage)))
        .bind(deployment.map(|d| ts(d.stage_started_at)))
        .bind(deployment.and_then(|d| d.clock_ends_at.map(ts)))
        .bind(deployment.and_then(|d| d.verify_started_at.map(ts)))
        .bind(deployment.and_then(|d| d.halted_at.map(ts)))
        .bind(deployment.map_or(0, |d| d.halted_for.num_seconds()))
        .bind(rollback.map(|r| r.by.clone()))
        .bind(rollback.map(|r| r.reason.clone()))
        .bind(rollback.map(|r| ts(r.requested_at)))
        .bind(rollback.and_then(|r| r.failed_at.map(ts)))
        .bind(deployment.and_then(|d| d.finished_at.map(ts)))
        .bind(deployment.map(|d| serde_json::to_string(&d.watch).unwrap_or_default()))
        .bind(deployment.map(|d| serde_json::to_string(&d.reports).unwrap_or_default()))
}

/// Binds the columns after the deployment's, in `COLUMNS` order.
fn bind_guardrails<'b>(batch: &'b mut Batch, release: &Release) -> &'b mut Batch {
    let contract = release
        .contract
        .as_ref()
        .and_then(|contract| serde_json::to_string(contract).ok());
    batch
        .bind(contract)
        .bind(list_json(&release.checklist))
        .bind(list_json(&release.overrides))
        .bind(list_json(&release.retrospectives))
        .bind(
            (!release.origin.is_empty())
                .then(|| serde_json::to_string(&release.origin).ok())
                .flatten(),
        )
        .bind(
            release
                .deployment
                .as_ref()
                .and_then(|d| d.on_call.as_ref())
                .and_then(|on_call| serde_json::to_string(on_call).ok()),
        )
}

/// A JSON column read back: its type's default (none, an empty list) when NULL.
fn json_column<T: serde::de::DeserializeOwned + Default>(
    row: &AnyRow,
    column: &str,
) -> anyhow::Result<T> {
    match row.try_get::<Option<&str>, _>(column)? {
        Some(json) => {
            serde_json::from_str(json).with_context(|| format!("Cannot read the stored {column}"))
        }
        None => Ok(T::default()),
    }
}

/// A list as JSON, or NULL when it is empty.
fn list_json<T: serde::Serialize>(list: &[T]) -> Option<String> {
    (!list.is_empty())
        .then(|| serde_json::to_string(list).ok())
        .flatten()
}

/// Writes the lifecycle fields of `release` (state, decision, deployment) and bumps its
/// revision.
pub fn update(batch: &mut Batch, release: &Release) {
    batch
        .statement(
            "UPDATE releases SET state = ?, decided_at = ?, decision_reason = ?, deployed_by = ?, \
             deployed_by_name = ?, deploy_started_at = ?, stage = ?, stage_started_at = ?, \
             clock_ends_at = ?, verify_started_at = ?, halted_at = ?, halted_secs = ?, \
             rollback_by_name = ?, rollback_reason = ?, rollback_requested_at = ?, \
             rollback_failed_at = ?, deploy_finished_at = ?, gate_watch = ?, problem_reports = ?, \
             contract = ?, checklist = ?, overrides = ?, retrospectives = ?, origin = ?, on_call = ?, \
             revision = revision + 1 WHERE id = ?",
        )
        .bind(release.state.as_str())
        .bind(release.decided_at.map(ts))
        .bind(release.decision_reason.clone());
    bind_guardrails(bind_deployment(batch, release.deployment.as_ref()), release)
        .bind(release.id.0);
}

/// Bumps the revision of a release whose own fields did not change.
pub fn bump_revision(batch: &mut Batch, id: ReleaseId) {
    batch
        .statement("UPDATE releases SET revision = revision + 1 WHERE id = ?")
        .bind(id.0);
}

/// How many releases are in each live state, for the metrics: read through the state index,
/// never over the ended releases, which are most of the table.
pub async fn count_by_state(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT state, COUNT(*) FROM releases WHERE state IN \
         ('planned', 'voting', 'approved', 'deploying', 'halted', 'verifying', 'rolling_back') \
         GROUP BY state ORDER BY state",
    )
    .fetch_all(db)
    .await
    .context("Cannot count the releases")
}

pub async fn get(db: impl AnyExecutor<'_>, id: ReleaseId) -> anyhow::Result<Option<StoredRelease>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM releases WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(db)
        .await
        .context("Cannot load the release")?;
    row.as_ref().map(from_row).transpose()
}

/// Adds to `batch` the reading of the releases of `ids` that exist, their rows locked until
/// the write transaction ends: on PostgreSQL another replica's group waits for them. `SQLite`
/// has one writer, which needs no row lock. One statement per 500 ids, so a group of clicks
/// and timers reads its releases at once; [`read_rows`] takes them from the batch's rows.
pub fn lock_all(batch: &mut Batch, backend: super::Backend, ids: &[ReleaseId]) {
    let lock = match backend {
        super::Backend::Sqlite => "",
        super::Backend::Postgres => " FOR UPDATE",
    };
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    select_in(batch, "id IN (", &ids, &format!(") ORDER BY id{lock}"));
}

/// The releases among a batch's `rows`: those with a release's columns.
pub fn read_rows<'r>(
    rows: impl IntoIterator<Item = &'r AnyRow>,
) -> anyhow::Result<Vec<StoredRelease>> {
    rows.into_iter()
        .filter(|row| row.try_column("author_name").is_ok())
        .map(from_row)
        .collect()
}

/// Every release of the versions with these `keys` (build metadata aside) in any environment,
/// and of each `(key, environment)` of `placed` in that environment only: a group's lookups by
/// version in one round trip, reading no more rows than they can pick from.
pub async fn of_versions(
    conn: &mut sqlx::AnyConnection,
    keys: &[String],
    placed: &[(String, String)],
) -> anyhow::Result<Vec<StoredRelease>> {
    let mut select = Batch::new();
    select_in(&mut select, "version_key IN (", keys, ")");
    for chunk in placed.chunks(250) {
        select
            .statement(&format!(
                "SELECT {COLUMNS} FROM releases WHERE (version_key, environment) IN (VALUES "
            ))
            .values(chunk.len(), 2)
            .push(")");
        for (key, environment) in chunk {
            select.bind(key.as_str()).bind(environment.as_str());
        }
    }
    let rows = select
        .run(conn)
        .await
        .context("Cannot look up the releases by version")?;
    read_rows(&rows)
}

/// The releases holding the deploy lock of any of `environments`, in one statement.
pub async fn holding_locks(
    conn: &mut sqlx::AnyConnection,
    environments: &[String],
) -> anyhow::Result<Vec<StoredRelease>> {
    let mut select = Batch::new();
    let states = format!(") AND state IN {LOCK_STATES}");
    select_in(&mut select, "environment IN (", environments, &states);
    let rows = select.run(conn).await.context("Cannot load the releases")?;
    read_rows(&rows)
}

/// Adds to `batch` the reading of the releases whose column `opening` lists one of `values`,
/// `closing` ending the condition: one statement per 500 values.
fn select_in<T: Clone + Into<super::batch::Value>>(
    batch: &mut Batch,
    opening: &str,
    values: &[T],
    closing: &str,
) {
    for chunk in values.chunks(500) {
        batch
            .statement(&format!("SELECT {COLUMNS} FROM releases WHERE {opening}"))
            .push(&vec!["?"; chunk.len()].join(", "))
            .push(closing);
        for value in chunk {
            batch.bind(value.clone());
        }
    }
}

/// Every release of this version (build metadata aside), newest first: in `environment`
/// only, when it is given.
pub async fn by_version(
    db: impl AnyExecutor<'_>,
    version: &Version,
    environment: Option<&str>,
) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE version_key = $1 \
         AND ($2 IS NULL OR environment = $2) ORDER BY id DESC"
    ))
    .bind(version.key())
    .bind(environment.map(str::trim))
    .fetch_all(db)
    .await
    .context("Cannot look up the release by version")?;
    rows.iter().map(from_row).collect()
}

/// The release a pipeline's token planned under `key`, its `Idempotency-Key`.
pub async fn by_idempotency_key(
    db: impl AnyExecutor<'_>,
    token: &str,
    key: &str,
) -> anyhow::Result<Option<StoredRelease>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE origin IS NOT NULL \
         AND json_extract(origin, '$.idempotency_key') = $1 \
         AND json_extract(origin, '$.token') = $2 ORDER BY id DESC LIMIT 1"
    ))
    .bind(key)
    .bind(token)
    .fetch_optional(db)
    .await
    .context("Cannot look up the release by its idempotency key")?;
    row.as_ref().map(from_row).transpose()
}

/// Which releases a page holds: newest first, below `before` (the pipeline door's cursor),
/// past the first `skip` (the dashboard's page numbers).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub version: Option<Version>,
    pub environment: Option<String>,
    pub state: Option<crate::domain::ReleaseState>,
    pub kind: Option<crate::domain::ReleaseKind>,
    pub before: Option<ReleaseId>,
    pub skip: u32,
    pub limit: u32,
}

const MATCHING: &str = "($1 IS NULL OR version_key = $1) AND ($2 IS NULL OR environment = $2) \
    AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR kind = $4) AND ($5 IS NULL OR id < $5)";

/// A page of releases matching `filter`, newest first.
pub async fn page(db: impl AnyExecutor<'_>, filter: &Filter) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = bind_filter(
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM releases WHERE {MATCHING} ORDER BY id DESC LIMIT $6 OFFSET $7"
        )),
        filter,
    )
    .bind(i64::from(filter.limit))
    .bind(i64::from(filter.skip))
    .fetch_all(db)
    .await
    .context("Cannot list releases")?;
    rows.iter().map(from_row).collect()
}

/// How many releases match `filter`, its page aside.
pub async fn count(db: impl AnyExecutor<'_>, filter: &Filter) -> anyhow::Result<u64> {
    let count: i64 = bind_filter(
        sqlx::query(&format!("SELECT COUNT(*) FROM releases WHERE {MATCHING}")),
        filter,
    )
    .fetch_one(db)
    .await
    .context("Cannot count releases")?
    .try_get(0)?;
    Ok(count.unsigned_abs())
}

fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(filter.version.as_ref().map(Version::key))
        .bind(filter.environment.as_deref())
        .bind(filter.state.map(crate::domain::ReleaseState::as_str))
        .bind(filter.kind.map(crate::domain::ReleaseKind::as_str))
        .bind(filter.before.map(|id| id.0))
}

/// The states of a release that holds its environment's deploy lock: a rollout under way.
pub(super) const LOCK_STATES: &str = "('deploying', 'halted', 'verifying', 'rolling_back')";

/// The releases holding the deploy lock of `environment`: at most one, by the unique index.
pub async fn holding_lock(
    db: impl AnyExecutor<'_>,
    environment: &str,
) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE environment = $1 AND state IN {LOCK_STATES}"
    ))
    .bind(environment)
    .fetch_all(db)
    .await
    .context("Cannot look up the environment's deployment")?;
    rows.iter().map(from_row).collect()
}

/// Every release rolling out, halted, verifying or rolling back, in any environment.
pub async fn holding_lock_anywhere(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE state IN {LOCK_STATES} ORDER BY id DESC"
    ))
    .fetch_all(db)
    .await
    .context("Cannot look up the running deployments")?;
    rows.iter().map(from_row).collect()
}

/// The most recent releases, newest first.
pub async fn recent(db: impl AnyExecutor<'_>, limit: u32) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases ORDER BY id DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(db)
    .await
    .context("Cannot list releases")?;
    rows.iter().map(from_row).collect()
}

/// The releases that ever had an override asked for, newest first: few, as overrides are.
pub async fn overridden(db: impl AnyExecutor<'_>) -> anyhow::Result<Vec<StoredRelease>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE overrides IS NOT NULL ORDER BY id DESC"
    ))
    .fetch_all(db)
    .await
    .context("Cannot list the overridden releases")?;
    rows.iter().map(from_row).collect()
}

pub async fn set_card_message(
    db: impl AnyExecutor<'_>,
    id: ReleaseId,
    message_id: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE releases SET card_message_id = $1 WHERE id = $2")
        .bind(sf(message_id))
        .bind(id.0)
        .execute(db)
        .await
        .context("Cannot store the card message id")?;
    Ok(())
}

pub async fn set_thread(
    db: impl AnyExecutor<'_>,
    id: ReleaseId,
    thread_id: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE releases SET thread_id = $1 WHERE id = $2")
        .bind(sf(thread_id))
        .bind(id.0)
        .execute(db)
        .await
        .context("Cannot store the thread id")?;
    Ok(())
}

/// Plans a patch release of `version` (in `environment`, production by default) at a fixed
/// time and stores it: the fixture of the store's tests.
#[cfg(test)]
pub(crate) async fn insert_planned(
    db: &super::Db,
    id: i64,
    version: &str,
    environment: Option<&str>,
) -> Release {
    use chrono::TimeZone as _;
    let request =
        crate::domain::PlanRequest::parse(version, "patch", "Fix login", None, environment)
            .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
    let hour = TimeDelta::hours(1);
    let release =
        crate::domain::lifecycle::poll::plan(ReleaseId(id), request, UserId(1), hour, now).release;
    let stored = StoredRelease {
        release: release.clone(),
        author_name: "Avery".into(),
        card_channel_id: 5,
        card_message_id: None,
        thread_id: None,
        revision: 0,
    };
    insert(&mut db.writer().acquire().await.unwrap(), &stored)
        .await
        .unwrap();
    release
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::domain::ReleaseState;
    use crate::store::Db;

    use crate::store::test_db as db;

    async fn planned(db: &Db, id: i64, version: &str) -> Release {
        insert_planned(db, id, version, None).await
    }

    /// Writes `release` alone and returns its revision after.
    async fn write(db: &Db, release: &Release) -> anyhow::Result<i64> {
        let mut batch = Batch::new();
        update(&mut batch, release);
        batch.run(&mut db.writer().acquire().await.unwrap()).await?;
        Ok(get(db.reader(), release.id).await?.unwrap().revision)
    }

    #[tokio::test]
    async fn every_update_bumps_the_revision_and_keeps_the_deployment() {
        let (db, _dir) = db().await;
        let mut release = planned(&db, 1, "1.4.0").await;
        let stored = get(db.reader(), release.id).await.unwrap().unwrap();
        assert_eq!(stored.revision, 0);
        assert_eq!(write(&db, &release).await.unwrap(), 1);
        let started = Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap();
        release.state = ReleaseState::Deploying;
        release.deployment = Some(Deployment {
            started_by: UserId(u64::MAX - 1),
            started_by_name: "Dee".into(),
            started_at: started,
            stage: 2,
            stage_started_at: started + TimeDelta::minutes(30),
            clock_ends_at: Some(started + TimeDelta::hours(2)),
            verify_started_at: Some(started + TimeDelta::hours(1)),
            halted_at: Some(started + TimeDelta::minutes(45)),
            halted_for: TimeDelta::seconds(95),
            rollback: Some(RollbackRequest {
                by: "Remy".into(),
                reason: "errors up".into(),
                requested_at: started + TimeDelta::minutes(50),
                failed_at: Some(started + TimeDelta::minutes(52)),
            }),
            finished_at: Some(started + TimeDelta::minutes(55)),
            watch: crate::domain::gates::Watch::default(),
            reports: Vec::new(),
            on_call: Some(crate::domain::release::OnCall {
                by: UserId(u64::MAX - 2),
                name: "Remy".into(),
                at: started + TimeDelta::minutes(20),
            }),
        });
        assert_eq!(write(&db, &release).await.unwrap(), 2);
        let stored = get(db.reader(), release.id).await.unwrap().unwrap();
        assert_eq!(stored.revision, 2);
        assert_eq!(stored.release, release);
        assert!(get(db.reader(), ReleaseId(99)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_database_refuses_a_second_rollout_in_one_environment() {
        let (db, _dir) = db().await;
        let started = Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap();
        let deployment = Deployment {
            started_by: UserId(2),
            started_by_name: "Dee".into(),
            started_at: started,
            stage: 0,
            stage_started_at: started,
            clock_ends_at: None,
            verify_started_at: None,
            halted_at: None,
            halted_for: TimeDelta::zero(),
            rollback: None,
            finished_at: None,
            watch: crate::domain::gates::Watch::default(),
            reports: Vec::new(),
            on_call: None,
        };
        let mut first = planned(&db, 1, "1.4.0").await;
        let mut second = planned(&db, 2, "1.5.0").await;
        first.state = ReleaseState::Deploying;
        first.deployment = Some(deployment.clone());
        write(&db, &first).await.unwrap();
        second.state = ReleaseState::Halted;
        second.deployment = Some(deployment);
        let refused = write(&db, &second).await.unwrap_err();
        assert!(format!("{refused:#}").contains("UNIQUE"), "{refused:#}");

        first.state = ReleaseState::Completed;
        write(&db, &first).await.unwrap();
        write(&db, &second).await.unwrap();
    }

    #[tokio::test]
    async fn a_version_is_found_by_its_identity_in_the_environment_asked_for() {
        let (db, _dir) = db().await;
        planned(&db, 1, "1.4.0+build.1").await;
        insert_planned(&db, 2, "1.4.0", Some("staging")).await;
        planned(&db, 3, "1.4.0-rc.1").await;

        let version = Version::parse("1.4.0+build.2").unwrap();
        let ids = |found: Vec<StoredRelease>| -> Vec<i64> {
            found.iter().map(|s| s.release.id.0).collect()
        };
        let everywhere = by_version(db.reader(), &version, None).await.unwrap();
        assert_eq!(ids(everywhere), [2, 1]);
        let production = by_version(db.reader(), &version, Some(" production "))
            .await
            .unwrap();
        assert_eq!(production[0].release.version.to_string(), "1.4.0+build.1");
        assert_eq!(ids(production), [1]);
        let nowhere = by_version(db.reader(), &version, Some("qa")).await.unwrap();
        assert!(nowhere.is_empty());

        // A group reads every release of the versions it names at once, in any environment.
        planned(&db, 4, "2.0.0").await;
        let mut conn = db.writer().acquire().await.unwrap();
        let keys = [version.key(), "2.0.0".to_owned(), "9.9.9".to_owned()];
        let mut named = of_versions(&mut conn, &keys, &[]).await.unwrap();
        named.sort_by_key(|stored| std::cmp::Reverse(stored.release.id));
        assert_eq!(ids(named), [4, 2, 1]);
        // Or only in the environment named.
        let staging = [(version.key(), "staging".to_owned())];
        assert_eq!(
            ids(of_versions(&mut conn, &[], &staging).await.unwrap()),
            [2]
        );
    }

    #[tokio::test]
    async fn a_group_reads_the_deploy_locks_of_the_environments_it_names_at_once() {
        let (db, _dir) = db().await;
        let mut first = planned(&db, 1, "1.4.0").await;
        let mut second = insert_planned(&db, 2, "1.5.0", Some("staging")).await;
        let mut third = insert_planned(&db, 3, "1.6.0", Some("qa")).await;
        planned(&db, 4, "1.7.0").await;
        first.state = ReleaseState::Verifying;
        second.state = ReleaseState::Halted;
        third.state = ReleaseState::Deploying;
        for release in [&first, &second, &third] {
            write(&db, release).await.unwrap();
        }
        let mut conn = db.writer().acquire().await.unwrap();
        let environments = ["production".to_owned(), "staging".to_owned()];
        let holding = holding_locks(&mut conn, &environments).await.unwrap();
        let mut ids: Vec<i64> = holding.iter().map(|s| s.release.id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2]);
    }
}
