//! The HTTP door and operator endpoints: `POST /interactions`, `GET /healthz`, `GET /metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serenity::interactions_endpoint::Verifier;
use serenity::model::application::Interaction;

use crate::discord::handler::Handler;
use crate::metrics;

#[derive(Clone)]
struct Door {
    handler: Handler,
    verifier: Arc<Verifier>,
}

/// The router; `public_key` is the application's Ed25519 key.
pub fn router(handler: Handler, public_key: &[u8; 32]) -> anyhow::Result<Router> {
    let verifier = Verifier::try_new(*public_key)
        .map_err(|_| anyhow::anyhow!("discord.public_key is not an Ed25519 key"))?;
    let door = Door {
        handler,
        verifier: Arc::new(verifier),
    };
    Ok(Router::new()
        .route("/interactions", post(interactions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(door))
}

async fn interactions(State(door): State<Door>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return (StatusCode::UNAUTHORIZED, "missing signature").into_response();
    };
    if door.verifier.verify(signature, timestamp, &body).is_err() {
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an interaction: {error}"),
            )
                .into_response()
        }
    };
    let reply = door.handler.handle(&interaction).await;
    Json(reply.response).into_response()
}

async fn healthz(State(door): State<Door>) -> Response {
    match door.handler.service().db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn metrics_text(State(door): State<Door>) -> Response {
    match metrics::render(door.handler.service()).await {
        Ok(text) => ([("content-type", "text/plain; version=0.0.4")], text).into_response(),
        Err(cause) => {
            tracing::warn!("Cannot render metrics: {cause:#}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
