//! Detection latency of the metric gates against a real Prometheus: the time from the
//! exporter starting to report a breach to the start of the executor's rollback action, over
//! 20 trials with `check_every` and the scrape interval at 1 s. Target: at most
//! `check_every` + one scrape interval + 1 s.
//!
//! `cargo bench --bench gates` runs it in full; without `--bench` (as a test) it runs two
//! trials, so the bench cannot rot.

#[path = "../tests/support/mod.rs"]
#[allow(
    dead_code,
    reason = "a benchmark drives the bot with a few of the stories' helpers"
)]
mod support;

#[path = "kit/mod.rs"]
#[allow(dead_code, reason = "each benchmark uses what it measures")]
mod kit;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use kit::load::{flood, open, plan_and_approve};
use support::fake_discord::{FakeDiscord, GUILD_ID};
use support::fixtures;
use support::process::{free_loopback_addr, write_config, Bot};
use support::prometheus::{gates_section, Exporter, Prometheus, ERROR_RATE_QUERY};
use support::signer::Signer;
use support::tester::{deployer, RELEASES_CHANNEL};

/// Holds long enough that no stage advances during a trial; a look every second.
const WATCHED: &str = r#"
[rollout]
stages = [{ percent = 10, hold = "1h" }, { percent = 100 }]
progress_every = "1h"
verify_for = "1h"

[executor]
kind = "command"
deploy = ["/bin/sh", "-c", "echo \"deploy $GONOGO_RELEASE_ID\" >> ACTIONS"]
rollback = ["/bin/sh", "-c", "echo \"rollback $GONOGO_RELEASE_ID\" >> ACTIONS"]
timeout = "1m"
"#;
const HEALTHY: (f64, f64) = (0.001, 0.1);
const BREACH: (f64, f64) = (0.05, 0.1);
/// `check_every` + one scrape interval + 1 s.
const TARGET_MS: u128 = 3_000;

fn main() {
    let trials = if std::env::args().any(|arg| arg == "--bench") {
        20
    } else {
        2
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(run(trials));
}

async fn run(trials: u64) {
    let exporter = Exporter::start(HEALTHY.0, HEALTHY.1).await;
    let prometheus = Prometheus::start(&exporter).await;
    prometheus.wait_value(ERROR_RATE_QUERY, HEALTHY.0).await;
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);
    let actions = dir.path().join("actions.log");
    let mut text = std::fs::read_to_string(&config).expect("read the config");
    text.push_str(&WATCHED.replace("ACTIONS", &actions.display().to_string()));
    text.push_str(&gates_section(&prometheus.url, "1s"));
    std::fs::write(&config, text).expect("write the config");
    let mut bot = Bot::start(&config, &["run"], &dir.path().join("gonogo.log"), addr).await;
    let url = format!("http://{addr}/interactions");
    let mut ids = 1_700_000_000_000_000_000_u64..;
    plan_and_approve(&fake, &signer, &url, dir.path(), trials, 8, &mut ids).await;

    let mut latencies = Vec::new();
    for n in 0..trials {
        let release: i64 = {
            let mut db = open(dir.path()).await;
            sqlx::query_scalar("SELECT id FROM releases WHERE environment = ?")
                .bind(format!("env{n}"))
                .fetch_one(&mut db)
                .await
                .expect("the release of the environment")
        };
        let deploy = fixtures::slash_command(
            ids.next().unwrap_or_default(),
            &deployer(),
            RELEASES_CHANNEL,
            GUILD_ID,
            "deploy",
            None,
            vec![
                ("version", json!("1.0.0")),
                ("environment", json!(format!("env{n}"))),
            ],
        );
        flood(&signer, &url, vec![deploy], 1).await;
        wait_line(&actions, &format!("deploy {release}")).await;
        // Trials start right after a scrape; spread the breach over the scrape interval so
        // the figures cover every phase of scrape and look, not one.
        tokio::time::sleep(Duration::from_millis(n * 1_000 / trials)).await;
        exporter.set(BREACH.0, BREACH.1);
        let breach = Instant::now();
        wait_line(&actions, &format!("rollback {release}")).await;
        latencies.push(breach.elapsed().as_millis());
        exporter.set(HEALTHY.0, HEALTHY.1);
        prometheus.wait_value(ERROR_RATE_QUERY, HEALTHY.0).await;
    }
    bot.terminate();
    bot.wait_exit().await;
    latencies.sort_unstable();
    let p50 = latencies[latencies.len() / 2];
    let max = latencies.last().copied().unwrap_or_default();
    println!("gonogo metric gates against a real Prometheus, everything on 127.0.0.1");
    println!("  trials            {trials}, check_every 1 s, scrape interval 1 s");
    println!("  breach → rollback p50 {p50} ms · max {max} ms (target ≤ {TARGET_MS} ms)");
    println!("gates: trials={trials} detection_p50_ms={p50} detection_max_ms={max} target_ms={TARGET_MS}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// Waits until the executor's log has `line`, looking every 5 ms.
async fn wait_line(log: &Path, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the executor never logged `{line}`"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
