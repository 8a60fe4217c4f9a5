//! The pipeline door, `/api/v1`: bearer tokens, JSON in and out, problem documents for
//! errors. Every change goes to the same service operations as the two Discord doors.

mod auth;
mod plan;
mod problem;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Scope;
use crate::domain::{Milestone, ReleaseId, ReleaseState, Version};
use crate::service::{Ask, Filter, Service};
use plan::PlanBody;
pub use problem::{FieldError, Problem};

/// The largest body the door reads.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The longest a long poll waits, and how long it waits when not told.
const MAX_WAIT: Duration = Duration::from_secs(120);
const DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// A long poll may take its whole wait; anything much longer is stuck.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(150);
/// Requests served at once: long polls wait here without costing anything.
const CONCURRENT_REQUESTS: usize = 2048;

/// The door's routes, or none while no token is configured.
pub fn router(service: Service) -> Option<Router> {
    if service.config().api.tokens.is_empty() {
        return None;
    }
    let router = Router::new()
        .route("/api/v1/releases", post(plan_release).get(list_releases))
        .route("/api/v1/releases/:id", get(get_release))
        .route("/api/v1/releases/:id/wait", get(wait_release))
        .route("/api/v1/releases/:id/checks", post(report_check))
        .route("/api/v1/releases/:id/deploy", post(deploy_release))
        .with_state(service)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(ConcurrencyLimitLayer::new(CONCURRENT_REQUESTS));
    Some(router)
}

type Answer = Result<Response, Problem>;

fn authorize(
    service: &Service,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<crate::config::ApiToken, Problem> {
    auth::authorize(&service.config().api.tokens, headers, scope).cloned()
}

/// The body as JSON of `T`: 413 past [`BODY_LIMIT`], 422 naming what does not parse.
async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, Problem> {
    let bytes: Bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is larger than {} KiB", BODY_LIMIT / 1024),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Problem::invalid(vec![FieldError {
            field: "body".to_owned(),
            message: format!("not the JSON this endpoint takes: {error}"),
        }])
    })
}

fn release_id(text: &str) -> Result<ReleaseId, Problem> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ReleaseId)
        .ok_or_else(|| Problem::not_found(format!("there is no release `{text}`")))
}

fn unknown(id: ReleaseId) -> Problem {
    Problem::not_found(format!("there is no release {}", id.0))
}

async fn plan_release(State(service): State<Service>, headers: HeaderMap, body: Body) -> Answer {
    let token = authorize(&service, &headers, Scope::Plan)?;
    let body: PlanBody = json_body(body).await?;
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|key| !key.is_empty() && key.len() <= 255)
                .map(str::to_owned)
                .ok_or_else(|| {
                    Problem::invalid(vec![FieldError {
                        field: "Idempotency-Key".to_owned(),
                        message: "1 to 255 visible ASCII characters".to_owned(),
                    }])
                })
        })
        .transpose()?;
    let (request, on_behalf_of) = body.parse(&token.name, key).map_err(Problem::invalid)?;
    let actor = auth::actor(&token, service.config(), on_behalf_of);
    let (release, created) = service
        .plan_from_pipeline(&actor, request)
        .await
        .map_err(|e| Problem::of(e, service.messages()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(release)).into_response())
}

async fn get_release(
    State(service): State<Service>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    authorize(&service, &headers, Scope::Read)?;
    let id = release_id(&id)?;
    match service.pipeline_release(id).await {
        Ok(Some(release)) => Ok(Json(release).into_response()),
        Ok(None) => Err(unknown(id)),
        Err(error) => Err(Problem::of(error, service.messages())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    version: Option<String>,
    environment: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

async fn list_releases(
    State(service): State<Service>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    authorize(&service, &headers, Scope::Read)?;
    let Query(query) = query.map_err(|rejection| {
        Problem::invalid(vec![FieldError {
            field: "query".to_owned(),
            message: rejection.body_text(),
        }])
    })?;
    let mut errors = Vec::new();
    let mut field = |name: &str, message: String| {
        errors.push(FieldError {
            field: name.to_owned(),
            message,
        });
    };
    let mut filter = Filter::default();
    if let Some(version) = query.version.as_deref().filter(|v| !v.is_empty()) {
        match Version::parse(version) {
            Ok(version) => filter.version = Some(version),
            Err(message) => field("version", message),
        }
    }
    filter.environment = query.environment.filter(|e| !e.is_empty());
    if let Some(state) = query.state.as_deref().filter(|s| !s.is_empty()) {
        match state.parse::<ReleaseState>() {
            Ok(state) => filter.state = Some(state),
            Err(message) => field("state", message),
        }
    }
    if let Some(limit) = query.limit.as_deref() {
        match limit.parse::<u32>() {
            Ok(limit) if (1..=crate::service::MAX_PAGE).contains(&limit) => filter.limit = limit,
            _ => field(
                "limit",
                format!("a limit is 1 to {}", crate::service::MAX_PAGE),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let listed = service
        .pipeline_releases(filter, query.cursor.as_deref())
        .await
        .map_err(|e| Problem::of(e, service.messages()))?;
    Ok(Json(listed).into_response())
}

#[derive(Debug, Deserialize)]
struct WaitQuery {
    until: Option<String>,
    timeout: Option<String>,
}

async fn wait_release(
    State(service): State<Service>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<WaitQuery>,
) -> Answer {
    authorize(&service, &headers, Scope::Read)?;
    let id = release_id(&id)?;
    let mut errors = Vec::new();
    let milestone = match query.until.as_deref().map(str::parse::<Milestone>) {
        Some(Ok(milestone)) => Some(milestone),
        Some(Err(message)) => {
            errors.push(FieldError {
                field: "until".to_owned(),
                message,
            });
            None
        }
        None => {
            errors.push(FieldError {
                field: "until".to_owned(),
                message: "say what to wait for: decided, deployed or finished".to_owned(),
            });
            None
        }
    };
    let timeout = match query.timeout.as_deref().map(humantime::parse_duration) {
        None => Some(DEFAULT_WAIT),
        Some(Ok(timeout)) if timeout <= MAX_WAIT => Some(timeout),
        Some(_) => {
            errors.push(FieldError {
                field: "timeout".to_owned(),
                message: "a timeout is a duration of at most 120s, like 60s".to_owned(),
            });
            None
        }
    };
    let (Some(milestone), Some(timeout)) = (milestone, timeout) else {
        return Err(Problem::invalid(errors));
    };
    let timeout = chrono::TimeDelta::from_std(timeout).unwrap_or(chrono::TimeDelta::zero());
    match service.wait_for(id, milestone, timeout).await {
        Ok(Some(waited)) => Ok(Json(waited).into_response()),
        Ok(None) => Err(unknown(id)),
        Err(error) => Err(Problem::of(error, service.messages())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    item: String,
    status: String,
    url: Option<String>,
}

async fn report_check(
    State(service): State<Service>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Answer {
    let token = authorize(&service, &headers, Scope::Check)?;
    let id = release_id(&id)?;
    let body: CheckBody = json_body(body).await?;
    let mut errors = Vec::new();
    let passed = match body.status.as_str() {
        "passed" => Some(true),
        "failed" => Some(false),
        other => {
            errors.push(FieldError {
                field: "status".to_owned(),
                message: format!("`{other}` is not a status; use passed or failed"),
            });
            None
        }
    };
    let url = match body.url.as_deref().map(plan::http_url).transpose() {
        Ok(url) => url,
        Err(message) => {
            errors.push(FieldError {
                field: "url".to_owned(),
                message,
            });
            None
        }
    };
    if body.item.trim().is_empty() {
        errors.push(FieldError {
            field: "item".to_owned(),
            message: "name the checklist item, as its text".to_owned(),
        });
    }
    let Some(passed) = passed.filter(|_| errors.is_empty()) else {
        return Err(Problem::invalid(errors));
    };
    let actor = auth::actor(&token, service.config(), None);
    let ask = Ask::Check {
        item: body.item,
        passed,
        url,
    };
    let release = service
        .pipeline_request(&actor, id, ask)
        .await
        .map_err(|e| Problem::of(e, service.messages()))?;
    Ok(Json(release).into_response())
}

async fn deploy_release(
    State(service): State<Service>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let token = authorize(&service, &headers, Scope::Deploy)?;
    let id = release_id(&id)?;
    let actor = auth::actor(&token, service.config(), None);
    let release = service
        .pipeline_request(&actor, id, Ask::Start)
        .await
        .map_err(|e| Problem::of(e, service.messages()))?;
    Ok((StatusCode::ACCEPTED, Json(release)).into_response())
}
