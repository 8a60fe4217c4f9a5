//! Two real `gonogo run` replicas on one PostgreSQL database: either answers any click, one
//! leads, and a leader that dies or stalls is replaced with nothing lost and nothing done twice.
//! These stories need PostgreSQL whatever the backend of the run, so they run in the first
//! pass of `scripts/test` and not again in the second.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt as _};
use serde_json::Value;
use sqlx::Connection as _;

use super::crash::{posted, rollout};
use crate::support::database::{self, on_postgres};
use crate::support::fake_discord::{FakeDiscord, GUILD_ID};
use crate::support::fixtures::{self, Member};
use crate::support::process::{
    free_loopback_addr, leadership, plan_approve_deploy, wait_card, write_config_named, Bot,
};
use crate::support::signer::Signer;
use crate::support::tester::{
    author, button_id, content, plan_command, team, RELEASES_CHANNEL, ROLE_TEAM,
    STAKEHOLDER_CHANNEL,
};
use crate::support::wait::{is, wait_until_within};

/// Clicks split between the two replicas.
const CLICKS: u64 = 2_000;

/// The contract's bound on a takeover, plus the time to see it.
const TAKEOVER: Duration = Duration::from_secs(8);

struct Replica {
    bot: Bot,
    addr: SocketAddr,
}

impl Replica {
    fn interactions(&self) -> String {
        format!("http://{}/interactions", self.addr)
    }
}

/// Two replicas on one fresh PostgreSQL database, `extra` added to their config; the first
/// started leads.
async fn two_replicas(
    fake: &FakeDiscord,
    signer: &Signer,
    dir: &Path,
    extra: &str,
) -> (Vec<Replica>, String) {
    let url = database::server().create_database();
    let mut replicas = Vec::new();
    for name in ["a", "b"] {
        let addr = free_loopback_addr();
        let config = dir.join(format!("{name}.toml"));
        write_config_named(fake, signer, &config, addr, &url);
        let mut text = std::fs::read_to_string(&config).expect("read the config");
        text.push_str(extra);
        std::fs::write(&config, text).expect("write the config");
        let log = dir.join(format!("{name}.log"));
        let bot = Bot::start(&config, &["run"], &log, addr).await;
        replicas.push(Replica { bot, addr });
    }
    assert_eq!(leadership(replicas[0].addr).await, Some((true, 1)));
    assert_eq!(leadership(replicas[1].addr).await, Some((false, 1)));
    (replicas, url)
}

async fn scalar(url: &str, query: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(url)
        .await
        .expect("open the database");
    let got: Option<String> = sqlx::query_scalar(query)
        .fetch_one(&mut db)
        .await
        .expect("query");
    db.close().await.expect("close");
    got.unwrap_or_default()
}

async fn wait_db(url: &str, query: &str, expected: &str) {
    let what = format!("`{query}` to give {expected}");
    wait_until_within(Duration::from_secs(30), &what, || async {
        is(scalar(url, query).await, &expected.to_owned())
    })
    .await;
}

/// Sends `payload` to `url`, signed, and returns Discord's view of the answer.
async fn send(signer: &Signer, url: &str, payload: &Value) -> Value {
    let (status, body) = signer.post_interaction(url, payload).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn two_replicas_take_two_thousand_clicks_between_them_and_lose_or_double_none() {
    if on_postgres() {
        return;
    }
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (replicas, url) = two_replicas(&fake, &signer, dir.path(), "").await;
    // A policy no team can complete: every Go is accepted and the poll stays open.
    let plan = plan_command(
        1_700_000_000_000_000_001,
        &author(),
        "20.0.0",
        "major",
        "Load",
    );
    send(&signer, &replicas[0].interactions(), &plan).await;
    let card = wait_card(&fake, "20.0.0", "the card is posted", |_| true).await;
    let go = button_id(&card, "go").expect("a Go button");

    let clicks: Vec<Value> = (0..CLICKS)
        .map(|i| {
            let voter = Member::new(1_620_000_000_000_000_000 + i, "Voter", &[ROLE_TEAM]);
            fixtures::button_on_message(
                1_710_000_000_000_000_000 + i,
                &voter,
                GUILD_ID,
                card.clone(),
                &go,
            )
        })
        .collect();
    let urls = [replicas[0].interactions(), replicas[1].interactions()];
    let answers: Vec<Value> = stream::iter(clicks.iter().enumerate())
        .map(|(i, click)| send(&signer, &urls[i % 2], click))
        .buffer_unordered(32)
        .collect()
        .await;
    let accepted = answers
        .iter()
        .filter(|a| content(a).contains("Your **Go**"))
        .count();
    assert_eq!(accepted, 2_000, "every click is accepted");
    // Each of the first hundred again, at the other replica: a replay changes nothing.
    for (i, click) in clicks.iter().take(100).enumerate() {
        signer.post_interaction(&urls[(i + 1) % 2], click).await;
    }

    assert_eq!(
        scalar(&url, "SELECT CAST(COUNT(*) AS TEXT) FROM votes").await,
        "2000"
    );
    assert_eq!(
        scalar(
            &url,
            "SELECT CAST(COUNT(DISTINCT voter_id) AS TEXT) FROM votes"
        )
        .await,
        "2000"
    );
    assert_eq!(
        scalar(
            &url,
            "SELECT CAST(COUNT(*) AS TEXT) FROM audit_events WHERE kind = 'vote_cast'"
        )
        .await,
        "2000"
    );
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url)
        .await
        .expect("open the database");
    assert_eq!(
        gonogo::store::audit::verify(&db, None, None).await.unwrap(),
        gonogo::store::audit::Verdict::Intact(2_001),
        "one plan and 2,000 votes, in one unbroken chain"
    );
    db.close().await;
    wait_card(&fake, "20.0.0", "the card counts every vote", |text| {
        text.contains("…and 1990 earlier voters")
    })
    .await;
    fake.assert_clean();
}

/// Waits until the replica at `addr` leads, and returns how long that took from `since`.
async fn wait_leads(addr: SocketAddr, since: Instant) -> Duration {
    wait_until_within(TAKEOVER, "the other replica to lead", || async {
        match leadership(addr).await {
            Some((true, term)) if term > 1 => Ok(()),
            other => Err(other),
        }
    })
    .await;
    since.elapsed()
}

/// After the rollout: every action ran once, each notice went out once, and the chain holds.
async fn assert_nothing_twice(fake: &FakeDiscord, dir: &Path, url: &str) {
    let actions = std::fs::read_to_string(dir.join("actions.log")).expect("actions");
    assert_eq!(
        actions.lines().collect::<Vec<_>>(),
        ["deploy 10", "deploy 100"],
        "no action ran twice"
    );
    for channel in [RELEASES_CHANNEL, STAKEHOLDER_CHANNEL] {
        assert_eq!(
            posted(fake, channel, "is rolling out"),
            1,
            "one start notice"
        );
        assert_eq!(
            posted(fake, channel, "is complete"),
            1,
            "one completion notice"
        );
    }
    let thread: u64 = scalar(url, "SELECT CAST(thread_id AS TEXT) FROM releases")
        .await
        .parse()
        .expect("snowflake");
    let thread_rows = scalar(
        url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE kind = 'notify' AND channel_id IS NULL",
    )
    .await;
    assert_eq!(
        fake.messages(thread).len().to_string(),
        thread_rows,
        "each thread notice posted once"
    );
    fake.assert_clean();
}

#[tokio::test]
async fn the_leader_killed_mid_rollout_is_replaced_and_the_rollout_completes_once() {
    if on_postgres() {
        return;
    }
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut replicas, url) = two_replicas(&fake, &signer, dir.path(), &rollout(dir.path())).await;
    plan_approve_deploy(&fake, &signer, &replicas[1].interactions(), "21.0.0").await;
    // Killed while the first stage holds: its action succeeded, its hold timer is pending.
    wait_db(
        &url,
        "SELECT state FROM executions WHERE stage = 0",
        "succeeded",
    )
    .await;
    let killed = Instant::now();
    replicas[0].bot.kill();
    let takeover = wait_leads(replicas[1].addr, killed).await;
    println!("takeover after SIGKILL: {} ms", takeover.as_millis());

    wait_db(&url, "SELECT state FROM releases", "completed").await;
    fake.wait_until("the completion notice reaches both channels", |f| {
        posted(f, RELEASES_CHANNEL, "is complete") == 1
            && posted(f, STAKEHOLDER_CHANNEL, "is complete") == 1
    })
    .await;
    wait_db(
        &url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state != 'sent'",
        "0",
    )
    .await;
    assert_nothing_twice(&fake, dir.path(), &url).await;
    replicas[1].bot.terminate();
    assert!(replicas[1].bot.wait_exit().await.success());
}

#[tokio::test]
async fn a_stalled_leader_woken_after_the_takeover_is_fenced_and_doubles_nothing() {
    if on_postgres() {
        return;
    }
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (replicas, url) = two_replicas(&fake, &signer, dir.path(), &rollout(dir.path())).await;
    plan_approve_deploy(&fake, &signer, &replicas[1].interactions(), "22.0.0").await;
    wait_db(
        &url,
        "SELECT state FROM executions WHERE stage = 0",
        "succeeded",
    )
    .await;
    let stopped = Instant::now();
    replicas[0].bot.signal("STOP");
    let takeover = wait_leads(replicas[1].addr, stopped).await;
    println!("takeover after SIGSTOP: {} ms", takeover.as_millis());
    wait_db(&url, "SELECT state FROM releases", "completed").await;

    // Woken, the old leader finds its term over: it follows, and writes nothing of its own.
    replicas[0].bot.signal("CONT");
    wait_until_within(TAKEOVER, "the woken replica to follow", || async {
        match leadership(replicas[0].addr).await {
            Some((false, term)) if term >= 2 => Ok(()),
            other => Err(other),
        }
    })
    .await;
    wait_db(
        &url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state != 'sent'",
        "0",
    )
    .await;
    assert_nothing_twice(&fake, dir.path(), &url).await;
    assert_eq!(leadership(replicas[1].addr).await.map(|l| l.0), Some(true));
}

#[tokio::test]
async fn work_asked_under_a_term_that_is_over_is_refused_and_done_by_the_next_leader() {
    let t = crate::support::tester::Tester::start().await;
    t.plan(&author(), "23.0.0", "minor").await;
    assert_eq!(t.running_service().leader(), (true, 1));
    // Another replica takes the lease, as if this one had stalled past its end.
    sqlx::query(
        "UPDATE leader_lease SET term = term + 1, holder = 'another replica', \
         expires_ms = expires_ms + 600000",
    )
    .execute(t.db())
    .await
    .expect("take the lease");
    t.advance(chrono::TimeDelta::hours(25));
    let timers = t.running_service().timers();
    let mut firing = gonogo::service::Firing::default();
    timers
        .fire_due(timers.now(), &mut firing)
        .await
        .expect("the due timers are read");
    let settled = firing.settled().await;
    let [(_, Err(refused))] = &settled[..] else {
        panic!("the poll's expiry alone is fired, and refused under the old term: {settled:?}");
    };
    assert!(
        format!("{refused:#}").contains("term 2 leads now"),
        "{refused:#}"
    );
    wait_until_within(TAKEOVER, "this replica to follow", || async {
        is(t.running_service().leader(), &(false, 2))
    })
    .await;
    assert_eq!(t.state("23.0.0").await, "voting", "nothing was written");

    // The other replica is gone: this one takes over with the next term and does the work.
    sqlx::query("UPDATE leader_lease SET expires_ms = 0")
        .execute(t.db())
        .await
        .expect("end the lease");
    t.wait_state("23.0.0", "expired").await;
    assert_eq!(t.running_service().leader(), (true, 3));
    t.finish().await;
}

#[tokio::test]
async fn a_database_not_there_at_start_up_is_waited_for_with_a_clear_line() {
    if on_postgres() {
        return;
    }
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = database::server();
    let name = format!("later_{}", std::process::id());
    let url = server.url(database::USER, database::PASSWORD, &name);
    let addr = free_loopback_addr();
    let config = write_config_named(&fake, &signer, &dir.path().join("gonogo.toml"), addr, &url);
    let log = dir.path().join("gonogo.log");
    let creating = {
        let log = log.clone();
        tokio::spawn(async move {
            wait_until_within(
                TAKEOVER,
                "gonogo to say it cannot reach the database",
                || {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    std::future::ready(is(text.contains("Cannot reach the database"), &true))
                },
            )
            .await;
            server.psql(&format!("CREATE DATABASE {name}"));
        })
    };
    let mut bot = Bot::start(&config, &["run"], &log, addr).await;
    creating.await.expect("the database is created");
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.contains("trying again in 1s"), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("gonogo:***@127.0.0.1"), "{text}");
    assert!(
        !text.contains(database::PASSWORD),
        "the password is logged: {text}"
    );
    assert_eq!(leadership(addr).await, Some((true, 1)));
    bot.terminate();
    assert!(bot.wait_exit().await.success());
}

#[tokio::test]
async fn a_connection_lost_mid_group_fails_its_request_for_a_retry_and_writes_nothing() {
    // The second pass of the stories runs this one: it cuts a PostgreSQL connection.
    if !on_postgres() {
        return;
    }
    let t = crate::support::tester::Tester::start().await;
    t.plan(&author(), "24.0.0", "minor").await;
    let count = |table: &'static str| {
        let db = t.db().clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .expect("count")
        }
    };
    let events = count("audit_events").await;

    // Nothing else is on its way to the write path: the card and thread are delivered.
    t.wait_db(
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state = 'pending'",
        "0",
    )
    .await;
    // Another session holds the write lock, so the click's group waits inside its
    // transaction; its connection is then cut, as a database failover would.
    let mut holder = database::connect_in(t.dir.path()).await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(gonogo::store::lease::WRITE_LOCK)
        .execute(&mut holder)
        .await
        .expect("hold the write lock");
    let click = t.click_payload(&team(1), "24.0.0", "go").await;
    let cut = async {
        wait_until_within(
            TAKEOVER,
            "the click's group to wait for the lock",
            || async {
                let cut: Vec<bool> = sqlx::query_scalar(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND query LIKE '%pg_advisory_xact_lock%'",
                )
                .fetch_all(t.db())
                .await
                .expect("look for the waiting group");
                is(cut.len(), &1)
            },
        )
        .await;
    };
    let (answer, ()) = tokio::join!(t.send(click), cut);
    assert!(
        content(&answer).contains("nothing was changed. Please try again"),
        "{answer}"
    );
    assert_eq!(count("votes").await, 0, "nothing half-written");
    assert_eq!(count("audit_events").await, events);

    // Tried again, the click is taken on a new connection.
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(gonogo::store::lease::WRITE_LOCK)
        .execute(&mut holder)
        .await
        .expect("let the lock go");
    let again = t.go(&team(1), "24.0.0").await;
    assert!(content(&again).contains("Your **Go**"), "{again}");
    assert_eq!(count("votes").await, 1);
    t.finish().await;
}
