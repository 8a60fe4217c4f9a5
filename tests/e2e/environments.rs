//! Environments that follow one another: staging without a poll and with its own executor,
//! on call during its verification, promotion with one click, and production refused until
//! the version soaked in staging.

use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::deployments::{actions, content_of};
use crate::overrides::{click, deploying_exec, exec, request_notice};
use crate::support::fixtures::{self, Member};
use crate::support::tester::*;
use crate::support::GUILD_ID;

/// Staging deploys at once with its own command, verifies for 30 minutes and offers
/// promotion; production follows it after a 2-hour soak, with the default command.
pub(crate) const ENVIRONMENTS: &str = r#"
[rollout]
stages = [{ percent = 50, hold = "10m" }, { percent = 100 }]
verify_for = "20m"
oncall_within = "10m"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"production deploy $GONOGO_PERCENT {version}\" >> {dir}/actions.log"]
rollback = ["/bin/sh", "-c", "true"]

[environments.staging]
next = "production"
approval = false
stages = [{ percent = 100, hold = "0s" }]
verify_for = "30m"
executor = { kind = "command", deploy = ["/bin/sh", "-c", "echo \"staging deploy $GONOGO_PERCENT {version}\" >> {dir}/actions.log"], rollback = ["/bin/sh", "-c", "true"] }

[environments.production]
after = "staging"
soak = "2h"
"#;

/// The newest card of `version` in `environment`.
pub(crate) async fn card_in(t: &Tester, version: &str, environment: &str) -> Value {
    let title = format!("Release {version} ·");
    let place = format!("**Environment:** {environment} ·");
    let find = |fake: &crate::support::FakeDiscord| {
        fake.messages(RELEASES_CHANNEL).into_iter().rev().find(|m| {
            m["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with(&title))
                && m["embeds"][0]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(&place))
        })
    };
    t.fake
        .wait_until(&format!("the {environment} card of {version}"), |f| {
            find(f).is_some()
        })
        .await;
    find(&t.fake).expect("the card")
}

/// The state of `version` in `environment`.
pub(crate) async fn state_in(t: &Tester, version: &str, environment: &str) -> String {
    let view = t
        .running_service()
        .status(Some(version), Some(environment))
        .await;
    view.unwrap_or_else(|e| panic!("no {version} in {environment}: {e:?}"))
        .state
}

pub(crate) async fn wait_state_in(t: &Tester, version: &str, environment: &str, state: &str) {
    crate::support::wait::wait_until(
        &format!("{version} in {environment} to be {state}"),
        || async {
            crate::support::wait::is(state_in(t, version, environment).await, &state.to_owned())
        },
    )
    .await;
}

/// `who` clicks the button `verb` on `message`.
pub(crate) async fn press(t: &Tester, who: &Member, message: &Value, verb: &str) -> Value {
    let id = button_id(message, verb).unwrap_or_else(|| panic!("no {verb} button on {message}"));
    let payload = fixtures::button_on_message(t.next_id(), who, GUILD_ID, message.clone(), &id);
    t.send(payload).await
}

/// `/release plan` of a patch of `version` in `environment`, by the author.
pub(crate) async fn plan_in(t: &Tester, version: &str, environment: &str) -> Value {
    let options = vec![
        ("version", json!(version)),
        ("type", json!("patch")),
        ("summary", json!("Faster search")),
        ("environment", json!(environment)),
    ];
    t.send(t.command(&author(), "plan", options)).await
}

pub(crate) async fn deploy_in(t: &Tester, who: &Member, version: &str, environment: &str) -> Value {
    let command = t.top_command(
        who,
        "deploy",
        vec![
            ("version", json!(version)),
            ("environment", json!(environment)),
        ],
    );
    t.send(command).await
}

#[tokio::test]
async fn a_version_goes_through_staging_and_is_promoted_to_production_after_its_soak() {
    let t = Tester::start_configured(ENVIRONMENTS).await;
    let planned = plan_in(&t, "9.0.0", "staging").await;
    assert!(
        content(&planned).contains("no go/no-go poll in staging"),
        "{planned}"
    );
    assert_eq!(
        state_in(&t, "9.0.0", "staging").await,
        "approved",
        "staging holds no poll"
    );
    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let approved = events
        .iter()
        .find(|e| e.kind == "approved")
        .expect("an approval");
    assert!(approved.detail["without_poll"]
        .as_str()
        .unwrap()
        .contains("approval = false"));

    // Staging runs its own command, verifies, and asks who is on call.
    let started = deploy_in(&t, &deployer(), "9.0.0", "staging").await;
    assert!(content(&started).contains("deploying"), "{started}");
    wait_state_in(&t, "9.0.0", "staging", "verifying").await;
    assert_eq!(actions(&t), ["staging deploy 100 9.0.0"]);
    let thread = crate::deployments::thread_of(&t, "9.0.0").await;
    let asked = t.fake.wait_notice(thread, "Who is on call").await;
    let from_team = press(&t, &team(1), &asked, "oncall").await;
    assert!(
        content(&from_team).contains("takes one of these roles"),
        "{from_team}"
    );
    let claimed = press(&t, &release_manager(), &asked, "oncall").await;
    assert!(content(&claimed).contains("You are on call"), "{claimed}");
    t.wait_card("9.0.0", "the card names who is on call", |c| {
        c.contains("on call: Remy")
    })
    .await;

    t.advance(TimeDelta::minutes(30));
    wait_state_in(&t, "9.0.0", "staging", "completed").await;
    let done = t.fake.wait_notice(STAKEHOLDER_CHANNEL, "is complete").await;
    assert!(
        content_of(&done).contains("On call during the verification: Remy"),
        "{done}"
    );
    assert!(
        button_id(&done, "promote").is_some(),
        "the completion offers promotion: {done}"
    );

    // One click plans production, with the evidence; a second click is told so.
    t.wait_card("9.0.0", "the staging card completes", |c| {
        c.contains("Complete")
    })
    .await;
    let staging_card = card_in(&t, "9.0.0", "staging").await;
    let outsider_click = press(&t, &team(2), &staging_card, "promote").await;
    assert!(
        content(&outsider_click).contains("Promoting 9.0.0 takes"),
        "{outsider_click}"
    );
    let promoted = press(&t, &deployer(), &staging_card, "promote").await;
    assert!(
        content(&promoted).contains("planned for production"),
        "{promoted}"
    );
    let again = press(&t, &deployer(), &done, "promote").await;
    assert!(content(&again).contains("promoted already"), "{again}");
    let production = card_in(&t, "9.0.0", "production").await;
    let text = card_text(&production);
    assert!(
        text.contains("Promoted from staging") && text.contains("after 30 min of verification"),
        "{text}"
    );
    assert_eq!(
        state_in(&t, "9.0.0", "production").await,
        "voting",
        "production holds its poll"
    );

    // Production waits for the soak, and says until when.
    t.go(&lead(), "9.0.0").await;
    let early = deploy_in(&t, &deployer(), "9.0.0", "production").await;
    assert!(content(&early).contains("soaks there until"), "{early}");
    assert_eq!(state_in(&t, "9.0.0", "production").await, "approved");
    t.advance(TimeDelta::hours(2));
    let started = deploy_in(&t, &deployer(), "9.0.0", "production").await;
    assert!(content(&started).contains("deploying"), "{started}");
    t.wait_db(
        "SELECT CAST(COUNT(*) AS TEXT) FROM executions e JOIN releases r ON r.id = e.release_id WHERE r.environment = 'production' AND e.state = 'succeeded'",
        "1",
    )
    .await;
    assert_eq!(
        actions(&t),
        ["staging deploy 100 9.0.0", "production deploy 50 9.0.0"]
    );
    t.finish().await;
}

#[tokio::test]
async fn nobody_on_call_pings_the_release_managers_once_and_only_them() {
    let t = Tester::start_configured(ENVIRONMENTS).await;
    plan_in(&t, "9.1.0", "staging").await;
    deploy_in(&t, &deployer(), "9.1.0", "staging").await;
    wait_state_in(&t, "9.1.0", "staging", "verifying").await;
    let thread = crate::deployments::thread_of(&t, "9.1.0").await;
    t.fake.wait_notice(thread, "Who is on call").await;
    t.advance(TimeDelta::minutes(10));
    let ping = t.fake.wait_notice(thread, "Nobody is on call").await;
    assert!(
        content_of(&ping).starts_with(&format!("<@&{ROLE_RELEASE_MANAGER}>")),
        "{ping}"
    );
    let recorded = t
        .fake
        .wait_for("the ping's request", |r| {
            r.method == "POST"
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Nobody is on call"))
        })
        .await;
    assert_eq!(
        recorded.body["allowed_mentions"],
        json!({ "parse": [], "roles": [ROLE_RELEASE_MANAGER.to_string()], "users": [] }),
        "only the release managers are mentioned"
    );
    t.advance(TimeDelta::minutes(20));
    wait_state_in(&t, "9.1.0", "staging", "completed").await;
    let done = t.fake.wait_notice(STAKEHOLDER_CHANNEL, "is complete").await;
    assert!(!content_of(&done).contains("On call"), "nobody was: {done}");
    t.finish().await;
}

#[tokio::test]
async fn an_exec_override_lets_production_past_the_order_once_and_opens_a_postmortem() {
    let t = Tester::start_configured(ENVIRONMENTS).await;
    t.plan(&author(), "9.2.0", "patch").await;
    t.go(&lead(), "9.2.0").await;
    let refused = crate::deployments::deploy(&t, &deployer(), "9.2.0").await;
    assert!(
        content(&refused).contains("has not completed in staging"),
        "{refused}"
    );
    let ask = t.command(
        &deploying_exec(),
        "override",
        vec![
            ("version", json!("9.2.0")),
            ("reason", json!("staging is down; hotfix verified by hand")),
        ],
    );
    t.send(ask).await;
    let (notice, id) = request_notice(&t, "9.2.0").await;
    click(&t, &exec(), &notice, &id).await;
    let started = crate::deployments::deploy(&t, &deployer(), "9.2.0").await;
    assert!(content(&started).contains("deploying"), "{started}");
    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let used = events
        .iter()
        .find(|e| e.kind == "override_used")
        .expect("the override was used");
    assert_eq!(used.detail["guardrail"], "environment_order");
    assert_eq!(
        t.running_service().open_postmortems().await.unwrap().len(),
        1
    );
    t.finish().await;
}
