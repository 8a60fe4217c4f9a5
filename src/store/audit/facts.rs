//! The audit events the DORA figures read: every event of the kinds they need, of each
//! release that started, completed or rolled back in the period.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::stats::{Fact, KINDS};
use crate::store::{parse_ts, ts, Backend, Db};

pub async fn facts_since(db: &Db, since: DateTime<Utc>) -> anyhow::Result<Vec<Fact>> {
    let kinds = KINDS.map(|k| format!("'{k}'")).join(", ");
    // A year of figures is tens of thousands of events. SQLite picks out the few fields they
    // need (most need none of their detail) and hands them over as one text, a JSON array a
    // line: one row instead of one per event, each of which would cost more to pass than to
    // read. Each line becomes a fact as it is read, so only the text and the facts are held.
    // They come in no particular order: a release has one plan, and the figures count.
    let lines = match db.backend() {
        Backend::Sqlite => {
            "group_concat(json_array(release_id, kind, at, \
               CASE WHEN kind = 'rolled_back' THEN json_extract(detail, '$.restore_secs') END, \
               CASE WHEN kind = 'planned' THEN json_extract(detail, '$.environment') END, \
               CASE WHEN kind = 'planned' THEN json_extract(detail, '$.origin.commit_time') END), \
               char(10))"
        }
        Backend::Postgres => {
            "string_agg(json_build_array(release_id, kind, at, \
               CASE WHEN kind = 'rolled_back' THEN detail::jsonb -> 'restore_secs' END, \
               CASE WHEN kind = 'planned' THEN detail::jsonb ->> 'environment' END, \
               CASE WHEN kind = 'planned' THEN detail::jsonb #>> '{origin,commit_time}' END)::text, \
               chr(10))"
        }
    };
    let facts: Option<String> = sqlx::query_scalar(&format!(
        "SELECT {lines} \
         FROM audit_events \
         WHERE kind IN ({kinds}) AND release_id IN (\
           SELECT release_id FROM audit_events WHERE at > $1 \
           AND kind IN ('deploy_started', 'completed', 'rolled_back'))"
    ))
    .bind(ts(since))
    .fetch_one(db.reader())
    .await
    .context("Cannot read the audit trail for the figures")?;
    serde_json::Deserializer::from_str(facts.as_deref().unwrap_or_default())
        .into_iter::<Row>()
        .map(|row| {
            let (release, kind, at, restore_secs, environment, commit_time) =
                row.context("Cannot read a fact of the audit trail")?;
            let commit_time = commit_time
                .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                .map(|at| at.with_timezone(&Utc));
            Ok(Fact {
                release,
                kind,
                at: parse_ts(&at)?,
                restore_secs,
                environment,
                commit_time,
            })
        })
        .collect()
}

/// One fact as `SQLite` lists it: release, kind, time, time to restore, environment and
/// commit time.
type Row = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);
