//! One release's story in five frames: plan, approval, release, verify and rollback. Each
//! audit event of the release belongs to one frame; the charts are drawn from those events.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::charts::{GatePoint, Span, SpanKind};
use crate::service::ExportedEvent;

/// The frames, in the order a release lives them.
pub const FRAMES: [(&str, &str); 5] = [
    ("plan", "Plan"),
    ("approval", "Approval"),
    ("release", "Release"),
    ("verify", "Verify"),
    ("rollback", "Rollback"),
];

/// The frame an audit event belongs to; `None` for what comes after (retrospectives,
/// post-mortems), which the full list of events still shows.
pub fn frame_of(event: &ExportedEvent) -> Option<&'static str> {
    Some(match event.kind.as_str() {
        "planned" | "checklist_ticked" | "checklist_unticked" | "check_reported" => "plan",
        "vote_cast" | "approved" | "rejected" | "expired" | "cancelled" | "override_requested"
        | "override_approved" => "approval",
        "action_finished" if event.detail["action"] == "rollback" => "rollback",
        "deploy_started" | "stage_started" | "halted" | "resumed" | "override_used"
        | "action_finished" => "release",
        "verification_started"
        | "gates_read"
        | "problem_reported"
        | "on_call_claimed"
        | "on_call_unclaimed"
        | "completed" => "verify",
        "rollback_started" | "rollback_retried" | "rolled_back" => "rollback",
        _ => return None,
    })
}

/// One event as a frame lists it.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub at: String,
    pub actor: Option<String>,
    pub hash: String,
}

impl EventRow {
    pub fn of(event: &ExportedEvent) -> EventRow {
        EventRow {
            id: event.id,
            kind: event.kind.clone(),
            at: event.at.clone(),
            actor: event.actor_id.clone(),
            hash: event.hash.clone(),
        }
    }
}

/// One frame of the storyboard.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    pub key: &'static str,
    pub title: &'static str,
    /// The Discord message the frame happened in.
    pub discord: Option<String>,
    pub events: Vec<EventRow>,
}

/// The five frames of `events`; `card` links the plan and the approval, `thread` the rest.
pub fn frames(events: &[ExportedEvent], card: Option<&str>, thread: Option<&str>) -> Vec<Frame> {
    FRAMES
        .into_iter()
        .map(|(key, title)| Frame {
            key,
            title,
            discord: match key {
                "plan" | "approval" => card,
                _ => thread,
            }
            .map(str::to_owned),
            events: events
                .iter()
                .filter(|e| frame_of(e) == Some(key))
                .map(EventRow::of)
                .collect(),
        })
        .collect()
}

/// An executor's result, as the release frame lists it.
#[derive(Clone, Debug, Serialize)]
pub struct ActionRow {
    pub action: String,
    pub stage: String,
    pub problem: Option<String>,
}

pub fn actions(events: &[ExportedEvent]) -> Vec<ActionRow> {
    events
        .iter()
        .filter(|e| e.kind == "action_finished")
        .map(|e| ActionRow {
            action: text(&e.detail["action"]),
            stage: text(&e.detail["stage"]),
            problem: e.detail["problem"].as_str().map(str::to_owned),
        })
        .collect()
}

/// What the rollback frame tells: who asked, why, from where, and how long it took.
#[derive(Clone, Debug, Serialize)]
pub struct RollbackRow {
    pub by: String,
    pub reason: String,
    pub stage: String,
    pub restore: Option<String>,
}

pub fn rollback(events: &[ExportedEvent]) -> Option<RollbackRow> {
    let started = events.iter().find(|e| e.kind == "rollback_started")?;
    let restore = events
        .iter()
        .find(|e| e.kind == "rolled_back")
        .and_then(|e| e.detail["restore_secs"].as_i64())
        .map(|secs| crate::domain::stats::span(chrono::TimeDelta::seconds(secs)));
    Some(RollbackRow {
        by: text(&started.detail["by"]),
        reason: text(&started.detail["reason"]),
        stage: text(&started.detail["stage"]),
        restore,
    })
}

/// Who claimed on call, by the last claim.
pub fn on_call(events: &[ExportedEvent]) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| e.kind == "on_call_claimed")
        .map(|e| text(&e.detail["by"]))
}

/// What ends a stage's or the verification's bar.
const STEPS: [&str; 5] = [
    "stage_started",
    "verification_started",
    "rollback_started",
    "completed",
    "cancelled",
];

/// The timeline's bars: each stage until the next step, the verification until it ended,
/// halts until resumed, and the rollback until it was confirmed. The first stage starts with
/// the deploy, under the name `first_stage`.
pub fn spans(events: &[ExportedEvent], first_stage: &str) -> Vec<Span> {
    let timed: Vec<(DateTime<Utc>, &ExportedEvent)> =
        events.iter().filter_map(|e| Some((at(e)?, e))).collect();
    let Some(&(last, _)) = timed.last() else {
        return Vec::new();
    };
    let ends_after = |from: usize, kinds: &[&str]| {
        timed[from + 1..]
            .iter()
            .find(|(_, e)| kinds.contains(&e.kind.as_str()))
            .map_or(last, |(at, _)| *at)
    };
    let mut spans = Vec::new();
    for (i, (start, event)) in timed.iter().enumerate() {
        let (label, kind, end) = match event.kind.as_str() {
            "deploy_started" => (
                first_stage.to_owned(),
                SpanKind::Stage,
                ends_after(i, &STEPS),
            ),
            "stage_started" => (
                text(&event.detail["stage"]),
                SpanKind::Stage,
                ends_after(i, &STEPS),
            ),
            "verification_started" => {
                ("verify".to_owned(), SpanKind::Verify, ends_after(i, &STEPS))
            }
            "halted" => (
                "halted".to_owned(),
                SpanKind::Halted,
                ends_after(i, &["resumed", "rollback_started"]),
            ),
            "rollback_started" => (
                "rollback".to_owned(),
                SpanKind::RollingBack,
                ends_after(i, &["rolled_back"]),
            ),
            _ => continue,
        };
        spans.push(Span {
            label,
            kind,
            start: *start,
            end,
        });
    }
    spans
}

/// The gates' healthy readings, which `gates_read` events record.
pub fn gate_points(events: &[ExportedEvent]) -> (Vec<GatePoint>, Option<f64>) {
    let mut baseline = None;
    let points = events
        .iter()
        .filter(|e| e.kind == "gates_read")
        .filter_map(|e| {
            let p99 = number(&e.detail["p99"], " ms");
            if e.detail["baseline"] == true {
                baseline = baseline.or(p99);
            }
            Some(GatePoint {
                at: at(e)?,
                error_rate: number(&e.detail["error_rate"], "%"),
                p99_ms: p99,
            })
        })
        .collect();
    (points, baseline)
}

/// A reading as the audit trail writes it, like `0.40%` or `120 ms`, as a number.
fn number(value: &serde_json::Value, unit: &str) -> Option<f64> {
    value
        .as_str()?
        .trim()
        .strip_suffix(unit)?
        .trim()
        .parse()
        .ok()
}

fn at(event: &ExportedEvent) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&event.at)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;
    use serde_json::json;

    use super::*;

    fn event(id: i64, kind: &str, detail: serde_json::Value, minute: i64) -> ExportedEvent {
        let mut detail = detail;
        detail["event"] = json!(kind);
        ExportedEvent {
            id,
            release_id: Some(1),
            actor_id: None,
            kind: kind.into(),
            detail,
            at: format!("2026-03-02T10:{minute:02}:00.000Z"),
            hash: format!("h{id}"),
        }
    }

    fn rollout() -> Vec<ExportedEvent> {
        vec![
            event(1, "planned", json!({}), 0),
            event(2, "vote_cast", json!({"choice": "go"}), 1),
            event(3, "approved", json!({}), 1),
            event(4, "deploy_started", json!({"by": "Dee"}), 2),
            event(
                5,
                "action_finished",
                json!({"action": "deploy", "stage": "canary"}),
                2,
            ),
            event(6, "halted", json!({"by": "Remy"}), 5),
            event(7, "resumed", json!({"by": "Remy"}), 8),
            event(8, "stage_started", json!({"stage": "10%"}), 12),
            event(9, "verification_started", json!({}), 20),
            event(
                10,
                "gates_read",
                json!({"error_rate": "0.40%", "p99": "120 ms", "baseline": true}),
                21,
            ),
            event(
                11,
                "gates_read",
                json!({"error_rate": "0.10%", "p99": "4.5 ms", "baseline": false}),
                22,
            ),
            event(
                12,
                "rollback_started",
                json!({"by": "Remy", "reason": "errors up", "stage": "10%"}),
                25,
            ),
            event(
                13,
                "action_finished",
                json!({"action": "rollback", "stage": "10%", "problem": null}),
                26,
            ),
            event(14, "rolled_back", json!({"restore_secs": 90}), 26),
            event(15, "retrospective_filed", json!({"by": "Remy"}), 30),
        ]
    }

    #[test]
    fn each_event_belongs_to_the_frame_it_happened_in() {
        let frames = frames(&rollout(), Some("card"), Some("thread"));
        let ids = |key: &str| -> Vec<i64> {
            frames
                .iter()
                .find(|f| f.key == key)
                .unwrap()
                .events
                .iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(ids("plan"), [1]);
        assert_eq!(ids("approval"), [2, 3]);
        assert_eq!(ids("release"), [4, 5, 6, 7, 8]);
        assert_eq!(ids("verify"), [9, 10, 11]);
        assert_eq!(ids("rollback"), [12, 13, 14]);
        let links: Vec<Option<String>> = frames.iter().map(|f| f.discord.clone()).collect();
        assert_eq!(links[0].as_deref(), Some("card"));
        assert_eq!(links[1].as_deref(), Some("card"));
        assert_eq!(links[4].as_deref(), Some("thread"));
    }

    #[test]
    fn each_bar_lasts_until_the_step_that_ends_it() {
        let bars: Vec<(String, SpanKind, i64, i64)> = spans(&rollout(), "canary")
            .into_iter()
            .map(|s| {
                (
                    s.label,
                    s.kind,
                    s.start.minute().into(),
                    s.end.minute().into(),
                )
            })
            .collect();
        assert_eq!(
            bars,
            [
                ("canary".to_owned(), SpanKind::Stage, 2, 12),
                ("halted".to_owned(), SpanKind::Halted, 5, 8),
                ("10%".to_owned(), SpanKind::Stage, 12, 20),
                ("verify".to_owned(), SpanKind::Verify, 20, 25),
                ("rollback".to_owned(), SpanKind::RollingBack, 25, 26),
            ]
        );
        assert!(spans(&rollout()[..3], "canary").is_empty(), "not deployed");
    }

    #[test]
    fn the_readings_and_the_rollback_are_read_back_from_their_events() {
        let (points, baseline) = gate_points(&rollout());
        let read: Vec<(Option<f64>, Option<f64>)> =
            points.iter().map(|p| (p.error_rate, p.p99_ms)).collect();
        assert_eq!(read, [(Some(0.4), Some(120.0)), (Some(0.1), Some(4.5))]);
        assert_eq!(baseline, Some(120.0));
        let rollback = rollback(&rollout()).unwrap();
        assert_eq!(
            (
                rollback.by.as_str(),
                rollback.reason.as_str(),
                rollback.stage.as_str()
            ),
            ("Remy", "errors up", "10%")
        );
        assert_eq!(rollback.restore.as_deref(), Some("1m"));
        assert!(super::rollback(&rollout()[..11]).is_none());
        let actions = actions(&rollout());
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[1].action, "rollback");
    }
}
