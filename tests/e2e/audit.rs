//! The audit trail verifies on a real history and breaks on any edited row.

use gonogo::store::audit::{self, Verdict};

use crate::support::database::{drop_trigger, replace_audit_event_2};
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
        audit::verify(t.db(), None, None).await.unwrap(),
        audit::Verdict::Intact(7)
    );

    let writer = t.db().clone();
    let blocked = sqlx::query("UPDATE audit_events SET detail = '{}' WHERE id = 3")
        .execute(&writer)
        .await;
    assert!(blocked.is_err(), "the table refuses edits");

    // Someone with raw SQL access removes the guard and rewrites a vote.
    sqlx::query(&drop_trigger("audit_events_no_update"))
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
    sqlx::query(&drop_trigger("audit_events_no_delete"))
        .execute(&writer)
        .await
        .unwrap();
    sqlx::query(&drop_trigger("audit_events_no_update"))
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
    match audit::verify(t.db(), None, None).await.unwrap() {
        audit::Verdict::Broken(broken) => broken,
        audit::Verdict::Intact(rows) => panic!("the chain of {rows} events verified"),
    }
}

#[tokio::test]
async fn insert_or_replace_cannot_rewrite_a_row_and_inserts_must_follow_the_head() {
    let t = Tester::start().await;
    t.plan(&author(), "11.2.0", "minor").await;
    t.go(&team(1), "11.2.0").await;
    let writer = t.db().clone();
    let replace = sqlx::query(replace_audit_event_2()).execute(&writer).await;
    let refused = format!("{:?}", replace.expect_err("the rewrite is refused"));
    assert!(refused.contains("append-only"), "{refused}");

    let head = audit::head(&writer).await.unwrap();
    let skip = sqlx::query(
        "INSERT INTO audit_events (id, kind, detail, at, prev_hash, hash) VALUES ($1, 'x', '{}', 'now', $2, 'h')",
    )
    .bind(head.count + 2)
    .bind(&head.hash)
    .execute(&writer)
    .await;
    assert!(skip.is_err(), "an id past the next one is refused");
    let unlinked = sqlx::query(
        "INSERT INTO audit_events (id, kind, detail, at, prev_hash, hash) VALUES ($1, 'x', '{}', 'now', 'forged', 'h')",
    )
    .bind(head.count + 1)
    .execute(&writer)
    .await;
    assert!(unlinked.is_err(), "a row not linked to the head is refused");
    let pair = sqlx::query(
        "INSERT INTO audit_events (id, kind, detail, at, prev_hash, hash) VALUES \
         ($1, 'x', '{}', 'now', $2, 'h1'), ($3, 'x', '{}', 'now', 'forged', 'h2')",
    )
    .bind(head.count + 1)
    .bind(&head.hash)
    .bind(head.count + 2)
    .execute(&writer)
    .await;
    assert!(
        pair.is_err(),
        "two rows at once are refused when the second does not follow the first"
    );
    assert_eq!(
        audit::verify(&writer, None, None).await.unwrap(),
        audit::Verdict::Intact(2)
    );
    t.finish().await;
}

const AUDIT_KEY: &str = "3f9c1e0b7a5d4c2e8f6a1b3d5c7e9f0a2b4d6c8e0f1a3b5c7d9e1f3a5b7c9d0e";

/// `id, release_id, actor_id, kind, detail, at, prev_hash`.
type StoredRow = (
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
);

/// A row's hashed content, in the order gonogo hashes it.
#[derive(serde::Serialize)]
struct Canonical<'a> {
    id: i64,
    release_id: Option<i64>,
    actor_id: Option<i64>,
    kind: &'a str,
    detail: &'a str,
    at: &'a str,
}

/// Rewrites every row from `from` on with plain SHA-256, as someone with the file but not the
/// key would, after removing the guards.
async fn rewrite_unkeyed(t: &Tester, from: i64) {
    let writer = t.db().clone();
    for trigger in [
        "audit_events_no_update",
        "audit_events_no_delete",
        "audit_events_append_only",
    ] {
        sqlx::query(&drop_trigger(trigger))
            .execute(&writer)
            .await
            .unwrap();
    }
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT id, release_id, actor_id, kind, detail, at, prev_hash FROM audit_events WHERE id >= $1 ORDER BY id",
    )
    .bind(from)
    .fetch_all(&writer)
    .await
    .unwrap();
    let mut prev = rows[0].6.clone();
    for (id, release_id, actor_id, kind, detail, at, _) in rows {
        let detail = detail.replace("Faster search", "Nothing to see");
        let content = Canonical {
            id,
            release_id,
            actor_id,
            kind: &kind,
            detail: &detail,
            at: &at,
        };
        let content = serde_json::to_string(&content).unwrap();
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, prev.as_bytes());
        sha2::Digest::update(&mut hasher, content.as_bytes());
        let hash = hex::encode(sha2::Digest::finalize(hasher));
        sqlx::query(
            "UPDATE audit_events SET detail = $1, prev_hash = $2, hash = $3, keyed = 0 WHERE id = $4",
        )
        .bind(&detail)
        .bind(&prev)
        .bind(&hash)
        .bind(id)
        .execute(&writer)
        .await
        .unwrap();
        prev = hash;
    }
}

#[tokio::test]
async fn a_key_set_on_an_unkeyed_chain_is_adopted_once_and_the_chain_verifies_under_it() {
    let mut t = Tester::start().await;
    t.plan(&author(), "11.2.0", "minor").await;
    t.restart_reconfigured(|config| {
        config.audit.key = Some(gonogo::config::Secret::new(AUDIT_KEY));
    })
    .await;
    let key = audit::AuditKey::new(AUDIT_KEY);
    assert_eq!(
        audit::verify(t.db(), Some(&key), None).await.unwrap(),
        audit::Verdict::Intact(2)
    );
    let newest = || async {
        sqlx::query_scalar::<_, String>("SELECT kind FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_one(t.db())
            .await
            .unwrap()
    };
    assert_eq!(newest().await, "audit_key_adopted");
    // Adopted once: the next start finds the chain keyed already.
    t.restart().await;
    assert_eq!(
        audit::verify(t.db(), Some(&key), None).await.unwrap(),
        audit::Verdict::Intact(2)
    );
    t.finish().await;
}

#[tokio::test]
async fn a_keyed_chain_rewritten_without_the_key_fails_to_verify() {
    let t = Tester::start_configured_env("", &[("GONOGO_AUDIT__KEY", AUDIT_KEY)]).await;
    t.plan(&author(), "11.3.0", "minor").await;
    t.go(&team(1), "11.3.0").await;
    let key = audit::AuditKey::new(AUDIT_KEY);
    let db = t.db().clone();
    assert_eq!(
        audit::verify(&db, Some(&key), None).await.unwrap(),
        audit::Verdict::Intact(2)
    );
    let without_key = broken(&t).await;
    assert!(
        without_key.problem.contains("GONOGO_AUDIT__KEY"),
        "{without_key}"
    );
    let wrong = audit::AuditKey::new("another key that is long enough to be accepted");
    let Verdict::Broken(wrong) = audit::verify(&db, Some(&wrong), None).await.unwrap() else {
        panic!("a wrong key verified the chain");
    };
    assert_eq!(wrong.id, 1, "{wrong}");

    // Every hash recomputed, the way the unkeyed chain would be: still caught.
    rewrite_unkeyed(&t, 1).await;
    let Verdict::Broken(rewritten) = audit::verify(&db, Some(&key), None).await.unwrap() else {
        panic!("the rewritten chain verified under the key");
    };
    assert!(rewritten.problem.contains("not keyed"), "{rewritten}");
    t.finish().await;
}

#[tokio::test]
async fn a_truncated_or_rewritten_chain_fails_against_an_earlier_head() {
    let t = Tester::start().await;
    t.plan(&author(), "11.4.0", "minor").await;
    t.go(&team(1), "11.4.0").await;
    let db = t.db().clone();
    let earlier = audit::head(&db).await.unwrap();
    assert_eq!(earlier.count, 2);
    let parsed: audit::Head = earlier.to_string().parse().unwrap();
    assert_eq!(parsed, earlier);
    let metrics = t.metrics().await;
    assert!(
        metrics.contains(&format!(
            "gonogo_audit_head_info{{count=\"2\",hash=\"{}\"}} 1",
            earlier.hash
        )),
        "{metrics}"
    );

    t.go(&team(2), "11.4.0").await;
    assert_eq!(
        audit::verify(&db, None, Some(&earlier)).await.unwrap(),
        audit::Verdict::Intact(4),
        "a chain that grew keeps its earlier head as a prefix"
    );

    // The newest rows deleted: the chain itself still links up.
    sqlx::query(&drop_trigger("audit_events_no_delete"))
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE id > 1")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&db, None, None).await.unwrap(),
        audit::Verdict::Intact(1)
    );
    let Verdict::Broken(truncated) = audit::verify(&db, None, Some(&earlier)).await.unwrap() else {
        panic!("the truncated chain verified against the earlier head");
    };
    assert!(
        truncated.problem.contains("deleted from its end"),
        "{truncated}"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_chain_rewritten_from_an_early_row_fails_against_an_earlier_head() {
    let t = Tester::start().await;
    t.plan(&author(), "11.5.0", "minor").await;
    t.go(&team(1), "11.5.0").await;
    let db = t.db().clone();
    let earlier = audit::head(&db).await.unwrap();
    rewrite_unkeyed(&t, 1).await;
    assert_eq!(
        audit::verify(&db, None, None).await.unwrap(),
        audit::Verdict::Intact(2),
        "without a key or a head, a full rewrite is consistent"
    );
    let Verdict::Broken(rewritten) = audit::verify(&db, None, Some(&earlier)).await.unwrap() else {
        panic!("the rewritten chain verified against the earlier head");
    };
    assert!(rewritten.problem.contains("rewritten"), "{rewritten}");
    t.finish().await;
}
