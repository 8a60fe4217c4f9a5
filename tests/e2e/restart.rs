//! A restart mid-poll keeps every vote, and the poll completes afterwards.

use chrono::TimeDelta;

use crate::support::tester::*;
use crate::support::wait::{is, wait_until};

#[tokio::test]
async fn the_bot_restarts_mid_poll_and_the_poll_completes() {
    let mut t = Tester::start().await;
    t.plan(&author(), "9.0.0", "major").await;
    t.go(&team(1), "9.0.0").await;
    t.go(&team(2), "9.0.0").await;
    t.plan(&author(), "9.0.1", "minor").await;

    t.restart().await;

    assert_eq!(t.votes("9.0.0").await.len(), 2, "the votes are kept");
    let exec =
        crate::support::fixtures::Member::new(1_600_000_000_000_000_200, "Erin", &[ROLE_EXEC]);
    t.go(&exec, "9.0.0").await;
    assert_eq!(t.state("9.0.0").await, "approved");
    t.wait_card(
        "9.0.0",
        "the card shows the approval after the restart",
        |c| c.contains("Approved"),
    )
    .await;

    // The expiry timer of the other poll survived the restart too.
    t.advance(TimeDelta::hours(25));
    t.wait_card("9.0.1", "the other poll expires after the restart", |c| {
        c.contains("Expired")
    })
    .await;
    t.finish().await;
}

#[tokio::test]
async fn discord_unreachable_at_start_up_leaves_the_bot_alive_and_it_becomes_ready_later() {
    let mut t = Tester::start().await;
    t.fake.inject(crate::support::Fault {
        method: "PUT",
        path_contains: "/commands".to_owned(),
        kind: crate::support::FaultKind::Status(502),
        times: 2,
    });
    t.restart_unready().await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", t.base_url());
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    t.fake
        .wait_for("the first registration fails", |r| {
            r.method == "PUT" && r.status == 502
        })
        .await;
    assert_eq!(get("/livez").await, 200);
    assert_eq!(get("/healthz").await, 503);
    // Interactions are served meanwhile.
    t.plan(&author(), "9.9.0", "patch").await;

    // The retries back off on the driven clock: move it on until Discord takes the commands.
    let registered = |t: &Tester| {
        t.fake
            .requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.status == 200)
            .count()
            == 2
    };
    for _ in 0..200 {
        if registered(&t) {
            break;
        }
        t.advance(chrono::TimeDelta::seconds(1));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(registered(&t), "the commands were never registered");
    let failed = t.fake.requests().iter().filter(|r| r.status == 502).count();
    assert_eq!(failed, 2);
    wait_until("GET /healthz to answer 200", || async {
        is(get("/healthz").await, &200)
    })
    .await;
    t.finish().await;
}
