//! Dashboard load: its pages over a long history, behind a real sign-in.
//!
//! Two releases are lived through the real bot (one completed, one rolled back by the release
//! manager); then 10,000 releases are made from them, spread over the last year, each with the
//! audit events of its model and, for each completed one, a reading of the metric gates for
//! every minute of its verification: about a million events, appended through gonogo's own
//! audit chain. The real binary then serves the dashboard; a member signs in through the fake
//! Discord's OAuth2, and `/`, storyboards of releases picked across the history and
//! `/stats?days=365` are timed one request at a time over a kept-alive connection. Storyboards
//! are timed at a tenth of the history too: their cost must follow their own events, not the
//! whole trail.
//!
//! `cargo bench --bench dashboard` runs it in full; without `--bench` (as a test) it runs a
//! smoke version, so the bench cannot rot.

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
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use gonogo::domain::{ReleaseId, UserId};
use gonogo::store::audit::Chain;
use gonogo::store::batch::Batch;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection as _, Row as _};

use kit::memory::rss_kb;
use kit::usage::peak_rss_kb;
use support::oauth::{round_trip, set_cookie, CLIENT_SECRET};
use support::process::{free_loopback_addr, write_config, Bot};
use support::tester::{author, deployer, lead, release_manager, team, Tester};

/// The size of a run.
struct Load {
    releases: i64,
    /// Readings of the gates per completed release: one a minute of its verification.
    readings: i64,
    list_requests: usize,
    storyboard_requests: usize,
    stats_requests: usize,
}

const FULL: Load = Load {
    releases: 10_000,
    readings: 90,
    list_requests: 300,
    storyboard_requests: 300,
    stats_requests: 40,
};
const SMOKE: Load = Load {
    releases: 200,
    readings: 5,
    list_requests: 5,
    storyboard_requests: 5,
    stats_requests: 2,
};

/// The model releases lived through the bot: completed, and rolled back.
const MODELS: [i64; 2] = [1, 2];

const ROLLOUT: &str = r#"
[rollout]
stages = [{ name = "canary", percent = 1, hold = "10m" }, { percent = 100, hold = "10m" }]
verify_for = "90m"
"#;

fn main() {
    let load = if std::env::args().any(|arg| arg == "--bench") {
        FULL
    } else {
        SMOKE
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(&load));
}

async fn run(load: &Load) {
    let t = Tester::start_configured(ROLLOUT).await;
    live_the_models(&t).await;
    let dir = t.dir.clone();
    let fake = t.fake.clone();
    let signer = support::signer::Signer::new();
    t.finish().await;
    let db_path = dir.path().join("gonogo.db");

    let tenth = load.releases / 10;
    let seeded = Instant::now();
    let mut history = History::open(&db_path).await;
    history.add(load, 3, tenth).await;
    let early = serve(&fake, &signer, dir.path(), |base, cookie, _| async move {
        let client = client();
        timed(&client, &cookie, load.storyboard_requests, |i| {
            format!("{base}/releases/{}", pick(i, tenth))
        })
        .await
    })
    .await;
    history.add(load, tenth + 1, load.releases).await;
    let events = history.events().await;
    let seed_secs = seeded.elapsed().as_secs_f64();
    drop(history);

    let (figures, peak_kb) = serve(&fake, &signer, dir.path(), |base, cookie, pid| async move {
        let client = client();
        let rss_start = rss_kb(pid);
        let list = timed(&client, &cookie, load.list_requests, |i| {
            format!("{base}/?page={}", i % 20 + 1)
        })
        .await;
        let storyboard = timed(&client, &cookie, load.storyboard_requests, |i| {
            format!("{base}/releases/{}", pick(i, load.releases))
        })
        .await;
        let rss_pages = rss_kb(pid);
        let stats = timed(&client, &cookie, load.stats_requests, |_| {
            format!("{base}/stats?days=365")
        })
        .await;
        (list, storyboard, stats, (rss_start, rss_pages))
    })
    .await;
    let (list, storyboard, stats, (rss_start, rss_pages)) = figures;
    let mb = |kb: u64| f64::from(u32::try_from(kb).unwrap_or(u32::MAX)) / 1024.0;
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "dashboard: releases={} events={events} seed_s={seed_secs:.1} \
         list_p50_ms={:.2} list_p99_ms={:.2} \
         storyboard_p50_ms={:.2} storyboard_p99_ms={:.2} \
         storyboard_at_tenth_p50_ms={:.2} storyboard_at_tenth_p99_ms={:.2} \
         stats_365_p50_ms={:.2} stats_365_p99_ms={:.2} rss_signed_in_mb={:.1} \
         rss_after_pages_mb={:.1} peak_rss_mb={:.1}",
        load.releases,
        ms(list.p(50)),
        ms(list.p(99)),
        ms(storyboard.p(50)),
        ms(storyboard.p(99)),
        ms(early.0.p(50)),
        ms(early.0.p(99)),
        ms(stats.p(50)),
        ms(stats.p(99)),
        mb(rss_start),
        mb(rss_pages),
        mb(peak_kb),
    );
}

/// Release `i` of a run of requests: spread over the history, models aside.
fn pick(i: usize, releases: i64) -> i64 {
    let i = i64::try_from(i).unwrap_or(0);
    3 + (i * 7_919) % (releases - 2)
}

/// The two models: 0.0.1 rolled out through both stages and verified, 0.0.2 rolled back from
/// the canary by the release manager.
async fn live_the_models(t: &Tester) {
    for version in ["0.0.1", "0.0.2"] {
        t.plan(&author(), version, "patch").await;
        t.go(&team(1), version).await;
        t.go(&lead(), version).await;
        let deploy = t.top_command(&deployer(), "deploy", vec![("version", json!(version))]);
        t.send(deploy).await;
        t.wait_state(version, "deploying").await;
        if version == "0.0.2" {
            t.advance(TimeDelta::minutes(5));
            let rollback = t.top_command(
                &release_manager(),
                "rollback",
                vec![("reason", json!("error rate up"))],
            );
            t.send(rollback).await;
            t.wait_state(version, "rolled_back").await;
            continue;
        }
        for _ in 0..20 {
            if t.state(version).await == "completed" {
                break;
            }
            t.advance(TimeDelta::minutes(10));
            tokio::task::yield_now().await;
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                t.wait_state(version, "completed"),
            )
            .await;
        }
        assert_eq!(t.state(version).await, "completed");
    }
}

/// One model's rows, to copy.
struct Model {
    planned_at: DateTime<Utc>,
    verify_started: Option<DateTime<Utc>>,
    events: Vec<(Option<i64>, Value, DateTime<Utc>)>,
}

/// The database being filled, with the models it copies and the chain it appends to.
struct History {
    db: AnyConnection,
    models: Vec<Model>,
    release_columns: Vec<String>,
    vote_columns: Vec<String>,
    chain: Chain,
    now: DateTime<Utc>,
}

impl History {
    async fn open(path: &Path) -> History {
        sqlx::any::install_default_drivers();
        let mut db = AnyConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open the database");
        let mut models = Vec::new();
        for id in MODELS {
            let rows = sqlx::query(
                "SELECT actor_id, detail, at FROM audit_events WHERE release_id = ? ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut db)
            .await
            .expect("the model's events");
            let events: Vec<(Option<i64>, Value, DateTime<Utc>)> = rows
                .iter()
                .map(|row| {
                    let detail: String = row.get("detail");
                    let at: String = row.get("at");
                    (
                        row.get("actor_id"),
                        serde_json::from_str(&detail).expect("JSON detail"),
                        DateTime::parse_from_rfc3339(&at)
                            .expect("a time")
                            .with_timezone(&Utc),
                    )
                })
                .collect();
            let at_kind = |kind: &str| {
                events
                    .iter()
                    .find(|(_, detail, _)| detail["event"] == kind)
                    .map(|(_, _, at)| *at)
            };
            models.push(Model {
                planned_at: at_kind("planned").expect("a plan"),
                verify_started: at_kind("verification_started"),
                events,
            });
        }
        let release_columns = columns(&mut db, "releases").await;
        let vote_columns = columns(&mut db, "votes").await;
        let head: (i64, String) =
            sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
                .fetch_one(&mut db)
                .await
                .expect("the chain's head");
        History {
            db,
            models,
            release_columns,
            vote_columns,
            chain: Chain::from_head(None, Some(head)),
            now: Utc::now(),
        }
    }

    /// Adds releases `from..=to`, release `i` planned `i` fiftieths of a year ago, give or
    /// take: newest last, as ids go.
    async fn add(&mut self, load: &Load, from: i64, to: i64) {
        let mut tx = self.db.begin().await.expect("begin");
        for i in from..=to {
            let model = usize::from(i % 10 == 0);
            let ago = TimeDelta::minutes(50 * (load.releases - i) + 120);
            let planned = self.now - ago;
            let Model {
                planned_at,
                verify_started,
                events,
            } = &self.models[model];
            let shift = planned - *planned_at;
            copy_row(
                &mut tx,
                "releases",
                &self.release_columns,
                MODELS[model],
                i,
                &planned,
                shift,
            )
            .await;
            copy_row(
                &mut tx,
                "votes",
                &self.vote_columns,
                MODELS[model],
                i,
                &planned,
                shift,
            )
            .await;
            let release = Some(ReleaseId(i));
            for (actor, detail, at) in events {
                let is_end = detail["event"] == "completed";
                if is_end {
                    if let Some(started) = verify_started {
                        for minute in 1..=load.readings {
                            let reading = json!({
                                "event": "gates_read",
                                "error_rate": format!("{:.2}%", f64::from(u32::try_from((i + minute) % 40).unwrap_or(0)) / 100.0),
                                "p99": format!("{} ms", 110 + (i * minute) % 30),
                                "baseline": false,
                            });
                            let at = *started + shift + TimeDelta::minutes(minute);
                            self.chain
                                .append(&mut tx, release, None, &reading, at)
                                .await
                                .expect("append a reading");
                        }
                    }
                }
                self.chain
                    .append(
                        &mut tx,
                        release,
                        actor.map(|a| UserId(a.unsigned_abs())),
                        detail,
                        *at + shift,
                    )
                    .await
                    .expect("append an event");
            }
            if i % 50 == 0 {
                let mut batch = Batch::new();
                self.chain.flush(&mut batch);
                batch.run(&mut tx).await.expect("write the events");
            }
        }
        let mut batch = Batch::new();
        self.chain.flush(&mut batch);
        batch.run(&mut tx).await.expect("write the events");
        tx.commit().await.expect("commit");
    }

    async fn events(&mut self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&mut self.db)
            .await
            .expect("count")
    }
}

async fn columns(db: &mut AnyConnection, table: &str) -> Vec<String> {
    let rows = sqlx::query(&format!("PRAGMA table_info({table})"))
        .fetch_all(db)
        .await
        .expect("the table's columns");
    rows.iter()
        .map(|row| row.get::<String, _>("name"))
        .collect()
}

/// Copies `table`'s rows of release `model` as release `id`, planned at `planned` and every
/// other time moved by `shift`.
async fn copy_row(
    tx: &mut AnyConnection,
    table: &str,
    columns: &[String],
    model: i64,
    id: i64,
    planned: &DateTime<Utc>,
    shift: TimeDelta,
) {
    let moved = |column: &str| {
        format!(
            "CASE WHEN {column} IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {column}, '{} seconds') END",
            shift.num_seconds()
        )
    };
    let version = format!("1.{}.{}", id / 1_000, id % 1_000);
    let values: Vec<String> = columns
        .iter()
        .map(|column| match (table, column.as_str()) {
            ("releases", "id") | ("votes", "release_id") => id.to_string(),
            ("votes", "id" | "interaction_id") => "NULL".to_owned(),
            ("releases", "version" | "version_key") => format!("'{version}'"),
            ("releases", "created_at") => format!(
                "'{}'",
                planned.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            (_, c) if c.ends_with("_at") => moved(c),
            (_, c) => c.to_owned(),
        })
        .collect();
    let key = if table == "releases" {
        "id"
    } else {
        "release_id"
    };
    sqlx::query(&format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE {key} = ?",
        columns.join(", "),
        values.join(", ")
    ))
    .bind(model)
    .execute(&mut *tx)
    .await
    .unwrap_or_else(|e| panic!("copy {table}: {e}"));
}

/// Serves the dashboard from the real binary over the database in `dir`, signs a member in,
/// runs `measure` with the base URL and the session cookie, and returns what it measured with
/// the bot's peak memory.
async fn serve<T, F, Fut>(
    fake: &support::FakeDiscord,
    signer: &support::signer::Signer,
    dir: &Path,
    measure: F,
) -> (T, u64)
where
    F: FnOnce(String, String, u32) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let addr = free_loopback_addr();
    let config = write_config(fake, signer, dir, addr);
    let base = format!("http://{addr}");
    let mut text = std::fs::read_to_string(&config).expect("the config");
    text = format!("{text}\n[dashboard]\npublic_url = \"{base}\"\n");
    std::fs::write(&config, text).expect("write the config");
    fake.register_redirect(&format!("{base}/auth/callback"));
    let bot = Bot::start_with_env(
        &config,
        &["run"],
        &dir.join("dashboard.log"),
        addr,
        &[("GONOGO_DASHBOARD__CLIENT_SECRET", CLIENT_SECRET)],
    )
    .await;
    let cookie = sign_in(fake, addr).await;
    let measured = measure(base, cookie, bot.id()).await;
    let peak = peak_rss_kb(bot.id());
    bot.terminate();
    (measured, peak)
}

/// Signs a team member in as a browser would: returns the `Cookie` header of the session.
async fn sign_in(fake: &support::FakeDiscord, addr: SocketAddr) -> String {
    fake.browser_signed_in_as(&team(2), true);
    let (back, _, _) = round_trip(&format!("http://{addr}")).await;
    assert_eq!(back.status(), 303, "signed in");
    let session = set_cookie(&back, "gonogo_session").expect("a session cookie");
    format!("gonogo_session={session}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client")
}

/// Request latencies, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn p(&self, percentile: usize) -> Duration {
        let n = self.0.len();
        self.0[(n * percentile / 100).min(n - 1)]
    }
}

/// Times `count` GETs of `url(i)` one after another, each answered 200.
async fn timed(
    client: &reqwest::Client,
    cookie: &str,
    count: usize,
    url: impl Fn(usize) -> String,
) -> Latencies {
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let url = url(i);
        let started = Instant::now();
        let response = client
            .get(&url)
            .header("cookie", cookie)
            .send()
            .await
            .expect("the dashboard answers");
        let status = response.status();
        let body = response.bytes().await.expect("the page");
        latencies.push(started.elapsed());
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    }
    latencies.sort();
    Latencies(latencies)
}
