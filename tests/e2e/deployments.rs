//! Deployments from chat on a driven clock: a whole rollout with a real command executor,
//! its notices and their audiences, a rollback from the 10% stage, and the refusals.

use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::support::fake_discord::{Fault, FaultKind};
use crate::support::fixtures::Member;
use crate::support::tester::*;

/// Stages of 30 minutes, progress every 15, 70 minutes of verification: the whole rollout
/// takes 160 minutes, and each deploy or rollback appends a line to `{dir}/actions.log`.
pub(crate) const ROLLOUT: &str = r#"
[rollout]
stages = [{ name = "canary", percent = 1, hold = "30m" }, { percent = 10, hold = "30m" },
          { percent = 50, hold = "30m" }, { percent = 100 }]
progress_every = "15m"
verify_for = "70m"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"deploy $GONOGO_PERCENT {version}\" >> {dir}/actions.log"]
rollback = ["/bin/sh", "-c", "echo \"rollback $GONOGO_STAGE {version}\" >> {dir}/actions.log"]
timeout = "1m"
"#;

/// Waits until the stage at `index` of `version` has succeeded and its hold is running.
pub(crate) async fn stage_done(t: &Tester, version: &str, index: u8) {
    let query = format!(
        "SELECT e.state FROM executions e JOIN releases r ON r.id = e.release_id \
         WHERE r.version = '{version}' AND e.action = 'deploy' AND e.stage = {index}"
    );
    t.wait_db(&query, "succeeded").await;
    let clock = format!(
        "SELECT CASE WHEN clock_ends_at IS NOT NULL AND stage = {index} THEN 'set' END \
         FROM releases WHERE version = '{version}'"
    );
    t.wait_db(&clock, "set").await;
}

pub(crate) fn actions(t: &Tester) -> Vec<String> {
    std::fs::read_to_string(t.dir.path().join("actions.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn thread_of(t: &Tester, version: &str) -> u64 {
    let opened = format!(
        "SELECT CASE WHEN thread_id IS NOT NULL THEN 'open' END FROM releases WHERE version = '{version}'"
    );
    t.wait_db(&opened, "open").await;
    let id: i64 = sqlx::query_scalar("SELECT thread_id FROM releases WHERE version = $1")
        .bind(version)
        .fetch_one(t.db())
        .await
        .expect("thread id");
    u64::try_from(id).expect("snowflake")
}

pub(crate) fn texts(t: &Tester, channel: u64, starting: &str) -> Vec<Value> {
    t.fake
        .messages(channel)
        .into_iter()
        .filter(|m| m["content"].as_str().is_some_and(|c| c.contains(starting)))
        .collect()
}

pub(crate) async fn approved(t: &Tester, version: &str) {
    t.plan(&author(), version, "patch").await;
    t.go(&lead(), version).await;
    assert_eq!(t.state(version).await, "approved");
}

pub(crate) async fn deploy(t: &Tester, who: &Member, version: &str) -> Value {
    let command = t.top_command(who, "deploy", vec![("version", json!(version))]);
    t.send(command).await
}

#[tokio::test]
async fn a_whole_release_rolls_out_stage_by_stage_and_completes() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "5.0.0").await;
    let answer = deploy(&t, &deployer(), "5.0.0").await;
    assert_ephemeral(&answer);
    assert!(content(&answer).contains("deploying"), "{answer}");
    stage_done(&t, "5.0.0", 0).await;

    // The start notice: the releases channel without a ping, the stakeholders with one.
    let start = "is rolling out";
    t.fake
        .wait_until("the start notice reaches both channels", |f| {
            !texts_in(f, RELEASES_CHANNEL, start).is_empty()
                && !texts_in(f, STAKEHOLDER_CHANNEL, start).is_empty()
        })
        .await;
    let in_releases = &texts(&t, RELEASES_CHANNEL, start)[0];
    assert!(!content_of(in_releases).contains("<@&"), "{in_releases}");
    let to_stakeholders = &texts(&t, STAKEHOLDER_CHANNEL, start)[0];
    assert!(content_of(to_stakeholders).starts_with(&format!("<@&{ROLE_STAKEHOLDERS}>")));
    assert!(
        content_of(to_stakeholders).contains("Approved by Lee"),
        "{to_stakeholders}"
    );
    assert!(content_of(to_stakeholders).contains("started by Dee"));
    let thread = thread_of(&t, "5.0.0").await;

    // Every 15 minutes a progress notice in the thread; every 30 the next stage.
    for mark in 1..=10_usize {
        t.advance(TimeDelta::minutes(15));
        let minute = mark * 15;
        if minute % 30 == 0 && minute <= 90 {
            stage_done(&t, "5.0.0", u8::try_from(minute / 30).unwrap()).await;
        }
        t.fake
            .wait_until(&format!("progress notice {mark}"), |f| {
                progress_in(f, thread) == mark
            })
            .await;
    }
    assert_eq!(t.state("5.0.0").await, "verifying");
    let first = &t.fake.messages(thread)[..]
        .iter()
        .find(|m| content_of(m).starts_with("📈"))
        .cloned()
        .expect("a progress notice");
    assert!(
        content_of(first).contains("Last action: deploy canary (1%), **succeeded**"),
        "progress names the executor's last result: {first}"
    );
    let status = t
        .send(t.command(&lead(), "status", vec![("version", json!("5.0.0"))]))
        .await;
    for line in [
        "✅ deploy canary (1%): succeeded",
        "✅ deploy 100%: succeeded",
    ] {
        assert!(content(&status).contains(line), "{line} in {status}");
    }
    t.advance(TimeDelta::minutes(10));
    for channel in [RELEASES_CHANNEL, STAKEHOLDER_CHANNEL] {
        t.fake.wait_notice(channel, "is complete").await;
    }
    assert_eq!(t.state("5.0.0").await, "completed");
    assert_eq!(
        actions(&t),
        [
            "deploy 1 5.0.0",
            "deploy 10 5.0.0",
            "deploy 50 5.0.0",
            "deploy 100 5.0.0"
        ],
        "every stage ran once, in order"
    );
    assert_eq!(
        progress(&t, thread),
        10,
        "one progress notice per 15-minute mark"
    );
    let done = &texts(&t, STAKEHOLDER_CHANNEL, "is complete")[0];
    assert!(content_of(done).contains("after 160 min"), "{done}");
    t.wait_card("5.0.0", "the card shows the completion", |c| {
        c.contains("Complete")
    })
    .await;
    t.finish().await;
}

#[tokio::test]
async fn a_release_rolled_back_from_the_ten_percent_stage_tells_everyone() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "5.1.0").await;
    deploy(&t, &deployer(), "5.1.0").await;
    stage_done(&t, "5.1.0", 0).await;
    t.advance(TimeDelta::minutes(30));
    stage_done(&t, "5.1.0", 1).await;

    // Without a version, /rollback means the one release rolling out.
    let command = t.top_command(
        &release_manager(),
        "rollback",
        vec![("reason", json!("errors up"))],
    );
    let answer = t.send(command).await;
    assert!(
        content(&answer).contains("rolling_back") || content(&answer).contains("rolled_back"),
        "{answer}"
    );
    t.wait_state("5.1.0", "rolled_back").await;
    t.fake
        .wait_until("the rollback notice reaches both channels", |f| {
            !texts_in(f, RELEASES_CHANNEL, "is rolled back").is_empty()
                && !texts_in(f, STAKEHOLDER_CHANNEL, "is rolled back").is_empty()
        })
        .await;
    let notice = &texts(&t, STAKEHOLDER_CHANNEL, "is rolled back")[0];
    assert!(
        content_of(notice).contains("from 10%, asked by Remy: errors up"),
        "{notice}"
    );
    assert_eq!(
        actions(&t),
        ["deploy 1 5.1.0", "deploy 10 5.1.0", "rollback 10% 5.1.0"]
    );
    let restored: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_events WHERE kind = 'rolled_back'")
            .fetch_all(t.db())
            .await
            .expect("audit");
    assert_eq!(restored.len(), 1, "time to restore is recorded once");
    assert!(restored[0].contains("restore_secs"));

    // A second /rollback finds nothing rolling out; naming it finds it already rolled back.
    let again = t.top_command(&deployer(), "rollback", vec![("reason", json!("again"))]);
    assert!(content(&t.send(again).await).contains("No release is rolling out"));
    let named = t.top_command(
        &deployer(),
        "rollback",
        vec![("reason", json!("again")), ("version", json!("5.1.0"))],
    );
    assert!(content(&t.send(named).await).contains("rolled_back"));
    assert_eq!(actions(&t).len(), 3, "no second rollback ran");
    t.finish().await;
}

#[tokio::test]
async fn deploy_refusals_say_why() {
    let windows = r#"
[windows]
timezone = "Europe/Berlin"
allow = [{ cron = "0 0 9 * * Sat", duration = "4h" }]
"#;
    let t = Tester::start_configured(windows).await;
    t.plan(&author(), "6.0.0", "patch").await;
    let not_approved = deploy(&t, &deployer(), "6.0.0").await;
    assert!(
        content(&not_approved).contains("only an approved release"),
        "{not_approved}"
    );
    t.go(&lead(), "6.0.0").await;
    let not_a_deployer = deploy(&t, &lead(), "6.0.0").await;
    assert!(
        content(&not_a_deployer).contains("deployer role"),
        "{not_a_deployer}"
    );
    // The tester's clock stands on Monday 2 March 2026, 10:00 UTC; the next window opens on
    // Saturday the 7th at 09:00 in Berlin, 08:00 UTC.
    let outside = deploy(&t, &deployer(), "6.0.0").await;
    assert!(
        content(&outside).contains("outside every deployment window"),
        "{outside}"
    );
    assert!(content(&outside).contains("<t:1772870400:"), "{outside}");
    assert_eq!(
        t.state("6.0.0").await,
        "approved",
        "a refusal changes nothing"
    );
    t.finish().await;
}

#[tokio::test]
async fn windows_keep_local_time_across_daylight_saving_and_blackouts_name_the_next_start() {
    let windows = r#"
[windows]
timezone = "Europe/Berlin"
allow = [{ cron = "0 0 9 * * Mon-Fri", duration = "8h" }]
blackout = [{ cron = "0 0 0 30 Mar *", duration = "1d" }]
"#;
    let t = Tester::start_configured(windows).await;
    approved(&t, "6.1.0").await;
    // Saturday 28 March 2026, 12:00 UTC; Berlin moves to summer time overnight on Sunday.
    t.advance(TimeDelta::days(26) + TimeDelta::hours(2));
    let weekend = deploy(&t, &deployer(), "6.1.0").await;
    assert!(
        content(&weekend).contains("outside every deployment window"),
        "{weekend}"
    );
    // Monday is blacked out, so the next start is Tuesday 31 March at 09:00 in Berlin, which
    // is 07:00 UTC in summer time (it was 08:00 UTC a week before).
    let tuesday_nine = "<t:1774940400:";
    assert!(content(&weekend).contains(tuesday_nine), "{weekend}");

    // Monday 30 March, 10:00 in Berlin: inside the allow window, but blacked out until
    // Tuesday 00:00 in Berlin (Monday 22:00 UTC).
    t.advance(TimeDelta::hours(44));
    let blacked_out = deploy(&t, &deployer(), "6.1.0").await;
    assert!(
        content(&blacked_out).contains("blacked out until <t:1774908000:"),
        "{blacked_out}"
    );
    assert!(
        content(&blacked_out).contains(tuesday_nine),
        "{blacked_out}"
    );
    assert_eq!(
        t.state("6.1.0").await,
        "approved",
        "a refusal changes nothing"
    );

    // Tuesday 07:00 UTC, the named moment: the deployment starts.
    t.advance(TimeDelta::hours(23));
    let started = deploy(&t, &deployer(), "6.1.0").await;
    assert!(content(&started).contains("deploying"), "{started}");
    assert_eq!(t.state("6.1.0").await, "deploying");
    t.finish().await;
}

#[tokio::test]
async fn a_second_release_waits_for_the_deploy_lock() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "7.0.0").await;
    approved(&t, "7.0.1").await;
    deploy(&t, &deployer(), "7.0.0").await;
    stage_done(&t, "7.0.0", 0).await;
    let second = deploy(&t, &deployer(), "7.0.1").await;
    assert!(
        content(&second).contains("7.0.0 is **deploying** there"),
        "{second}"
    );
    assert_eq!(t.state("7.0.1").await, "approved");
    t.finish().await;
}

pub(crate) fn content_of(message: &Value) -> &str {
    message["content"].as_str().unwrap_or("")
}

fn texts_in(
    fake: &crate::support::fake_discord::FakeDiscord,
    channel: u64,
    part: &str,
) -> Vec<Value> {
    fake.messages(channel)
        .into_iter()
        .filter(|m| content_of(m).contains(part))
        .collect()
}

pub(crate) fn progress_in(fake: &crate::support::fake_discord::FakeDiscord, thread: u64) -> usize {
    fake.messages(thread)
        .iter()
        .filter(|m| {
            ["📈", "🔎", "⏸️"]
                .iter()
                .any(|p| content_of(m).starts_with(p))
        })
        .count()
}

fn progress(t: &Tester, thread: u64) -> usize {
    progress_in(&t.fake, thread)
}

#[tokio::test]
async fn a_command_cut_off_by_a_restart_comes_back_unknown_and_halts_the_release() {
    let slow = r#"
[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo started >> {dir}/actions.log; sleep 20"]
rollback = ["/bin/sh", "-c", "true"]
timeout = "1m"
"#;
    let mut t = Tester::start_configured(slow).await;
    approved(&t, "9.0.0").await;
    deploy(&t, &deployer(), "9.0.0").await;
    t.wait_db("SELECT state FROM executions WHERE stage = 0", "running")
        .await;
    t.restart().await;
    t.wait_state("9.0.0", "halted").await;
    t.wait_db("SELECT state FROM executions WHERE stage = 0", "unknown")
        .await;
    let thread = thread_of(&t, "9.0.0").await;
    t.fake
        .wait_until("the thread hears the outcome is unknown", |f| {
            !texts_in(f, thread, "outcome is unknown").is_empty()
        })
        .await;
    assert_eq!(
        actions(&t),
        ["started"],
        "the command did not run again by itself"
    );
    t.wait_card("9.0.0", "the card offers resume and rollback", |c| {
        c.contains("Halted")
    })
    .await;
    let card = t.card("9.0.0").await;
    assert!(button_id(&card, "resume").is_some() && button_id(&card, "rollback").is_some());
    t.finish().await;
}

#[tokio::test]
async fn a_refusing_stakeholder_channel_holds_up_neither_the_thread_nor_the_rollback_notice() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "9.1.0").await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{STAKEHOLDER_CHANNEL}/messages"),
        kind: FaultKind::Status(403),
        times: 100,
    });
    deploy(&t, &deployer(), "9.1.0").await;
    stage_done(&t, "9.1.0", 0).await;
    let thread = thread_of(&t, "9.1.0").await;
    t.advance(TimeDelta::minutes(15));
    t.fake
        .wait_until("progress reaches the thread", |f| {
            progress_in(f, thread) == 1
        })
        .await;
    let rollback = t.top_command(
        &deployer(),
        "rollback",
        vec![("reason", json!("bad canary"))],
    );
    t.send(rollback).await;
    t.fake
        .wait_until("the rollback notice reaches the releases channel", |f| {
            !texts_in(f, RELEASES_CHANNEL, "is rolled back").is_empty()
        })
        .await;
    assert!(t.fake.messages(STAKEHOLDER_CHANNEL).is_empty());
    t.finish().await;
}

#[tokio::test]
async fn a_notice_met_by_a_429_and_a_500_is_delivered_exactly_once() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "9.2.0").await;
    // The thread is opened on the card through the same path: wait for it first.
    let opened = "SELECT CASE WHEN thread_id IS NOT NULL THEN 'open' END FROM releases";
    t.wait_db(opened, "open").await;
    let path = format!("/channels/{RELEASES_CHANNEL}/messages");
    t.fake.inject(Fault {
        method: "POST",
        path_contains: path.clone(),
        kind: FaultKind::RateLimited {
            retry_after_secs: 1.0,
        },
        times: 1,
    });
    t.fake.inject(Fault {
        method: "POST",
        path_contains: path,
        kind: FaultKind::Status(500),
        times: 1,
    });
    deploy(&t, &deployer(), "9.2.0").await;
    t.wait_retry_scheduled(1).await;
    t.advance(TimeDelta::seconds(1));
    t.wait_retry_scheduled(2).await;
    t.advance(TimeDelta::seconds(2));
    for channel in [RELEASES_CHANNEL, STAKEHOLDER_CHANNEL] {
        t.fake.wait_notice(channel, "is rolling out").await;
    }
    t.finish().await;
}

#[tokio::test]
async fn a_release_manager_halts_and_resumes_a_rollout() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "9.3.0").await;
    deploy(&t, &deployer(), "9.3.0").await;
    stage_done(&t, "9.3.0", 0).await;
    let version = ("version", json!("9.3.0"));
    let refused = t.command(
        &deployer(),
        "halt",
        vec![version.clone(), ("reason", json!("x"))],
    );
    assert!(content(&t.send(refused).await).contains("release manager role"));
    let halt = t.command(
        &release_manager(),
        "halt",
        vec![version.clone(), ("reason", json!("dashboards"))],
    );
    assert!(content(&t.send(halt).await).contains("halted"));
    t.advance(TimeDelta::minutes(45));
    let thread = thread_of(&t, "9.3.0").await;
    t.fake
        .wait_until("a halted progress notice", |f| {
            !texts_in(f, thread, "is halted** at canary").is_empty()
        })
        .await;
    assert_eq!(
        t.state("9.3.0").await,
        "halted",
        "the hold does not run while halted"
    );
    let resume = t.command(&release_manager(), "resume", vec![version]);
    assert!(content(&t.send(resume).await).contains("deploying"));
    // Thirty minutes of hold remained: the next stage starts half an hour after the resume,
    // at 11:15 on the tester's clock (halted at 10:00, resumed at 10:45).
    t.wait_db(
        "SELECT due_at FROM timers WHERE kind = 'stage_hold'",
        "2026-03-02T11:15:00.000Z",
    )
    .await;
    assert_eq!(actions(&t).len(), 1);
    t.advance(TimeDelta::minutes(30));
    stage_done(&t, "9.3.0", 1).await;
    assert_eq!(actions(&t), ["deploy 1 9.3.0", "deploy 10 9.3.0"]);
    t.finish().await;
}

#[tokio::test]
async fn a_hold_ends_on_its_stored_time_on_a_clock_finer_than_a_millisecond() {
    let t = Tester::start_configured(ROLLOUT).await;
    // Times are stored to the millisecond; the clock reads finer than that.
    t.advance(TimeDelta::nanoseconds(1_234_567));
    approved(&t, "5.9.0").await;
    deploy(&t, &deployer(), "5.9.0").await;
    stage_done(&t, "5.9.0", 0).await;
    // Past the stored end of the hold, short of the unrounded one.
    t.advance(TimeDelta::minutes(30) - TimeDelta::microseconds(200));
    stage_done(&t, "5.9.0", 1).await;
    t.finish().await;
}

/// Drives a deployed release of `ROLLOUT` to completion on the driven clock.
pub(crate) async fn complete(t: &Tester, version: &str) {
    stage_done(t, version, 0).await;
    for stage in 1..=3 {
        t.advance(TimeDelta::minutes(30));
        stage_done(t, version, stage).await;
    }
    t.wait_db(
        &format!("SELECT state FROM releases WHERE version = '{version}'"),
        "verifying",
    )
    .await;
    t.advance(TimeDelta::minutes(70));
    t.wait_db(
        &format!("SELECT state FROM releases WHERE version = '{version}'"),
        "completed",
    )
    .await;
}

#[tokio::test]
async fn a_completed_release_rolls_back_inside_its_window_and_not_after() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "9.4.0").await;
    deploy(&t, &deployer(), "9.4.0").await;
    complete(&t, "9.4.0").await;
    let rollback = |reason: &str| {
        t.top_command(
            &deployer(),
            "rollback",
            vec![("reason", json!(reason)), ("version", json!("9.4.0"))],
        )
    };
    // A patch's window is four hours: after it, the rollback needs an override.
    t.advance(TimeDelta::hours(4));
    let late = t.send(rollback("too late")).await;
    assert!(content(&late).contains("rollback window closed"), "{late}");
    assert_eq!(t.state("9.4.0").await, "completed");

    approved(&t, "9.4.1").await;
    deploy(&t, &deployer(), "9.4.1").await;
    complete(&t, "9.4.1").await;
    t.advance(TimeDelta::hours(3));
    let inside = t.top_command(
        &deployer(),
        "rollback",
        vec![("reason", json!("regression")), ("version", json!("9.4.1"))],
    );
    assert!(content(&t.send(inside).await).contains("rolling_back"));
    t.wait_state("9.4.1", "rolled_back").await;
    t.finish().await;
}

#[tokio::test]
async fn a_failed_stage_halts_with_a_notice_and_a_retry_continues_the_rollout() {
    let flaky = r#"
[rollout]
stages = [{ name = "canary", percent = 1, hold = "30m" }, { percent = 100 }]
progress_every = "15m"
verify_for = "1h"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"deploy $GONOGO_PERCENT\" >> {dir}/actions.log; [ -e {dir}/failed ] || (touch {dir}/failed; echo 'no route to host' >&2; exit 3)"]
rollback = ["/bin/sh", "-c", "true"]
timeout = "1m"
"#;
    let t = Tester::start_configured(flaky).await;
    approved(&t, "9.5.0").await;
    deploy(&t, &deployer(), "9.5.0").await;
    t.wait_state("9.5.0", "halted").await;
    let thread = thread_of(&t, "9.5.0").await;
    t.fake
        .wait_until("the thread hears the stage failed", |f| {
            !texts_in(f, thread, "no route to host").is_empty()
        })
        .await;
    let card = t
        .wait_card("9.5.0", "the card offers a retry", |c| c.contains("Halted"))
        .await;
    let retry = button_id(&card, "resume").expect("a Resume / retry stage button");
    let click = crate::support::fixtures::button_on_message(
        t.next_id(),
        &deployer(),
        crate::support::fake_discord::GUILD_ID,
        card,
        &retry,
    );
    assert!(content(&t.send(click).await).contains("deploying"));
    stage_done(&t, "9.5.0", 0).await;
    t.advance(TimeDelta::minutes(30));
    stage_done(&t, "9.5.0", 1).await;
    assert_eq!(actions(&t), ["deploy 1", "deploy 1", "deploy 100"]);
    t.finish().await;
}
