//! Vote load: 2,000 and then 20,000 people click Go on one poll, 64 at a time, against the real
//! binary; prints the ack latency, the vote throughput beside the raw commit rate of the
//! database, the bot's CPU time and context switches per vote, the peak memory, and how much
//! of the machine's CPU its host took meanwhile.
//!
//! `cargo bench --bench votes` runs it in full; without `--bench` (as a test) it runs a smoke
//! version, so the bench cannot rot.

#[path = "../../tests/support/mod.rs"]
#[allow(
    dead_code,
    reason = "a benchmark drives the bot with a few of the stories' helpers"
)]
mod support;

#[path = "../kit/mod.rs"]
#[allow(dead_code, reason = "each benchmark uses what it measures")]
mod kit;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use kit::usage::{peak_rss_kb, MachineUse, ProcessUse};
use kit::wire::{Answer, Connection, Request};
use support::fake_discord::{FakeDiscord, GUILD_ID};
use support::fixtures;
use support::process::{free_loopback_addr, loopback_client, wait_card, write_config, Bot};
use support::signer::Signer;
use support::tester::{author, button_id, content, plan_command, team};

/// A major release: its exec slot is never filled, so every Go is accepted and the poll stays
/// open for the whole run.
const VERSION: &str = "7.0.0";

/// The size of a run.
struct Load {
    clicks: u32,
    concurrency: usize,
    commits: u32,
}

/// A run of 2,000 and one ten times larger, each against a fresh bot: a click must cost the
/// same however many votes the poll already holds.
const FULL: [Load; 2] = [
    Load {
        clicks: 2_000,
        concurrency: 64,
        commits: 5_000,
    },
    Load {
        clicks: 20_000,
        concurrency: 64,
        commits: 5_000,
    },
];
const SMOKE: [Load; 1] = [Load {
    clicks: 20,
    concurrency: 4,
    commits: 100,
}];

fn main() {
    let loads: &[Load] = if std::env::args().any(|arg| arg == "--bench") {
        &FULL
    } else {
        &SMOKE
    };
    // The load generator runs on one thread, as `wrk` does, so it does not hand every request
    // between its own threads; the fake Discord, a service of its own, runs on another.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let discord = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("fake Discord runtime");
    let mut costs = Vec::new();
    for load in loads {
        let figures = runtime.block_on(run(load, discord.handle()));
        figures.print(load);
        costs.push((load.clicks, figures.cpu_ms_per_vote()));
    }
    if let [(small, first), (large, last)] = costs[..] {
        println!(
            "votes_growth: clicks={small}->{large} cpu_ms_per_vote={first:.3}->{last:.3} change_pct={:.0}",
            (last / first - 1.0) * 100.0
        );
    }
}

/// One answered click.
struct Click {
    elapsed: Duration,
    /// When the answer came, from the start of the flood.
    answered: Duration,
    accepted: bool,
}

/// What one run measured.
struct Figures {
    /// Sorted by latency.
    clicks: Vec<Click>,
    flood: Duration,
    /// The bot's CPU time and context switches during the flood.
    used: ProcessUse,
    /// The share of the machine's CPU time its host took during the flood, in %.
    stolen_pct: f64,
    commits_per_s: f64,
    hwm_kb: u64,
    stored: i64,
    exit: ExitStatus,
    /// Edits of the card the fake received: how well the refreshes coalesce.
    card_edits: usize,
    violations: Vec<String>,
}

async fn run(load: &Load, discord: &tokio::runtime::Handle) -> Figures {
    let fake = discord
        .spawn(FakeDiscord::start())
        .await
        .expect("start the fake Discord");
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);

    // `gonogo run` with JSON logs, as in production.
    let mut bot = Bot::start(
        &config,
        &["run", "--log-format", "json"],
        &dir.path().join("gonogo.log"),
        addr,
    )
    .await;
    let url = format!("http://{addr}/interactions");
    let requests = plan_and_prepare_clicks(&fake, &signer, &url, addr, load.clicks).await;

    let connections =
        futures::future::join_all((0..load.concurrency).map(|_| Connection::open(addr))).await;
    let before = ProcessUse::of(bot.id());
    let machine = MachineUse::now();
    let started = Instant::now();
    let answers = flood(connections, requests, started).await;
    let flood = started.elapsed();
    let used = ProcessUse::of(bot.id()).since(before);
    let stolen_pct = MachineUse::stolen_pct_since(machine);
    let mut clicks: Vec<Click> = answers.into_iter().map(Click::of).collect();
    clicks.sort_by_key(|c| c.elapsed);

    let hwm_kb = peak_rss_kb(bot.id());
    let stored = votes_total(&loopback_client(), addr).await;
    bot.terminate();
    let exit = bot.wait_exit().await;
    let commits_per_s = sqlite_commit_rate(dir.path(), load.commits).await;
    Figures {
        clicks,
        flood,
        used,
        stolen_pct,
        commits_per_s,
        hwm_kb,
        stored,
        exit,
        card_edits: fake
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.starts_with("/channels/"))
            .count(),
        violations: fake.violations(),
    }
}

/// Plans the release, waits for its card, and returns one signed Go click per voter. The
/// signatures stay fresh: the bot accepts them for five minutes.
async fn plan_and_prepare_clicks(
    fake: &FakeDiscord,
    signer: &Signer,
    url: &str,
    addr: SocketAddr,
    clicks: u32,
) -> Vec<Request> {
    let plan = plan_command(
        1_700_000_000_000_000_000,
        &author(),
        VERSION,
        "major",
        "Vote load",
    );
    let (status, planned) = signer.post_interaction(url, &plan).await;
    assert_eq!(status, 200, "plan: {planned}");
    let card = wait_card(fake, VERSION, "the card is posted", |_| true).await;
    let go = button_id(&card, "go").expect("the card has a Go button");
    (1..=clicks)
        .map(|n| {
            let click = fixtures::button_on_message(
                1_700_000_000_000_000_000 + u64::from(n),
                &team(u64::from(n)),
                GUILD_ID,
                card.clone(),
                &go,
            );
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
        })
        .collect()
}

impl Figures {
    /// The bot's CPU time over the flood per stored vote; clock ticks are hundredths of a second.
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    fn cpu_ms_per_vote(&self) -> f64 {
        self.used.cpu_ticks as f64 * 10.0 / self.stored.max(1) as f64
    }

    fn print(&self, load: &Load) {
        let accepted = self.clicks.iter().filter(|c| c.accepted).count();
        let accepted = u32::try_from(accepted).expect("fewer clicks than u32::MAX");
        let votes_per_s = f64::from(accepted) / self.flood.as_secs_f64();
        let (p50, p99, max) = (
            ms(percentile(&self.clicks, 50)),
            ms(percentile(&self.clicks, 99)),
            ms(self.clicks.last().map_or(Duration::ZERO, |c| c.elapsed)),
        );
        let rss_mb = (self.hwm_kb + 512) / 1024;
        let lost = i64::from(accepted) - self.stored;
        let commits_per_s = self.commits_per_s;
        let cpu_ms_per_vote = self.cpu_ms_per_vote();
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let ctxt_per_vote = self.used.ctxt_switches as f64 / self.stored.max(1) as f64;

        println!("gonogo vote load, everything on 127.0.0.1");
        println!(
            "  clicks            {} from distinct team members, {} in flight",
            load.clicks, load.concurrency
        );
        println!(
            "  accepted          {accepted} ({} refused or failed)",
            load.clicks - accepted
        );
        println!("  ack latency       p50 {p50:.2} ms · p99 {p99:.2} ms · max {max:.2} ms");
        println!(
            "  throughput        {votes_per_s:.0} votes/s ({:.2} s for the flood)",
            self.flood.as_secs_f64()
        );
        println!(
            "  by quarter        {} votes/s (answers in order: does each vote cost more than the last?)",
            quarter_rates(&self.clicks)
        );
        println!(
            "  SQLite alone      {commits_per_s:.0} commits/s ({} single-row commits, WAL, synchronous=NORMAL)",
            load.commits
        );
        println!(
            "  stolen CPU        {:.1}% of the machine's time during the flood, taken by its host",
            self.stolen_pct
        );
        println!("  peak RSS          {rss_mb} MB (VmHWM {} kB)", self.hwm_kb);
        println!("  stored votes      {} (lost {lost})", self.stored);
        println!("  card edits        {}", self.card_edits);
        println!("  exit on SIGTERM   {}", self.exit);
        println!("  fake Discord      {} violation(s)", self.violations.len());
        for violation in &self.violations {
            println!("    - {violation}");
        }
        println!(
            "votes: clicks={} concurrency={} p50_ms={p50:.2} p99_ms={p99:.2} max_ms={max:.2} \
             votes_per_s={votes_per_s:.0} sqlite_commits_per_s={commits_per_s:.0} ratio={:.2} \
             peak_rss_mb={rss_mb} lost={lost} cpu_ms_per_vote={cpu_ms_per_vote:.3} \
             ctxt_switches_per_vote={ctxt_per_vote:.2} stolen_pct={:.1}",
            load.clicks,
            load.concurrency,
            votes_per_s / commits_per_s,
            self.stolen_pct,
        );
    }
}

/// Answers per second in each quarter of the flood, by answer order.
fn quarter_rates(clicks: &[Click]) -> String {
    let mut answered: Vec<Duration> = clicks.iter().map(|c| c.answered).collect();
    answered.sort();
    let quarter = answered.len() / 4;
    if quarter == 0 {
        return "-".to_owned();
    }
    let mut previous = Duration::ZERO;
    let rates: Vec<String> = answered
        .chunks_exact(quarter)
        .take(4)
        .map(|chunk| {
            let end = chunk[chunk.len() - 1];
            let rate = f64::from(u32::try_from(chunk.len()).unwrap_or(u32::MAX))
                / end.saturating_sub(previous).as_secs_f64();
            previous = end;
            format!("{rate:.0}")
        })
        .collect();
    rates.join(" → ")
}

/// Sends the clicks over `connections`, each connection one click at a time, as `wrk` does;
/// returns each answer with its latency and when it came, from `started`.
async fn flood(
    connections: Vec<Connection>,
    requests: Vec<Request>,
    started: Instant,
) -> Vec<(Duration, Duration, Answer)> {
    let next = std::cell::RefCell::new(requests.into_iter());
    let senders = connections.into_iter().map(|mut connection| {
        let next = &next;
        async move {
            let mut answers = Vec::new();
            loop {
                let request = next.borrow_mut().next();
                let Some(request) = request else {
                    return answers;
                };
                let sent = Instant::now();
                let answer = connection.send(&request).await;
                answers.push((sent.elapsed(), started.elapsed(), answer));
            }
        }
    });
    futures::future::join_all(senders)
        .await
        .into_iter()
        .flatten()
        .collect()
}

impl Click {
    /// A click is accepted when the bot answered that the Go is recorded.
    fn of((elapsed, answered, answer): (Duration, Duration, Answer)) -> Click {
        let accepted = answer.status == 200
            && serde_json::from_slice::<Value>(&answer.body)
                .is_ok_and(|reply| content(&reply).contains("Your **Go**"));
        Click {
            elapsed,
            answered,
            accepted,
        }
    }
}

/// Nearest-rank percentile of clicks sorted by latency.
fn percentile(sorted: &[Click], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).map_or(Duration::ZERO, |c| c.elapsed)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Single-row commits per second on a fresh file, with the bot's own durability settings.
async fn sqlite_commit_rate(dir: &Path, commits: u32) -> f64 {
    let url = format!("sqlite://{}", dir.join("commits.db").display());
    let db = gonogo::store::Db::connect(&url)
        .await
        .expect("open the commit-rate database with the bot's settings");
    sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
        .execute(db.writer())
        .await
        .expect("create the table");
    let started = Instant::now();
    for n in 0..commits {
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(i64::from(n))
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    let rate = f64::from(commits) / started.elapsed().as_secs_f64();
    db.close().await;
    rate
}

/// `gonogo_votes_total` from the bot's `/metrics`.
async fn votes_total(http: &reqwest::Client, addr: SocketAddr) -> i64 {
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .text()
        .await
        .expect("read /metrics");
    text.lines()
        .find_map(|line| line.strip_prefix("gonogo_votes_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no gonogo_votes_total in /metrics:\n{text}"))
}
