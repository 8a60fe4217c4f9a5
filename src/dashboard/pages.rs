//! The pages: the release list, one release's storyboard, the figures and the audit chain.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::query::Params;
use super::render::Problem;
use super::storyboard;
use super::{internal, Answer, Board};
use crate::charts::{self, GateThresholds};
use crate::config::Config;
use crate::domain::release::DEFAULT_ENVIRONMENT;
use crate::domain::{ReleaseId, ReleaseKind, ReleaseState};
use crate::service::{Filter, StoredRelease, Verdict};

/// Releases per page of the list.
const PER_PAGE: u32 = 25;
/// The longest period the figures cover: ten years.
const MAX_DAYS: i64 = 3_650;

/// One row of the release list.
#[derive(Serialize)]
struct Row {
    id: i64,
    version: String,
    kind: &'static str,
    environment: String,
    state: &'static str,
    stage: String,
    age: String,
}

/// `GET /?environment=&state=&type=&page=`.
pub async fn releases(
    State(board): State<Board>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(releases_page(&board, &headers, query.as_deref()).await)
}

async fn releases_page(board: &Board, headers: &HeaderMap, query: Option<&str>) -> Answer {
    let me = board.member(headers)?;
    let bad = |problem: Problem| board.templates.problem(&problem.for_member(&me.name));
    let params = Params::parse(query, &["environment", "state", "type", "page"]).map_err(bad)?;
    let page = params
        .number("page", (1, i64::from(u32::MAX)), 1)
        .map_err(bad)?;
    let page = u32::try_from(page).unwrap_or(u32::MAX);
    let filter = Filter {
        environment: params.environment().map_err(bad)?,
        state: params.state().map_err(bad)?,
        kind: params.kind().map_err(bad)?,
        skip: (page - 1).saturating_mul(PER_PAGE),
        limit: PER_PAGE,
        ..Filter::default()
    };
    let found = board
        .service
        .releases_page(&filter)
        .await
        .map_err(internal(board, &me))?;
    let pages = u32::try_from(found.total.div_ceil(u64::from(PER_PAGE)))
        .unwrap_or(u32::MAX)
        .max(1);
    if page > pages {
        return Err(bad(Problem::new(
            StatusCode::NOT_FOUND,
            "That page is past the end",
            format!(
                "Page {page} is past the end: these releases fill {pages} page{}.",
                plural(pages)
            ),
        )));
    }
    let now = board.service.now();
    let config = board.service.config();
    let rows: Vec<Row> = found
        .releases
        .iter()
        .map(|stored| row(stored, now, config))
        .collect();
    let link = |to: u32| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for name in ["environment", "state", "type"] {
            if let Some(value) = params.get(name) {
                pairs.push((name, value.to_owned()));
            }
        }
        pairs.push(("page", to.to_string()));
        format!(
            "/?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    Ok(board.templates.page(
        StatusCode::OK,
        "list.html",
        json!({
            "me": me.name,
            "releases": rows,
            "total": found.total,
            "page": page,
            "pages": pages,
            "previous": (page > 1).then(|| link(page - 1)),
            "next": (page < pages).then(|| link(page + 1)),
            "filter": {
                "environment": params.get("environment").unwrap_or_default(),
                "state": params.get("state").unwrap_or_default(),
                "type": params.get("type").unwrap_or_default(),
            },
            "states": ReleaseState::ALL.map(ReleaseState::as_str),
            "kinds": ReleaseKind::ALL.map(ReleaseKind::as_str),
        }),
    ))
}

fn row(stored: &StoredRelease, now: chrono::DateTime<chrono::Utc>, config: &Config) -> Row {
    let release = &stored.release;
    let stage = match &release.deployment {
        Some(d) if d.verify_started_at.is_some() => "verify".to_owned(),
        Some(d) => config.rollout_for(&release.environment).stage_name(d.stage),
        None => String::new(),
    };
    Row {
        id: release.id.0,
        version: release.version.to_string(),
        kind: release.kind.as_str(),
        environment: release.environment.clone(),
        state: release.state.as_str(),
        stage,
        age: crate::domain::stats::span(now - release.created_at),
    }
}

/// `GET /releases/{id}`: the storyboard.
pub async fn storyboard(
    State(board): State<Board>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(storyboard_page(&board, &headers, &id).await)
}

async fn storyboard_page(board: &Board, headers: &HeaderMap, id: &str) -> Answer {
    let me = board.member(headers)?;
    let unknown = || {
        board.templates.problem(
            &Problem::new(
                StatusCode::NOT_FOUND,
                "No such release",
                format!("gonogo has no release {id}. The list shows every release it has."),
            )
            .for_member(&me.name),
        )
    };
    let id = id.parse::<i64>().map_err(|_| unknown())?;
    let Some(story) = board
        .service
        .storyboard(ReleaseId(id))
        .await
        .map_err(internal(board, &me))?
    else {
        return Err(unknown());
    };
    let config = board.service.config();
    let guild = config.discord.guild_id;
    let card = story.stored.card_message_id.map(|message| {
        format!(
            "https://discord.com/channels/{guild}/{}/{message}",
            story.stored.card_channel_id
        )
    });
    let thread = story
        .stored
        .thread_id
        .map(|thread| format!("https://discord.com/channels/{guild}/{thread}"));
    let events = &story.events;
    let (points, baseline_ms) = storyboard::gate_points(events);
    let gates = &config.gates.metrics;
    let limits = GateThresholds {
        max_error_rate: gates.max_error_rate * 100.0,
        baseline_ms,
        max_latency_ratio: gates.max_latency_ratio,
    };
    let chart = |drawn: Result<String, String>| {
        drawn.unwrap_or_else(|why| {
            tracing::warn!("Cannot draw a chart of release {id}: {why}");
            String::new()
        })
    };
    let rows: Vec<storyboard::EventRow> = events.iter().map(storyboard::EventRow::of).collect();
    let first_stage = config
        .rollout_for(&story.stored.release.environment)
        .stage_name(0);
    Ok(board.templates.page(
        StatusCode::OK,
        "release.html",
        json!({
            "me": me.name,
            "release": story.view,
            "frames": storyboard::frames(events, card.as_deref(), thread.as_deref()),
            "events": rows,
            "actions": storyboard::actions(events),
            "rollback": storyboard::rollback(events),
            "on_call": storyboard::on_call(events),
            "timeline": chart(charts::stage_timeline(&storyboard::spans(events, &first_stage))),
            "gates": chart(charts::gate_readings(&points, &limits)),
        }),
    ))
}

/// `GET /stats?days=90&environment=production`: the DORA figures and their weekly trends.
pub async fn stats(
    State(board): State<Board>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(stats_page(&board, &headers, query.as_deref()).await)
}

async fn stats_page(board: &Board, headers: &HeaderMap, query: Option<&str>) -> Answer {
    let me = board.member(headers)?;
    let bad = |problem: Problem| board.templates.problem(&problem.for_member(&me.name));
    let params = Params::parse(query, &["days", "environment"]).map_err(bad)?;
    let days = params.number("days", (1, MAX_DAYS), 90).map_err(bad)?;
    let environment = params
        .environment()
        .map_err(bad)?
        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
    let trend = board
        .service
        .trend(days, &environment)
        .await
        .map_err(internal(board, &me))?;
    let charts = charts::trend_charts(&trend.weeks)
        .map_err(|why| internal(board, &me)(anyhow::anyhow!("Cannot draw the trends: {why}")))?;
    let charts: Vec<_> = charts
        .into_iter()
        .map(|c| json!({ "title": c.title, "svg": c.svg }))
        .collect();
    Ok(board.templates.page(
        StatusCode::OK,
        "stats.html",
        json!({ "me": me.name, "figures": trend.figures, "charts": charts }),
    ))
}

/// `GET /audit`: the chain's count, head and verification.
pub async fn audit(State(board): State<Board>, headers: HeaderMap) -> Response {
    answer(audit_page(&board, &headers).await)
}

async fn audit_page(board: &Board, headers: &HeaderMap) -> Answer {
    let me = board.member(headers)?;
    let check = board
        .service
        .audit_check()
        .await
        .map_err(internal(board, &me))?;
    let (intact, verdict) = match &check.verdict {
        Verdict::Intact(count) => (true, format!("intact: all {count} events check out")),
        Verdict::Broken(at) => (false, format!("broken at {at}")),
    };
    Ok(board.templates.page(
        StatusCode::OK,
        "audit.html",
        json!({
            "me": me.name,
            "count": check.head.count,
            "hash": check.head.hash,
            "intact": intact,
            "verdict": verdict,
        }),
    ))
}

fn answer(answer: Answer) -> Response {
    answer.unwrap_or_else(|page| page)
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
