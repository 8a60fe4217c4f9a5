//! The metric gates against a real Prometheus scraping an exporter the test controls: a
//! breach rolls the release back, healthy readings let it complete, and no reading (an
//! outage, an error, an empty vector, NaN) halts it.

use chrono::TimeDelta;
use serde_json::json;

use crate::deployments::{actions, approved, content_of, deploy, stage_done, texts, thread_of};
use crate::support::prometheus::{
    answer_value, gates_section, Exporter, Prometheus, Recorded, ANSWER_EMPTY, ANSWER_ERROR,
    ANSWER_NAN, ERROR_RATE_QUERY, LATENCY_QUERY,
};
use crate::support::tester::*;

/// A canary held 30 minutes, then 100% and 30 minutes of verification, watched every minute.
fn watched(prometheus_url: &str) -> String {
    r#"
[rollout]
stages = [{ name = "canary", percent = 1, hold = "30m" }, { percent = 100 }]
progress_every = "15m"
verify_for = "30m"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"deploy $GONOGO_PERCENT {version}\" >> {dir}/actions.log"]
rollback = ["/bin/sh", "-c", "echo \"rollback $GONOGO_STAGE {version}\" >> {dir}/actions.log"]
timeout = "1m"
"#
    .to_owned()
        + &gates_section(prometheus_url, "1m")
}

/// A real Prometheus whose exporter reads an error rate of 0.1% and a p99 of 100 ms.
async fn healthy_prometheus() -> (Exporter, Prometheus) {
    let exporter = Exporter::start(0.001, 0.1).await;
    let prometheus = Prometheus::start(&exporter).await;
    prometheus.wait_value(ERROR_RATE_QUERY, 0.001).await;
    prometheus.wait_value(LATENCY_QUERY, 0.1).await;
    (exporter, prometheus)
}

/// Starts `version` and waits until its canary holds, baselined.
async fn canary_holding(t: &Tester, version: &str) {
    approved(t, version).await;
    deploy(t, &deployer(), version).await;
    stage_done(t, version, 0).await;
}

async fn rolled_back(t: &Tester, version: &str) -> String {
    t.wait_state(version, "rolled_back").await;
    t.fake.wait_notice(RELEASES_CHANNEL, "is rolled back").await;
    let notices = texts(t, RELEASES_CHANNEL, "is rolling back");
    assert_eq!(notices.len(), 1, "{notices:?}");
    content_of(&notices[0]).to_owned()
}

#[tokio::test]
async fn an_error_rate_raised_mid_canary_rolls_the_release_back_and_quotes_the_reading() {
    let (exporter, prometheus) = healthy_prometheus().await;
    let t = Tester::start_configured(&watched(&prometheus.url)).await;
    canary_holding(&t, "11.0.0").await;
    exporter.set(0.05, 0.1);
    prometheus.wait_value(ERROR_RATE_QUERY, 0.05).await;
    t.advance(TimeDelta::minutes(1));
    let notice = rolled_back(&t, "11.0.0").await;
    assert!(
        notice.contains("gonogo")
            && notice.contains("error rate 5.00% is above the 1.00% limit")
            && notice.contains(ERROR_RATE_QUERY.replace('_', "\\_").as_str()),
        "{notice}"
    );
    assert_eq!(actions(&t), ["deploy 1 11.0.0", "rollback canary 11.0.0"]);
    t.finish().await;
}

#[tokio::test]
async fn a_latency_at_two_and_a_half_times_the_baseline_rolls_the_release_back() {
    let (exporter, prometheus) = healthy_prometheus().await;
    let t = Tester::start_configured(&watched(&prometheus.url)).await;
    canary_holding(&t, "11.1.0").await;
    exporter.set(0.001, 0.25);
    prometheus.wait_value(LATENCY_QUERY, 0.25).await;
    t.advance(TimeDelta::minutes(1));
    let notice = rolled_back(&t, "11.1.0").await;
    assert!(
        notice.contains("p99 latency 250 ms is above the 200 ms limit")
            && notice.contains("baseline 100 ms"),
        "{notice}"
    );
    t.finish().await;
}

#[tokio::test]
async fn healthy_readings_let_the_rollout_complete_and_show_in_progress_and_status() {
    let (_exporter, prometheus) = healthy_prometheus().await;
    let t = Tester::start_configured(&watched(&prometheus.url)).await;
    canary_holding(&t, "11.2.0").await;
    t.advance(TimeDelta::minutes(31));
    t.wait_state("11.2.0", "verifying").await;
    let status = t.command(&author(), "status", vec![("version", json!("11.2.0"))]);
    let answer = t.send(status).await;
    assert!(
        content(&answer).contains("Gates") && content(&answer).contains("error rate 0.10%"),
        "{answer}"
    );
    assert!(
        content(&answer).contains("p99 100 ms (limit 200 ms, baseline 100 ms)"),
        "{answer}"
    );
    t.advance(TimeDelta::minutes(31));
    t.wait_state("11.2.0", "completed").await;
    let thread = thread_of(&t, "11.2.0").await;
    t.fake
        .wait_message(thread, "a progress notice with the readings", move |m| {
            let text = content_of(m);
            text.contains("Gates") && text.contains("p99 100 ms (limit 200 ms")
        })
        .await;
    // The clock jumped half an hour between looks: the notices say the release went unwatched.
    t.fake
        .wait_notice(thread, "The metric gates went unwatched for")
        .await;
    let read: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'gates_read'")
            .fetch_one(t.db())
            .await
            .expect("audit");
    assert!(
        read >= 3,
        "baseline, stage advance and completion were read: {read}"
    );
    assert_eq!(actions(&t), ["deploy 1 11.2.0", "deploy 100 11.2.0"]);
    t.finish().await;
}

#[tokio::test]
async fn stopping_prometheus_mid_stage_halts_the_release_with_a_notice() {
    let (_exporter, mut prometheus) = healthy_prometheus().await;
    let t = Tester::start_configured(&watched(&prometheus.url)).await;
    canary_holding(&t, "11.3.0").await;
    prometheus.stop();
    t.advance(TimeDelta::minutes(1));
    t.wait_state("11.3.0", "halted").await;
    let thread = thread_of(&t, "11.3.0").await;
    t.fake
        .wait_message(thread, "the halt notice", move |m| {
            let text = content_of(m);
            text.contains("is halted") && text.contains("the metric gates have no reading")
        })
        .await;
    // Halted, the stage clock waits: half an hour later it is still at the canary.
    t.advance(TimeDelta::minutes(30));
    assert_eq!(t.state("11.3.0").await, "halted");
    assert_eq!(actions(&t), ["deploy 1 11.3.0"]);
    t.finish().await;
}

#[tokio::test]
async fn an_error_answer_an_empty_vector_and_nan_each_halt_the_release() {
    let prometheus = Recorded::start(&answer_value(0.001)).await;
    let t = Tester::start_configured(&watched(&prometheus.url)).await;
    canary_holding(&t, "11.4.0").await;
    for (body, says) in [
        (ANSWER_ERROR, "bad\\_data"),
        (ANSWER_EMPTY, "matched no series"),
        (ANSWER_NAN, "answered NaN"),
    ] {
        prometheus.answer(body);
        t.advance(TimeDelta::minutes(1));
        t.wait_state("11.4.0", "halted").await;
        let thread = thread_of(&t, "11.4.0").await;
        t.fake.wait_notice(thread, says).await;
        // Back to health, a resume looks again and the watch goes on.
        prometheus.answer(&answer_value(0.001));
        let resume = t.command(
            &release_manager(),
            "resume",
            vec![("version", json!("11.4.0"))],
        );
        t.send(resume).await;
        t.wait_state("11.4.0", "deploying").await;
        // The look the resume asks for must be taken before the answer changes again.
        let now = gonogo::store::ts(gonogo::clock::Clock::now(&t.clock));
        let next_look = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM timers \
             WHERE kind = 'gate_check' AND due_at > '{now}'"
        );
        t.wait_db(&next_look, "1").await;
    }
    assert_eq!(actions(&t), ["deploy 1 11.4.0"]);
    t.finish().await;
}

#[tokio::test]
async fn the_contract_fixed_at_approval_outlives_a_config_change() {
    let prometheus = Recorded::start(&answer_value(0.001)).await;
    let mut t = Tester::start_configured(&watched(&prometheus.url)).await;
    approved(&t, "11.5.0").await;
    let card = t
        .wait_card("11.5.0", "the card shows the contract", |c| {
            c.contains("Rollback contract")
        })
        .await;
    let text = card_text(&card);
    assert!(
        text.contains("Error rate above 1.00%")
            && text.contains("p99 above 2× the baseline p99")
            && text.contains("More than 3 problem reports")
            && text.contains("within 4h of completion"),
        "{text}"
    );
    // The operator loosens the threshold and restarts: the approved release keeps its contract.
    t.restart_reconfigured(|config| config.gates.metrics.max_error_rate = 0.2)
        .await;
    deploy(&t, &deployer(), "11.5.0").await;
    stage_done(&t, "11.5.0", 0).await;
    t.fake.wait_notice(RELEASES_CHANNEL, "is rolling out").await;
    let notice = texts(&t, RELEASES_CHANNEL, "is rolling out").remove(0);
    let embed = notice["embeds"][0]["description"].as_str().unwrap_or("");
    assert!(embed.contains("Error rate above 1.00%"), "{notice}");
    prometheus.answer(&answer_value(0.05));
    t.advance(TimeDelta::minutes(1));
    let rollback = rolled_back(&t, "11.5.0").await;
    assert!(
        rollback.contains("error rate 5.00% is above the 1.00% limit"),
        "{rollback}"
    );
    t.finish().await;
}
