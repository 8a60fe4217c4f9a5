//! The HTTP door and operator endpoints: `POST /interactions`, `GET /healthz`, `GET /livez`,
//! `GET /metrics`, behind explicit limits.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt as _;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::discord::handler::Handler;
use crate::discord::request::Request;
use crate::metrics;
use crate::signatures::Signatures;

#[derive(Clone)]
struct Door {
    handler: Handler,
    signatures: Arc<Signatures>,
    /// Sends the files an answer carries as a follow-up: an HTTP response cannot carry them.
    followups: Arc<serenity::all::Http>,
}

/// Discord's interaction payloads are a few kilobytes; anything near this is not one.
const BODY_LIMIT: usize = 256 * 1024;
/// Discord gives up on an interaction after 3 seconds; a request still running at this is stuck.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests served at once; more wait their turn rather than pile onto the database.
const CONCURRENT_REQUESTS: usize = 256;

/// The public router; `public_key` is the application's Ed25519 key. `/metrics` is served
/// here unless it has a listener of its own (`with_metrics` false).
pub fn router(
    handler: Handler,
    public_key: &[u8; 32],
    with_metrics: bool,
    followups: Arc<serenity::all::Http>,
) -> anyhow::Result<Router> {
    let signatures = Signatures::new(public_key)
        .ok_or_else(|| anyhow::anyhow!("discord.public_key is not an Ed25519 key"))?;
    let door = Door {
        handler,
        signatures: Arc::new(signatures),
        followups,
    };
    let mut router = Router::new()
        .route("/interactions", post(interactions))
        .route("/healthz", get(healthz))
        .route("/livez", get(livez));
    if with_metrics {
        router = router.route("/metrics", get(metrics_text));
    }
    Ok(limited(router.with_state(door)))
}

/// `/metrics` alone, for `http.metrics_listen`.
pub fn metrics_router(handler: Handler) -> Router {
    limited(
        Router::new()
            .route(
                "/metrics",
                get(|State(handler): State<Handler>| async move { metrics(&handler).await }),
            )
            .with_state(handler),
    )
}

/// The listener's limits: body size, time per request, requests at once.
fn limited(router: Router) -> Router {
    router
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(ConcurrencyLimitLayer::new(CONCURRENT_REQUESTS))
}

async fn interactions(State(door): State<Door>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return (StatusCode::UNAUTHORIZED, "missing signature").into_response();
    };
    if !door.signatures.verify(signature, timestamp, &body).await {
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    // A captured request must not be replayable later: Discord signs the time it sent it.
    let now = door.handler.service().now().timestamp();
    if !is_fresh(timestamp, now) {
        return (StatusCode::UNAUTHORIZED, "stale request signature").into_response();
    }
    let request = match Request::parse(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an interaction: {error}"),
            )
                .into_response()
        }
    };
    let reply = door.handler.handle(&request).await;
    let (Some(token), false) = (request.token(), reply.files.is_empty()) else {
        return Json(reply.response).into_response();
    };
    // The files follow once the answer has gone out: a follow-up before the answer would
    // find no acknowledged interaction to follow.
    let (sent, answered) = tokio::sync::oneshot::channel();
    let (token, files, http) = (token.to_owned(), reply.files, door.followups.clone());
    tokio::spawn(async move {
        if answered.await.is_err() {
            return;
        }
        let quiet = serde_json::json!({ "flags": 64, "allowed_mentions": { "parse": [] } });
        if let Err(cause) = http.create_followup_message(&token, &quiet, files).await {
            tracing::warn!("Cannot send the answer's files as a follow-up: {cause}");
        }
    });
    let body = serde_json::to_vec(&reply.response).unwrap_or_default();
    let mut response = axum::response::Response::new(axum::body::Body::from_stream(sent_once(
        Bytes::from(body),
        sent,
    )));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A body of `bytes` that fires `sent` once the server is done with it: when it has been
/// written out, or the connection dropped.
fn sent_once(
    bytes: Bytes,
    sent: tokio::sync::oneshot::Sender<()>,
) -> impl futures::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    struct Fire(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for Fire {
        fn drop(&mut self) {
            if let Some(sent) = self.0.take() {
                let _ = sent.send(());
            }
        }
    }
    let fire = Fire(Some(sent));
    futures::stream::iter([Ok(bytes)]).chain(futures::stream::poll_fn(move |_| {
        let _kept_until_the_body_is_dropped = &fire;
        std::task::Poll::Ready(None)
    }))
}

/// How far a signature's timestamp may be from now, either side.
const SIGNATURE_FRESHNESS_SECS: i64 = 5 * 60;

/// Whether `timestamp` (Unix seconds, as Discord sends it) is within five minutes of `now`.
fn is_fresh(timestamp: &str, now: i64) -> bool {
    timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|sent| sent.abs_diff(now) <= SIGNATURE_FRESHNESS_SECS.unsigned_abs())
}

/// Liveness: the process answers. Readiness (`/healthz`) also needs the database.
async fn livez() -> &'static str {
    "alive"
}

/// Readiness: the database answers, and, on the replica that leads, the slash commands are
/// registered. A follower is ready as soon as its database is: it answers interactions too.
/// The body says which replica leads: `{"leader": true, "term": 3}`.
async fn healthz(State(door): State<Door>) -> Response {
    let service = door.handler.service();
    let (leader, term) = service.leader();
    if leader && !service.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: the slash commands are not registered with Discord yet",
        )
            .into_response();
    }
    match service.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "leader": leader, "term": term })),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn metrics_text(State(door): State<Door>) -> Response {
    metrics(&door.handler).await
}

async fn metrics(handler: &Handler) -> Response {
    let service = handler.service();
    let text = match service.counts().await {
        Ok(counts) => metrics::render(&counts, service.discord_answers()),
        Err(cause) => Err(cause),
    };
    match text {
        Ok(text) => ([("content-type", "text/plain; version=0.0.4")], text).into_response(),
        Err(cause) => {
            tracing::warn!("Cannot render metrics: {cause:#}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_fresh;

    #[test]
    fn a_signature_is_fresh_for_five_minutes_either_side() {
        let now = 1_780_000_000;
        assert!(is_fresh("1780000000", now));
        assert!(is_fresh("1779999700", now));
        assert!(is_fresh("1780000300", now));
        assert!(!is_fresh("1779999699", now));
        assert!(!is_fresh("1780000301", now));
        assert!(!is_fresh("", now));
        assert!(!is_fresh("soon", now));
        assert!(!is_fresh("-9223372036854775808", now));
    }
}
