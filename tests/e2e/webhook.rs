//! The webhook executor against a receiver on loopback: signed in GitHub's style, and the
//! same Idempotency-Key when a 5xx answer is retried.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::tester::*;
use crate::support::wait::wait_until;

const SECRET: &str = "webhook-test-secret";

/// What the receiver saw: each request's headers and body. It answers 500 to the first.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn hook(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut seen = seen.0.lock().unwrap();
    seen.push((headers, body));
    if seen.len() == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn signature_of(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_webhook_is_signed_and_keeps_its_key_when_retried() {
    let (url, seen) = receiver().await;
    let executor =
        format!("\n[executor]\nkind = \"webhook\"\nurl = \"{url}\"\ntimeout = \"10s\"\n");
    let t = Tester::start_configured_env(&executor, &[("GONOGO_EXECUTOR__SECRET", SECRET)]).await;
    t.plan(&author(), "8.0.0", "patch").await;
    t.go(&lead(), "8.0.0").await;
    let deploy = t.top_command(&deployer(), "deploy", vec![("version", json!("8.0.0"))]);
    assert!(content(&t.send(deploy).await).contains("deploying"));

    wait_until("the webhook to be retried", || async {
        let sent = seen.0.lock().unwrap().len();
        if sent >= 2 {
            Ok(())
        } else {
            Err(sent)
        }
    })
    .await;
    let requests = seen.0.lock().unwrap().clone();
    let keys: Vec<&str> = requests
        .iter()
        .map(|(headers, _)| headers["idempotency-key"].to_str().unwrap())
        .collect();
    assert_eq!(keys[0], keys[1], "a retry keeps its Idempotency-Key");
    for (headers, body) in &requests {
        assert_eq!(
            headers["x-gonogo-signature-256"].to_str().unwrap(),
            signature_of(body)
        );
    }
    let facts: Value = serde_json::from_slice(&requests[0].1).unwrap();
    assert_eq!(
        facts,
        json!({ "action": "deploy", "release_id": 1, "version": "8.0.0", "kind": "patch", "stage": "canary", "percent": 1 })
    );
    t.wait_db("SELECT state FROM executions WHERE stage = 0", "succeeded")
        .await;
    t.finish().await;
}
