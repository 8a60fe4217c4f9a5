//! The fake's REST surface: one fallback handler that records, validates, injects faults and
//! routes `/api/v10/...` requests.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::fake_discord::{FakeDiscord, FaultKind, Recorded, GLOBAL_LIMIT_PER_SECOND};
use super::{interactions, openapi, routes};

/// Builds the axum app: the gateway websocket plus the REST fallback.
pub fn router(fake: FakeDiscord) -> Router {
    Router::new()
        .route("/gateway", get(super::gateway::upgrade))
        .route("/oauth2/authorize", get(super::oauth::authorize))
        // The browser asks for an icon on Discord's pages; Discord's own is not ours to serve.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
        .route(
            "/api/v10/oauth2/token",
            axum::routing::post(super::oauth::token),
        )
        .route(
            "/api/v10/users/@me/guilds/:guild/member",
            get(super::oauth::member),
        )
        .fallback(handle)
        .with_state(fake)
}

/// An answer before it becomes an HTTP response.
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    pub fn ok(body: Value) -> Reply {
        Self::json(200, body)
    }
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }
    /// Discord's error shape: `{code, message}`.
    pub fn error(status: u16, code: u64, message: &str) -> Reply {
        Self::json(status, json!({ "code": code, "message": message }))
    }
    pub fn not_found() -> Reply {
        Self::error(404, 0, "404: Not Found")
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = match self.body {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => status.into_response(),
        };
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

/// A parsed request, handed to the route handlers.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub segs: Vec<&'a str>,
    pub body: &'a Value,
    /// The files uploaded with a multipart body.
    pub files: &'a [super::multipart::Upload],
}

async fn handle(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let method = method.as_str().to_owned();
    let full = uri.path();
    let path = full.strip_prefix("/api/v10").unwrap_or(full);
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut problems = Vec::new();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut files = Vec::new();
    let body = if bytes.is_empty() {
        Value::Null
    } else if content_type.starts_with("multipart/form-data") {
        match super::multipart::parse(&content_type, &bytes) {
            Ok((message, uploads)) => {
                files = uploads;
                message
            }
            Err(problem) => {
                problems.push(format!("{method} {path}: {problem}"));
                Value::Null
            }
        }
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{method} {path}: body is not JSON ({e})"));
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["webhooks", _, token, ..] = segs.as_slice() {
        fake.wait_acknowledged(token).await;
    }
    let req = Req {
        method: &method,
        path,
        query: uri.query().unwrap_or_default(),
        segs,
        body: &body,
        files: &files,
    };
    let reply = answer(&fake, &req, full, &headers, &mut problems);
    let status = reply.status;
    {
        let mut st = fake.lock();
        for p in &problems {
            eprintln!("fake Discord violation: {p}");
        }
        st.violations.extend(problems);
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.to_owned(),
            body,
            status,
            headers: header_list,
            files,
        });
        st.consumed.push(false);
    }
    fake.bump();
    reply.into_response()
}

fn answer(
    fake: &FakeDiscord,
    req: &Req<'_>,
    full: &str,
    headers: &HeaderMap,
    problems: &mut Vec<String>,
) -> Reply {
    let (method, path) = (req.method, req.path);
    if !full.starts_with("/api/v10/") || !routes::known(req) {
        problems.push(format!("unexpected request {method} {full}"));
        return Reply::not_found();
    }
    if !problems.is_empty() {
        return Reply::error(400, 50109, "The request body contains invalid JSON.");
    }
    let is_interaction_route = req
        .segs
        .first()
        .is_some_and(|s| *s == "interactions" || *s == "webhooks");
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !is_interaction_route && !auth.starts_with("Bot ") {
        problems.push(format!(
            "{method} {path}: missing 'Authorization: Bot <token>' header"
        ));
        return Reply::error(401, 0, "401: Unauthorized");
    }
    if !req.body.is_null() {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ct.starts_with("application/json") && !ct.starts_with("multipart/form-data") {
            problems.push(format!(
                "{method} {path}: JSON body sent with content-type '{ct}'"
            ));
        }
    }
    let invalid = if req.body.is_null() && method == "GET" {
        Vec::new()
    } else {
        openapi::validate_request(method, path, req.body)
    };
    let conflict = super::messages::allowed_mentions_conflict(req.body)
        .or_else(|| super::messages::allowed_mentions_conflict(&req.body["data"]));
    if !is_interaction_route {
        if let Some(limited) = over_global_limit(fake, method, path, problems) {
            return limited;
        }
    }
    let after = match take_fault(fake, method, path) {
        Some(Ok(fault)) => {
            problems.extend(invalid);
            problems.extend(conflict.map(|c| format!("{method} {path}: {c}")));
            return fault;
        }
        Some(Err(after)) => Some(after),
        None => None,
    };
    if !invalid.is_empty() || conflict.is_some() {
        let errors = json!(invalid.iter().chain(conflict.iter()).collect::<Vec<_>>());
        problems.extend(invalid);
        problems.extend(conflict.map(|c| format!("{method} {path}: {c}")));
        return Reply::json(
            400,
            json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}),
        );
    }
    if req.segs.first() == Some(&"interactions") {
        return interactions::callback(fake, req, problems);
    }
    if req.segs.first() == Some(&"webhooks") {
        return interactions::webhook(fake, req, problems);
    }
    let mut reply = routes::route(fake, req, problems);
    match after {
        Some(Handled::AnswerLost(status)) => status_reply(status),
        Some(Handled::BucketEmptied(secs)) => {
            reply.headers.extend([
                ("x-ratelimit-bucket", "fake-bucket".to_owned()),
                ("x-ratelimit-limit", "5".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset-after", secs.to_string()),
            ]);
            reply
        }
        None => reply,
    }
}

/// Discord's global limit of 50 requests a second: a request past it gets a global 429, and
/// the test fails, since a bot that keeps doing this gets its address banned.
fn over_global_limit(
    fake: &FakeDiscord,
    method: &str,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<Reply> {
    let mut st = fake.lock();
    let now = std::time::Instant::now();
    while st
        .last_second
        .front()
        .is_some_and(|at| now.duration_since(*at) >= std::time::Duration::from_secs(1))
    {
        st.last_second.pop_front();
    }
    if st.last_second.len() < GLOBAL_LIMIT_PER_SECOND {
        st.last_second.push_back(now);
        return None;
    }
    problems.push(format!(
        "{method} {path}: over Discord's global limit of {GLOBAL_LIMIT_PER_SECOND} requests a second"
    ));
    let mut r = Reply::json(
        429,
        json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": true, "code": 0}),
    );
    r.headers = vec![
        ("retry-after", "1".to_owned()),
        ("x-ratelimit-global", "true".to_owned()),
        ("x-ratelimit-scope", "global".to_owned()),
    ];
    Some(r)
}

/// A fault that lets the request be carried out and changes only its answer.
enum Handled {
    AnswerLost(u16),
    BucketEmptied(f64),
}

fn status_reply(status: u16) -> Reply {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    Reply::error(status, 0, reason)
}

/// The fault to answer with instead of handling the request, or `Err` when the request is
/// handled and only its answer changed.
fn take_fault(fake: &FakeDiscord, method: &str, path: &str) -> Option<Result<Reply, Handled>> {
    let mut st = fake.lock();
    let i = st.faults.iter().position(|f| {
        f.times > 0
            && (f.method == "*" || f.method.eq_ignore_ascii_case(method))
            && path.contains(&f.path_contains)
    })?;
    let kind = st.faults[i].kind.clone();
    st.faults[i].times -= 1;
    if st.faults[i].times == 0 {
        st.faults.remove(i);
    }
    Some(Ok(match kind {
        FaultKind::AnswerLost(status) => return Some(Err(Handled::AnswerLost(status))),
        FaultKind::BucketEmptied { reset_after_secs } => {
            return Some(Err(Handled::BucketEmptied(reset_after_secs)))
        }
        FaultKind::RateLimited { retry_after_secs } => {
            let mut r = Reply::json(
                429,
                json!({"message": "You are being rate limited.", "retry_after": retry_after_secs, "global": false, "code": 0}),
            );
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "small positive seconds"
            )]
            let whole = retry_after_secs.ceil().max(0.0) as u64;
            r.headers = vec![
                ("retry-after", whole.to_string()),
                ("x-ratelimit-reset-after", retry_after_secs.to_string()),
                ("x-ratelimit-scope", "user".into()),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-bucket", "fake-bucket".into()),
            ];
            r
        }
        FaultKind::Status(status) => status_reply(status),
        FaultKind::Refused {
            status,
            code,
            message,
        } => Reply::error(status, code, message),
        FaultKind::GlobalRateLimited { retry_after_secs } => {
            let mut r = Reply::json(
                429,
                json!({"message": "You are being rate limited.", "retry_after": retry_after_secs, "global": true, "code": 0}),
            );
            r.headers = vec![
                ("retry-after", retry_after_secs.to_string()),
                ("x-ratelimit-global", "true".into()),
                ("x-ratelimit-scope", "global".into()),
            ];
            r
        }
        FaultKind::OddRateLimit { header, body } => {
            let mut r = Reply::json(
                429,
                json!({"message": "You are being rate limited.", "retry_after": body, "global": false, "code": 0}),
            );
            r.headers = vec![("retry-after", header.to_owned())];
            r
        }
    }))
}
