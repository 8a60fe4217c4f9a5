//! Outbox delivery: rate limits, server errors, and nothing posted twice.

use chrono::TimeDelta;
use gonogo::clock::Clock as _;
use serde_json::json;

use crate::support::tester::*;
use crate::support::wait::wait_until;
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

/// How many cards the fake holds in the releases channel.
fn cards(t: &Tester) -> usize {
    t.fake.messages(RELEASES_CHANNEL).len()
}

#[tokio::test]
async fn a_card_refused_403_shows_in_status_and_is_posted_once_the_permission_is_granted() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
        kind: FaultKind::Refused {
            status: 403,
            code: 50013,
            message: "Missing Permissions",
        },
        times: 4,
    });
    // Hours after the release was planned: the first failure, not the row's age, counts.
    t.send(t.plan_payload(&author(), "8.5.0", "patch")).await;
    t.advance(TimeDelta::hours(3));
    for attempt in 1..=4 {
        t.fake
            .wait_for("a post is refused", |r| {
                r.method == "POST" && r.status == 403 && r.path.ends_with("/messages")
            })
            .await;
        t.wait_retry_scheduled(attempt).await;
        if attempt == 2 {
            let status = t
                .send(t.command(&lead(), "status", vec![("version", json!("8.5.0"))]))
                .await;
            assert!(
                content(&status).contains(&format!(
                    "card not delivered: Discord says Missing Permissions (403, code 50013) in <#{RELEASES_CHANNEL}>"
                )),
                "{status}"
            );
        }
        assert_eq!(cards(&t), 0);
        t.advance(TimeDelta::minutes(5));
    }
    // The operator granted the permission: the fake answers 200 again.
    t.card("8.5.0").await;
    assert_eq!(cards(&t), 1, "the card is posted exactly once");
    // The fake has the card; the bot records it as sent once the answer is settled.
    t.wait_nothing_failing().await;
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("gonogo_discord_responses_total{status=\"403\"} 4"),
        "{metrics}"
    );
    let status = t
        .send(t.command(&lead(), "status", vec![("version", json!("8.5.0"))]))
        .await;
    assert!(!content(&status).contains("not delivered"), "{status}");
    t.finish().await;
}

#[tokio::test]
async fn a_global_429_pauses_every_row_until_it_ends() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: "/messages".to_owned(),
        kind: FaultKind::GlobalRateLimited {
            retry_after_secs: 30.0,
        },
        times: 1,
    });
    t.send(t.plan_payload(&author(), "8.6.0", "patch")).await;
    t.fake
        .wait_for("the global limit", |r| r.status == 429)
        .await;
    let pause_ends = t.clock.now() + TimeDelta::seconds(30);
    t.wait_retry_scheduled(1).await;
    let idle = wait_until("the dispatcher to wait for the pause's end", || async {
        match t.clock.sleeps_until(pause_ends) {
            0 => Err(0),
            sleeps => Ok(sleeps),
        }
    })
    .await;
    // Another release's card is due at once, but Discord said to stop everything: the
    // dispatcher looks at it and goes back to waiting for the pause's end.
    t.send(t.plan_payload(&author(), "8.6.1", "patch")).await;
    wait_until(
        "the dispatcher to look at the new card and wait again",
        || async {
            match t.clock.sleeps_until(pause_ends) {
                sleeps if sleeps > idle => Ok(()),
                sleeps => Err(sleeps),
            }
        },
    )
    .await;
    t.advance(TimeDelta::seconds(20));
    let sent = |t: &Tester| {
        t.fake
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    assert_eq!(sent(&t), 1, "nothing is sent during a global pause");
    t.advance(TimeDelta::seconds(11));
    t.card("8.6.0").await;
    t.card("8.6.1").await;
    assert_eq!(cards(&t), 2);
    t.finish().await;
}

#[tokio::test]
async fn odd_retry_afters_neither_crash_the_bot_nor_stall_delivery() {
    let t = Tester::start().await;
    for (header, body) in [("-5", -5.0), ("1e300", 1e300), ("soon", f64::MAX)] {
        t.fake.inject(Fault {
            method: "POST",
            path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
            kind: FaultKind::OddRateLimit { header, body },
            times: 1,
        });
    }
    t.send(t.plan_payload(&author(), "8.7.0", "patch")).await;
    let limited = |n: usize| {
        move |f: &crate::support::fake_discord::FakeDiscord| {
            f.requests().iter().filter(|r| r.status == 429).count() == n
        }
    };
    // A negative wait is no wait; a huge one is an hour, whatever the answer said.
    t.fake.wait_until("two odd 429s", limited(2)).await;
    t.wait_retry_scheduled(2).await;
    t.advance(TimeDelta::hours(1));
    t.fake.wait_until("three odd 429s", limited(3)).await;
    t.wait_retry_scheduled(3).await;
    t.advance(TimeDelta::hours(1));
    t.card("8.7.0").await;
    let health = reqwest::get(t.interactions_url().replace("/interactions", "/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    t.finish().await;
}

#[tokio::test]
async fn a_notice_discord_can_never_take_is_parked_and_blocks_nothing() {
    let t = Tester::start().await;
    t.plan(&author(), "8.8.0", "patch").await;
    t.fake
        .wait_until("the thread is open", |f| !f.threads().is_empty())
        .await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: "/messages".to_owned(),
        kind: FaultKind::Refused {
            status: 404,
            code: 10003,
            message: "Unknown Channel",
        },
        times: 1,
    });
    t.go(&lead(), "8.8.0").await;
    t.fake
        .wait_for("the notice is refused", |r| r.status == 404)
        .await;
    t.wait_db(
        "SELECT CASE WHEN COUNT(*) > 0 THEN '1' ELSE '0' END FROM outbox WHERE state = 'failed'",
        "1",
    )
    .await;
    t.wait_card("8.8.0", "the card shows the approval", |c| {
        c.contains("Approved")
    })
    .await;
    let status = t
        .send(t.command(&lead(), "status", vec![("version", json!("8.8.0"))]))
        .await;
    assert!(
        content(&status)
            .contains("notice not delivered (set aside for good): Discord says Unknown Channel"),
        "{status}"
    );
    t.finish().await;
}

#[tokio::test]
async fn nothing_is_sent_into_a_bucket_discord_said_is_empty() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
        kind: FaultKind::BucketEmptied {
            reset_after_secs: 5.0,
        },
        times: 1,
    });
    t.plan(&author(), "8.9.0", "patch").await;
    t.send(t.plan_payload(&author(), "8.9.1", "patch")).await;
    t.wait_retry_scheduled(1).await;
    let posts = |t: &Tester| {
        t.fake
            .requests()
            .iter()
            .filter(|r| {
                r.method == "POST" && r.path.ends_with(&format!("{RELEASES_CHANNEL}/messages"))
            })
            .count()
    };
    assert_eq!(
        posts(&t),
        1,
        "the second card waits for the bucket to refill"
    );
    t.advance(TimeDelta::seconds(5));
    t.card("8.9.1").await;
    assert_eq!(posts(&t), 2);
    assert!(
        t.fake.requests().iter().all(|r| r.status != 429),
        "the wait cost no 429"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_post_retried_after_the_nonce_window_is_looked_for_and_not_posted_again() {
    let t = Tester::start().await;
    t.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/channels/{RELEASES_CHANNEL}/messages"),
        kind: FaultKind::AnswerLost(502),
        times: 1,
    });
    t.send(t.plan_payload(&author(), "8.3.0", "patch")).await;
    t.fake
        .wait_for("the post's answer is lost", |r| r.status == 502)
        .await;
    t.wait_retry_scheduled(1).await;
    // The bot was away long enough that Discord forgot the nonce.
    t.fake.expire_nonces();
    t.advance(TimeDelta::minutes(3));
    t.fake
        .wait_until("the thread is open", |f| !f.threads().is_empty())
        .await;
    assert_eq!(t.fake.messages(RELEASES_CHANNEL).len(), 1, "one card");
    assert!(
        t.fake
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.ends_with(&format!("{RELEASES_CHANNEL}/messages"))),
        "the bot looked before posting again"
    );
    // The card found is the one the buttons work on.
    t.go(&lead(), "8.3.0").await;
    t.wait_card("8.3.0", "the card shows the approval", |c| {
        c.contains("Approved")
    })
    .await;

    // A notice meets the same fate and is found by its words.
    t.fake.inject(Fault {
        method: "POST",
        path_contains: "/messages".to_owned(),
        kind: FaultKind::AnswerLost(502),
        times: 1,
    });
    t.send(t.command(
        &author(),
        "cancel",
        vec![("version", json!("8.3.0")), ("reason", json!("Superseded"))],
    ))
    .await;
    t.fake
        .wait_for("the notice's answer is lost", |r| r.status == 502)
        .await;
    // The clock moves only once the retry is booked, or it would be booked past the jump.
    t.wait_retry_scheduled(1).await;
    t.fake.expire_nonces();
    t.advance(TimeDelta::minutes(3));
    let thread = t.fake.threads()[0]["id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    t.wait_db(
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE state = 'pending'",
        "0",
    )
    .await;
    let cancelled: Vec<_> = t
        .fake
        .messages(thread)
        .into_iter()
        .filter(|m| {
            m["content"]
                .as_str()
                .is_some_and(|c| c.contains("cancelled"))
        })
        .collect();
    assert_eq!(cancelled.len(), 1, "one cancellation notice: {cancelled:?}");
    t.finish().await;
}

#[tokio::test]
async fn a_burst_of_releases_keeps_under_discords_global_limit() {
    let t = Tester::start().await;
    let plans: Vec<_> = (0..40)
        .map(|n| t.plan_payload(&author(), &format!("7.{n}.0"), "patch"))
        .collect();
    futures::future::join_all(plans.into_iter().map(|plan| t.send(plan))).await;
    // 40 cards and 40 threads: more than a second's worth, paced to stay under the limit.
    t.fake
        .wait_until("every card and thread", |f| {
            f.messages(RELEASES_CHANNEL).len() == 40 && f.threads().len() == 40
        })
        .await;
    t.finish().await;
}
