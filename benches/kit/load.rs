//! Load helpers shared by the benchmarks: signed floods of interactions, planning and
//! approving many releases at once, and reading the bot's database while it runs.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{json, Value};
use sqlx::Connection as _;

use crate::support::fake_discord::{FakeDiscord, GUILD_ID};
use crate::support::fixtures;
use crate::support::signer::Signer;
use crate::support::tester::{author, button_id, lead, RELEASES_CHANNEL};

/// Plans one release per environment, so all of them may roll out at once, and approves each.
pub async fn plan_and_approve(
    fake: &FakeDiscord,
    signer: &Signer,
    url: &str,
    dir: &Path,
    releases: u64,
    concurrency: usize,
    ids: &mut std::ops::RangeFrom<u64>,
) {
    let mut plans = Vec::new();
    for n in 0..releases {
        plans.push(fixtures::slash_command(
            ids.next().unwrap_or_default(),
            &author(),
            RELEASES_CHANNEL,
            GUILD_ID,
            "release",
            Some("plan"),
            vec![
                ("version", json!("1.0.0")),
                ("type", json!("patch")),
                ("summary", json!("Load")),
                ("environment", json!(format!("env{n}"))),
            ],
        ));
    }
    flood(signer, url, plans, concurrency).await;
    // Paced by Discord's global limit of 50 requests a second: 1,000 cards take a while.
    let patience = Duration::from_secs(600);
    fake.wait_until_within(patience, "every card is posted", |f| {
        cards(f).len() as u64 == releases
    })
    .await;
    let clicks: Vec<Value> = cards(fake)
        .into_iter()
        .map(|card| {
            let go = button_id(&card, "go").expect("a Go button");
            fixtures::button_on_message(
                ids.next().unwrap_or_default(),
                &lead(),
                GUILD_ID,
                card,
                &go,
            )
        })
        .collect();
    flood(signer, url, clicks, concurrency).await;
    let count = releases.to_string();
    wait_db(
        dir,
        "SELECT CAST(COUNT(*) AS TEXT) FROM releases WHERE state = 'approved'",
        &count,
    )
    .await;
}

/// Sends signed interactions, `concurrency` at a time; each must be answered 200.
pub async fn flood(signer: &Signer, url: &str, payloads: Vec<Value>, concurrency: usize) {
    futures::stream::iter(payloads)
        .map(|payload| async move {
            let (status, body) = signer.post_interaction(url, &payload).await;
            assert_eq!(status, 200, "{body}");
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
}

/// Every release card in the releases channel.
pub fn cards(fake: &FakeDiscord) -> Vec<Value> {
    fake.messages(RELEASES_CHANNEL)
        .into_iter()
        .filter(|m| {
            m["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Release "))
        })
        .collect()
}

/// A connection to the bot's database, `SQLite` or PostgreSQL as the run chose.
pub async fn open(dir: &Path) -> sqlx::AnyConnection {
    crate::support::database::connect_in(dir).await
}

pub async fn wait_db(dir: &Path, query: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut db = open(dir).await;
        let got: Option<String> = sqlx::query_scalar(query)
            .fetch_optional(&mut db)
            .await
            .expect("query");
        db.close().await.expect("close");
        if got.as_deref() == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{query}` gave {got:?}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The notices the fake took, by their nonces, and how many of those it took more than once.
pub fn notices_taken(fake: &FakeDiscord) -> (u64, u64) {
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for request in fake.requests() {
        // A card's embed is titled "Release …"; a start notice's embed is its contract.
        let card = request.body["embeds"][0]["title"]
            .as_str()
            .is_some_and(|title| title.starts_with("Release "));
        let notice = request.method == "POST"
            && request.path.ends_with("/messages")
            && (200..300).contains(&request.status)
            && !card;
        if let (true, Some(nonce)) = (notice, request.body["nonce"].as_str()) {
            *seen.entry(nonce.to_owned()).or_default() += 1;
        }
    }
    let delivered = seen.len() as u64;
    (delivered, seen.values().map(|n| n - 1).sum())
}
