//! The pre-release checklist on the card: `/deploy` waits for its items, the card's menus
//! tick them, an untick asks why, and every change is in the audit export.

use serde_json::{json, Value};

use crate::deployments::deploy;
use crate::support::fixtures;
use crate::support::tester::*;
use crate::support::GUILD_ID;

const CHECKLIST: &str = r#"
[policy.patch]
approvers = [{ role = "lead", count = 1 }]
rollback_window = "4h"
checklist = ["Documentation", "Infrastructure"]

[[checklist]]
section = "Documentation"
items = ["CHANGELOG updated", "Rollback procedure documented"]

[[checklist]]
section = "Infrastructure"
items = ["Backup verified"]

[[checklist]]
section = "Code & Testing"
items = ["All tests passing in CI"]
"#;

/// The checklist menu of `section` on the card, and its custom id.
pub(crate) async fn menu(t: &Tester, version: &str, section: u8) -> (Value, String) {
    let card = t.card(version).await;
    let id = card["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["type"] == 3)
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .find(|id| id.ends_with(&format!(":{section}")))
        .unwrap_or_else(|| panic!("no checklist menu {section} on {card}"));
    (card, id)
}

pub(crate) async fn select(
    t: &Tester,
    who: &fixtures::Member,
    version: &str,
    section: u8,
    values: &[&str],
) -> Value {
    let (card, id) = menu(t, version, section).await;
    let payload = fixtures::select_on_message(t.next_id(), who, GUILD_ID, card, &id, values);
    t.send(payload).await
}

#[tokio::test]
async fn deploy_waits_for_the_checklist_and_the_card_ticks_it() {
    let t = Tester::start_configured(CHECKLIST).await;
    t.plan(&author(), "13.0.0", "patch").await;
    t.go(&lead(), "13.0.0").await;
    let card = t
        .wait_card("13.0.0", "the card lists the open items", |c| {
            c.contains("3 items open") && c.contains("Backup verified")
        })
        .await;
    assert!(
        !card_text(&card).contains("All tests passing"),
        "only the required sections"
    );

    let refused = deploy(&t, &deployer(), "13.0.0").await;
    assert_ephemeral(&refused);
    assert!(
        content(&refused).contains("3 checklist items are still open")
            && content(&refused).contains("Documentation: CHANGELOG updated"),
        "{refused}"
    );

    let ticked = select(&t, &team(1), "13.0.0", 0, &["0", "1"]).await;
    assert!(content(&ticked).contains("1 item still open"), "{ticked}");
    let ticked = select(&t, &team(1), "13.0.0", 1, &["0"]).await;
    assert!(content(&ticked).contains("nothing left open"), "{ticked}");

    // Unticking asks why, and the answer is kept.
    t.wait_card("13.0.0", "the card shows everything ticked", |c| {
        c.contains("Every item is ticked")
    })
    .await;
    let opened = select(&t, &team(2), "13.0.0", 0, &["1"]).await;
    assert_eq!(
        opened["type"], 9,
        "an untick opens the reason dialog: {opened}"
    );
    let modal = opened["data"]["custom_id"].as_str().expect("modal id");
    let submit = fixtures::modal_submit(
        t.next_id(),
        &team(2),
        RELEASES_CHANNEL,
        GUILD_ID,
        modal,
        vec![("reason", "the changelog misses the API change")],
    );
    let answer = t.send(submit).await;
    assert!(content(&answer).contains("1 item still open"), "{answer}");
    let refused = deploy(&t, &deployer(), "13.0.0").await;
    assert!(
        content(&refused).contains("Documentation: CHANGELOG updated"),
        "{refused}"
    );

    select(&t, &team(1), "13.0.0", 0, &["0", "1"]).await;
    let started = deploy(&t, &deployer(), "13.0.0").await;
    assert!(content(&started).contains("deploying"), "{started}");

    let outsider = select(&t, &outsider(), "13.0.0", 0, &[]).await;
    assert_ephemeral(&outsider);

    let events = gonogo::store::audit::export(t.db()).await.expect("export");
    let changes: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e.kind.starts_with("checklist_"))
        .map(|e| {
            (
                e.kind.clone(),
                e.detail["item"].as_str().unwrap_or("").to_owned(),
                e.detail["by"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect =
        |kind: &str, item: &str, by: &str| (kind.to_owned(), item.to_owned(), by.to_owned());
    assert_eq!(
        changes,
        [
            expect("checklist_ticked", "CHANGELOG updated", "Toni"),
            expect("checklist_ticked", "Rollback procedure documented", "Toni"),
            expect("checklist_ticked", "Backup verified", "Toni"),
            expect("checklist_unticked", "CHANGELOG updated", "Tia"),
            expect("checklist_ticked", "CHANGELOG updated", "Toni"),
        ]
    );
    let untick = events
        .iter()
        .find(|e| e.kind == "checklist_unticked")
        .expect("untick");
    assert_eq!(
        untick.detail["reason"],
        json!("the changelog misses the API change")
    );
    t.finish().await;
}
