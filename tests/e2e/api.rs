//! The pipeline door through real HTTP with real tokens: plans that carry their origin and
//! happen once, checks only a pipeline may tick, long polls, deploys, and every bad request
//! answered with a problem document and nothing written.

use gonogo::clock::Clock as _;
use serde_json::{json, Value};

use crate::checklist::select;
use crate::deployments::deploy;
use crate::support::pipeline::{api_config, Answer, Pipeline, CI_TOKEN, VIEWER_TOKEN};
use crate::support::tester::*;

/// A patch needs one lead and the "Code & Testing" section, whose first item only the
/// pipeline ticks.
pub(crate) const PIPELINE_CHECKLIST: &str = r#"
[policy.patch]
approvers = [{ role = "lead", count = 1 }]
rollback_window = "4h"
checklist = ["Code & Testing"]

[[checklist]]
section = "Code & Testing"
items = [{ item = "All tests passing in CI", by = "pipeline" }, "Code review approved"]
"#;

fn plan_body(version: &str) -> Value {
    json!({
        "version": version,
        "type": "patch",
        "summary": "Faster search",
        "commit": "3f9c2ab7d1e04c55",
        "commit_time": "2026-03-02T09:12:00Z",
        "build_url": "https://ci.example.com/runs/812",
        "artifact": "registry.example.com/app@sha256:9f86d081884c7d65",
    })
}

async fn rows(t: &Tester, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(t.db())
        .await
        .expect("count")
}

fn id_of(answer: &Answer) -> String {
    answer.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a release id in {}", answer.body))
        .to_owned()
}

/// The id of the first release a list answered.
fn newest_id(list: &Answer) -> String {
    list.body["releases"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a listed release in {}", list.body))
        .to_owned()
}

#[tokio::test]
async fn a_pipeline_plans_once_and_the_card_says_where_it_came_from() {
    let t = Tester::start_configured(&(api_config() + PIPELINE_CHECKLIST)).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));

    let planned = ci
        .post_keyed("/api/v1/releases", &plan_body("2.4.0"), "run-812")
        .await;
    assert_eq!(planned.status, 201, "{}", planned.body);
    let body = &planned.body;
    assert_eq!(body["state"], "voting");
    assert_eq!(body["planned_by"], "token:ci");
    assert_eq!(body["commit"], "3f9c2ab7d1e04c55");
    assert_eq!(body["commit_time"], "2026-03-02T09:12:00.000Z");
    assert_eq!(body["environment"], "production");
    assert_eq!(
        body["approvals"],
        json!([{ "role": "lead", "needed": 1, "filled_by": [] }])
    );
    assert_eq!(
        body["checklist"][0],
        json!({ "section": "Code & Testing", "item": "All tests passing in CI", "status": "open", "by": "pipeline", "ticked_by": null, "url": null })
    );
    let id = id_of(&planned);

    let card = t
        .wait_card("2.4.0", "the card names the pipeline and the commit", |c| {
            c.contains("CI (ci)") && c.contains("3f9c2ab7d1e0")
        })
        .await;
    assert!(card_text(&card).contains("https://ci.example.com/runs/812"));

    // The same plan again, keyed or not, is the same release.
    let again = ci
        .post_keyed("/api/v1/releases", &plan_body("2.4.0"), "run-812")
        .await;
    assert_eq!((again.status, id_of(&again)), (200, id.clone()));
    let again = ci.post("/api/v1/releases", &plan_body("2.4.0")).await;
    assert_eq!((again.status, id_of(&again)), (200, id.clone()));
    let link = again.body["links"]["card"]
        .as_str()
        .expect("the card's link");
    assert!(
        link.starts_with("https://discord.com/channels/")
            && link.ends_with(&card["id"].as_str().unwrap().to_string()),
        "{link}"
    );

    // A different plan of the live version conflicts; a reused key with other fields is named.
    let mut other = plan_body("2.4.0");
    other["summary"] = json!("Something else");
    let conflict = ci.post("/api/v1/releases", &other).await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert!(conflict.detail().contains("already"), "{}", conflict.body);
    let reused = ci.post_keyed("/api/v1/releases", &other, "run-812").await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert!(
        reused.detail().contains("Idempotency-Key"),
        "{}",
        reused.body
    );
    assert_eq!(rows(&t, "releases").await, 1);

    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let planned: Vec<&Value> = events
        .iter()
        .filter(|e| e.kind == "planned")
        .map(|e| &e.detail)
        .collect();
    assert_eq!(planned.len(), 1, "one plan, one audit event");
    assert_eq!(planned[0]["origin"]["token"], "ci");
    assert_eq!(planned[0]["origin"]["commit_time"], "2026-03-02T09:12:00Z");
    t.finish().await;
}

#[tokio::test]
async fn bad_tokens_and_bad_bodies_get_a_problem_document_and_write_nothing() {
    let t = Tester::start_configured(&api_config()).await;
    let anonymous = Pipeline::new(&t, None);
    let wrong = Pipeline::new(&t, Some("gng_not_a_token_gonogo_knows"));
    let viewer = Pipeline::new(&t, Some(VIEWER_TOKEN));
    let ci = Pipeline::new(&t, Some(CI_TOKEN));
    let body = plan_body("3.0.0");

    let missing = anonymous.post("/api/v1/releases", &body).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    assert_eq!(missing.headers["content-type"], "application/problem+json");
    assert_eq!(missing.body["status"], 401);
    assert_eq!(missing.body["type"], "urn:gonogo:problem:unauthorized");
    assert!(missing.detail().contains("Bearer"), "{}", missing.body);
    assert_eq!(wrong.post("/api/v1/releases", &body).await.status, 401);
    assert_eq!(wrong.get("/api/v1/releases").await.status, 401);
    let under_scoped = viewer.post("/api/v1/releases", &body).await;
    assert_eq!(under_scoped.status, 403);
    assert!(
        under_scoped.detail().contains("`plan` scope"),
        "{}",
        under_scoped.body
    );
    assert_eq!(viewer.get("/api/v1/releases").await.status, 200);

    let bad = json!({
        "version": "v3", "type": "giant", "summary": "x", "commit": "not-hex",
        "commit_time": "tuesday", "build_url": "ftp://ci.example.com/1",
    });
    let invalid = ci.post("/api/v1/releases", &bad).await;
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    assert_eq!(
        invalid.fields(),
        ["version", "type", "commit", "commit_time", "build_url"]
    );
    let mut bad_type = plan_body("3.0.0");
    bad_type["type"] = json!("giant");
    assert_eq!(
        ci.post("/api/v1/releases", &bad_type).await.fields(),
        ["type"]
    );
    let misspelt = ci
        .post(
            "/api/v1/releases",
            &json!({ "version": "3.0.0", "type": "patch", "summary": "x", "comit": "3f9c2ab" }),
        )
        .await;
    assert_eq!(misspelt.status, 422);
    assert!(misspelt.detail().contains("comit"), "{}", misspelt.body);
    let oversized = ci.post_raw("/api/v1/releases", vec![b' '; 65 * 1024]).await;
    assert_eq!(oversized.status, 413, "{}", oversized.body);
    assert_eq!(
        ci.post_raw("/api/v1/releases", b"{".to_vec()).await.status,
        422
    );

    assert_eq!(ci.get("/api/v1/releases/99").await.status, 404);
    assert_eq!(ci.get("/api/v1/releases/nine").await.status, 404);
    let wait = ci.get("/api/v1/releases/99/wait?until=decided").await;
    assert_eq!(wait.status, 404);
    assert!(wait.detail().contains("no release 99"), "{}", wait.body);
    let check = ci
        .post(
            "/api/v1/releases/99/checks",
            &json!({ "item": "x", "status": "passed" }),
        )
        .await;
    assert_eq!(check.status, 404);
    assert_eq!(
        ci.post("/api/v1/releases/99/deploy", &json!({}))
            .await
            .status,
        404
    );

    assert_eq!(rows(&t, "releases").await, 0, "nothing planned");
    assert_eq!(rows(&t, "audit_events").await, 0, "nothing recorded");
    t.finish().await;
}

/// Release 4.2.0 planned from chat and approved, its people's item ticked: the id and the
/// path of its checks.
async fn approved_awaiting_the_pipeline(t: &Tester, ci: &Pipeline) -> (String, String) {
    t.plan(&author(), "4.2.0", "patch").await;
    let id = newest_id(&ci.get("/api/v1/releases?version=4.2.0").await);
    select(t, &team(1), "4.2.0", 0, &["1"]).await;
    t.go(&lead(), "4.2.0").await;
    let checks = format!("/api/v1/releases/{id}/checks");
    (id, checks)
}

#[tokio::test]
async fn only_the_pipeline_ticks_its_item_and_names_what_it_may_tick() {
    let t = Tester::start_configured(&(api_config() + PIPELINE_CHECKLIST)).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));
    t.plan(&author(), "4.2.0", "patch").await;
    let id = newest_id(&ci.get("/api/v1/releases?version=4.2.0").await);

    // A person cannot tick the pipeline's item; the other item is theirs.
    let refused = select(&t, &team(1), "4.2.0", 0, &["0", "1"]).await;
    assert_ephemeral(&refused);
    assert!(
        content(&refused).contains("Only the pipeline ticks"),
        "{refused}"
    );
    let shown = ci.get(&format!("/api/v1/releases/{id}")).await;
    assert_eq!(shown.body["checklist"][0]["status"], "open");
    assert_eq!(
        shown.body["checklist"][1]["status"], "open",
        "the whole selection was refused"
    );

    let checks = format!("/api/v1/releases/{id}/checks");
    let unknown = ci
        .post(
            &checks,
            &json!({ "item": "Tests green", "status": "passed" }),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.fields(), ["item"]);
    let listed = unknown.body["errors"][0]["message"].as_str().unwrap();
    assert!(listed.contains("All tests passing in CI"), "{listed}");
    let bad = json!({ "item": "All tests passing in CI", "status": "green", "url": "mailto:ci" });
    assert_eq!(ci.post(&checks, &bad).await.fields(), ["status", "url"]);
    let viewer = Pipeline::new(&t, Some(VIEWER_TOKEN));
    let passed = json!({ "item": "All tests passing in CI", "status": "passed" });
    assert_eq!(viewer.post(&checks, &passed).await.status, 403);
    assert_eq!(
        rows(&t, "audit_events").await,
        1,
        "only the plan is recorded"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_failed_check_blocks_every_deploy_with_its_link_until_it_passes() {
    let t = Tester::start_configured(&(api_config() + PIPELINE_CHECKLIST)).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));
    let (id, checks) = approved_awaiting_the_pipeline(&t, &ci).await;
    let item = "All tests passing in CI";

    let failed = ci
        .post(
            &checks,
            &json!({ "item": item, "status": "failed", "url": "https://ci.example.com/runs/813" }),
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["checklist"][0]["status"], "failed");
    assert_eq!(failed.body["checklist"][0]["ticked_by"], "token:ci");
    t.wait_card("4.2.0", "the card shows the failure and its link", |c| {
        c.contains("failed: https://ci.example.com/runs/813")
    })
    .await;
    let from_chat = deploy(&t, &deployer(), "4.2.0").await;
    assert!(
        content(&from_chat).contains("reported 1 check failed")
            && content(&from_chat).contains("https://ci.example.com/runs/813"),
        "{from_chat}"
    );
    let deploy_path = format!("/api/v1/releases/{id}/deploy");
    let from_pipeline = ci.post(&deploy_path, &json!({})).await;
    assert_eq!(from_pipeline.status, 409, "{}", from_pipeline.body);
    assert!(from_pipeline
        .detail()
        .contains("https://ci.example.com/runs/813"));
    assert_eq!(t.state("4.2.0").await, "approved");

    let passed = ci
        .post(&checks, &json!({ "item": item, "status": "passed" }))
        .await;
    assert_eq!(passed.body["checklist"][0]["status"], "passed");
    let started = ci.post(&deploy_path, &json!({})).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.body["state"], "deploying");
    assert_eq!(started.body["stage"]["percent"], 1);
    let late = ci
        .post(&checks, &json!({ "item": item, "status": "failed" }))
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.detail().contains("deploying"), "{}", late.body);

    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let reports: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.kind == "check_reported")
        .map(|e| {
            (
                e.detail["status"].as_str().unwrap(),
                e.detail["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(reports, [("failed", "token:ci"), ("passed", "token:ci")]);
    let started = events
        .iter()
        .find(|e| e.kind == "deploy_started")
        .expect("started");
    assert_eq!(started.detail["by"], "token:ci");
    t.finish().await;
}

#[tokio::test]
async fn a_pipeline_waits_for_the_decision_and_for_its_timeout() {
    let t = Tester::start_configured(&api_config()).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));
    let id = id_of(&ci.post("/api/v1/releases", &plan_body("5.1.0")).await);

    let waiting = {
        let ci = Pipeline::new(&t, Some(CI_TOKEN));
        let path = format!("/api/v1/releases/{id}/wait?until=decided&timeout=120s");
        tokio::spawn(async move { ci.get(&path).await })
    };
    // The long poll holds until the decision: its answer shows the approval, not the vote.
    t.go(&team(1), "5.1.0").await;
    assert!(
        !waiting.is_finished(),
        "a Go that does not decide does not answer the wait"
    );
    t.go(&lead(), "5.1.0").await;
    let decided = waiting.await.expect("the wait answers");
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(
        (&decided.body["reached"], &decided.body["state"]),
        (&json!(true), &json!("approved"))
    );
    assert_eq!(decided.body["approvals"][0]["filled_by"], json!(["Lee"]));

    // A milestone not reached within the timeout answers `reached: false`.
    let waiting = {
        let ci = Pipeline::new(&t, Some(CI_TOKEN));
        let path = format!("/api/v1/releases/{id}/wait?until=deployed&timeout=30s");
        tokio::spawn(async move { ci.get(&path).await })
    };
    let ends = t.clock.now() + chrono::TimeDelta::seconds(30);
    crate::support::wait::wait_until("the long poll sleeps until its timeout", || async {
        crate::support::wait::is(t.clock.sleeps_until(ends) > 0, &true)
    })
    .await;
    t.advance(chrono::TimeDelta::seconds(30));
    let timed_out = waiting.await.expect("the wait answers");
    assert_eq!(
        (&timed_out.body["reached"], &timed_out.body["state"]),
        (&json!(false), &json!("approved"))
    );

    for bad in ["until=shipped", "until=decided&timeout=5m", "timeout=10s"] {
        let refused = ci.get(&format!("/api/v1/releases/{id}/wait?{bad}")).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
    }
    t.finish().await;
}

#[tokio::test]
async fn releases_are_listed_newest_first_a_page_at_a_time() {
    let t = Tester::start_configured(&api_config()).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));
    for (version, environment) in [
        ("6.0.0", "staging"),
        ("6.0.0", "production"),
        ("6.1.0", "staging"),
    ] {
        let mut body = plan_body(version);
        body["environment"] = json!(environment);
        assert_eq!(ci.post("/api/v1/releases", &body).await.status, 201);
    }
    let listed = |answer: &Answer| -> Vec<String> {
        answer.body["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["version"].as_str().unwrap(),
                    r["environment"].as_str().unwrap()
                )
            })
            .collect()
    };
    let first = ci.get("/api/v1/releases?limit=2").await;
    assert_eq!(listed(&first), ["6.1.0 staging", "6.0.0 production"]);
    let next = first.body["next"].as_str().expect("a next page");
    let second = ci
        .get(&format!("/api/v1/releases?limit=2&cursor={next}"))
        .await;
    assert_eq!(listed(&second), ["6.0.0 staging"]);
    assert_eq!(second.body["next"], Value::Null);
    let staging = ci
        .get("/api/v1/releases?environment=staging&state=voting")
        .await;
    assert_eq!(listed(&staging), ["6.1.0 staging", "6.0.0 staging"]);
    let version = ci.get("/api/v1/releases?version=6.0.0%2Bbuild.7").await;
    assert_eq!(listed(&version), ["6.0.0 production", "6.0.0 staging"]);
    let bad = ci.get("/api/v1/releases?state=shipped&limit=0").await;
    assert_eq!(bad.fields(), ["state", "limit"]);
    assert_eq!(ci.get("/api/v1/releases?cursor=abc").await.status, 422);
    t.finish().await;
}

#[tokio::test]
async fn both_doors_and_the_pipeline_plan_vote_and_deploy_to_the_same_state() {
    let t = Tester::start_with_gateway_configured(&api_config()).await;
    let ci = Pipeline::new(&t, Some(CI_TOKEN));

    // One release planned in chat, approved over the gateway, deployed by the pipeline.
    let payload = t.plan_payload(&author(), "7.0.0", "patch");
    t.send(payload).await;
    let chat = newest_id(&ci.get("/api/v1/releases?version=7.0.0").await);
    let click = t.click_payload(&lead(), "7.0.0", "go").await;
    t.send_via_gateway(click).await;
    assert_eq!(t.state("7.0.0").await, "approved");
    let deployed = ci
        .post(&format!("/api/v1/releases/{chat}/deploy"), &json!({}))
        .await;
    assert_eq!(deployed.status, 202, "{}", deployed.body);

    // Another planned by the pipeline in staging, approved over HTTP, deployed from chat.
    let mut body = plan_body("7.0.1");
    body["environment"] = json!("staging");
    let piped = id_of(&ci.post("/api/v1/releases", &body).await);
    t.go(&lead(), "7.0.1").await;
    let command = t.top_command(&deployer(), "deploy", vec![("version", json!("7.0.1"))]);
    let started = t.send_via_gateway(command).await;
    assert!(content(&started).contains("deploying"), "{started}");

    let shown = |answer: Answer| {
        let mut release = answer.body;
        for field in [
            "id",
            "version",
            "environment",
            "planned_by",
            "commit",
            "commit_time",
            "build_url",
            "artifact",
            "links",
        ] {
            release[field] = Value::Null;
        }
        for vote in release["votes"].as_array_mut().unwrap() {
            vote["at"] = Value::Null;
        }
        release["stage"]["started_at"] = Value::Null;
        release
    };
    let chat = shown(ci.get(&format!("/api/v1/releases/{chat}")).await);
    let piped = shown(ci.get(&format!("/api/v1/releases/{piped}")).await);
    assert_eq!(chat["state"], "deploying");
    assert_eq!(
        chat, piped,
        "the same release state whichever door planned, voted and deployed"
    );
    t.finish().await;
}
