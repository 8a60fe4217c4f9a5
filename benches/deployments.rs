//! Deployment load: 1,000 releases roll out at once against the real binary, on a schedule
//! compressed into seconds; prints how late the timers fire (due → transition committed), how
//! many notices were queued and delivered, the bot's CPU time and its peak memory.
//!
//! `cargo bench --bench deployments` runs it in full; without `--bench` (as a test) it runs a
//! smoke version, so the bench cannot rot. `-- --backend postgres` runs it on SQLite and then
//! on a real PostgreSQL started on loopback, one line each.

#[path = "../tests/support/mod.rs"]
#[allow(
    dead_code,
    reason = "a benchmark drives the bot with a few of the stories' helpers"
)]
mod support;

#[path = "kit/mod.rs"]
#[allow(dead_code, reason = "each benchmark uses what it measures")]
mod kit;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row as _;

use kit::load::{flood, notices_taken, open, plan_and_approve, wait_db};
use kit::usage::{peak_rss_kb, ProcessUse};
use support::fake_discord::{FakeDiscord, GUILD_ID};
use support::fixtures;
use support::process::{free_loopback_addr, write_config, Bot};
use support::signer::Signer;
use support::tester::{deployer, RELEASES_CHANNEL};

/// Each release: 10% for 2 s, then 100%, then 2 s of verification; progress every second.
const SCHEDULE: &str = r#"
[rollout]
stages = [{ percent = 10, hold = "2s" }, { percent = 100 }]
progress_every = "1s"
verify_for = "2s"
"#;
const HOLD_MS: i64 = 2_000;
const VERIFY_MS: i64 = 2_000;

struct Load {
    releases: u64,
    concurrency: usize,
}

const FULL: Load = Load {
    releases: 1_000,
    concurrency: 64,
};
const SMOKE: Load = Load {
    releases: 5,
    concurrency: 5,
};

fn main() {
    let load = if std::env::args().any(|arg| arg == "--bench") {
        FULL
    } else {
        SMOKE
    };
    let args: Vec<String> = std::env::args().collect();
    let postgres = args
        .windows(2)
        .any(|pair| pair[0] == "--backend" && pair[1] == "postgres")
        || args.iter().any(|arg| arg == "--backend=postgres");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let backends: &[bool] = if postgres { &[false, true] } else { &[false] };
    for &on_postgres in backends {
        support::database::choose(on_postgres);
        runtime.block_on(run(&load, if on_postgres { "postgres" } else { "sqlite" }));
    }
}

async fn run(load: &Load, backend: &str) {
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);
    let mut text = std::fs::read_to_string(&config).expect("read the config");
    text.push_str(SCHEDULE);
    std::fs::write(&config, text).expect("write the config");
    let mut bot = Bot::start(
        &config,
        &["run", "--log-format", "json"],
        &dir.path().join("gonogo.log"),
        addr,
    )
    .await;
    let url = format!("http://{addr}/interactions");

    let mut ids = 1_700_000_000_000_000_000_u64..;
    let (releases, concurrency) = (load.releases, load.concurrency);
    plan_and_approve(
        &fake,
        &signer,
        &url,
        dir.path(),
        releases,
        concurrency,
        &mut ids,
    )
    .await;

    let before = ProcessUse::of(bot.id());
    let deploys: Vec<Value> = (0..load.releases)
        .map(|n| {
            fixtures::slash_command(
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
            )
        })
        .collect();
    let started = Instant::now();
    flood(&signer, &url, deploys, load.concurrency).await;
    let count = load.releases.to_string();
    wait_db(
        dir.path(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM releases WHERE state = 'completed'",
        &count,
    )
    .await;
    let rollout = started.elapsed();
    wait_db(
        dir.path(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state = 'pending'",
        "0",
    )
    .await;
    let used = ProcessUse::of(bot.id()).since(before);
    let ticks = u32::try_from(used.cpu_ticks).unwrap_or(u32::MAX);
    let cpu_s = f64::from(ticks) / 100.0;
    let hwm_kb = peak_rss_kb(bot.id());
    bot.terminate();
    let exit = bot.wait_exit().await;
    let run = Run {
        backend,
        rollout,
        cpu_s,
        hwm_kb,
        exit,
    };
    report(dir.path(), &fake, load, &run).await;
}

/// What one run measured of the bot itself.
struct Run<'a> {
    backend: &'a str,
    rollout: Duration,
    cpu_s: f64,
    hwm_kb: u64,
    exit: std::process::ExitStatus,
}

async fn report(dir: &Path, fake: &FakeDiscord, load: &Load, run: &Run<'_>) {
    let Run {
        backend,
        rollout,
        cpu_s,
        hwm_kb,
        exit,
    } = run;
    let by_timer = lateness_ms(dir).await;
    let mut lateness = by_timer.concat();
    lateness.sort_unstable();
    let [hold, verify, done] = by_timer.map(|late| percentile(&late, 99));
    let (expected, delivered, duplicates) = notices(dir, fake).await;
    let missing = expected.saturating_sub(delivered);
    let (p50, p99) = (percentile(&lateness, 50), percentile(&lateness, 99));
    println!("gonogo deployment load on {backend}, everything on 127.0.0.1");
    println!(
        "  releases          {} rolling out at once, each in its own environment",
        load.releases
    );
    println!(
        "  rollout           {:.1} s from the first /deploy to the last completion",
        rollout.as_secs_f64()
    );
    println!(
        "  timer lateness    p50 {p50} ms · p99 {p99} ms over {} timers",
        lateness.len()
    );
    println!(
        "  p99 by timer      hold end {hold} ms · last stage to verification {verify} ms · \
         verification end {done} ms"
    );
    println!(
        "  notices           {delivered} delivered of {expected} queued ({duplicates} duplicates)"
    );
    println!("  exit on SIGTERM   {exit}");
    println!(
        "  fake Discord      {} violation(s)",
        fake.violations().len()
    );
    println!(
        "deployments: backend={backend} releases={} timers={} lateness_p50_ms={p50} \
         lateness_p99_ms={p99} \
         notices={delivered} expected={expected} duplicates={duplicates} missing={missing} \
         cpu_s={cpu_s:.2} peak_rss_mb={}",
        load.releases,
        lateness.len(),
        (hwm_kb + 512) / 1024
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

fn parse_ms(text: &str) -> i64 {
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3fZ")
        .expect("a stored time");
    at.and_utc().timestamp_millis()
}

/// How late each timed transition committed, from the audit trail, by timer: a stage starts
/// `HOLD_MS` after the rollout started, the verification right after, completion `VERIFY_MS`
/// later.
async fn lateness_ms(dir: &Path) -> [Vec<i64>; 3] {
    let mut db = open(dir).await;
    let rows = sqlx::query(
        "SELECT release_id, kind, at FROM audit_events WHERE kind IN \
         ('deploy_started', 'stage_started', 'verification_started', 'completed') ORDER BY id",
    )
    .fetch_all(&mut db)
    .await
    .expect("audit");
    let mut by_release: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for row in rows {
        let release: i64 = row.get("release_id");
        let kind: String = row.get("kind");
        let at: String = row.get("at");
        by_release
            .entry(release)
            .or_default()
            .insert(kind, parse_ms(&at));
    }
    let [mut hold, mut verify, mut done] = [Vec::new(), Vec::new(), Vec::new()];
    for times in by_release.values() {
        let at = |kind: &str| times.get(kind).copied();
        if let (Some(started), Some(stage)) = (at("deploy_started"), at("stage_started")) {
            hold.push(stage - (started + HOLD_MS));
        }
        if let (Some(stage), Some(verifying)) = (at("stage_started"), at("verification_started")) {
            verify.push(verifying - stage);
        }
        if let (Some(verifying), Some(completed)) = (at("verification_started"), at("completed")) {
            done.push(completed - (verifying + VERIFY_MS));
        }
    }
    for late in [&mut hold, &mut verify, &mut done] {
        late.sort_unstable();
    }
    [hold, verify, done]
}

/// Notices queued in the outbox, notices the fake received, and nonces it saw more than once.
async fn notices(dir: &Path, fake: &FakeDiscord) -> (u64, u64, u64) {
    let mut db = open(dir).await;
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'notify'")
        .fetch_one(&mut db)
        .await
        .expect("outbox");
    let (delivered, duplicates) = notices_taken(fake);
    (u64::try_from(queued).unwrap_or(0), delivered, duplicates)
}

fn percentile(sorted: &[i64], p: usize) -> i64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}
