//! The retrospective: a finished release's thread asks with a button, the dialog's three
//! answers stay with the release, and `/release notes` shows them.

use serde_json::json;

use crate::deployments::{approved, complete, content_of, deploy, thread_of, ROLLOUT};
use crate::support::fixtures;
use crate::support::tester::*;
use crate::support::GUILD_ID;

#[tokio::test]
async fn a_completed_release_asks_for_its_retrospective_and_the_notes_show_it() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "16.0.0").await;
    deploy(&t, &deployer(), "16.0.0").await;
    complete(&t, "16.0.0").await;
    let thread = thread_of(&t, "16.0.0").await;
    t.fake
        .wait_message(thread, "the retrospective prompt", move |m| {
            button_id(m, "retro").is_some()
        })
        .await;
    let prompt = t
        .fake
        .messages(thread)
        .into_iter()
        .find(|m| button_id(m, "retro").is_some())
        .expect("the prompt");
    assert!(
        content_of(&prompt).contains("time for the retrospective"),
        "{prompt}"
    );
    let id = button_id(&prompt, "retro").expect("button");
    let click = fixtures::button_on_message(t.next_id(), &deployer(), GUILD_ID, prompt, &id);
    let opened = t.send(click).await;
    assert_eq!(opened["type"], 9, "{opened}");
    let inputs: Vec<_> = opened["data"]["components"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["components"][0]["custom_id"].clone())
        .collect();
    assert_eq!(
        inputs,
        [json!("went_well"), json!("improve"), json!("actions")]
    );
    let submit = fixtures::modal_submit(
        t.next_id(),
        &deployer(),
        thread,
        GUILD_ID,
        opened["data"]["custom_id"].as_str().expect("modal id"),
        vec![
            ("went_well", "The canary held"),
            ("improve", "Verification took too long"),
            ("actions", "Shorten verify_for to 12h"),
        ],
    );
    let answer = t.send(submit).await;
    assert!(
        content(&answer).contains("kept with the release"),
        "{answer}"
    );

    let notes = t.command(&author(), "notes", vec![("version", json!("16.0.0"))]);
    let notes = t.send(notes).await;
    assert_ephemeral(&notes);
    let text = content(&notes);
    assert!(
        text.contains("Retrospective by Dee")
            && text.contains("Went well: The canary held")
            && text.contains("Actions: Shorten verify\\_for to 12h"),
        "{text}"
    );
    let filed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'retrospective_filed'")
            .fetch_one(t.db())
            .await
            .expect("audit");
    assert_eq!(filed, 1);
    t.finish().await;
}

#[tokio::test]
async fn a_release_still_rolling_out_has_no_retrospective_yet() {
    let t = Tester::start_configured(ROLLOUT).await;
    approved(&t, "16.1.0").await;
    let notes = t.command(&author(), "notes", vec![("version", json!("16.1.0"))]);
    let notes = t.send(notes).await;
    assert!(content(&notes).contains("No retrospective yet."), "{notes}");
    let unknown = t.command(&author(), "notes", vec![("version", json!("9.9.9"))]);
    assert_ephemeral(&t.send(unknown).await);
    t.finish().await;
}
