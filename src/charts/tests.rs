use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};

use super::*;
use crate::domain::stats::Week;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

/// The texts a chart's SVG shows.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let (_, rest) = t.split_once('>')?;
            Some(rest.split("</text>").next()?.trim().to_owned())
        })
        .collect()
}

fn span(label: &str, kind: SpanKind, from: i64, to: i64) -> Span {
    Span {
        label: label.into(),
        kind,
        start: at(from),
        end: at(to),
    }
}

#[test]
fn the_timeline_draws_a_labelled_bar_for_each_span() {
    let svg = stage_timeline(&[
        span("canary", SpanKind::Stage, 0, 30),
        span("verify", SpanKind::Verify, 30, 100),
        span("rollback", SpanKind::RollingBack, 100, 101),
    ])
    .unwrap();
    let shown = texts(&svg);
    for label in ["canary", "verify", "rollback", "Stages"] {
        assert!(shown.iter().any(|t| t == label), "{label} in {shown:?}");
    }
    let bars = svg.matches("<rect").count();
    let empty = stage_timeline(&[]).unwrap();
    assert!(empty.contains("Not rolled out"), "{empty}");
    assert!(bars >= 3 + empty.matches("<rect").count(), "{svg}");
}

#[test]
fn text_in_a_chart_is_escaped() {
    let svg = stage_timeline(&[span("<b>&", SpanKind::Stage, 0, 1)]).unwrap();
    assert!(texts(&svg).iter().any(|t| t == "&lt;b&gt;&amp;"), "{svg}");
    assert!(!svg.contains("<b>"));
}

#[test]
fn the_gates_chart_draws_each_measure_beside_its_threshold() {
    let limits = GateThresholds {
        max_error_rate: 1.0,
        baseline_ms: Some(100.0),
        max_latency_ratio: 2.0,
    };
    let point = |m, error_rate, p99_ms| GatePoint {
        at: at(m),
        error_rate,
        p99_ms,
    };
    let both = gate_readings(
        &[
            point(0, Some(0.2), Some(100.0)),
            point(5, Some(0.4), Some(120.0)),
        ],
        &limits,
    )
    .unwrap();
    assert!(both.contains("Error rate (%)") && both.contains("p99 latency (ms)"));
    assert!(!both.contains("Not measured"), "{both}");
    // The p99 threshold, twice the 100 ms baseline, sets the top of its scale.
    let labels = texts(&both);
    assert!(labels.iter().any(|t| t.starts_with("200")), "{labels:?}");
    let errors_only = gate_readings(&[point(0, Some(0.2), None)], &limits).unwrap();
    assert!(errors_only.contains("Not measured"), "{errors_only}");
    assert!(gate_readings(&[], &limits).unwrap().contains("No readings"));
}

fn weeks() -> Vec<Week> {
    (0..4)
        .map(|i| Week {
            ends: at(0) + TimeDelta::weeks(i),
            deployments: usize::try_from(i).unwrap(),
            lead_time: Some(TimeDelta::hours(i + 1)),
            failure_rate: (i > 1).then_some(0.5),
            restore: None,
        })
        .collect()
}

#[test]
fn the_trends_are_four_charts_and_one_png_of_them() {
    let charts = trend_charts(&weeks()).unwrap();
    let titles: Vec<&str> = charts.iter().map(|c| c.title).collect();
    assert_eq!(
        titles,
        [
            "Deployments per week",
            "Median lead time (hours)",
            "Change failure rate (%)",
            "Median time to restore (minutes)"
        ]
    );
    assert!(charts.iter().all(|c| c.svg.starts_with("<svg")));
    let labels = texts(&charts[0].svg);
    assert!(
        labels.iter().any(|t| t == "Mar 09"),
        "weeks are labelled by their end: {labels:?}"
    );
    let png = trend_png(&weeks()).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let size = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    assert_eq!((size(16), size(20)), (960, 440));
    assert!(trend_charts(&[]).unwrap()[0].svg.contains("No weeks"));
}
