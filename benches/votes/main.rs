//! Vote load: 2,000 and then 20,000 people click Go on one poll, 64 at a time, against the real
//! binary; prints the ack latency, the vote throughput beside the raw commit rate of the
//! database, the bot's CPU time and context switches per vote, the peak memory, and how much
//! of the machine's CPU its host took meanwhile.
//!
//! `cargo bench --bench votes` runs it in full; without `--bench` (as a test) it runs a smoke
//! version, so the bench cannot rot. `-- --backend postgres` runs it on SQLite, then on a real
//! PostgreSQL (started on loopback by the test support) with one replica and with two sharing
//! the clicks, and prints them side by side.

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
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use kit::usage::{peak_rss_kb, MachineUse, ProcessUse};
use kit::wire::{Answer, Connection, Request};
use support::database;
use support::fake_discord::{FakeDiscord, GUILD_ID};
use support::fixtures;
use support::process::{free_loopback_addr, loopback_client, wait_card, write_config_named, Bot};
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

/// Where a run's votes are stored, and by how many replicas.
#[derive(Clone, Copy)]
struct Setup {
    postgres: bool,
    replicas: usize,
}

impl Setup {
    fn backend(self) -> &'static str {
        if self.postgres {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let loads: &[Load] = if args.iter().any(|arg| arg == "--bench") {
        &FULL
    } else {
        &SMOKE
    };
    let postgres = args
        .windows(2)
        .any(|pair| pair[0] == "--backend" && pair[1] == "postgres")
        || args.iter().any(|arg| arg == "--backend=postgres");
    let mut setups = vec![Setup {
        postgres: false,
        replicas: 1,
    }];
    if postgres {
        setups.extend([1, 2].map(|replicas| Setup {
            postgres: true,
            replicas,
        }));
    }
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
    let mut rates = Vec::new();
    for setup in &setups {
        let mut costs = Vec::new();
        for load in loads {
            let figures = runtime.block_on(run(load, *setup, discord.handle()));
            figures.print(load, *setup);
            costs.push((load.clicks, figures.cpu_ms_per_vote()));
            rates.push((setup, load.clicks, figures.votes_per_s()));
        }
        if let [(small, first), (large, last)] = costs[..] {
            println!(
                "votes_growth: backend={} replicas={} clicks={small}->{large} \
                 cpu_ms_per_vote={first:.3}->{last:.3} change_pct={:.0}",
                setup.backend(),
                setup.replicas,
                (last / first - 1.0) * 100.0
            );
        }
    }
    if postgres {
        for load in loads {
            let rate = |postgres: bool, replicas: usize| {
                rates
                    .iter()
                    .find(|(setup, clicks, _)| {
                        setup.postgres == postgres
                            && setup.replicas == replicas
                            && *clicks == load.clicks
                    })
                    .map_or(0.0, |(_, _, rate)| *rate)
            };
            let (sqlite, one, two) = (rate(false, 1), rate(true, 1), rate(true, 2));
            println!(
                "votes_backends: clicks={} sqlite_votes_per_s={sqlite:.0} \
                 postgres_votes_per_s={one:.0} postgres_2_replicas_votes_per_s={two:.0} \
                 postgres_vs_sqlite={:.2} two_vs_one={:.2}",
                load.clicks,
                one / sqlite,
                two / one
            );
        }
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

async fn run(load: &Load, setup: Setup, discord: &tokio::runtime::Handle) -> Figures {
    let fake = discord
        .spawn(FakeDiscord::start())
        .await
        .expect("start the fake Discord");
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = if setup.postgres {
        database::server().create_database()
    } else {
        format!("sqlite://{}", dir.path().join("gonogo.db").display())
    };
    // `gonogo run` with JSON logs, as in production; the replicas share the database.
    let mut bots = Vec::new();
    for replica in 0..setup.replicas {
        let addr = free_loopback_addr();
        let config = dir.path().join(format!("gonogo-{replica}.toml"));
        write_config_named(&fake, &signer, &config, addr, &url);
        let log = dir.path().join(format!("gonogo-{replica}.log"));
        let bot = Bot::start(&config, &["run", "--log-format", "json"], &log, addr).await;
        bots.push((bot, addr));
    }
    let addr = bots[0].1;
    let interactions = format!("http://{addr}/interactions");
    let requests = plan_and_prepare_clicks(&fake, &signer, &interactions, addr, load.clicks).await;

    // The connections alternate between the replicas, as a balancer would spread them.
    let connections = futures::future::join_all(
        (0..load.concurrency).map(|n| Connection::open(bots[n % bots.len()].1)),
    )
    .await;
    let before: Vec<ProcessUse> = bots
        .iter()
        .map(|(bot, _)| ProcessUse::of(bot.id()))
        .collect();
    let machine = MachineUse::now();
    let started = Instant::now();
    let answers = flood(connections, requests, started).await;
    let flood = started.elapsed();
    let used = bots
        .iter()
        .zip(before)
        .map(|((bot, _), before)| ProcessUse::of(bot.id()).since(before))
        .fold(ProcessUse::default(), |sum, used| ProcessUse {
            cpu_ticks: sum.cpu_ticks + used.cpu_ticks,
            ctxt_switches: sum.ctxt_switches + used.ctxt_switches,
        });
    let stolen_pct = MachineUse::stolen_pct_since(machine);
    let mut clicks: Vec<Click> = answers.into_iter().map(Click::of).collect();
    clicks.sort_by_key(|c| c.elapsed);

    let hwm_kb = bots
        .iter()
        .map(|(bot, _)| peak_rss_kb(bot.id()))
        .max()
        .unwrap_or(0);
    let stored = votes_total(&loopback_client(), addr).await;
    let mut exit = None;
    for (bot, _) in &mut bots {
        bot.terminate();
        let status = bot.wait_exit().await;
        exit = Some(exit.filter(|e: &ExitStatus| !e.success()).unwrap_or(status));
    }
    let exit = exit.expect("a replica ran");
    let commits_per_s = commit_rate(&url, load.commits).await;
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

    fn votes_per_s(&self) -> f64 {
        let accepted = self.clicks.iter().filter(|c| c.accepted).count();
        let accepted = u32::try_from(accepted).expect("fewer clicks than u32::MAX");
        f64::from(accepted) / self.flood.as_secs_f64()
    }

    fn print(&self, load: &Load, setup: Setup) {
        let accepted = self.clicks.iter().filter(|c| c.accepted).count();
        let accepted = u32::try_from(accepted).expect("fewer clicks than u32::MAX");
        let votes_per_s = self.votes_per_s();
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

        println!(
            "gonogo vote load on {} with {} replica(s), everything on 127.0.0.1",
            setup.backend(),
            setup.replicas
        );
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
            "  database alone    {commits_per_s:.0} commits/s ({} single-row commits with the bot's settings)",
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
            "votes: backend={} replicas={} clicks={} concurrency={} p50_ms={p50:.2} \
             p99_ms={p99:.2} max_ms={max:.2} \
             votes_per_s={votes_per_s:.0} db_commits_per_s={commits_per_s:.0} ratio={:.2} \
             peak_rss_mb={rss_mb} lost={lost} cpu_ms_per_vote={cpu_ms_per_vote:.3} \
             ctxt_switches_per_vote={ctxt_per_vote:.2} stolen_pct={:.1}",
            setup.backend(),
            setup.replicas,
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

/// Single-row commits per second in a table of their own beside the bot's, with the bot's own
/// settings.
async fn commit_rate(url: &str, commits: u32) -> f64 {
    let db = gonogo::store::Db::connect(url)
        .await
        .expect("open the commit-rate database with the bot's settings");
    sqlx::query("CREATE TABLE commit_rate (n INTEGER NOT NULL)")
        .execute(db.writer())
        .await
        .expect("create the table");
    let started = Instant::now();
    for n in 0..commits {
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("INSERT INTO commit_rate (n) VALUES ($1)")
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
