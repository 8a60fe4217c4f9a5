//! The four DORA figures week by week: deployments as bars, the others as lines.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{empty, failed, png, svg, CALM, GO, GRID, HOLD, INK, NO_GO};
use crate::domain::stats::Week;

/// One figure's chart, with the title the page shows above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrendChart {
    pub title: &'static str,
    pub svg: String,
}

#[derive(Clone, Copy)]
enum Figure {
    Deployments,
    LeadTime,
    FailureRate,
    Restore,
}

const FIGURES: [Figure; 4] = [
    Figure::Deployments,
    Figure::LeadTime,
    Figure::FailureRate,
    Figure::Restore,
];

impl Figure {
    fn title(self) -> &'static str {
        match self {
            Figure::Deployments => "Deployments per week",
            Figure::LeadTime => "Median lead time (hours)",
            Figure::FailureRate => "Change failure rate (%)",
            Figure::Restore => "Median time to restore (minutes)",
        }
    }

    #[expect(clippy::cast_precision_loss, reason = "counts and spans of releases")]
    fn value(self, week: &Week) -> Option<f64> {
        match self {
            Figure::Deployments => Some(week.deployments as f64),
            Figure::LeadTime => week.lead_time.map(|t| t.num_seconds() as f64 / 3_600.0),
            Figure::FailureRate => week.failure_rate.map(|rate| rate * 100.0),
            Figure::Restore => week.restore.map(|t| t.num_seconds() as f64 / 60.0),
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            Figure::Deployments => CALM,
            Figure::LeadTime => GO,
            Figure::FailureRate => NO_GO,
            Figure::Restore => HOLD,
        }
    }
}

const PANEL: (u32, u32) = (480, 220);

/// Each figure's weekly chart as SVG.
pub fn trend_charts(weeks: &[Week]) -> Result<Vec<TrendChart>, String> {
    FIGURES
        .into_iter()
        .map(|figure| {
            Ok(TrendChart {
                title: figure.title(),
                svg: svg(PANEL, |root| panel(root, figure, weeks))?,
            })
        })
        .collect()
}

/// The four charts in a 2×2 grid as one PNG, for `/release stats` in Discord.
pub fn trend_png(weeks: &[Week]) -> Result<Vec<u8>, String> {
    png((PANEL.0 * 2, PANEL.1 * 2), |root| {
        for (area, figure) in root.split_evenly((2, 2)).iter().zip(FIGURES) {
            panel(area, figure, weeks)?;
        }
        Ok(())
    })
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: Figure,
    weeks: &[Week],
) -> Result<(), String> {
    let values: Vec<(usize, f64)> = weeks
        .iter()
        .enumerate()
        .filter_map(|(i, week)| Some((i, figure.value(week)?)))
        .collect();
    if weeks.is_empty() {
        return empty(area, figure.title(), "No weeks");
    }
    let top = values.iter().map(|v| v.1).fold(0.0_f64, f64::max).max(1.0) * 1.15;
    #[expect(clippy::cast_precision_loss, reason = "weeks of a period")]
    let x = |i: usize| i as f64;
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| w.ends.format("%b %d").to_string())
        .collect();
    let mut chart = ChartBuilder::on(area)
        .caption(figure.title(), ("sans-serif", 13).into_font().color(&INK))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(40)
        .build_cartesian_2d(-0.5..x(weeks.len()) - 0.5, 0.0..top)
        .map_err(failed)?;
    let label_of = |at: &f64| {
        let index = at.round();
        if (at - index).abs() > 0.01 || index < 0.0 {
            return String::new();
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked"
        )]
        let index = index as usize;
        labels.get(index).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_labels(weeks.len().min(6))
        .x_label_formatter(&label_of)
        .label_style(("sans-serif", 10).into_font().color(&INK))
        .draw()
        .map_err(failed)?;
    let colour = figure.colour();
    if matches!(figure, Figure::Deployments) {
        chart
            .draw_series(values.iter().map(|&(i, v)| {
                Rectangle::new([(x(i) - 0.35, 0.0), (x(i) + 0.35, v)], colour.filled())
            }))
            .map_err(failed)?;
        return Ok(());
    }
    chart
        .draw_series(LineSeries::new(
            values.iter().map(|&(i, v)| (x(i), v)),
            colour.stroke_width(2),
        ))
        .map_err(failed)?;
    chart
        .draw_series(
            values
                .iter()
                .map(|&(i, v)| Circle::new((x(i), v), 3, colour.filled())),
        )
        .map_err(failed)?;
    Ok(())
}
