//! Go/no-go polls under each policy, as the people in the channel live them.

use chrono::TimeDelta;
use serde_json::json;

use crate::deployments::thread_of;
use crate::support::tester::*;

#[tokio::test]
async fn a_hotfix_needs_a_lead_and_a_security_and_the_authors_go_does_not_count() {
    let t = Tester::start().await;
    t.plan(&author(), "2.0.1", "hotfix").await;

    let own = t.go(&author(), "2.0.1").await;
    assert_ephemeral(&own);
    assert!(content(&own).contains("You planned 2.0.1"), "{own}");

    let both = lead_and_security();
    assert!(content(&t.go(&both, "2.0.1").await).contains("Your **Go**"));
    assert!(content(&t.go(&both, "2.0.1").await).contains("already voted"));
    t.wait_card("2.0.1", "the card shows Dana in one slot", |c| {
        c.contains("Dana") && c.contains("more needed")
    })
    .await;
    assert_eq!(
        t.state("2.0.1").await,
        "voting",
        "one person holding both roles fills one slot"
    );

    t.go(&security(), "2.0.1").await;
    let card = t
        .wait_card("2.0.1", "the card shows the approval", |c| {
            c.contains("Approved")
        })
        .await;
    assert_eq!(t.state("2.0.1").await, "approved");
    assert!(
        button_id(&card, "go").is_none(),
        "a decided card has no buttons"
    );
    let text = card_text(&card);
    assert!(
        text.contains("**lead** 1/1") && text.contains("**security** 1/1"),
        "{text}"
    );
    let thread = thread_of(&t, "2.0.1").await;
    t.fake.wait_notice(thread, "2.0.1 is approved").await;
    t.finish().await;
}

#[tokio::test]
async fn a_minor_needs_two_distinct_team_members_and_a_changed_vote_vetoes() {
    let t = Tester::start().await;
    t.plan(&author(), "1.5.0", "minor").await;

    t.go(&team(1), "1.5.0").await;
    t.go(&team(1), "1.5.0").await;
    t.wait_card("1.5.0", "one of two team slots is filled", |c| {
        c.contains("**team** 1/2")
    })
    .await;
    assert_eq!(t.state("1.5.0").await, "voting");

    let veto = t
        .no_go(&team(1), "1.5.0", "the migration is not reversible")
        .await;
    assert!(content(&veto).contains("vetoes"), "{veto}");
    assert_eq!(t.state("1.5.0").await, "rejected");
    assert_eq!(
        t.votes("1.5.0").await,
        [
            ("Toni".to_owned(), "go".to_owned()),
            ("Toni".to_owned(), "no_go".to_owned())
        ],
        "the history keeps both clicks, and the repeated Go only once"
    );
    t.wait_card("1.5.0", "the card shows the veto", |c| {
        c.contains("Rejected — the migration is not reversible")
    })
    .await;
    t.finish().await;
}

#[tokio::test]
async fn a_veto_records_its_reason_and_later_clicks_find_the_poll_closed() {
    let t = Tester::start().await;
    t.plan(&author(), "3.0.0", "major").await;
    t.go(&team(1), "3.0.0").await;

    t.no_go(&team(2), "3.0.0", "load test failed at 2x").await;
    let reason: String =
        sqlx::query_scalar("SELECT decision_reason FROM releases WHERE version = '3.0.0'")
            .fetch_one(t.db())
            .await
            .unwrap();
    assert_eq!(reason, "load test failed at 2x");
    let audit: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_events ORDER BY id")
        .fetch_all(t.db())
        .await
        .unwrap();
    assert_eq!(audit, ["planned", "vote_cast", "vote_cast", "rejected"]);

    // The late voter still sees the old card, with its buttons.
    let stale_go = crate::support::fixtures::button(
        t.next_id(),
        &team(3),
        RELEASES_CHANNEL,
        crate::support::GUILD_ID,
        1,
        "gng1:go:1",
    );
    let closed = t.send(stale_go).await;
    assert_ephemeral(&closed);
    assert!(
        content(&closed).contains("poll on 3.0.0 is closed"),
        "{closed}"
    );
    assert_eq!(
        t.votes("3.0.0").await.len(),
        2,
        "the late click stored nothing"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_voter_without_any_policy_role_is_refused_and_nothing_is_stored() {
    let t = Tester::start().await;
    t.plan(&author(), "1.2.3", "patch").await;
    let refused = t.go(&outsider(), "1.2.3").await;
    assert_ephemeral(&refused);
    assert!(
        content(&refused).contains("takes votes from lead"),
        "{refused}"
    );
    let no_go = t.no_go(&outsider(), "1.2.3", "nope").await;
    assert!(
        content(&no_go).contains("takes votes from lead"),
        "the No-Go is refused before any modal: {no_go}"
    );
    assert!(t.votes("1.2.3").await.is_empty());
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(events, 1, "only the plan is audited");
    t.finish().await;
}

#[tokio::test]
async fn a_poll_expires_after_its_time_to_live_on_the_driven_clock() {
    let t = Tester::start().await;
    t.plan(&author(), "1.9.0", "minor").await;
    t.go(&team(1), "1.9.0").await;
    t.advance(TimeDelta::hours(23));
    t.go(&team(2), "1.9.0").await;
    assert_eq!(
        t.state("1.9.0").await,
        "approved",
        "approved within its time to live"
    );

    t.plan(&author(), "1.9.1", "minor").await;
    t.go(&team(1), "1.9.1").await;
    t.advance(TimeDelta::hours(24));
    let card = t
        .wait_card("1.9.1", "the card shows the expiry", |c| {
            c.contains("Expired")
        })
        .await;
    assert!(button_id(&card, "go").is_none());
    assert_eq!(t.state("1.9.1").await, "expired");
    let late = t
        .send(crate::support::fixtures::button(
            t.next_id(),
            &team(2),
            RELEASES_CHANNEL,
            crate::support::GUILD_ID,
            1,
            "gng1:go:2",
        ))
        .await;
    assert!(content(&late).contains("closed"), "{late}");
    t.finish().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_and_changes_nothing() {
    let t = Tester::start().await;
    let bad_version = t.send(t.plan_payload(&author(), "v1.4", "minor")).await;
    assert_ephemeral(&bad_version);
    assert!(
        content(&bad_version).contains("not a semantic version"),
        "{bad_version}"
    );

    let long = "x".repeat(1001);
    let oversized = t
        .send(t.command(
            &author(),
            "plan",
            vec![
                ("version", json!("1.4.0")),
                ("type", json!("minor")),
                ("summary", json!(long)),
            ],
        ))
        .await;
    assert!(content(&oversized).contains("limit is 1000"), "{oversized}");

    let stale = t
        .send(crate::support::fixtures::button(
            t.next_id(),
            &team(1),
            RELEASES_CHANNEL,
            crate::support::GUILD_ID,
            1,
            "gng0:go:1",
        ))
        .await;
    assert!(content(&stale).contains("out of date"), "{stale}");

    let releases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM releases")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(releases, 0);
    t.finish().await;
}

#[tokio::test]
async fn status_list_and_cancel_answer_the_person_who_asked() {
    let t = Tester::start().await;
    t.plan(&author(), "4.1.0", "minor").await;
    let again = t.send(t.plan_payload(&author(), "4.1.0", "minor")).await;
    assert!(content(&again).contains("already planned"), "{again}");

    let status = t
        .send(t.command(&lead(), "status", vec![("version", json!("4.1.0"))]))
        .await;
    assert!(
        content(&status).contains("**Release 4.1.0**") && content(&status).contains("team 0/2"),
        "{status}"
    );
    let list = t.send(t.command(&lead(), "list", vec![])).await;
    assert!(
        content(&list).contains("**4.1.0** · minor · production · voting"),
        "{list}"
    );

    let refused = t
        .send(t.command(
            &team(1),
            "cancel",
            vec![("version", json!("4.1.0")), ("reason", json!("no"))],
        ))
        .await;
    assert!(content(&refused).contains("Only the author"), "{refused}");
    let cancelled = t
        .send(t.command(
            &release_manager(),
            "cancel",
            vec![
                ("version", json!("4.1.0")),
                ("reason", json!("scope moved")),
            ],
        ))
        .await;
    assert!(content(&cancelled).contains("is cancelled"), "{cancelled}");
    let thread = thread_of(&t, "4.1.0").await;
    t.fake
        .wait_notice(thread, "was cancelled** by Remy: scope moved")
        .await;
    t.wait_card("4.1.0", "the card shows the cancellation", |c| {
        c.contains("Cancelled — scope moved")
    })
    .await;
    t.finish().await;
}

#[tokio::test]
async fn a_version_in_two_environments_is_named_with_its_environment() {
    let t = Tester::start().await;
    t.plan(&author(), "4.2.0", "minor").await;
    let staging = t.command(
        &author(),
        "plan",
        vec![
            ("version", json!("4.2.0")),
            ("type", json!("minor")),
            ("summary", json!("Faster search")),
            ("environment", json!("staging")),
        ],
    );
    assert!(content(&t.send(staging).await).contains("planned for staging"));

    let ambiguous = t
        .send(t.command(&lead(), "status", vec![("version", json!("4.2.0"))]))
        .await;
    assert!(
        content(&ambiguous).contains("production, staging"),
        "{ambiguous}"
    );
    let cancel = t.command(
        &author(),
        "cancel",
        vec![
            ("version", json!("4.2.0")),
            ("reason", json!("staging only")),
            ("environment", json!("staging")),
        ],
    );
    assert!(content(&t.send(cancel).await).contains("is cancelled"));
    let states: Vec<(String, String)> = sqlx::query_as(
        "SELECT environment, state FROM releases WHERE version = '4.2.0' ORDER BY environment",
    )
    .fetch_all(t.db())
    .await
    .unwrap();
    assert_eq!(
        states,
        [
            ("production".to_owned(), "voting".to_owned()),
            ("staging".to_owned(), "cancelled".to_owned())
        ]
    );
    t.finish().await;
}
