//! The metric gates' readings during a rollout, with the thresholds that would roll it back.

use chrono::{DateTime, Utc};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{empty, failed, svg, CALM, GRID, INK, NO_GO};

/// One reading of the gates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatePoint {
    pub at: DateTime<Utc>,
    /// The error rate, in percent.
    pub error_rate: Option<f64>,
    /// The p99 latency, in milliseconds.
    pub p99_ms: Option<f64>,
}

/// Where the gates roll a release back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateThresholds {
    /// The highest error rate, in percent.
    pub max_error_rate: f64,
    /// The p99 taken before the first stage, in milliseconds, if there was one…
    pub baseline_ms: Option<f64>,
    /// …and how far above it the p99 may rise.
    pub max_latency_ratio: f64,
}

const SIZE: (u32, u32) = (720, 240);

/// The error rate and p99 charts side by side, each with its threshold drawn; a note when
/// the gates read nothing for this release.
pub fn gate_readings(points: &[GatePoint], limits: &GateThresholds) -> Result<String, String> {
    svg(SIZE, |root| {
        let Some(origin) = points.iter().map(|p| p.at).min() else {
            return empty(root, "Metric gates", "No readings");
        };
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let minutes = |at: DateTime<Utc>| {
            #[expect(clippy::cast_precision_loss, reason = "seconds of a rollout")]
            let m = (at - origin).num_seconds() as f64 / 60.0;
            m
        };
        let errors: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((minutes(p.at), p.error_rate?)))
            .collect();
        let latencies: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((minutes(p.at), p.p99_ms?)))
            .collect();
        let p99_limit = limits.baseline_ms.map(|b| b * limits.max_latency_ratio);
        pane(
            &left,
            "Error rate (%)",
            &errors,
            Some(limits.max_error_rate),
        )?;
        pane(&right, "p99 latency (ms)", &latencies, p99_limit)
    })
}

/// One measure's line, with its threshold as a red line across.
fn pane(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    caption: &str,
    line: &[(f64, f64)],
    limit: Option<f64>,
) -> Result<(), String> {
    if line.is_empty() {
        return empty(area, caption, "Not measured");
    }
    let last = line.iter().map(|p| p.0).fold(1.0, f64::max);
    let top = line
        .iter()
        .map(|p| p.1)
        .chain(limit)
        .fold(0.0_f64, f64::max)
        .max(0.01)
        * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 14).into_font().color(&INK))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..last, 0.0..top)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc("minutes")
        .x_label_formatter(&|m| format!("{m:.0}"))
        .label_style(("sans-serif", 11).into_font().color(&INK))
        .draw()
        .map_err(failed)?;
    chart
        .draw_series(LineSeries::new(line.iter().copied(), CALM.stroke_width(2)))
        .map_err(failed)?;
    chart
        .draw_series(line.iter().map(|&p| Circle::new(p, 3, CALM.filled())))
        .map_err(failed)?;
    if let Some(limit) = limit {
        chart
            .draw_series(LineSeries::new(
                [(0.0, limit), (last, limit)],
                NO_GO.stroke_width(1),
            ))
            .map_err(failed)?;
    }
    Ok(())
}
