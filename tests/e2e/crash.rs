//! The real `gonogo` binary, killed with `SIGKILL` in the middle of a stage and started again: the rollout
//! completes, no executor action runs twice, and no notice is posted twice or lost.

use std::path::Path;
use std::time::Duration;

use sqlx::Connection as _;

use crate::support::database::connect_in;
use crate::support::fake_discord::FakeDiscord;
use crate::support::process::{free_loopback_addr, plan_approve_deploy, write_config, Bot};
use crate::support::signer::Signer;
use crate::support::tester::{RELEASES_CHANNEL, STAKEHOLDER_CHANNEL};
use crate::support::wait::{is, wait_until_within};

/// A rollout of a few real seconds: the binary runs on the system clock. Its executor logs
/// each action to `actions.log`.
pub(crate) fn rollout(dir: &Path) -> String {
    format!(
        r#"
[rollout]
stages = [{{ percent = 10, hold = "2s" }}, {{ percent = 100 }}]
progress_every = "2s"
verify_for = "2s"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"deploy $GONOGO_PERCENT\" >> {log}"]
rollback = ["/bin/sh", "-c", "echo rollback >> {log}"]
timeout = "30s"
"#,
        log = dir.join("actions.log").display()
    )
}

/// Polls the bot's database until `query` gives `expected`.
async fn wait_db(dir: &Path, query: &str, expected: &str) {
    let what = format!("`{query}` to give {expected}");
    wait_until_within(Duration::from_secs(20), &what, || async {
        let mut db = connect_in(dir).await;
        let got: Option<Option<String>> = sqlx::query_scalar(query)
            .fetch_optional(&mut db)
            .await
            .expect("query");
        db.close().await.expect("close");
        is(got.flatten(), &Some(expected.to_owned()))
    })
    .await;
}

async fn scalar(dir: &Path, query: &str) -> String {
    let mut db = connect_in(dir).await;
    sqlx::query_scalar(query)
        .fetch_one(&mut db)
        .await
        .expect("query")
}

/// How many messages in `channel` contain `part`.
pub(crate) fn posted(fake: &FakeDiscord, channel: u64, part: &str) -> usize {
    fake.messages(channel)
        .iter()
        .filter(|m| m["content"].as_str().is_some_and(|c| c.contains(part)))
        .count()
}

/// Waits until the pending progress tick is more than one interval overdue, so a restart
/// then owes exactly one catch-up notice for the ticks it missed.
async fn stay_down_past_a_tick(dir: &Path) {
    let due = scalar(
        dir,
        "SELECT due_at FROM timers WHERE kind = 'progress_tick'",
    )
    .await;
    let due = chrono::NaiveDateTime::parse_from_str(&due, "%Y-%m-%dT%H:%M:%S%.3fZ")
        .expect("a stored time")
        .and_utc();
    while chrono::Utc::now() < due + chrono::TimeDelta::milliseconds(2500) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_rollout_killed_mid_stage_completes_without_doubles_after_a_restart() {
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);
    let mut text = std::fs::read_to_string(&config).expect("read the config");
    text.push_str(&rollout(dir.path()));
    std::fs::write(&config, text).expect("write the config");
    let url = format!("http://{addr}/interactions");

    let mut bot = Bot::start(&config, &["run"], &dir.path().join("first.log"), addr).await;
    plan_approve_deploy(&fake, &signer, &url, "3.3.0").await;
    // Killed while the first stage holds: its action succeeded, its hold timer is pending.
    wait_db(
        dir.path(),
        "SELECT state FROM executions WHERE stage = 0",
        "succeeded",
    )
    .await;
    bot.kill();
    stay_down_past_a_tick(dir.path()).await;

    let mut bot = Bot::start(&config, &["run"], &dir.path().join("second.log"), addr).await;
    wait_db(dir.path(), "SELECT state FROM releases", "completed").await;
    fake.wait_until("the completion notice reaches both channels", |f| {
        posted(f, RELEASES_CHANNEL, "is complete") == 1
            && posted(f, STAKEHOLDER_CHANNEL, "is complete") == 1
    })
    .await;
    wait_db(
        dir.path(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state != 'sent'",
        "0",
    )
    .await;
    bot.terminate();
    assert!(bot.wait_exit().await.success());

    let actions = std::fs::read_to_string(dir.path().join("actions.log")).expect("actions");
    assert_eq!(
        actions.lines().collect::<Vec<_>>(),
        ["deploy 10", "deploy 100"],
        "no action ran twice"
    );
    for channel in [RELEASES_CHANNEL, STAKEHOLDER_CHANNEL] {
        assert_eq!(
            posted(&fake, channel, "is rolling out"),
            1,
            "one start notice in {channel}"
        );
        assert_eq!(
            posted(&fake, channel, "is complete"),
            1,
            "one completion notice in {channel}"
        );
    }
    let thread_rows = scalar(
        dir.path(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE kind = 'notify' AND channel_id IS NULL",
    )
    .await;
    let thread: u64 = scalar(dir.path(), "SELECT CAST(thread_id AS TEXT) FROM releases")
        .await
        .parse()
        .expect("snowflake");
    let in_thread = fake.messages(thread);
    assert_eq!(
        in_thread.len().to_string(),
        thread_rows,
        "each thread notice posted once"
    );
    assert_eq!(
        posted(&fake, thread, "gonogo was down"),
        1,
        "one catch-up notice covers the downtime"
    );
    fake.assert_clean();
}
