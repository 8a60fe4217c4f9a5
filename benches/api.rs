//! Pipeline door load: plans through `/api/v1`, then long polls held open while a poll is decided.
//!
//! 1,000 plans of distinct versions go to `POST /api/v1/releases`, 32 at a time; then 500
//! `GET …/wait?until=decided` are held open on one release while the bot's CPU time and
//! resident memory are read, and one lead's Go decides the poll: each waiter's answer is
//! timed from that vote. Prints the plans' latency and throughput, what the open polls cost,
//! how fast the decision reaches each waiter, and the bot's peak memory.
//!
//! `cargo bench --bench api` runs it in full; without `--bench` (as a test) it runs a smoke
//! version, so the bench cannot rot.

#[path = "../tests/support/mod.rs"]
#[allow(
    dead_code,
    reason = "a benchmark drives the bot with a few of the stories' helpers"
)]
mod support;

#[path = "kit/mod.rs"]
#[allow(dead_code, reason = "each benchmark uses what it measures")]
mod kit;

use std::cell::RefCell;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::task::JoinHandle;

use kit::load::wait_db;
use kit::memory::rss_kb;
use kit::usage::{peak_rss_kb, ProcessUse};
use kit::wire::{drained_connections, Answer, Connection, Request};
use support::fake_discord::{FakeDiscord, GUILD_ID};
use support::fixtures;
use support::pipeline::{api_config, CI_TOKEN};
use support::process::{free_loopback_addr, wait_card, write_config, Bot};
use support::signer::Signer;
use support::tester::{button_id, lead};

/// The release the waiters wait on: a patch, decided by one lead's Go.
const POLL_VERSION: &str = "3.0.0";
/// How long the waiters may take to answer once the poll is decided, and how long the bot
/// may take to take up every request, before the run counts them as failed.
const PATIENCE: Duration = Duration::from_secs(30);

/// The size of a run.
struct Load {
    plans: usize,
    concurrency: usize,
    waiters: usize,
    /// How long the bot's CPU time is read while nothing but the waiters is going on.
    idle: Duration,
}

const FULL: Load = Load {
    plans: 1_000,
    concurrency: 32,
    waiters: 500,
    idle: Duration::from_secs(10),
};
const SMOKE: Load = Load {
    plans: 20,
    concurrency: 4,
    waiters: 20,
    idle: Duration::from_secs(1),
};

fn main() {
    let mut load = if std::env::args().any(|arg| arg == "--bench") {
        FULL
    } else {
        SMOKE
    };
    // How many pipelines plan at once: `API_BENCH_CONCURRENCY=8 cargo bench --bench api`.
    if let Some(concurrency) = std::env::var("API_BENCH_CONCURRENCY")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=256).contains(n))
    {
        load.concurrency = concurrency;
    }
    // The load generator runs on one thread, as `wrk` does, so a waiter's answer is timed
    // when it arrives rather than when another thread gets to it; the fake Discord, a
    // service of its own, runs on another.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let discord = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("fake Discord runtime");
    runtime.block_on(run(&load, discord.handle()));
}

/// One plan's answer and how long it took.
struct Planned {
    elapsed: Duration,
    answer: Answer,
}

/// One waiter's answer and when it came.
struct Waited {
    at: Instant,
    answer: Result<Answer, String>,
}

/// What the long polls cost and how fast the decision reached them.
struct Polls {
    rss_before_kb: u64,
    rss_polls_kb: u64,
    baseline_cpu_ms: u64,
    idle_cpu_ms: u64,
    vote_ack: Duration,
    /// The bot's CPU time from the vote until every waiter answered: what the fan-out costs.
    decision_cpu_ms: u64,
    /// From the deciding vote's send to each waiter's answer, sorted; answered waiters only.
    latencies: Vec<Duration>,
    /// Answered 200 with `reached: true` and the release approved, after the vote.
    good: usize,
    /// Answered before the vote was sent.
    early: usize,
    unanswered: usize,
    problems: Vec<String>,
}

async fn run(load: &Load, discord: &tokio::runtime::Handle) {
    let fake = discord
        .spawn(FakeDiscord::start())
        .await
        .expect("start the fake Discord");
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);
    let mut text = std::fs::read_to_string(&config).expect("read the config");
    text.push_str(&api_config());
    std::fs::write(&config, text).expect("write the config");
    // `gonogo run` with JSON logs, as in production.
    let mut bot = Bot::start(
        &config,
        &["run", "--log-format", "json"],
        &dir.path().join("gonogo.log"),
        addr,
    )
    .await;

    let started = Instant::now();
    let mut plans = plan_flood(addr, load).await;
    let flood = started.elapsed();
    plans.sort_by_key(|p| p.elapsed);

    let mut connection = Connection::open(addr).await;
    let poll = connection.send(&plan_request(addr, POLL_VERSION)).await;
    assert_eq!(poll.status, 201, "plan {POLL_VERSION}: {}", poll.json());
    let id = poll.json()["id"]
        .as_str()
        .expect("the release's id is a string")
        .to_owned();
    drop(connection);
    // Every card and thread posted first: the polls' figures are the polls' alone.
    wait_db(
        dir.path(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state = 'pending'",
        "0",
    )
    .await;

    let polls = hold_polls(&bot, &fake, &signer, addr, &id, load).await;
    let hwm_kb = peak_rss_kb(bot.id());
    bot.terminate();
    let exit = bot.wait_exit().await;
    report(load, &plans, flood, &polls, hwm_kb, exit, &fake);
}

/// A pipeline's plan of `version`, with its commit and build as a pipeline sends them.
fn plan_request(addr: SocketAddr, version: &str) -> Request {
    let body = json!({
        "version": version,
        "type": "patch",
        "summary": "API load",
        "commit": format!("{:040x}", commit_of(version)),
        "build_url": format!("https://ci.example.com/runs/{version}"),
    });
    let bearer = format!("Bearer {CI_TOKEN}");
    Request::new(
        "POST",
        addr,
        "/api/v1/releases",
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        &serde_json::to_vec(&body).expect("serialize the plan"),
    )
}

/// A commit-like number per version (FNV-1a), so no two plans carry the same commit.
fn commit_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sends every plan over `concurrency` keep-alive connections, each one plan at a time.
async fn plan_flood(addr: SocketAddr, load: &Load) -> Vec<Planned> {
    let requests: Vec<Request> = (0..load.plans)
        .map(|n| plan_request(addr, &format!("2.0.{n}")))
        .collect();
    let connections =
        futures::future::join_all((0..load.concurrency).map(|_| Connection::open(addr))).await;
    let next = RefCell::new(requests.into_iter());
    let senders = connections.into_iter().map(|mut connection| {
        let next = &next;
        async move {
            let mut planned = Vec::new();
            loop {
                let request = next.borrow_mut().next();
                let Some(request) = request else {
                    return planned;
                };
                let sent = Instant::now();
                let answer = connection.send(&request).await;
                planned.push(Planned {
                    elapsed: sent.elapsed(),
                    answer,
                });
            }
        }
    });
    futures::future::join_all(senders)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Opens `load.waiters` long polls on release `id`, reads what they cost while they wait,
/// then decides the poll with one lead's Go and times each waiter's answer from it.
async fn hold_polls(
    bot: &Bot,
    fake: &FakeDiscord,
    signer: &Signer,
    addr: SocketAddr,
    id: &str,
    load: &Load,
) -> Polls {
    let rss_before_kb = rss_kb(bot.id());
    let baseline_cpu_ms = cpu_ms_over(bot.id(), load.idle).await;

    let bearer = format!("Bearer {CI_TOKEN}");
    let path = format!("/api/v1/releases/{id}/wait?until=decided&timeout=120s");
    let request = Arc::new(Request::new(
        "GET",
        addr,
        &path,
        &[("authorization", &bearer)],
        b"",
    ));
    let mut connections = Vec::with_capacity(load.waiters);
    for _ in 0..load.waiters {
        connections.push(Connection::open(addr).await);
    }
    let clients: HashSet<u16> = connections.iter().map(Connection::local_port).collect();
    let sent = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<JoinHandle<Waited>> = connections
        .into_iter()
        .map(|mut connection| {
            let (request, sent) = (Arc::clone(&request), Arc::clone(&sent));
            tokio::spawn(async move {
                let answer = match connection.write(&request).await {
                    Ok(()) => {
                        sent.fetch_add(1, Ordering::Relaxed);
                        connection.read().await
                    }
                    Err(error) => Err(error),
                };
                Waited {
                    at: Instant::now(),
                    answer,
                }
            })
        })
        .collect();
    wait_taken_up(bot, addr, &clients, &sent, load.waiters).await;
    let idle_cpu_ms = cpu_ms_over(bot.id(), load.idle).await;
    let rss_polls_kb = rss_kb(bot.id());

    let vote = go_click(fake, signer, addr).await;
    let mut connection = Connection::open(addr).await;
    let before_vote = ProcessUse::of(bot.id());
    let voted = Instant::now();
    let ack = connection.send(&vote).await;
    let vote_ack = voted.elapsed();
    assert_eq!(ack.status, 200, "the deciding Go: {}", ack.json());

    let mut polls = Polls {
        rss_before_kb,
        rss_polls_kb,
        baseline_cpu_ms,
        idle_cpu_ms,
        vote_ack,
        decision_cpu_ms: 0,
        latencies: Vec::new(),
        good: 0,
        early: 0,
        unanswered: 0,
        problems: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    for mut waiter in waiters {
        let Ok(joined) = tokio::time::timeout_at(deadline, &mut waiter).await else {
            waiter.abort();
            polls.unanswered += 1;
            continue;
        };
        polls.tally(joined.expect("a waiter panicked"), voted);
    }
    polls.decision_cpu_ms = ProcessUse::of(bot.id()).since(before_vote).cpu_ticks * 10;
    polls.latencies.sort_unstable();
    polls
}

impl Polls {
    fn tally(&mut self, waited: Waited, voted: Instant) {
        let Some(latency) = waited.at.checked_duration_since(voted) else {
            self.early += 1;
            self.problem(match &waited.answer {
                Ok(answer) => format!("answered before the vote: {}", answer.json()),
                Err(error) => format!("failed before the vote: {error}"),
            });
            return;
        };
        let answer = match waited.answer {
            Ok(answer) => answer,
            Err(error) => {
                self.unanswered += 1;
                self.problem(error);
                return;
            }
        };
        self.latencies.push(latency);
        let body = answer.json();
        if answer.status == 200 && body["reached"] == json!(true) && body["state"] == "approved" {
            self.good += 1;
        } else {
            self.problem(format!("{} {body}", answer.status));
        }
    }

    /// Keeps the first few problems, to show what went wrong without flooding the output.
    fn problem(&mut self, text: String) {
        if self.problems.len() < 5 {
            self.problems.push(text);
        }
    }
}

/// Waits until every waiter's request is sent, the bot has read each off its socket, and
/// its CPU has gone quiet: each waiter has then subscribed to the release and sleeps.
async fn wait_taken_up(
    bot: &Bot,
    addr: SocketAddr,
    clients: &HashSet<u16>,
    sent: &AtomicUsize,
    waiters: usize,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let drained = drained_connections(addr, clients);
        if sent.load(Ordering::Relaxed) == waiters && drained == waiters {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot took up {drained} of {waiters} long polls in {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A request read is not yet a request served: wait until the bot spends at most one
    // clock tick in a quarter of a second, as it does when it has nothing left to do.
    loop {
        let before = ProcessUse::of(bot.id());
        tokio::time::sleep(Duration::from_millis(250)).await;
        if ProcessUse::of(bot.id()).since(before).cpu_ticks <= 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the bot kept busy after taking up the long polls"
        );
    }
}

/// The bot's CPU time over the next `window`, in ms (clock ticks are hundredths of a second).
async fn cpu_ms_over(pid: u32, window: Duration) -> u64 {
    let before = ProcessUse::of(pid);
    tokio::time::sleep(window).await;
    ProcessUse::of(pid).since(before).cpu_ticks * 10
}

/// The lead's Go on the poll's card, signed now, as Discord sends it.
async fn go_click(fake: &FakeDiscord, signer: &Signer, addr: SocketAddr) -> Request {
    let card = wait_card(fake, POLL_VERSION, "the poll's card is posted", |_| true).await;
    let go = button_id(&card, "go").expect("the card has a Go button");
    let click =
        fixtures::button_on_message(1_700_000_000_000_000_001, &lead(), GUILD_ID, card, &go);
    let body = serde_json::to_vec(&click).expect("serialize the click");
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        .to_string();
    let signature = signer.sign(&timestamp, &body);
    Request::new(
        "POST",
        addr,
        "/interactions",
        &[
            ("content-type", "application/json"),
            ("x-signature-ed25519", &signature),
            ("x-signature-timestamp", &timestamp),
        ],
        &body,
    )
}

fn report(
    load: &Load,
    plans: &[Planned],
    flood: Duration,
    polls: &Polls,
    hwm_kb: u64,
    exit: std::process::ExitStatus,
    fake: &FakeDiscord,
) {
    let failed: Vec<&Planned> = plans
        .iter()
        .filter(|p| p.answer.status != 201 || !p.answer.json()["id"].is_string())
        .collect();
    let latencies: Vec<Duration> = plans.iter().map(|p| p.elapsed).collect();
    let (p50, p99, max) = (
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    let plans_per_s =
        f64::from(u32::try_from(plans.len()).unwrap_or(u32::MAX)) / flood.as_secs_f64();
    let (w50, w99, wmax) = (
        ms(percentile(&polls.latencies, 50)),
        ms(percentile(&polls.latencies, 99)),
        ms(polls.latencies.last().copied().unwrap_or_default()),
    );
    let mb = |kb: u64| f64::from(u32::try_from(kb).unwrap_or(u32::MAX)) / 1024.0;
    let (before_mb, polls_mb) = (mb(polls.rss_before_kb), mb(polls.rss_polls_kb));
    let secs = load.idle.as_secs();
    let vote_ms = ms(polls.vote_ack);
    let violations = fake.violations();

    println!("gonogo pipeline door load, everything on 127.0.0.1");
    println!(
        "  plans             {} of distinct versions, {} in flight: p50 {p50:.2} ms · p99 \
         {p99:.2} ms · max {max:.2} ms",
        load.plans, load.concurrency
    );
    println!(
        "  throughput        {plans_per_s:.0} plans/s ({:.2} s), {} refused or failed",
        flood.as_secs_f64(),
        failed.len()
    );
    println!(
        "  long polls        {} open on one poll: RSS {before_mb:.1} → {polls_mb:.1} MB, CPU \
         {} ms over {secs} s ({} ms over {secs} s before they opened)",
        load.waiters, polls.idle_cpu_ms, polls.baseline_cpu_ms
    );
    println!(
        "  decision          the Go answered in {vote_ms:.2} ms; from its send to each waiter \
         p50 {w50:.2} ms · p99 {w99:.2} ms · max {wmax:.2} ms, {} ms of the bot's CPU",
        polls.decision_cpu_ms
    );
    println!(
        "  waiters           {} of {} answered reached=true, approved ({} early, {} unanswered)",
        polls.good, load.waiters, polls.early, polls.unanswered
    );
    for problem in &polls.problems {
        println!("    - {problem}");
    }
    println!("  peak RSS          {} MB", (hwm_kb + 512) / 1024);
    println!("  exit on SIGTERM   {exit}");
    println!("  fake Discord      {} violation(s)", violations.len());
    println!(
        "api: plans={} concurrency={} plan_p50_ms={p50:.2} plan_p99_ms={p99:.2} \
         plan_max_ms={max:.2} plans_per_s={plans_per_s:.0} plan_failures={} waiters={} \
         rss_before_mb={before_mb:.1} rss_polls_mb={polls_mb:.1} idle_cpu_ms_{secs}s={} \
         baseline_cpu_ms_{secs}s={} vote_ack_ms={vote_ms:.2} decision_to_waiter_p50_ms={w50:.2} \
         decision_to_waiter_p99_ms={w99:.2} decision_to_waiter_max_ms={wmax:.2} \
         decision_cpu_ms={} waiters_answered={}/{} peak_rss_mb={}",
        load.plans,
        load.concurrency,
        failed.len(),
        load.waiters,
        polls.idle_cpu_ms,
        polls.baseline_cpu_ms,
        polls.decision_cpu_ms,
        polls.good,
        load.waiters,
        (hwm_kb + 512) / 1024,
    );
    // Correctness, not the targets: a figure from a run that went wrong is no figure.
    if let Some(first) = failed.first() {
        panic!(
            "{} plans were not created; the first: {} {}",
            failed.len(),
            first.answer.status,
            first.answer.json()
        );
    }
    assert_eq!(polls.good, load.waiters, "{:?}", polls.problems);
    assert!(violations.is_empty(), "{violations:?}");
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
