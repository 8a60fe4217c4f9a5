//! Problem reports from the start notice's button: one per person counts, and more than
//! `gates.max_complaints` roll the release back, quoting them.

use serde_json::Value;

use crate::deployments::{approved, content_of, deploy, stage_done, texts, thread_of, ROLLOUT};
use crate::support::fixtures::{self, Member};
use crate::support::tester::*;
use crate::support::GUILD_ID;

fn stakeholders() -> [Member; 4] {
    [
        Member::new(3_100_000_000_000_000_001, "Ana", &[]),
        Member::new(3_100_000_000_000_000_002, "Bo", &[]),
        Member::new(3_100_000_000_000_000_003, "Cy", &[ROLE_TEAM]),
        Member::new(3_100_000_000_000_000_004, "Di", &[]),
    ]
}

/// The start notice in the stakeholder channel, with its Report a problem button's id.
async fn start_notice(t: &Tester) -> (Value, String) {
    t.fake
        .wait_message(
            STAKEHOLDER_CHANNEL,
            "the stakeholder start notice",
            move |m| button_id(m, "report").is_some(),
        )
        .await;
    let notice = t
        .fake
        .messages(STAKEHOLDER_CHANNEL)
        .into_iter()
        .find(|m| button_id(m, "report").is_some())
        .expect("the start notice");
    let id = button_id(&notice, "report").expect("the report button");
    (notice, id)
}

/// Clicks the button as `who` and, if the dialog opens, submits `text`; the last answer.
async fn report(t: &Tester, who: &Member, notice: &Value, button: &str, text: &str) -> Value {
    let click = fixtures::button_on_message(t.next_id(), who, GUILD_ID, notice.clone(), button);
    let opened = t.send(click).await;
    if opened["type"] != 9 {
        return opened;
    }
    let modal = opened["data"]["custom_id"].as_str().expect("modal id");
    let submit = fixtures::modal_submit(
        t.next_id(),
        who,
        STAKEHOLDER_CHANNEL,
        GUILD_ID,
        modal,
        vec![("reason", text)],
    );
    t.send(submit).await
}

#[tokio::test]
async fn four_reports_from_four_people_roll_the_release_back_and_a_second_click_is_refused() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "12.0.0").await;
    deploy(&t, &deployer(), "12.0.0").await;
    stage_done(&t, "12.0.0", 0).await;
    let (notice, button) = start_notice(&t).await;
    for (n, who) in stakeholders().iter().enumerate() {
        let answer = report(&t, who, &notice, &button, &format!("checkout fails {n}")).await;
        assert_ephemeral(&answer);
        assert!(content(&answer).contains("is recorded"), "{answer}");
        if n < 3 {
            assert_eq!(t.state("12.0.0").await, "deploying", "{} reports", n + 1);
        }
    }
    t.wait_state("12.0.0", "rolled_back").await;
    t.fake
        .wait_notice(RELEASES_CHANNEL, "is rolling back")
        .await;
    let notice_text = content_of(&texts(&t, RELEASES_CHANNEL, "is rolling back")[0]).to_owned();
    assert!(
        notice_text.contains("4 problem reports, more than the 3 allowed")
            && notice_text.contains("checkout fails 3")
            && notice_text.contains("\\(Di\\)"),
        "{notice_text}"
    );

    // A fifth click, by someone who reported already, is refused at the click.
    let again = report(&t, &stakeholders()[0], &notice, &button, "again").await;
    assert_ephemeral(&again);
    assert!(content(&again).contains("already reported"), "{again}");

    let thread = thread_of(&t, "12.0.0").await;
    t.fake
        .wait_until("three reports in the thread", |f| {
            f.messages(thread)
                .iter()
                .filter(|m| content_of(m).contains("Problem report"))
                .count()
                == 3
        })
        .await;
    let reported: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'problem_reported'")
            .fetch_one(t.db())
            .await
            .expect("audit");
    assert_eq!(reported, 4);
    t.finish().await;
}

#[tokio::test]
async fn a_report_before_or_after_the_rollout_does_not_count() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "12.1.0").await;
    deploy(&t, &deployer(), "12.1.0").await;
    stage_done(&t, "12.1.0", 0).await;
    let (notice, button) = start_notice(&t).await;
    let rollback = t.top_command(
        &deployer(),
        "rollback",
        vec![
            ("version", serde_json::json!("12.1.0")),
            ("reason", serde_json::json!("done")),
        ],
    );
    t.send(rollback).await;
    t.wait_state("12.1.0", "rolled_back").await;
    let late = report(&t, &stakeholders()[1], &notice, &button, "it hurts").await;
    assert_ephemeral(&late);
    assert!(content(&late).contains("not rolling out"), "{late}");
    t.finish().await;
}
