//! Unit tests of the pipeline's client: its decisions alone, then its requests against a fake
//! server that answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use clap::{CommandFactory as _, Parser};

use super::*;

fn release(id: &str, state: &str) -> Value {
    json!({ "id": id, "version": "1.4.0", "state": state, "links": { "card": null } })
}

fn summary_of(id: &str, state: ReleaseState) -> Summary {
    Summary {
        id: id.to_owned(),
        state,
        links: Links::default(),
    }
}

#[test]
fn a_decision_is_go_once_approved_even_if_the_rollout_has_moved_on() {
    use ReleaseState as S;
    for state in [
        S::Approved,
        S::Deploying,
        S::Halted,
        S::Verifying,
        S::Completed,
    ] {
        assert_eq!(
            outcome(Milestone::Decided, state, true),
            Some(Exit::Go),
            "{state:?}"
        );
    }
    assert_eq!(
        outcome(Milestone::Decided, S::RollingBack, true),
        Some(Exit::NoGo)
    );
}

#[test]
fn deployed_and_finished_are_go_only_when_verifying_or_completed() {
    use ReleaseState as S;
    for until in [Milestone::Deployed, Milestone::Finished] {
        assert_eq!(outcome(until, S::Verifying, true), Some(Exit::Go));
        assert_eq!(outcome(until, S::Completed, true), Some(Exit::Go));
        assert_eq!(outcome(until, S::RollingBack, true), Some(Exit::NoGo));
    }
}

#[test]
fn a_release_that_ended_otherwise_stops_the_wait_even_if_not_reached() {
    use ReleaseState as S;
    for until in [Milestone::Decided, Milestone::Deployed, Milestone::Finished] {
        for state in [S::Rejected, S::Expired, S::Cancelled, S::RolledBack] {
            assert_eq!(outcome(until, state, false), Some(Exit::NoGo), "{state:?}");
            assert_eq!(outcome(until, state, true), Some(Exit::NoGo), "{state:?}");
        }
    }
}

#[test]
fn a_release_not_there_yet_keeps_the_wait_going() {
    use ReleaseState as S;
    assert_eq!(outcome(Milestone::Decided, S::Voting, false), None);
    assert_eq!(outcome(Milestone::Deployed, S::Approved, false), None);
    assert_eq!(outcome(Milestone::Finished, S::Verifying, false), None);
}

#[test]
fn the_live_release_is_the_newest_that_has_not_ended() {
    use ReleaseState as S;
    let releases = [
        summary_of("9", S::Rejected),
        summary_of("8", S::Voting),
        summary_of("7", S::Completed),
    ];
    assert_eq!(pick_live(&releases).map(|r| r.id.as_str()), Some("8"));
    let ended = [summary_of("9", S::Expired), summary_of("8", S::Cancelled)];
    assert_eq!(pick_live(&ended).map(|r| r.id.as_str()), Some("9"));
    assert!(pick_live(&[]).is_none());
}

#[test]
fn a_poll_waits_what_is_left_within_one_second_and_the_servers_limit() {
    let secs = Duration::from_secs;
    assert_eq!(poll_slice(secs(24 * 3600)), secs(120));
    assert_eq!(poll_slice(secs(120)), secs(120));
    assert_eq!(poll_slice(Duration::from_millis(30_200)), secs(31));
    assert_eq!(poll_slice(secs(45)), secs(45));
    assert_eq!(poll_slice(Duration::ZERO), secs(1));
}

#[test]
fn a_plan_body_leaves_out_what_was_not_given() {
    let plan = Plan {
        version: "1.4.0".into(),
        kind: "minor".into(),
        summary: "Faster search".into(),
        changelog: None,
        environment: Some("staging".into()),
        commit: Some("abc1234".into()),
        commit_time: None,
        build_url: None,
        artifact: None,
        on_behalf_of: Some("80351110224678912".into()),
        idempotency_key: Some("run-1".into()),
    };
    assert_eq!(
        plan_body(&plan),
        json!({
            "version": "1.4.0",
            "type": "minor",
            "summary": "Faster search",
            "environment": "staging",
            "commit": "abc1234",
            "on_behalf_of": "80351110224678912",
        })
    );
}

#[test]
fn a_check_body_carries_the_link_as_url() {
    assert_eq!(
        check_body("Tests pass", CheckStatus::Failed, Some("https://ci/1")),
        json!({ "item": "Tests pass", "status": "failed", "url": "https://ci/1" })
    );
    assert_eq!(
        check_body("Tests pass", CheckStatus::Passed, None),
        json!({ "item": "Tests pass", "status": "passed" })
    );
}

#[test]
fn a_refusal_shows_the_detail_and_each_invalid_field() {
    let body = json!({
        "type": "about:blank", "title": "Unprocessable", "status": 422,
        "detail": "The release is not valid",
        "errors": [{ "field": "commit", "message": "7 to 64 hex digits" }],
    });
    let refusal = Refusal::read(StatusCode::UNPROCESSABLE_ENTITY, &body.to_string());
    assert_eq!(
        refusal.to_string(),
        "The release is not valid\n  commit: 7 to 64 hex digits"
    );
}

#[test]
fn a_refusal_without_a_problem_document_names_the_status() {
    let refusal = Refusal::read(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>");
    assert_eq!(refusal.to_string(), "the server answered 502 Bad Gateway");
    let titled = Refusal::read(StatusCode::FORBIDDEN, r#"{"title":"Forbidden"}"#);
    assert_eq!(titled.to_string(), "Forbidden");
}

#[test]
fn only_server_errors_throttling_and_timeouts_are_retried() {
    let refused = |status| Failure::Refused(Refusal::read(status, ""));
    assert!(refused(StatusCode::REQUEST_TIMEOUT).is_transient());
    assert!(refused(StatusCode::SERVICE_UNAVAILABLE).is_transient());
    assert!(refused(StatusCode::TOO_MANY_REQUESTS).is_transient());
    assert!(!refused(StatusCode::NOT_FOUND).is_transient());
    assert!(!refused(StatusCode::UNAUTHORIZED).is_transient());
}

#[test]
fn the_line_shows_a_dash_for_a_release_without_a_card() {
    let mut release = summary_of("7", ReleaseState::RolledBack);
    assert_eq!(line(&release), "7 rolled_back -");
    release.links.card = Some("https://discord.com/channels/1/2/3".into());
    assert_eq!(
        line(&release),
        "7 rolled_back https://discord.com/channels/1/2/3"
    );
}

/// A request the fake server saw.
#[derive(Debug)]
struct Seen {
    method: String,
    uri: String,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: String,
}

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<(u16, Value)>>,
    seen: Mutex<Vec<Seen>>,
}

impl Script {
    fn seen(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .map(|s| format!("{} {}", s.method, s.uri))
            .collect()
    }
}

async fn answer(State(script): State<Arc<Script>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 16).await.unwrap();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    script.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, json) = script
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .expect("the script has an answer left");
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, Body::from(json.to_string())).into_response()
}

/// A fake server that gives these answers in order, and a client of it.
async fn serve(answers: Vec<(u16, Value)>) -> (Arc<Script>, Client) {
    let script = Arc::new(Script {
        answers: Mutex::new(answers.into()),
        ..Script::default()
    });
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut client = Client::new(&format!("http://{address}"), "gng_secret").unwrap();
    client.pause = Duration::from_millis(1);
    (script, client)
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    ci: CiArgs,
}

async fn execute_args(client: &Client, args: &[&str]) -> anyhow::Result<Exit> {
    let cli = Cli::try_parse_from(["ci"].iter().chain(args))?;
    execute(client, cli.ci.command, cli.ci.json).await
}

#[tokio::test]
async fn plan_posts_the_fields_with_the_token_and_the_idempotency_key() {
    let (script, client) = serve(vec![(201, release("7", "voting"))]).await;
    let args = [
        "plan",
        "--version",
        "1.4.0",
        "--type",
        "minor",
        "--summary",
        "Faster search",
        "--build-url",
        "https://ci.example.com/runs/1",
        "--idempotency-key",
        "run-1",
    ];
    assert_eq!(execute_args(&client, &args).await.unwrap(), Exit::Go);
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].uri, "/api/v1/releases");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer gng_secret"));
    assert_eq!(seen[0].idempotency_key.as_deref(), Some("run-1"));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "version": "1.4.0", "type": "minor", "summary": "Faster search",
            "build_url": "https://ci.example.com/runs/1",
        })
    );
}

#[tokio::test]
async fn wait_polls_again_after_a_pending_answer_and_a_server_error() {
    let mut reached = release("7", "approved");
    reached["reached"] = json!(true);
    let mut pending = release("7", "voting");
    pending["reached"] = json!(false);
    let unavailable = json!({ "title": "Unavailable", "status": 503 });
    let (script, client) = serve(vec![(200, pending), (503, unavailable), (200, reached)]).await;
    let args = ["wait", "--release", "7", "--until", "decided"];
    assert_eq!(execute_args(&client, &args).await.unwrap(), Exit::Go);
    let poll = "GET /api/v1/releases/7/wait?until=decided&timeout=120s";
    assert_eq!(script.seen(), [poll, poll, poll]);
}

#[tokio::test]
async fn wait_times_out_with_the_release_still_pending() {
    let mut pending = release("7", "voting");
    pending["reached"] = json!(false);
    let (script, client) = serve(vec![(200, pending)]).await;
    let args = [
        "wait",
        "--release",
        "7",
        "--until",
        "deployed",
        "--timeout",
        "0s",
    ];
    assert_eq!(execute_args(&client, &args).await.unwrap(), Exit::Timeout);
    assert_eq!(
        script.seen(),
        ["GET /api/v1/releases/7/wait?until=deployed&timeout=1s"]
    );
}

#[tokio::test]
async fn wait_by_version_follows_the_live_release_to_its_end() {
    let list =
        json!({ "releases": [release("9", "expired"), release("8", "voting")], "next": null });
    let mut rejected = release("8", "rejected");
    rejected["reached"] = json!(true);
    let (script, client) = serve(vec![(200, list), (200, rejected)]).await;
    let args = [
        "wait",
        "--version",
        "1.4.0",
        "--environment",
        "staging",
        "--until",
        "decided",
    ];
    assert_eq!(execute_args(&client, &args).await.unwrap(), Exit::NoGo);
    assert_eq!(
        script.seen(),
        [
            "GET /api/v1/releases?version=1.4.0&limit=20&environment=staging",
            "GET /api/v1/releases/8/wait?until=decided&timeout=120s",
        ]
    );
}

#[tokio::test]
async fn a_version_with_no_release_is_an_error() {
    let (_script, client) = serve(vec![(200, json!({ "releases": [], "next": null }))]).await;
    let args = ["deploy", "--version", "9.9.9"];
    let error = execute_args(&client, &args).await.unwrap_err();
    assert_eq!(format!("{error:#}"), "No release of version 9.9.9");
}

#[tokio::test]
async fn a_refused_deploy_reports_the_problems_detail() {
    let problem = json!({
        "type": "about:blank", "title": "Conflict", "status": 409,
        "detail": "Tests pass failed: https://ci/1",
    });
    let (script, client) = serve(vec![(409, problem)]).await;
    let error = execute_args(&client, &["deploy", "--release", "7"])
        .await
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "Cannot deploy the release: Tests pass failed: https://ci/1"
    );
    assert_eq!(script.seen(), ["POST /api/v1/releases/7/deploy"]);
}

#[tokio::test]
async fn a_wait_refused_for_good_is_not_retried() {
    let problem = json!({ "title": "Not Found", "status": 404, "detail": "No release 7" });
    let (script, client) = serve(vec![(404, problem)]).await;
    let args = ["wait", "--release", "7", "--until", "finished"];
    let error = execute_args(&client, &args).await.unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "Cannot wait for the release: No release 7"
    );
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn a_release_is_named_by_id_or_by_version_not_both() {
    let parse =
        |args: &[&str]| Cli::try_parse_from(["ci", "--server", "http://x"].iter().chain(args));
    assert!(parse(&["deploy"]).is_err());
    assert!(parse(&["deploy", "--release", "7", "--version", "1.0.0"]).is_err());
    assert!(parse(&["deploy", "--release", "7", "--environment", "staging"]).is_err());
    assert!(parse(&["deploy", "--version", "1.0.0", "--environment", "staging"]).is_ok());
    Cli::command().debug_assert();
}
