//! The `OpenAPI` validator accepts what Discord accepts and rejects the rest.

use serde_json::{json, Value};

use crate::support::openapi::validate_request;

fn ok(method: &str, path: &str, body: &Value) {
    let problems = validate_request(method, path, body);
    assert!(
        problems.is_empty(),
        "{method} {path} should pass: {problems:#?}"
    );
}

fn bad(method: &str, path: &str, body: &Value, needle: &str) {
    let problems = validate_request(method, path, body);
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "{method} {path} should fail with '{needle}', got {problems:#?}"
    );
}

fn card() -> Value {
    json!({
        "content": "Release 1.4.0",
        "embeds": [{"title": "1.4.0", "description": "minor", "color": 3_066_993,
                    "fields": [{"name": "Go", "value": "alice", "inline": true}],
                    "footer": {"text": "gonogo"}}],
        "components": [{"type": 1, "components": [
            {"type": 2, "style": 3, "label": "Go", "custom_id": "v1:go:42"},
            {"type": 2, "style": 4, "label": "No-Go", "custom_id": "v1:nogo:42"}]}],
        "allowed_mentions": {"parse": []},
        "nonce": "outbox-17",
        "enforce_nonce": true,
    })
}

#[test]
fn fake_openapi_accepts_valid_bodies() {
    ok("POST", "/channels/1/messages", &card());
    ok(
        "PATCH",
        "/channels/1/messages/2",
        &json!({"embeds": [], "components": []}),
    );
    ok(
        "POST",
        "/channels/1/messages/2/threads",
        &json!({"name": "release 1.4.0", "auto_archive_duration": 1440}),
    );
    ok(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 4, "data": {"content": "no", "flags": 64}}),
    );
    ok(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 5, "data": {"flags": 64}}),
    );
    ok("POST", "/interactions/1/tok/callback", &json!({"type": 6}));
    ok("POST", "/interactions/1/tok/callback", &json!({"type": 1}));
    ok(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 7, "data": card()}),
    );
    ok(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 9, "data": {"custom_id": "v1:nogo-reason:42", "title": "Why No-Go?", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "reason", "label": "Reason", "style": 2, "required": true}]}]}}),
    );
    ok(
        "PUT",
        "/applications/1/guilds/2/commands",
        &json!([{"name": "release", "description": "Releases", "type": 1, "default_member_permissions": "32",
                 "options": [{"type": 1, "name": "plan", "description": "Plan", "options": [
                     {"type": 3, "name": "version", "description": "semver", "required": true},
                     {"type": 4, "name": "days", "description": "days", "min_value": 1}]}]}]),
    );
}

#[test]
fn fake_openapi_accepts_integer_strings() {
    ok(
        "POST",
        "/channels/1/messages",
        &json!({"content": "x", "flags": "4096", "nonce": 123}),
    );
    ok(
        "PUT",
        "/applications/1/commands",
        &json!([{"name": "deploy", "description": "Deploy", "type": "1"}]),
    );
}

#[test]
fn fake_openapi_rejects_invalid_bodies() {
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"content": 5}),
        "spec",
    );
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"content": "x", "flags": "sixty"}),
        "spec",
    );
    bad("POST", "/channels/1/messages/2/threads", &json!({}), "spec");
    bad(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 4, "data": {"content": []}}),
        "spec",
    );
    bad(
        "PUT",
        "/applications/1/commands",
        &json!({"name": "x"}),
        "spec",
    );
}

#[test]
fn fake_openapi_checks_documented_limits() {
    let long = "x".repeat(2001);
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"content": long}),
        "content has 2001 characters",
    );
    let mut body = card();
    body["components"][0]["components"][0]["custom_id"] = json!("c".repeat(101));
    bad(
        "POST",
        "/channels/1/messages",
        &body,
        "custom_id has 101 characters",
    );
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"embeds": [{"title": "t".repeat(257)}]}),
        "title has 257",
    );
    let fields: Vec<Value> = (0..26)
        .map(|i| json!({"name": format!("f{i}"), "value": "v"}))
        .collect();
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"embeds": [{"fields": fields}]}),
        "26 fields",
    );
    let big: Vec<Value> = (0..2)
        .map(|_| json!({"description": "d".repeat(3500)}))
        .collect();
    bad(
        "PATCH",
        "/channels/1/messages/2",
        &json!({"embeds": big}),
        "total 7000",
    );
    let button = json!({"type": 2, "style": 1, "label": "b", "custom_id": "b"});
    let row = json!({"type": 1, "components": vec![button; 6]});
    bad(
        "POST",
        "/channels/1/messages",
        &json!({"components": [row]}),
        "6 components",
    );
    let small_row =
        json!({"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "b"}]});
    bad(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 7, "data": {"components": vec![small_row; 6]}}),
        "6 rows",
    );
}
