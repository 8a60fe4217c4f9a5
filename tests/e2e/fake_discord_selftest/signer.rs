//! Signed HTTP interactions verify with serenity's own verifier; forged and unsigned ones do not.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use serenity::interactions_endpoint::Verifier;

use crate::support::fixtures;
use crate::support::signer::Signer;

#[tokio::test]
async fn fake_signer_signs_like_discord() {
    let signer = Signer::new();
    let verifier = Verifier::new(&signer.public_key_hex());
    let app = axum::Router::new().route(
        "/interactions",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let sig = headers
                .get("x-signature-ed25519")
                .and_then(|v| v.to_str().ok());
            let ts = headers
                .get("x-signature-timestamp")
                .and_then(|v| v.to_str().ok());
            match (sig, ts) {
                (Some(sig), Some(ts)) if verifier.verify(sig, ts, &body).is_ok() => {
                    (StatusCode::OK, axum::Json(json!({"type": 1})))
                }
                _ => (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid request signature"})),
                ),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/interactions",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ping = fixtures::ping();
    let reply = signer.post_interaction_timed(&url, &ping).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!({"type": 1}))
    );
    eprintln!("signed round trip {:?}", reply.elapsed);
    let (status, _): (u16, Value) = signer.post_forged(&url, &ping).await;
    assert_eq!(status, 401);
    assert_eq!(signer.post_unsigned(&url, &ping).await.0, 401);
}
