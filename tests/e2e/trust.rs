//! Trust boundaries: the served guild, the planners' roles, fresh signatures, refused
//! interactions that stay refused on replay, and versions compared the way semver does.

use serde_json::{json, Value};

use crate::support::fixtures::{self, Member};
use crate::support::process::loopback_client;
use crate::support::tester::{
    author, content, outsider, plan_command, release_manager, Tester, RELEASES_CHANNEL,
};
use crate::support::wait::{is, wait_until};

const OTHER_GUILD: u64 = 1_300_000_000_000_000_077;

async fn count(t: &Tester, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(t.db()).await.unwrap()
}

async fn recorded(t: &Tester, payload: &Value) -> bool {
    let id: i64 = payload["id"].as_str().unwrap().parse().unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM interactions WHERE id = $1")
        .bind(id)
        .fetch_one(t.db())
        .await
        .unwrap()
        == 1
}

/// `payload` as Discord sends it from a direct message: no guild, no member, just the user.
fn as_direct_message(payload: Value, who: &Member) -> Value {
    let mut payload = payload;
    let fields = payload.as_object_mut().unwrap();
    for key in ["guild_id", "guild", "member"] {
        fields.remove(key);
    }
    fields.insert("user".into(), who.user());
    fields.insert("context".into(), json!(1));
    fields.insert(
        "channel".into(),
        json!({ "id": RELEASES_CHANNEL.to_string(), "type": 1 }),
    );
    fixtures::checked(payload)
}

#[tokio::test]
async fn another_server_and_direct_messages_are_refused_storing_nothing_but_the_id() {
    let t = Tester::start().await;
    let foreign = fixtures::slash_command(
        t.next_id(),
        &author(),
        RELEASES_CHANNEL,
        OTHER_GUILD,
        "release",
        Some("plan"),
        vec![
            ("version", json!("1.4.0")),
            ("type", json!("minor")),
            ("summary", json!("Squatting")),
        ],
    );
    let answer = t.send(foreign.clone()).await;
    assert_eq!(answer["data"]["flags"], 64, "{answer}");
    assert!(
        content(&answer).contains("serves one Discord server"),
        "{answer}"
    );
    assert!(recorded(&t, &foreign).await);

    let listing = fixtures::slash_command(
        t.next_id(),
        &author(),
        RELEASES_CHANNEL,
        OTHER_GUILD,
        "release",
        Some("list"),
        vec![],
    );
    let answer = t.send(listing).await;
    assert!(
        content(&answer).contains("serves one Discord server"),
        "{answer}"
    );

    let direct = as_direct_message(
        plan_command(t.next_id(), &author(), "1.4.0", "minor", "DM"),
        &author(),
    );
    let answer = t.send(direct.clone()).await;
    assert!(content(&answer).contains("direct messages"), "{answer}");
    assert!(recorded(&t, &direct).await);

    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 0);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM audit_events").await, 0);
    // The version is still free for the team's own server.
    t.plan(&author(), "1.4.0", "minor").await;
    t.finish().await;
}

#[tokio::test]
async fn planning_takes_a_planner_role_and_the_refusal_names_them() {
    let t = Tester::start().await;
    let payload = plan_command(t.next_id(), &outsider(), "1.5.0", "patch", "Mine");
    let answer = t.send(payload.clone()).await;
    let text = content(&answer);
    assert!(
        text.contains("team, lead, release_manager, deployer") && text.contains("1.5.0"),
        "{answer}"
    );
    assert!(recorded(&t, &payload).await);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 0);
    t.finish().await;
}

#[tokio::test]
async fn a_signature_more_than_five_minutes_off_is_refused_even_when_valid() {
    let t = Tester::start().await;
    let url = t.interactions_url();
    let stale = plan_command(t.next_id(), &author(), "1.6.0", "patch", "Old");
    let (status, body) = t.signer.post_aged(&url, &stale, 6 * 60).await;
    assert_eq!(status, 401, "{body}");
    let early = plan_command(t.next_id(), &author(), "1.6.0", "patch", "Early");
    let (status, body) = t.signer.post_aged(&url, &early, -6 * 60).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 0);

    let recent = plan_command(t.next_id(), &author(), "1.6.0", "patch", "Recent");
    let (status, body) = t.signer.post_aged(&url, &recent, 4 * 60).await;
    assert_eq!(status, 200, "{body}");
    t.card("1.6.0").await;
    t.finish().await;
}

#[tokio::test]
async fn a_signature_over_another_body_is_refused_and_stores_nothing() {
    let t = Tester::start().await;
    let signed = t.plan_payload(&author(), "1.0.0", "patch");
    let sent = t.plan_payload(&author(), "6.6.6", "patch");
    let timestamp = t.signer.now_secs().to_string();
    let signature = t
        .signer
        .sign(&timestamp, &serde_json::to_vec(&signed).unwrap());
    let answer = loopback_client()
        .post(t.interactions_url())
        .header("content-type", "application/json")
        .header("X-Signature-Ed25519", signature)
        .header("X-Signature-Timestamp", timestamp)
        .body(serde_json::to_vec(&sent).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(
        !recorded(&t, &sent).await,
        "a forged request is not recorded"
    );
    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 0);
    t.finish().await;
}

#[tokio::test]
async fn a_refused_request_replayed_once_it_would_succeed_changes_nothing() {
    let t = Tester::start().await;
    let cancel = t.command(
        &release_manager(),
        "cancel",
        vec![("version", json!("2.0.0")), ("reason", json!("Not needed"))],
    );
    let refused = t.send(cancel.clone()).await;
    assert!(content(&refused).contains("2.0.0"), "{refused}");
    assert!(recorded(&t, &cancel).await);

    t.plan(&author(), "2.0.0", "minor").await;
    let replay = t.send(cancel).await;
    assert!(content(&replay).contains("already handled"), "{replay}");
    let state: String = sqlx::query_scalar("SELECT state FROM releases WHERE version = '2.0.0'")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(state, "voting");
    t.finish().await;
}

#[tokio::test]
async fn versions_differing_only_in_build_metadata_are_one_version() {
    let t = Tester::start().await;
    t.plan(&author(), "1.4.0+build.7", "minor").await;
    let again = t
        .send(t.plan_payload(&author(), "1.4.0+build.8", "minor"))
        .await;
    assert!(content(&again).contains("already planned"), "{again}");

    let status = t
        .send(t.command(&author(), "status", vec![("version", json!("1.4.0+other"))]))
        .await;
    // Found by its identity, shown with the metadata it was planned with.
    assert!(content(&status).contains("1.4.0+build.7"), "{status}");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 1);
    t.finish().await;
}

#[tokio::test]
async fn old_interaction_ids_and_delivered_messages_are_pruned() {
    let t = Tester::start().await;
    let plan = plan_command(t.next_id(), &author(), "1.9.0", "patch", "Old news");
    t.send(plan.clone()).await;
    t.card("1.9.0").await;
    t.fake
        .wait_until("the thread is open", |f| !f.threads().is_empty())
        .await;
    assert!(recorded(&t, &plan).await);
    let delivered = "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at < '2026-03-03'";
    wait_until("the card and thread to be marked sent", || async {
        is(count(&t, delivered).await, &2)
    })
    .await;

    t.advance(chrono::TimeDelta::days(8));
    wait_until(
        "the interaction id and the delivered messages to be pruned",
        || async {
            is(
                (recorded(&t, &plan).await, count(&t, delivered).await),
                &(false, 0),
            )
        },
    )
    .await;
    // The release itself and its audit trail are kept.
    assert_eq!(count(&t, "SELECT COUNT(*) FROM releases").await, 1);
    assert!(count(&t, "SELECT COUNT(*) FROM audit_events").await >= 1);
    t.finish().await;
}
