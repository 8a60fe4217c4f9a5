//! Fifty people click at once: no vote is lost and the final card is consistent.

use futures::future::join_all;

use crate::support::fixtures::Member;
use crate::support::tester::*;

#[tokio::test]
async fn fifty_concurrent_clicks_lose_no_vote_and_leave_a_consistent_card() {
    let t = Tester::start().await;
    // A policy no one can complete, so every click is accepted and the poll stays open.
    t.plan(&author(), "10.0.0", "major").await;
    let voters: Vec<Member> = (0..50)
        .map(|i| Member::new(1_610_000_000_000_000_000 + i, "Voter", &[ROLE_TEAM]))
        .collect();
    let mut payloads = Vec::new();
    for voter in &voters {
        payloads.push(t.click_payload(voter, "10.0.0", "go").await);
    }
    let answers = join_all(payloads.into_iter().map(|p| t.send(p))).await;
    assert!(
        answers.iter().all(|a| content(a).contains("Your **Go**")),
        "every click is accepted"
    );
    assert_eq!(t.votes("10.0.0").await.len(), 50);
    let card = t
        .wait_card("10.0.0", "the card shows the last votes", |c| {
            c.contains("…and 40 earlier voters")
        })
        .await;
    let text = card_text(&card);
    assert!(text.contains("**team** 2/2"), "{text}");
    assert!(text.contains("**exec** 0/1"), "{text}");
    t.finish().await;
}
