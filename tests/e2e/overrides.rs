//! Overrides: a deploy refused in a blackout goes through once an exec other than the
//! requester approves, only once; a rollback after its window likewise; and the post-mortem
//! stays open until filed.

use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::deployments::{approved, complete, deploy, texts, ROLLOUT};
use crate::support::fixtures::{self, Member};
use crate::support::tester::*;
use crate::support::GUILD_ID;

/// Every moment is inside a blackout.
const BLACKOUT: &str = r#"
[windows]
blackout = [{ cron = "0 0 0 * * *", duration = "2d" }]
"#;

/// A deployer who is an exec too: their own approval must not count.
pub(crate) fn deploying_exec() -> Member {
    Member::new(
        1_600_000_000_000_000_041,
        "Dex",
        &[ROLE_DEPLOYER, ROLE_EXEC],
    )
}

pub(crate) fn exec() -> Member {
    Member::new(1_600_000_000_000_000_042, "Cyd", &[ROLE_EXEC])
}

async fn ask_override(t: &Tester, who: &Member, version: &str, reason: &str) -> Value {
    let ask = t.command(
        who,
        "override",
        vec![("version", json!(version)), ("reason", json!(reason))],
    );
    t.send(ask).await
}

/// The override request in the releases channel, and its Approve button's id.
pub(crate) async fn request_notice(t: &Tester, version: &str) -> (Value, String) {
    let title = format!("Override asked for {version}");
    t.fake.wait_notice(RELEASES_CHANNEL, &title).await;
    let notice = texts(t, RELEASES_CHANNEL, &title).remove(0);
    let id = button_id(&notice, "approve-override").expect("the approve button");
    (notice, id)
}

pub(crate) async fn click(t: &Tester, who: &Member, notice: &Value, id: &str) -> Value {
    let payload = fixtures::button_on_message(t.next_id(), who, GUILD_ID, notice.clone(), id);
    t.send(payload).await
}

#[tokio::test]
async fn a_deploy_refused_in_a_blackout_goes_through_once_after_another_exec_approves() {
    let t = Tester::start_configured(&format!("{ROLLOUT}{BLACKOUT}")).await;
    approved(&t, "14.0.0").await;
    let refused = deploy(&t, &deploying_exec(), "14.0.0").await;
    assert!(content(&refused).contains("blacked out"), "{refused}");

    let asked = ask_override(&t, &deploying_exec(), "14.0.0", "security fix; cannot wait").await;
    assert_ephemeral(&asked);
    assert!(content(&asked).contains("override request"), "{asked}");
    let (notice, approve) = request_notice(&t, "14.0.0").await;
    let own = click(&t, &deploying_exec(), &notice, &approve).await;
    assert!(content(&own).contains("does not count"), "{own}");
    let not_exec = click(&t, &deployer(), &notice, &approve).await;
    assert!(content(&not_exec).contains("exec role"), "{not_exec}");
    let approved_answer = click(&t, &exec(), &notice, &approve).await;
    assert!(
        content(&approved_answer).contains("approved"),
        "{approved_answer}"
    );

    let started = deploy(&t, &deploying_exec(), "14.0.0").await;
    assert!(content(&started).contains("deploying"), "{started}");

    // Spent: another release in the same blackout is refused again.
    let plan = t.command(
        &author(),
        "plan",
        vec![
            ("version", json!("14.1.0")),
            ("type", json!("patch")),
            ("summary", json!("Second fix")),
            ("environment", json!("staging")),
        ],
    );
    t.send(plan).await;
    t.go(&lead(), "14.1.0").await;
    let again = t.top_command(
        &deployer(),
        "deploy",
        vec![
            ("version", json!("14.1.0")),
            ("environment", json!("staging")),
        ],
    );
    let again = t.send(again).await;
    assert!(content(&again).contains("blacked out"), "{again}");

    // The post-mortem is open until filed.
    let list = t.send(t.command(&author(), "list", vec![])).await;
    assert!(
        content(&list).contains("Open post-mortems") && content(&list).contains("14.0.0"),
        "{list}"
    );
    let status = t.command(&author(), "status", vec![("version", json!("14.0.0"))]);
    let status = t.send(status).await;
    assert!(content(&status).contains("post-mortem open"), "{status}");
    let filed = t.command(
        &deploying_exec(),
        "postmortem",
        vec![
            ("version", json!("14.0.0")),
            (
                "text",
                json!("the fix could not wait; blackouts now allow security fixes"),
            ),
        ],
    );
    assert!(content(&t.send(filed).await).contains("is filed"));
    let list = t.send(t.command(&author(), "list", vec![])).await;
    assert!(!content(&list).contains("Open post-mortems"), "{list}");

    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_events WHERE kind LIKE 'override%' OR kind = 'postmortem_filed' \
         ORDER BY id",
    )
    .fetch_all(t.db())
    .await
    .expect("audit");
    assert_eq!(
        kinds,
        [
            "override_requested",
            "override_approved",
            "override_used",
            "postmortem_filed"
        ]
    );
    t.finish().await;
}

#[tokio::test]
async fn a_rollback_after_its_window_goes_through_only_with_an_override() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "14.2.0").await;
    deploy(&t, &deployer(), "14.2.0").await;
    complete(&t, "14.2.0").await;
    t.advance(TimeDelta::hours(5));
    let rollback = || {
        t.top_command(
            &deployer(),
            "rollback",
            vec![("reason", json!("data bug")), ("version", json!("14.2.0"))],
        )
    };
    let late = t.send(rollback()).await;
    assert!(content(&late).contains("rollback window closed"), "{late}");
    ask_override(&t, &deployer(), "14.2.0", "a data bug found late").await;
    let (notice, approve) = request_notice(&t, "14.2.0").await;
    click(&t, &exec(), &notice, &approve).await;
    let rolled = t.send(rollback()).await;
    assert!(content(&rolled).contains("rolling_back"), "{rolled}");
    t.wait_state("14.2.0", "rolled_back").await;
    t.finish().await;
}
