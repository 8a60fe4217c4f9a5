//! The pipeline's side, end to end: `gonogo ci` (the real binary) plans, reports a check,
//! waits while the team decides in Discord, and deploys through staging to production, which
//! waits for the soak.

use std::process::Output;

use chrono::TimeDelta;
use serde_json::json;

use crate::api::PIPELINE_CHECKLIST;
use crate::checklist::select;
use crate::environments::{card_in, press, state_in, wait_state_in};
use crate::support::pipeline::{api_config, CI_TOKEN};
use crate::support::tester::*;

/// Staging holds a poll here, so the pipeline has a decision to wait for.
const STAGES: &str = r#"
[rollout]
stages = [{ percent = 50, hold = "10m" }, { percent = 100 }]
verify_for = "20m"

[environments.staging]
next = "production"
stages = [{ percent = 100, hold = "0s" }]
verify_for = "30m"

[environments.production]
after = "staging"
soak = "2h"
"#;

const DEPLOY_TO_PRODUCTION: [&str; 5] = [
    "deploy",
    "--version",
    "10.0.0",
    "--environment",
    "production",
];

/// `gonogo ci ARGS` as a pipeline step runs it: the token and the server from the environment.
fn ci(t: &Tester, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gonogo"));
    command.arg("ci").args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GONOGO_") {
            command.env_remove(key);
        }
    }
    command
        .env("GONOGO_TOKEN", CI_TOKEN)
        .env("GONOGO_SERVER", t.base_url())
        .kill_on_drop(true);
    command
}

async fn run(t: &Tester, args: &[&str]) -> Output {
    ci(t, args).output().await.expect("gonogo ci runs")
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn check_passed(environment: &str) -> Vec<&str> {
    vec![
        "check",
        "--version",
        "10.0.0",
        "--environment",
        environment,
        "--item",
        "All tests passing in CI",
        "--status",
        "passed",
        "--link",
        "https://ci.example.com/runs/900",
    ]
}

/// Steps 1 to 3 of the pipeline: plan in staging, report the tests, wait while the team
/// decides in Discord, deploy; staging then completes on the driven clock.
async fn through_staging(t: &Tester) {
    let plan = run(
        t,
        &[
            "plan",
            "--version",
            "10.0.0",
            "--type",
            "patch",
            "--summary",
            "Faster search",
            "--environment",
            "staging",
            "--commit",
            "3f9c2ab",
            "--commit-time",
            "2026-03-02T08:00:00Z",
            "--build-url",
            "https://ci.example.com/runs/900",
        ],
    )
    .await;
    assert_eq!(plan.status.code(), Some(0), "{}", said(&plan));
    let line = String::from_utf8_lossy(&plan.stdout);
    assert!(line.starts_with("1 voting "), "{}", said(&plan));
    let checked = run(t, &check_passed("staging")).await;
    assert_eq!(checked.status.code(), Some(0), "{}", said(&checked));

    // The wait blocks until the team decides in Discord.
    let mut waiting = ci(
        t,
        &[
            "wait",
            "--version",
            "10.0.0",
            "--environment",
            "staging",
            "--until",
            "decided",
            "--timeout",
            "60s",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("gonogo ci wait");
    select(t, &team(1), "10.0.0", 0, &["1"]).await;
    assert!(
        waiting.try_wait().expect("alive").is_none(),
        "no decision yet"
    );
    t.go(&lead(), "10.0.0").await;
    let decided = waiting.wait_with_output().await.expect("the wait ends");
    assert_eq!(decided.status.code(), Some(0), "{}", said(&decided));
    assert!(
        String::from_utf8_lossy(&decided.stdout).contains(" approved "),
        "{}",
        said(&decided)
    );

    let deployed = run(
        t,
        &["deploy", "--version", "10.0.0", "--environment", "staging"],
    )
    .await;
    assert_eq!(deployed.status.code(), Some(0), "{}", said(&deployed));
    wait_state_in(t, "10.0.0", "staging", "verifying").await;
    t.advance(TimeDelta::minutes(30));
    wait_state_in(t, "10.0.0", "staging", "completed").await;
}

#[tokio::test]
async fn a_pipeline_takes_a_release_through_staging_to_production_with_gonogo_ci() {
    let t = Tester::start_configured(&(api_config() + PIPELINE_CHECKLIST + STAGES)).await;
    through_staging(&t).await;

    // Promotion is one click; production is refused until the soak.
    t.wait_card("10.0.0", "the staging card completes", |c| {
        c.contains("Complete")
    })
    .await;
    let staging = card_in(&t, "10.0.0", "staging").await;
    press(&t, &deployer(), &staging, "promote").await;
    card_in(&t, "10.0.0", "production").await;
    assert_eq!(
        run(&t, &check_passed("production")).await.status.code(),
        Some(0)
    );
    select(&t, &team(1), "10.0.0", 0, &["1"]).await;
    t.go(&lead(), "10.0.0").await;
    assert_eq!(state_in(&t, "10.0.0", "production").await, "approved");
    let early = run(&t, &DEPLOY_TO_PRODUCTION).await;
    assert_eq!(early.status.code(), Some(1), "{}", said(&early));
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("soaks there until"),
        "{}",
        said(&early)
    );
    t.advance(TimeDelta::hours(2));
    let deployed = run(&t, &DEPLOY_TO_PRODUCTION).await;
    assert_eq!(deployed.status.code(), Some(0), "{}", said(&deployed));

    let finished = ci(
        &t,
        &[
            "wait",
            "--version",
            "10.0.0",
            "--environment",
            "production",
            "--until",
            "finished",
            "--timeout",
            "60s",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("gonogo ci wait");
    let holding = "SELECT CASE WHEN clock_ends_at IS NOT NULL THEN 'holding' END \
        FROM releases WHERE environment = 'production'";
    t.wait_db(holding, "holding").await;
    t.advance(TimeDelta::minutes(10));
    wait_state_in(&t, "10.0.0", "production", "verifying").await;
    t.advance(TimeDelta::minutes(20));
    let finished = finished.wait_with_output().await.expect("the wait ends");
    assert_eq!(finished.status.code(), Some(0), "{}", said(&finished));
    assert!(
        String::from_utf8_lossy(&finished.stdout).contains(" completed "),
        "{}",
        said(&finished)
    );

    // Lead time counts from the commit the pipeline gave.
    let stats = t
        .send(t.command(&author(), "stats", vec![("days", json!("7"))]))
        .await;
    assert!(
        content(&stats).contains("1 from the commit, 0 from the plan"),
        "{stats}"
    );
    t.finish().await;
}
