//! The stage timeline: one bar per stage, verification, halt and rollback, along the time
//! since the rollout started.

use chrono::{DateTime, Utc};
use plotters::prelude::*;

use super::{empty, failed, svg, CALM, GO, GRID, HOLD, INK, NO_GO};

/// What a bar stands for, which sets its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Stage,
    Verify,
    Halted,
    RollingBack,
}

/// One bar of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub label: String,
    pub kind: SpanKind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

const SIZE: (u32, u32) = (720, 240);

/// The timeline of `spans` as SVG; a note when the release never rolled out.
pub fn stage_timeline(spans: &[Span]) -> Result<String, String> {
    svg(SIZE, |root| {
        let Some(origin) = spans.iter().map(|s| s.start).min() else {
            return empty(root, "Stages", "Not rolled out");
        };
        let minutes = |at: DateTime<Utc>| minutes_between(origin, at);
        let last = spans.iter().map(|s| minutes(s.end)).fold(1.0, f64::max);
        let rows = spans.len();
        let mut chart = ChartBuilder::on(root)
            .caption("Stages", ("sans-serif", 14).into_font().color(&INK))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(8)
            .build_cartesian_2d(0.0..last * 1.05, 0.0..as_f64(rows))
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_desc("minutes since the rollout started")
            .x_label_formatter(&|m| minutes_label(*m, last))
            .label_style(("sans-serif", 11).into_font().color(&INK))
            .draw()
            .map_err(failed)?;
        for (row, span) in spans.iter().enumerate() {
            let top = as_f64(rows - row) - 0.15;
            let bottom = top - 0.7;
            let (from, to) = (
                minutes(span.start),
                minutes(span.end).max(minutes(span.start)),
            );
            // A bar of no length is still drawn, so an instant step shows where it happened.
            let to = to.max(from + last * 0.004);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, bottom), (to, top)],
                    colour(span.kind).filled(),
                )))
                .map_err(failed)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    span.label.clone(),
                    (from, top - 0.05),
                    ("sans-serif", 11).into_font().color(&INK),
                )))
                .map_err(failed)?;
        }
        Ok(())
    })
}

/// A tick's minutes: whole on a long timeline, to a tenth on a short one.
fn minutes_label(minutes: f64, last: f64) -> String {
    if last < 10.0 {
        format!("{minutes:.1}")
    } else {
        format!("{minutes:.0}")
    }
}

fn colour(kind: SpanKind) -> ShapeStyle {
    let colour = match kind {
        SpanKind::Stage => CALM,
        SpanKind::Verify => GO,
        SpanKind::Halted => HOLD,
        SpanKind::RollingBack => NO_GO,
    };
    colour.mix(0.55).filled()
}

/// Minutes from `origin` to `at`, to the second.
#[expect(clippy::cast_precision_loss, reason = "seconds of a rollout")]
fn minutes_between(origin: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (at - origin).num_seconds() as f64 / 60.0
}

#[expect(clippy::cast_precision_loss, reason = "a handful of rows")]
fn as_f64(n: usize) -> f64 {
    n as f64
}
