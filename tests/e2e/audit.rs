//! The audit trail verifies on a real history and breaks on any edited row.

use gonogo::store::audit;

use crate::support::tester::*;

#[tokio::test]
async fn the_audit_check_passes_on_a_real_history_and_fails_after_an_edit() {
    let t = Tester::start().await;
    t.plan(&author(), "11.0.0", "hotfix").await;
    t.go(&lead(), "11.0.0").await;
    t.go(&security(), "11.0.0").await;
    t.plan(&author(), "11.0.1", "minor").await;
    t.no_go(&team(1), "11.0.1", "flaky tests").await;

    assert_eq!(
        audit::verify(t.db()).await.unwrap(),
        audit::Verdict::Intact(7)
    );

    let writer = t.db().clone();
    let blocked = sqlx::query("UPDATE audit_events SET detail = '{}' WHERE id = 3")
        .execute(&writer)
        .await;
    assert!(blocked.is_err(), "the table refuses edits");

    // Someone with raw SQL access removes the guard and rewrites a vote.
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET detail = replace(detail, 'flaky tests', 'all good') WHERE kind = 'vote_cast' AND id = 6")
        .execute(&writer)
        .await
        .unwrap();
    let broken = broken(&t).await;
    assert_eq!(broken.id, 6);
    assert!(broken.problem.contains("edited"), "{broken}");
    t.finish().await;
}

#[tokio::test]
async fn a_deleted_or_reordered_row_breaks_the_chain() {
    let t = Tester::start().await;
    t.plan(&author(), "11.1.0", "minor").await;
    t.go(&team(1), "11.1.0").await;
    t.go(&team(2), "11.1.0").await;
    let writer = t.db().clone();
    sqlx::query("DROP TRIGGER audit_events_no_delete")
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&writer)
        .await
        .unwrap();

    sqlx::query("UPDATE audit_events SET id = 100 WHERE id = 2")
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET id = 2 WHERE id = 3")
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET id = 3 WHERE id = 100")
        .execute(&writer)
        .await
        .unwrap();
    let swapped = broken(&t).await;
    assert_eq!(swapped.id, 2, "{swapped}");

    sqlx::query("DELETE FROM audit_events WHERE id = 2")
        .execute(&writer)
        .await
        .unwrap();
    let deleted = broken(&t).await;
    assert!(deleted.problem.contains("deleted"), "{deleted}");
    t.finish().await;
}

/// Where `verify` finds the chain broken; fails the test when it finds it intact.
async fn broken(t: &Tester) -> audit::Break {
    match audit::verify(t.db()).await.unwrap() {
        audit::Verdict::Broken(broken) => broken,
        audit::Verdict::Intact(rows) => panic!("the chain of {rows} events verified"),
    }
}
