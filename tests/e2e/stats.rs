//! The DORA figures over a history made through the real flows: one release completed, one
//! rolled back, one deployed through an override; checked against figures worked out by hand.

use chrono::TimeDelta;
use serde_json::json;

use crate::deployments::{approved, complete, deploy, stage_done, ROLLOUT};
use crate::support::fixtures::{self, Member};
use crate::support::tester::*;
use crate::support::GUILD_ID;

const MINOR_CHECKLIST: &str = r#"
[policy.minor]
approvers = [{ role = "team", count = 2 }]
rollback_window = "1d"
checklist = ["Documentation"]

[[checklist]]
section = "Documentation"
items = ["CHANGELOG updated"]
"#;

#[tokio::test]
async fn the_figures_over_a_real_history_match_those_worked_out_by_hand() {
    let t = Tester::start_configured(&format!("{ROLLOUT}{MINOR_CHECKLIST}")).await;
    // 15.0.0: planned at 10:00, deployed an hour later, complete 160 minutes after that.
    approved(&t, "15.0.0").await;
    t.advance(TimeDelta::minutes(60));
    deploy(&t, &deployer(), "15.0.0").await;
    complete(&t, "15.0.0").await;

    // 15.1.0: rolled back from its canary.
    approved(&t, "15.1.0").await;
    deploy(&t, &deployer(), "15.1.0").await;
    stage_done(&t, "15.1.0", 0).await;
    let rollback = t.top_command(
        &deployer(),
        "rollback",
        vec![("reason", json!("errors")), ("version", json!("15.1.0"))],
    );
    t.send(rollback).await;
    t.wait_state("15.1.0", "rolled_back").await;

    // 15.2.0: its checklist is open, so it deploys through an override, and completes.
    t.plan(&author(), "15.2.0", "minor").await;
    t.go(&team(1), "15.2.0").await;
    t.go(&team(2), "15.2.0").await;
    let ask = t.command(
        &deployer(),
        "override",
        vec![
            ("version", json!("15.2.0")),
            ("reason", json!("docs follow tomorrow")),
        ],
    );
    t.send(ask).await;
    t.fake
        .wait_message(RELEASES_CHANNEL, "the override request", move |m| {
            button_id(m, "approve-override").is_some()
        })
        .await;
    let notice = t
        .fake
        .messages(RELEASES_CHANNEL)
        .into_iter()
        .find(|m| button_id(m, "approve-override").is_some())
        .expect("the request");
    let id = button_id(&notice, "approve-override").expect("button");
    let exec = Member::new(1_600_000_000_000_000_042, "Cyd", &[ROLE_EXEC]);
    let click = fixtures::button_on_message(t.next_id(), &exec, GUILD_ID, notice, &id);
    t.send(click).await;
    let started = deploy(&t, &deployer(), "15.2.0").await;
    assert!(content(&started).contains("deploying"), "{started}");
    complete(&t, "15.2.0").await;

    let stats = t.command(&author(), "stats", vec![("days", json!("7"))]);
    let answer = t.send(stats).await;
    assert_ephemeral(&answer);
    let text = content(&answer);
    // Completed: 15.0.0 (220 minutes from plan) and 15.2.0 (160): the median is their mean.
    assert!(text.contains("2 releases completed, 2.0 a week"), "{text}");
    assert!(
        text.contains(
            "Lead time to completion: 3h 10m (median; 0 from the commit, 2 from the plan"
        ),
        "{text}"
    );
    // Started: three; 15.1.0 rolled back and 15.2.0 overridden.
    assert!(
        text.contains("Change failure rate: 67% (2 of 3 rollouts rolled back or overridden)"),
        "{text}"
    );
    // The rollback action answered at once on the driven clock.
    assert!(
        text.contains("Time to restore: 0s (median of 1 rollback)"),
        "{text}"
    );
    assert!(text.contains("Open post-mortems: 15.2.0"), "{text}");
    let chart = t
        .fake
        .wait_for("the trend chart follows the answer", |r| {
            r.method == "POST" && r.path.starts_with("/webhooks/") && !r.files.is_empty()
        })
        .await;
    assert_trend_chart(&chart);
    assert_eq!(
        chart.body["flags"], 64,
        "the chart is private, as the figures are"
    );

    export_round_trips(&t).await;

    // Figures are per environment; nothing was released to staging.
    let staging = vec![("days", json!("7")), ("environment", json!("staging"))];
    let staging = t.send(t.command(&author(), "stats", staging)).await;
    assert!(
        content(&staging).contains("Delivery to staging")
            && content(&staging).contains("no release completed"),
        "{staging}"
    );

    let bad = t.command(&author(), "stats", vec![("days", json!("0"))]);
    let bad = t.send(bad).await;
    assert_ephemeral(&bad);
    assert!(content(&bad).contains("1 to 365"), "{bad}");
    t.finish().await;
}

/// A request carrying the trend chart: one PNG of the four figures' panels, named as such.
fn assert_trend_chart(request: &crate::support::Recorded) {
    let [file] = request.files.as_slice() else {
        panic!("one file: {:?}", request.files);
    };
    assert_eq!(
        (
            file.name.as_str(),
            file.filename.as_str(),
            file.content_type.as_str()
        ),
        ("files[0]", "delivery-trends.png", "image/png")
    );
    assert_eq!(file.png_size(), Some((960, 440)), "two panels by two");
}

#[tokio::test]
async fn the_trend_chart_comes_with_the_figures_through_either_door() {
    let t = Tester::start_with_gateway().await;
    let stats = t.command(&author(), "stats", vec![("days", json!("28"))]);
    let callback = t.send_via_gateway(stats).await;
    assert!(
        content(&callback).contains("Delivery to production"),
        "{callback}"
    );
    let sent = t
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/interactions/"))
        .expect("the callback");
    assert_trend_chart(&sent);
    assert_eq!(sent.body["data"]["flags"], 64);

    let stats = t.command(&author(), "stats", vec![("days", json!("28"))]);
    let answer = t.send(stats).await;
    assert!(
        content(&answer).contains("Delivery to production"),
        "{answer}"
    );
    let followup = t
        .fake
        .wait_for("the trend chart follows the HTTP answer", |r| {
            r.method == "POST" && r.path.starts_with("/webhooks/")
        })
        .await;
    assert_trend_chart(&followup);
    t.finish().await;
}

/// The export of the history round-trips: every event, in order, each kind present.
async fn export_round_trips(t: &Tester) {
    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let jsonl = gonogo::store::audit::format_export(&events, false).expect("jsonl");
    let parsed: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let ids: Vec<i64> = parsed.iter().filter_map(|e| e["id"].as_i64()).collect();
    let expected: Vec<i64> = (1..=i64::try_from(events.len()).expect("count")).collect();
    assert_eq!(ids, expected, "every event, in order");
    let first: Vec<&str> = parsed
        .iter()
        .filter(|e| e["release_id"] == 1)
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        first[..4],
        ["planned", "vote_cast", "approved", "deploy_started"]
    );
    assert_eq!(first.last(), Some(&"completed"));
    for kind in [
        "action_finished",
        "stage_started",
        "verification_started",
        "rollback_started",
        "rolled_back",
        "override_requested",
        "override_approved",
        "override_used",
    ] {
        assert!(
            parsed.iter().any(|e| e["kind"] == kind),
            "the export has no {kind}"
        );
    }
    let csv = gonogo::store::audit::format_export(&events, true).expect("csv");
    assert_eq!(
        csv.lines().count(),
        events.len() + 1,
        "a header and a row each"
    );
}
