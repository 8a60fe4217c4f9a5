//! Outbox delivery: rate limits, server errors, and nothing posted twice.

use chrono::TimeDelta;

use crate::support::tester::*;
use crate::support::{Fault, FaultKind};

#[tokio::test]
async fn a_429_on_a_card_edit_is_delivered_after_retry_after_exactly_once() {
    let t = Tester::start().await;
    t.plan(&author(), "8.0.0", "minor").await;
    t.fake
        .wait_until("the thread is open", |f| !f.threads().is_empty())
        .await;
    t.fake.inject(Fault {
        method: "PATCH",
        path_contains: "/messages/".to_owned(),
        kind: FaultKind::RateLimited {
            retry_after_secs: 7.0,
        },
        times: 1,
    });
    t.go(&team(1), "8.0.0").await;
    t.fake
        .wait_for("the edit is rate limited", |r| {
            r.method == "PATCH" && r.status == 429
        })
        .await;
    t.wait_retry_scheduled(1).await;

    t.advance(TimeDelta::seconds(6));
    t.go(&team(2), "8.0.0").await;
    // Still inside Retry-After: the dispatcher must not have sent another edit yet.
    let patches = |t: &Tester| {
        t.fake
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count()
    };
    tokio::task::yield_now().await;
    assert_eq!(patches(&t), 1, "no edit inside Retry-After");

    t.advance(TimeDelta::seconds(1));
    t.wait_card("8.0.0", "the card shows both votes", |c| {
        c.contains("Approved")
    })
    .await;
    t.fake
        .wait_for("the retried edit", |r| {
            r.method == "PATCH" && r.status == 200
        })
        .await;
    assert_eq!(
        patches(&t),
        2,
        "one rate-limited edit, then one edit carrying the latest state"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_500_on_a_post_is_retried_and_the_post_appears_exactly_once() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
        kind: FaultKind::Status(500),
        times: 2,
    });
    t.send(t.plan_payload(&author(), "8.1.0", "patch")).await;
    t.fake
        .wait_for("the first post fails", |r| {
            r.method == "POST" && r.status == 500
        })
        .await;
    t.wait_retry_scheduled(1).await;
    t.advance(TimeDelta::seconds(1));
    t.fake
        .wait_for("the second post fails", |r| {
            r.method == "POST" && r.status == 500
        })
        .await;
    t.wait_retry_scheduled(2).await;
    t.advance(TimeDelta::seconds(2));
    t.card("8.1.0").await;
    let cards = t.fake.messages(RELEASES_CHANNEL).len();
    assert_eq!(cards, 1, "the card is posted exactly once");
    let posts: Vec<_> = t
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect();
    let nonces: Vec<_> = posts.iter().map(|r| r.body["nonce"].clone()).collect();
    assert!(
        nonces.windows(2).all(|w| w[0] == w[1]),
        "every retry carries the same nonce: {nonces:?}"
    );
    assert!(posts.iter().all(|r| r.body["enforce_nonce"] == true));
    t.finish().await;
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_posted_twice() {
    let t = Tester::start().await;
    // Discord stored the card, but the answer was lost: the bot retries with the same nonce.
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
        kind: FaultKind::AnswerLost(502),
        times: 1,
    });
    t.send(t.plan_payload(&author(), "8.2.0", "patch")).await;
    t.fake.wait_for("the post fails", |r| r.status == 502).await;
    t.wait_retry_scheduled(1).await;
    t.advance(TimeDelta::seconds(1));
    t.card("8.2.0").await;
    t.fake
        .wait_until("the thread is open", |f| !f.threads().is_empty())
        .await;
    assert_eq!(t.fake.messages(RELEASES_CHANNEL).len(), 1);
    t.finish().await;
}

#[tokio::test]
async fn a_thread_whose_answer_was_lost_is_found_again_and_used() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: "/threads".to_owned(),
        kind: FaultKind::AnswerLost(500),
        times: 1,
    });
    t.plan(&author(), "8.3.0", "patch").await;
    t.fake
        .wait_for("the thread is made but its answer lost", |r| {
            r.path.ends_with("/threads") && r.status == 500
        })
        .await;
    t.wait_retry_scheduled(1).await;
    t.advance(TimeDelta::seconds(1));
    t.fake
        .wait_for("the retry learns the thread exists", |r| {
            r.path.ends_with("/threads") && r.status == 400
        })
        .await;
    let violations = t.fake.take_violations();
    assert_eq!(
        violations.len(),
        1,
        "only the expected duplicate-thread refusal: {violations:?}"
    );
    assert!(violations[0].contains("a thread already exists"));

    t.go(&lead(), "8.3.0").await;
    let card = t.card("8.3.0").await;
    let thread = card["id"].as_str().unwrap().to_owned();
    t.fake
        .wait_for("the approval notice goes to the thread", |r| {
            r.method == "POST" && r.path == format!("/channels/{thread}/messages")
        })
        .await;
    assert_eq!(t.fake.threads().len(), 1);
    t.finish().await;
}
