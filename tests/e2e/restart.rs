//! A restart mid-poll keeps every vote, and the poll completes afterwards.

use chrono::TimeDelta;

use crate::support::tester::*;

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
