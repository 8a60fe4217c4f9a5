//! Failover: two replicas on a real PostgreSQL, a rollout whose progress timer fires every
//! second, and the leader killed with SIGKILL twenty times, the other replica leading in turn;
//! prints how long each takeover took, from the kill to the next timer the new leader fired,
//! and whether any notice went out twice or never.
//!
//! `cargo bench --bench failover` runs it in full; without `--bench` (as a test) it runs a
//! smoke version of two kills, so the bench cannot rot.

#[path = "../tests/support/mod.rs"]
#[allow(
    dead_code,
    reason = "a benchmark drives the bot with a few of the stories' helpers"
)]
mod support;

#[path = "kit/mod.rs"]
#[allow(dead_code, reason = "each benchmark uses what it measures")]
mod kit;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use support::database;
use support::fake_discord::FakeDiscord;
use support::process::{
    free_loopback_addr, leadership, plan_approve_deploy, write_config_named, Bot,
};
use support::signer::Signer;

/// One stage held far longer than the run, with a progress notice every second: the timer
/// that keeps firing.
const SCHEDULE: &str = r#"
[rollout]
stages = [{ percent = 10, hold = "1h" }, { percent = 100 }]
progress_every = "1s"
verify_for = "1h"
"#;

/// How long a takeover may take before the run gives up on it.
const GIVE_UP: Duration = Duration::from_secs(30);

fn main() {
    let kills = if std::env::args().any(|arg| arg == "--bench") {
        20
    } else {
        2
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(run(kills));
}

/// A replica: its config, its log, its address and, while it runs, its process.
struct Replica {
    config: PathBuf,
    log: PathBuf,
    addr: SocketAddr,
    bot: Option<Bot>,
}

impl Replica {
    async fn start(&mut self, restarts: usize) {
        let log = self.log.with_extension(format!("{restarts}.log"));
        self.bot = Some(
            Bot::start(
                &self.config,
                &["run", "--log-format", "json"],
                &log,
                self.addr,
            )
            .await,
        );
    }
}

async fn run(kills: usize) {
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database::server().create_database();
    let mut replicas: Vec<Replica> = ["a", "b"]
        .iter()
        .map(|name| {
            let addr = free_loopback_addr();
            let config = dir.path().join(format!("{name}.toml"));
            write_config_named(&fake, &signer, &config, addr, &url);
            let mut text = std::fs::read_to_string(&config).expect("read the config");
            text.push_str(SCHEDULE);
            std::fs::write(&config, text).expect("write the config");
            Replica {
                config,
                log: dir.path().join(format!("{name}.log")),
                addr,
                bot: None,
            }
        })
        .collect();
    for replica in &mut replicas {
        replica.start(0).await;
    }
    let door = format!("http://{}/interactions", replicas[1].addr);
    plan_approve_deploy(&fake, &signer, &door, "9.0.0").await;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the database");
    wait_for_row_after(&mut db, 0, Instant::now()).await;

    let mut takeovers = Vec::new();
    for kill in 0..kills {
        let leader = leader_of(&replicas).await;
        let last = last_outbox_row(&mut db).await;
        let killed = Instant::now();
        replicas[leader]
            .bot
            .as_mut()
            .expect("the leader runs")
            .kill();
        let took = wait_for_row_after(&mut db, last, killed).await;
        takeovers.push(took);
        println!(
            "  kill {:>2}: the next timer fired {} ms after the SIGKILL",
            kill + 1,
            took.as_millis()
        );
        replicas[leader].start(kill + 1).await;
    }
    drain(&mut db).await;
    let (expected, delivered, duplicates) = notices(&mut db, &fake).await;
    let doubled = doubled_in_thread(&mut db, &fake).await;
    let missing = expected.saturating_sub(delivered);
    for replica in &mut replicas {
        if let Some(bot) = replica.bot.as_mut() {
            bot.terminate();
            bot.wait_exit().await;
        }
    }
    takeovers.sort();
    let ms = |at: usize| takeovers.get(at).map_or(0, Duration::as_millis);
    let p50 = ms((takeovers.len() * 50).div_ceil(100).max(1) - 1);
    let p99 = ms((takeovers.len() * 99).div_ceil(100).max(1) - 1);
    let max = ms(takeovers.len() - 1);
    println!("gonogo failover, two replicas on PostgreSQL, everything on 127.0.0.1");
    println!(
        "  takeovers         {kills} SIGKILLs of the leader, the other replica leading in turn"
    );
    println!(
        "  kill → next timer p50 {p50} ms · p99 {p99} ms · max {max} ms (the lease is valid 4 s)"
    );
    println!(
        "  notices           {delivered} delivered of {expected} queued ({duplicates} sent again \
         under their nonce, {doubled} posted twice)"
    );
    println!(
        "  fake Discord      {} violation(s)",
        fake.violations().len()
    );
    println!(
        "failover: kills={kills} takeover_p50_ms={p50} takeover_p99_ms={p99} takeover_max_ms={max} \
         notices={delivered} duplicates={duplicates} missing={missing} doubled={doubled}"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// Which replica leads now, by its `/healthz`.
async fn leader_of(replicas: &[Replica]) -> usize {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        for (index, replica) in replicas.iter().enumerate() {
            if leadership(replica.addr)
                .await
                .is_some_and(|(leads, _)| leads)
            {
                return index;
            }
        }
        assert!(Instant::now() < deadline, "no replica leads");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn last_outbox_row(db: &mut sqlx::AnyConnection) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM outbox")
        .fetch_one(db)
        .await
        .expect("the outbox")
}

/// Waits until a timer queues a notice after row `last`, and returns how long after `since`
/// it was committed: no one else writes meanwhile.
async fn wait_for_row_after(db: &mut sqlx::AnyConnection, last: i64, since: Instant) -> Duration {
    loop {
        if last_outbox_row(db).await > last {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < GIVE_UP,
            "no timer fired within {GIVE_UP:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until every queued notice is delivered.
async fn drain(db: &mut sqlx::AnyConnection) {
    let since = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND kind = 'notify'",
        )
        .fetch_one(&mut *db)
        .await
        .expect("the outbox");
        if pending == 0 {
            return;
        }
        assert!(
            since.elapsed() < GIVE_UP,
            "{pending} notices were never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Messages in the release's thread that another message there repeats by nonce: a notice
/// sent again after a kill is answered with the message its nonce already made, so any here
/// would be a notice posted twice.
async fn doubled_in_thread(db: &mut sqlx::AnyConnection, fake: &FakeDiscord) -> usize {
    let thread: i64 = sqlx::query_scalar("SELECT thread_id FROM releases WHERE id = 1")
        .fetch_one(db)
        .await
        .expect("the release's thread");
    let thread = u64::try_from(thread).expect("a snowflake");
    let messages = fake.messages(thread);
    let nonces: std::collections::HashSet<&str> = messages
        .iter()
        .filter_map(|message| message["nonce"].as_str())
        .collect();
    let with_nonce = messages.iter().filter(|m| m["nonce"].is_string()).count();
    with_nonce - nonces.len()
}

/// Notices queued, notices the fake took, and nonces it took more than once.
async fn notices(db: &mut sqlx::AnyConnection, fake: &FakeDiscord) -> (u64, u64, u64) {
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'notify'")
        .fetch_one(db)
        .await
        .expect("the outbox");
    let (delivered, duplicates) = kit::load::notices_taken(fake);
    (u64::try_from(queued).unwrap_or(0), delivered, duplicates)
}
