//! Sample data for every template, including the longest values users can produce, so
//! `gonogo check` and the snapshot tests render each message the way Discord will see it.

use serde_json::{json, Value};

use crate::domain::contract::{ContractView, MAX_PROCEDURE};
use crate::domain::effect::{GateView, Notice, PlannedStage, MAX_PROBLEM, NOTICE_SUMMARY};
use crate::domain::release::{MAX_CHANGELOG, MAX_REASON, MAX_SUMMARY};

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// The card of a release in `state`, with `voters` Go votes.
pub fn card(state: &str, voters: usize, worst_case: bool) -> Value {
    let member = |i: usize| {
        if worst_case {
            format!("{}{i:02}", "n".repeat(30))
        } else {
            format!("member{i}")
        }
    };
    let listed: Vec<Value> = (0..voters.min(10))
        .map(|i| json!({ "name": member(i), "choice": "go" }))
        .collect();
    json!({
        "id": 42,
        "version": if worst_case { "1.0.0-".to_owned() + &"r".repeat(58) } else { "1.4.0".to_owned() },
        "kind": "major",
        "state": state,
        "open": state == "voting",
        "summary": if worst_case { long(MAX_SUMMARY) } else { "Faster search and a new settings page".to_owned() },
        "changelog": if worst_case { Some(long(MAX_CHANGELOG)) } else { None },
        "environment": if worst_case { long(32) } else { "production".to_owned() },
        "author": member(99),
        "origin": if worst_case { json!({ "token": "n".repeat(32), "on_behalf_of": "80351110224678912", "commit": "f".repeat(64), "build_url": format!("https://{}", long(248)), "artifact": long(300), "promoted_from": i64::MAX, "evidence": { "environment": long(32), "completed_at": 1_772_532_000, "verified_minutes": 100_000, "reports": vec![format!("{}: {}", "n".repeat(32), long(121)); 3], "report_count": 100, "error_rate": "100.00%", "p99": "99999999 ms" } }) } else { Value::Null },
        "promote_to": (state == "completed").then_some("production"),
        "expires_at": 1_772_445_600,
        "decision_reason": if state == "rejected" || state == "cancelled" { Some(if worst_case { long(MAX_REASON) } else { "error budget spent".to_owned() }) } else { None },
        "slots": [
            { "role": "exec", "count": 1, "filled": 1, "missing": 0, "filled_by": [member(0)] },
            { "role": "team", "count": 2, "filled": 1, "missing": 1, "filled_by": [member(1)] },
        ],
        "votes": listed,
        "more_votes": voters.saturating_sub(10),
        "deployment": deployment(state, worst_case),
        "contract": (!matches!(state, "voting" | "rejected" | "expired" | "cancelled")).then(|| contract(worst_case)),
        "checklist": if matches!(state, "voting" | "approved" | "completed") || worst_case { json!([{ "name": "Code & Testing", "items": [{ "name": "Security scan passed", "ticked_by": null }] }]) } else { json!([]) },
        "checklist_editable": matches!(state, "voting" | "approved"),
        "checklist_open": if worst_case { 100 } else if matches!(state, "voting" | "approved") { 2 } else { 0 },
        "failed_items": if worst_case { vec![json!({ "name": long(80), "url": format!("https://{}", long(248)) }); 2] } else { Vec::new() },
        "open_items": if worst_case { vec![long(80); 2] } else if matches!(state, "voting" | "approved") { vec!["Code & Testing: Security scan passed".to_owned(), "Infrastructure: Backup verified".to_owned()] } else { Vec::new() },
        "undelivered": undelivered(state, worst_case),
        "reports": if worst_case { vec![json!({ "by": "n".repeat(32), "text": long(MAX_REASON) }); 4] } else if state == "rolled_back" { vec![json!({ "by": "Ana", "text": "checkout answers 500" })] } else { Vec::new() },
        "retrospectives": if worst_case { vec![json!({ "by": "n".repeat(32), "went_well": long(1000), "improve": long(1000), "actions": long(1000), "at": "2026-03-03T10:00:00Z" }); 3] } else if matches!(state, "completed" | "rolled_back") { vec![json!({ "by": "Dee", "went_well": "The canary caught it", "improve": "Alert sooner", "actions": "Add a p99 alert", "at": "2026-03-03T10:00:00Z" })] } else { Vec::new() },
        "overrides": if worst_case { vec![json!({ "requested_by": "n".repeat(32), "reason": long(60), "approved_by": "n".repeat(32), "used_for": "rollback", "postmortem_open": true }); 3] } else if state == "completed" { vec![json!({ "requested_by": "Dee", "reason": "security fix in a blackout", "approved_by": "Cyd", "used_for": "deploy", "postmortem_open": true })] } else { Vec::new() },
    })
}

/// The card of a release promoted from staging, where it completed with one problem report.
fn promoted() -> Value {
    let mut card = card("voting", 1, false);
    card["environment"] = json!("production");
    card["origin"] = json!({ "token": null, "on_behalf_of": null, "commit": "3f9c2ab7d1e04c55", "build_url": "https://ci.example.com/runs/812", "artifact": null, "promoted_from": 7, "evidence": { "environment": "staging", "completed_at": 1_772_532_000, "verified_minutes": 30, "reports": ["Ana: search is slow"], "report_count": 1, "error_rate": "0.10%", "p99": "120 ms" } });
    card
}

/// The card of a release a pipeline planned for someone, one of its checks failed.
fn from_pipeline() -> Value {
    let mut card = card("approved", 1, false);
    card["origin"] = json!({ "token": "ci", "on_behalf_of": "80351110224678912", "commit": "3f9c2ab7d1e04c55", "build_url": "https://ci.example.com/runs/812", "artifact": "registry.example.com/app@sha256:9f86d081884c7d65", "promoted_from": null, "evidence": null });
    card["failed_items"] = json!([{ "name": "Code & Testing: All tests passing in CI", "url": "https://ci.example.com/runs/812" }]);
    card["checklist_open"] = json!(0);
    card["open_items"] = json!([]);
    card
}

/// A rollback contract: the typical one, or the longest the card and notice may have to show.
fn contract(worst_case: bool) -> ContractView {
    ContractView {
        max_error_rate: Some("1.00%".into()),
        max_latency: Some(
            if worst_case {
                "1000000× the baseline p99"
            } else {
                "2× the baseline p99"
            }
            .into(),
        ),
        max_complaints: if worst_case { 10_000 } else { 3 },
        procedure: if worst_case {
            long(MAX_PROCEDURE)
        } else {
            "the command ./rollback.sh production".into()
        },
        rollback_window: if worst_case {
            "99999999s".into()
        } else {
            "4h".into()
        },
    }
}

/// A rejected release whose people typed markdown meant to pass for the bot's own words.
fn hostile() -> Value {
    let mut card = card("rejected", 2, false);
    card["summary"] =
        json!("**✅ Approved — ready to deploy** [release notes](https://evil.example/x_y) ~~");
    card["author"] = json!("@everyone");
    card["decision_reason"] = json!("fine\n# ✅ Approved by security <@&1> `ok`");
    card["votes"][0]["name"] = json!("~~member0~~");
    card["slots"][0]["filled_by"] = json!(["||exec||"]);
    card
}

/// What `/release status` lists as not delivered: nothing, except while a rollout is halted.
fn undelivered(state: &str, worst_case: bool) -> Value {
    if worst_case {
        let row = json!({ "what": "card update", "channel": "123456789012345678", "problem": long(80), "parked": true });
        return json!(vec![row; 2]);
    }
    if state != "halted" {
        return json!([]);
    }
    json!([
        { "what": "card", "channel": "123456789012345678", "problem": "Discord says Missing Permissions (403, code 50013)", "parked": false },
        { "what": "notice", "channel": "123456789012345679", "problem": "Discord says Unknown Channel (404, code 10003)", "parked": true },
    ])
}

/// A notice as the domain builds it, so the samples have the notices' real shape.
fn notice(notice: &Notice) -> Value {
    serde_json::to_value(notice).expect("a notice serializes")
}

/// The start notice of a rollout of `stages` stages.
fn started(stages: usize, worst_case: bool) -> Value {
    let text = |typical: &str, n: usize| {
        if worst_case {
            long(n)
        } else {
            typical.to_owned()
        }
    };
    notice(&Notice::Started {
        version: if worst_case {
            "1.0.0-".to_owned() + &"r".repeat(58)
        } else {
            "1.4.0".to_owned()
        },
        kind: "major".into(),
        summary: text("Faster search and a new settings page", NOTICE_SUMMARY),
        environment: text("production", 32),
        approvers: (0..if worst_case { 10 } else { 2 })
            .map(|i| text(&format!("member{i}"), 32))
            .collect(),
        by: text("Dee", 32),
        stages: (0..stages)
            .map(|i| PlannedStage {
                name: text(&format!("stage{i}"), 32),
                percent: u8::try_from(i + 1).unwrap_or(100),
                at: 1_772_445_600 + 3600 * i64::try_from(i).unwrap_or(0),
            })
            .collect(),
        verified_at: 1_772_532_000,
        executor: !worst_case,
        contract: Some(Box::new(contract(worst_case))),
    })
}

/// Where the rollout of a card in `state` stands: each field only where that state has it.
fn deployment(state: &str, worst_case: bool) -> Value {
    let running = matches!(state, "deploying" | "halted" | "verifying");
    let rolled = matches!(state, "rolling_back" | "rolled_back");
    if !running && !rolled && state != "completed" {
        return Value::Null;
    }
    let name = |i: usize| {
        if worst_case {
            format!("{}{i:02}", "n".repeat(30))
        } else {
            format!("member{i}")
        }
    };
    json!({
        "by": name(3),
        "started_at": 1_772_445_600,
        "stage": if worst_case { "s".repeat(32) } else { "canary".to_owned() },
        "percent": 1,
        "clock_ends_at": running.then_some(1_772_447_400),
        "halted_since": (state == "halted").then_some(1_772_446_000),
        "finished_at": matches!(state, "completed" | "rolled_back").then_some(1_772_532_000),
        "rollback_by": rolled.then(|| name(4)),
        "rollback_reason": rolled.then(|| if worst_case { long(MAX_REASON) } else { "errors up".to_owned() }),
        "on_call": (state == "verifying" || worst_case).then(|| name(5)),
        "actions": if worst_case { (0..8).map(|i| action(i, "failed", true)).collect() } else { vec![action(0, "succeeded", false), action(1, "running", false)] },
        "gates": running.then(|| json!({ "at": 1_772_446_500, "error_rate": "0.12%", "max_error_rate": "1.00%", "p99": "143 ms", "max_p99": if worst_case { "99999999 ms" } else { "240 ms" }, "baseline_p99": "120 ms" })),
    })
}

/// The executor's action on stage `i`.
fn action(i: u8, state: &str, worst_case: bool) -> Value {
    json!({
        "action": if worst_case { "rollback" } else { "deploy" },
        "stage": if worst_case { format!("{}{i}", "s".repeat(31)) } else { (if i % 2 == 0 { "canary" } else { "10%" }).to_owned() },
        "percent": if i % 2 == 0 { 1 } else { 10 },
        "state": state,
        "finished_at": (state != "running").then_some(1_772_446_000),
    })
}

/// What the record shows: release notes, the retrospective's messages and the figures.
#[rustfmt::skip]
fn record_samples(template: &str) -> Vec<(&'static str, Value)> {
    match template {
        "notes" => vec![
            ("completed", card("completed", 2, false)),
            ("rolled back", card("rolled_back", 2, false)),
            ("voting", card("voting", 2, false)),
            ("longest", card("rolled_back", 40, true)),
        ],
        "retrospective_prompt" => vec![
            ("completed", notice(&Notice::RetrospectivePrompt { version: "1.4.0".into(), outcome: "completed".into() })),
            ("rolled back", notice(&Notice::RetrospectivePrompt { version: "1.4.0".into(), outcome: "rolled_back".into() })),
        ],
        "stats" => vec![
            ("typical", json!({ "dora": { "days": 30, "environment": "production", "from_commit": 9, "from_plan": 3, "deployments": 12, "per_week": "2.8", "lead_time": "1d 4h", "started": 13, "failed": 2, "failure_rate": "15%", "restore": "18m", "rollbacks": 2 }, "postmortems": ["1.4.0"] })),
            ("quiet", json!({ "dora": { "days": 7, "environment": "production", "from_commit": 0, "from_plan": 0, "deployments": 0, "per_week": "0.0", "lead_time": null, "started": 0, "failed": 0, "failure_rate": null, "restore": null, "rollbacks": 0 }, "postmortems": [] })),
            ("longest", json!({ "dora": { "days": 365, "environment": long(32), "from_commit": 99999, "from_plan": 99999, "deployments": 99999, "per_week": "1917.8", "lead_time": "364d 23h", "started": 99999, "failed": 99999, "failure_rate": "100%", "restore": "364d 23h", "rollbacks": 99999 }, "postmortems": vec!["1.0.0-".to_owned() + &"r".repeat(58); 30] })),
        ],
        "retrospective_filed" => vec![("typical", notice(&Notice::RetrospectiveFiled { version: "1.4.0".into(), by: "Dee".into() }))],
        _ => Vec::new(),
    }
}

/// `/release status` and `/release list`.
fn read_samples(template: &str) -> Vec<(&'static str, Value)> {
    match template {
        "status" => vec![
            ("voting", card("voting", 2, false)),
            ("deploying", card("deploying", 2, false)),
            ("halted", card("halted", 2, false)),
            ("overridden", card("completed", 2, false)),
            ("longest", card("rejected", 40, true)),
            ("longest rollback", card("rolled_back", 40, true)),
            ("hostile", hostile()),
        ],
        "list" => vec![
            ("empty", json!({ "releases": [], "postmortems": [] })),
            (
                "open post-mortems",
                json!({ "releases": [{ "version": "1.4.0", "kind": "patch", "environment": "production", "state": "completed" }], "postmortems": [{ "version": "1.4.0", "environment": "production" }, { "version": "1.3.9", "environment": "staging" }] }),
            ),
            (
                "ten",
                json!({ "releases": vec![json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "kind": "hotfix", "environment": long(32), "state": "rolling_back" }); 10], "postmortems": vec![json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "environment": long(32) }); 30] }),
            ),
        ],
        _ => Vec::new(),
    }
}

/// An override's request, approval and post-mortem.
#[rustfmt::skip]
fn override_samples(template: &str) -> Vec<(&'static str, Value)> {
    let longest_version = "1.0.0-".to_owned() + &"r".repeat(58);
    match template {
        "override_requested" => vec![
            ("typical", notice(&Notice::OverrideRequested { version: "1.4.0".into(), by: "Dee".into(), reason: "Security fix; the blackout cannot wait".into() })),
            ("longest", notice(&Notice::OverrideRequested { version: longest_version, by: "n".repeat(32), reason: long(MAX_REASON) })),
        ],
        "override_approved" => vec![
            ("typical", notice(&Notice::OverrideApproved { version: "1.4.0".into(), by: "Cyd".into(), requested_by: "Dee".into(), reason: "Security fix".into() })),
            ("longest", notice(&Notice::OverrideApproved { version: longest_version, by: "n".repeat(32), requested_by: "n".repeat(32), reason: long(MAX_REASON) })),
        ],
        "postmortem_filed" => vec![
            ("typical", notice(&Notice::PostmortemFiled { version: "1.4.0".into(), by: "Dee".into(), text: "The fix could not wait; the blackout rule now has a security exception.".into() })),
            ("longest", notice(&Notice::PostmortemFiled { version: longest_version, by: "n".repeat(32), text: long(MAX_REASON) })),
        ],
        _ => Vec::new(),
    }
}

/// The checklist's refusal and answer.
#[rustfmt::skip]
fn checklist_samples(template: &str) -> Vec<(&'static str, Value)> {
    match template {
        "refusal_checklist_open" => vec![
                ("two", json!({ "version": "1.4.0", "items": ["Code & Testing: Security scan passed", "Documentation: CHANGELOG updated"] })),
                ("one", json!({ "version": "1.4.0", "items": ["Infrastructure: Backup verified"] })),
                ("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "items": vec![format!("{}: {}", long(100), long(100)); 100] })),
            ],
        "refusal_checks_failed" => vec![
                ("one", json!({ "version": "1.4.0", "items": [{ "name": "Code & Testing: All tests passing in CI", "url": "https://ci.example.com/runs/812" }] })),
                ("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "items": vec![json!({ "name": format!("{}: {}", long(100), long(100)), "url": format!("https://{}", long(248)) }); 25] })),
            ],
        "refusal_order_not_met" => vec![
                ("never completed", json!({ "version": "1.4.0", "environment": "production", "after": "staging", "completed_at": null, "soak_ends": null })),
                ("soaking", json!({ "version": "1.4.0", "environment": "production", "after": "staging", "completed_at": 1_772_445_600, "soak_ends": 1_772_452_800 })),
                ("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "environment": long(32), "after": long(32), "completed_at": null, "soak_ends": null })),
            ],
        "refusal_already_promoted" => vec![("typical", json!({ "version": "1.4.0", "environment": "production", "state": "voting" }))],
        "refusal_cannot_be_on_call" => vec![("typical", json!({ "version": "1.4.0", "roles": ["deployer", "release_manager", "lead"] }))],
        "refusal_not_verifying" => vec![("typical", json!({ "version": "1.4.0", "state": "completed" }))],
        "refusal_cannot_promote" => vec![("typical", json!({ "version": "1.4.0", "state": "verifying" }))],
        "refusal_cannot_promote_roles" => vec![("typical", json!({ "version": "1.4.0", "roles": ["deployer", "release_manager"] }))],
        "refusal_pipeline_only" => vec![
                ("typical", json!({ "version": "1.4.0", "item": "All tests passing in CI" })),
                ("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "item": long(100) })),
            ],
        "refusal_unknown_item" => vec![
                ("typical", json!({ "version": "1.4.0", "items": ["All tests passing in CI", "Security scan passed"] })),
                ("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "items": vec![long(100); 100] })),
            ],
        "checklist_answer" => vec![
                ("done", json!({ "version": "1.4.0", "open": 0 })),
                ("one", json!({ "version": "1.4.0", "open": 1 })),
                ("several", json!({ "version": "1.4.0", "open": 12 })),
            ],
        _ => Vec::new(),
    }
}

/// Progress notices: each phase, with and without the metric gates' readings.
#[rustfmt::skip]
fn progress_samples() -> Vec<(&'static str, Value)> {
    vec![
        ("deploying", progress(&Notice::Progress { version: "1.4.0".into(), phase: "deploying".into(), stage: "canary".into(), percent: 1, minutes_in: 15, next_at: Some(1_772_447_400), halted_since: None, catching_up: false, gates: None, unwatched_minutes: None }, Some(action(0, "succeeded", false)))),
        ("action running", progress(&Notice::Progress { version: "1.4.0".into(), phase: "deploying".into(), stage: "10%".into(), percent: 10, minutes_in: 2, next_at: None, halted_since: None, catching_up: false, gates: None, unwatched_minutes: None }, Some(action(1, "running", false)))),
        ("halted", progress(&Notice::Progress { version: "1.4.0".into(), phase: "halted".into(), stage: "50%".into(), percent: 50, minutes_in: 75, next_at: None, halted_since: Some(1_772_445_600), catching_up: true, gates: None, unwatched_minutes: None }, Some(action(0, "failed", true)))),
        ("verifying", progress(&Notice::Progress { version: "1.4.0".into(), phase: "verifying".into(), stage: "100%".into(), percent: 100, minutes_in: 90, next_at: Some(1_772_532_000), halted_since: None, catching_up: false, gates: None, unwatched_minutes: None }, None)),
        ("watched", progress(&Notice::Progress { version: "1.4.0".into(), phase: "deploying".into(), stage: "canary".into(), percent: 1, minutes_in: 15, next_at: Some(1_772_447_400), halted_since: None, catching_up: false, gates: Some(Box::new(GateView { at: 1_772_446_500, error_rate: Some("0.12%".into()), max_error_rate: Some("1.00%".into()), p99: Some("143 ms".into()), max_p99: Some("240 ms".into()), baseline_p99: Some("120 ms".into()) })), unwatched_minutes: None }, Some(action(0, "succeeded", false)))),
        ("unwatched", progress(&Notice::Progress { version: "1.4.0".into(), phase: "verifying".into(), stage: "100%".into(), percent: 100, minutes_in: 90, next_at: Some(1_772_532_000), halted_since: None, catching_up: true, gates: Some(Box::new(GateView { at: 1_772_446_500, error_rate: Some("0.00%".into()), max_error_rate: Some("1.00%".into()), p99: None, max_p99: None, baseline_p99: None })), unwatched_minutes: Some(42) }, None)),
    ]
}

/// A progress notice's facts with the executor's last action.
fn progress(progress: &Notice, last: Option<Value>) -> Value {
    let mut facts = notice(progress);
    facts["last_action"] = last.unwrap_or(Value::Null);
    facts
}

/// Labelled sample contexts for `template`.
/// On call during verification: the thread asks, and pings when nobody answers.
fn on_call_samples(template: &str) -> Vec<(&'static str, Value)> {
    let version = "1.4.0".to_owned();
    let notice_of = match template {
        "on_call_asked" => Notice::OnCallAsked {
            version,
            within_minutes: 15,
        },
        _ => Notice::OnCallNeeded { version },
    };
    vec![("typical", notice(&notice_of))]
}

/// The templates of the checklist, the pipeline's checks and the order of environments.
const CHECKLIST_TEMPLATES: [&str; 11] = [
    "refusal_cannot_be_on_call",
    "refusal_not_verifying",
    "refusal_checklist_open",
    "refusal_checks_failed",
    "refusal_pipeline_only",
    "refusal_order_not_met",
    "refusal_already_promoted",
    "refusal_cannot_promote",
    "refusal_cannot_promote_roles",
    "refusal_unknown_item",
    "checklist_answer",
];

pub fn for_template(template: &str) -> Vec<(&'static str, Value)> {
    let version = json!({ "version": "1.4.0", "kind": "minor", "state": "approved", "environment": "production" });
    match template {
        "release_card" => vec![
            ("voting", card("voting", 2, false)),
            ("approved", card("approved", 3, false)),
            ("rejected", card("rejected", 1, false)),
            ("expired", card("expired", 0, false)),
            ("cancelled", card("cancelled", 0, false)),
            ("deploying", card("deploying", 3, false)),
            ("halted", card("halted", 3, false)),
            ("verifying", card("verifying", 3, false)),
            ("completed", card("completed", 3, false)),
            ("rolling back", card("rolling_back", 3, false)),
            ("rolled back", card("rolled_back", 3, false)),
            ("from a pipeline", from_pipeline()),
            ("promoted", promoted()),
            ("longest", card("rejected", 40, true)),
            ("longest rollback", card("rolled_back", 40, true)),
            ("hostile", hostile()),
        ],
        "poll_ended" => ["approved", "rejected", "expired", "cancelled"]
            .into_iter()
            .map(|state| {
                (state, json!({ "state": state, "version": "1.4.0", "approvers": ["Ada", "Grace"], "by": "Linus", "reason": long(MAX_REASON) }))
            })
            .collect(),
        "vote_recorded" => vec![
            ("go", json!({ "choice": "go", "version": "1.4.0", "state": "voting" })),
            ("go that approves", json!({ "choice": "go", "version": "1.4.0", "state": "approved" })),
            ("no-go", json!({ "choice": "no_go", "version": "1.4.0", "state": "rejected" })),
        ],
        "vote_unchanged" => vec![("go", json!({ "choice": "go", "version": "1.4.0" }))],
        "plan_confirmed" => vec![(
            "hotfix",
            json!({ "version": "1.4.1", "kind": "hotfix", "environment": "production", "channel": "123456789012345678", "needed": "1 × lead and 1 × security" }),
        )],
        "notes" | "retrospective_prompt" | "retrospective_filed" | "stats" => record_samples(template),
        "status" | "list" => read_samples(template),
        name if CHECKLIST_TEMPLATES.contains(&name) => checklist_samples(template),
        "override_requested" | "override_approved" | "postmortem_filed" => override_samples(template),
        "refusal_cannot_request_override" => vec![("typical", json!({ "version": "1.4.0", "roles": ["deployer", "release_manager", "lead"] }))],
        "refusal_not_a_planner" | "refusal_cannot_tick" => vec![(
            "default planners",
            json!({ "version": "1.4.0", "roles": ["team", "lead", "release_manager", "deployer"] }),
        )],
        "refusal_not_eligible" => vec![("hotfix", json!({ "version": "1.4.0", "kind": "hotfix", "needed": ["lead", "security"] }))],
        "refusal_invalid_input" => vec![("bad version", json!({ "problem": "`1.4` is not a semantic version; write it like 1.4.0 or 2.0.0-rc.1" }))],
        "refusal_ambiguous_version" => vec![(
            "two environments",
            json!({ "version": "1.4.0", "environments": ["production", "staging"] }),
        )],
        "refusal_deploy_locked" => vec![(
            "typical",
            json!({ "version": "1.5.0", "holder": "1.4.0", "environment": "production", "state": "verifying" }),
        )],
        "refusal_rollback_window_closed" => vec![("typical", json!({ "version": "1.4.0", "closed_at": 1_772_445_600 }))],
        "refusal_outside_window" => vec![
            ("next window", json!({ "version": "1.4.0", "next_open": 1_772_445_600 })),
            ("never", json!({ "version": "1.4.0", "next_open": null })),
        ],
        "refusal_in_blackout" => vec![(
            "typical",
            json!({ "version": "1.4.0", "until": 1_798_848_000, "next_open": 1_799_053_200 }),
        )],
        "deploy_started" => vec![("typical", started(4, false)), ("longest", started(20, true))],
        "deploy_progress" => progress_samples(),
        "deploy_completed" => vec![
            ("typical", notice(&Notice::Completed { version: "1.4.0".into(), summary: "Faster search".into(), changelog: None, minutes: 1830, on_call: None })),
            ("with on call", notice(&Notice::Completed { version: "1.4.0".into(), summary: "Faster search".into(), changelog: None, minutes: 1830, on_call: Some("Remy".into()) })),
            ("longest", notice(&Notice::Completed { version: "1.0.0-".to_owned() + &"r".repeat(58), summary: long(NOTICE_SUMMARY), changelog: Some(long(MAX_CHANGELOG)), minutes: 100_000, on_call: Some("n".repeat(32)) })),
        ],
        "on_call_asked" | "on_call_needed" => on_call_samples(template),
        "action_failed" => vec![
            ("deploy", notice(&Notice::ActionFailed { version: "1.4.0".into(), action: "deploy".into(), stage: "canary".into(), problem: "exit status 3: connection refused".into() })),
            ("rollback", notice(&Notice::ActionFailed { version: "1.0.0-".to_owned() + &"r".repeat(58), action: "rollback".into(), stage: long(32), problem: long(MAX_PROBLEM) })),
        ],
        "deploy_halted" => vec![("typical", notice(&Notice::Halted { version: "1.4.0".into(), by: "Remy".into(), reason: long(MAX_REASON) }))],
        "deploy_resumed" => vec![("typical", notice(&Notice::Resumed { version: "1.4.0".into(), by: "Remy".into() }))],
        "rollback_started" => vec![("typical", notice(&Notice::RollingBack { version: "1.4.0".into(), by: "Dee".into(), reason: long(MAX_REASON), stage: "10%".into() }))],
        "rolled_back" => vec![("typical", notice(&Notice::RolledBack { version: "1.4.0".into(), by: "Dee".into(), reason: "errors up".into(), stage: "10%".into(), restore_secs: 420 }))],
        "problem_reported" => vec![
            ("typical", notice(&Notice::ProblemReported { version: "1.4.0".into(), by: "Ana".into(), text: "Checkout answers 500".into(), count: 2, limit: 3 })),
            ("longest", notice(&Notice::ProblemReported { version: "1.0.0-".to_owned() + &"r".repeat(58), by: "n".repeat(32), text: long(MAX_REASON), count: 10_000, limit: 10_000 })),
        ],
        "refusal_not_approved" | "refusal_cannot_halt" | "refusal_not_halted" | "refusal_not_rolling_out" | "refusal_checklist_closed" | "refusal_nothing_to_override" | "refusal_not_finished" => vec![("typical", json!({ "version": "1.4.0", "state": "voting" }))],
        "refusal_several_running" => vec![("two", json!({ "versions": ["1.4.0 (production)", "2.0.0 (staging)"] }))],
        "refusal_unknown_release" => vec![("unknown", json!({ "version": "9.9.9" }))],
        "internal_error" => vec![("error", json!({ "error_id": "0badc0de" }))],
        "rollback_procedure" => vec![
            ("command", json!({ "executor": "command", "argv": "./rollback.sh production" })),
            ("webhook", json!({ "executor": "webhook", "url": "https://deploy.example.com/hooks/gonogo" })),
            ("by hand", json!({ "executor": "none" })),
        ],
        "deployment_answer" => [("start", "deploying"), ("halt", "halted"), ("resume", "deploying"), ("rollback", "rolling_back"), ("report", "deploying"), ("report rolling back", "rolling_back"), ("override", "approved"), ("approve", "approved"), ("postmortem", "deploying"), ("retro", "completed")]
            .into_iter()
            .map(|(name, state)| (name, json!({ "ask": name.split(' ').next(), "version": "1.4.0", "state": state })))
            .collect(),
        "nogo_modal" | "halt_modal" | "rollback_modal" | "report_modal" | "untick_modal" | "retro_modal" | "thread_name" => vec![("longest", json!({ "version": "1.0.0-".to_owned() + &"r".repeat(58), "kind": "hotfix" }))],
        _ => vec![("typical", version)],
    }
}
