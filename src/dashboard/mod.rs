//! The dashboard: a read-only web view of the record, behind Discord sign-in. Its pages only
//! read through the service; the one POST it takes is signing out.

mod discord;
mod pages;
mod query;
mod render;
mod session;
mod signin;
mod storyboard;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::TimeDelta;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::DashboardConfig;
use crate::service::Service;
use discord::Discord;
use render::{Problem, Templates};
use session::{Session, Sessions, SESSION_COOKIE};

/// A page still being drawn after this is stuck: the slowest, a year of figures, takes well
/// under a second.
const PAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pages drawn at once; more wait their turn rather than pile onto the database.
const CONCURRENT_PAGES: usize = 32;

/// Everything a dashboard request needs.
#[derive(Clone)]
struct Board {
    service: Service,
    config: Arc<DashboardConfig>,
    discord: Arc<Discord>,
    sessions: Arc<Sessions>,
    templates: Arc<Templates>,
}

/// The dashboard's routes, when `[dashboard]` is configured.
pub fn router(service: Service) -> anyhow::Result<Option<Router>> {
    let Some(config) = service.config().dashboard.clone() else {
        return Ok(None);
    };
    let board = Board {
        discord: Arc::new(Discord::new(service.config(), &config)?),
        config: Arc::new(config),
        sessions: Arc::default(),
        templates: Arc::new(Templates::new()?),
        service,
    };
    let router = Router::new()
        .route("/", get(pages::releases))
        .route("/releases/:id", get(pages::storyboard))
        .route("/stats", get(pages::stats))
        .route("/audit", get(pages::audit))
        .route("/auth/login", get(signin::login))
        .route("/auth/callback", get(signin::callback))
        .route("/auth/logout", post(signin::logout))
        .route("/auth/signed-out", get(signin::signed_out))
        .route("/static/dashboard.css", get(stylesheet))
        .fallback(not_found)
        .with_state(board)
        .layer(axum::middleware::map_response(guarded))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            PAGE_TIMEOUT,
        ))
        .layer(ConcurrencyLimitLayer::new(CONCURRENT_PAGES));
    Ok(Some(router))
}

/// Every dashboard answer: no script but our own, no framing, no referrer beyond this host,
/// and nothing cached that a signed-in page showed.
async fn guarded(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        ("content-security-policy", "default-src 'self'"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("dashboard.css"),
    )
        .into_response()
}

impl Board {
    /// The signed-in member, or the page that tells them to sign in. A cookie that is not
    /// ours, has ended or has expired means signed out, and is cleared.
    #[expect(
        clippy::result_large_err,
        reason = "a refusal is the whole page, sent as it is"
    )]
    fn member(&self, headers: &HeaderMap) -> Result<Session, Response> {
        let cookie = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|cookies| session::cookie(cookies, SESSION_COOKIE));
        let now = self.service.now();
        if let Some(session) = cookie.and_then(|c| self.sessions.get(c, now)) {
            return Ok(session);
        }
        let problem = match cookie {
            None => Problem::new(
                StatusCode::UNAUTHORIZED,
                "Sign in to see gonogo's releases",
                "The dashboard shows the record to members of the server who hold one of \
                 gonogo's roles. Sign in with Discord to go on.",
            ),
            Some(_) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "You are signed out",
                "Your session has ended, has expired, or its cookie is not one gonogo signed. \
                 Sign in with Discord again.",
            ),
        };
        let mut page = self.templates.problem(&problem.signing_in());
        if cookie.is_some() {
            self.clear_cookie(&mut page, SESSION_COOKIE, "/");
        }
        Err(page)
    }

    fn set_cookie(
        &self,
        response: &mut Response,
        name: &str,
        value: &str,
        path: &str,
        ttl: TimeDelta,
    ) {
        let cookie = session::set_cookie(name, value, path, ttl, self.config.secure());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    fn clear_cookie(&self, response: &mut Response, name: &str, path: &str) {
        self.set_cookie(response, name, "", path, TimeDelta::zero());
    }
}

/// A handler's answer: a page, or the page of what went wrong.
type Answer = Result<Response, Response>;

/// Turns a failure to read into its page.
fn internal<'a>(board: &'a Board, me: &Session) -> impl Fn(anyhow::Error) -> Response + 'a {
    let name = me.name.clone();
    move |cause| {
        board
            .templates
            .problem(&Problem::internal(&cause).for_member(&name))
    }
}

/// Any other address: a page that says so, but for the pipeline door's, which speaks JSON.
async fn not_found(State(board): State<Board>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    board.templates.problem(&Problem::new(
        StatusCode::NOT_FOUND,
        "No such page",
        "The dashboard has no page at this address.",
    ))
}
