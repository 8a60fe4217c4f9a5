//! The metric gates: a look at the error rate and the p99 latency, judged against the
//! thresholds. No reading is never a pass.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::effect::GateView;

/// The queries and thresholds in force, from `[gates]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gates {
    pub error_rate_query: Option<String>,
    pub latency_p99_query: Option<String>,
    /// A fraction: 0.01 is 1%.
    pub max_error_rate: f64,
    /// How far above the baseline p99 the latency may rise, like 2.0 for twice it.
    pub max_latency_ratio: f64,
    pub check_every: TimeDelta,
}

/// What one look at the metrics read; a measure is `None` when its query is not configured.
/// Kept in whole units (parts per million, microseconds), so a release stays comparable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub error_ppm: Option<i64>,
    pub p99_us: Option<i64>,
}

/// A look at the metrics: a reading, or why there is none.
pub type Look = Result<Reading, String>;

/// What a look means for the release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Healthy(Reading),
    /// A threshold is crossed; the text quotes the reading, the threshold and the query.
    Breach(String),
    /// There is no usable reading; the text says why.
    Blind(String),
}

/// What the gates have seen of one rollout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// The p99 latency read just before the first stage, in microseconds.
    pub baseline_p99_us: Option<i64>,
    /// Whether the baseline was read: the first stage waits for it.
    pub baselined: bool,
    pub last: Option<Reading>,
    pub last_at: Option<DateTime<Utc>>,
    /// Seconds with no look at the metrics, such as gonogo being down, that no progress
    /// notice has reported yet.
    pub unwatched_secs: Option<i64>,
}

/// A baseline under a millisecond is noise: an idle service would breach on any request.
const BASELINE_FLOOR_US: i64 = 1_000;

impl Reading {
    /// The reading of raw query results, refusing values that are not a measurement.
    pub fn of(error_rate: Option<f64>, p99_seconds: Option<f64>) -> Look {
        Ok(Reading {
            error_ppm: error_rate.map(|v| whole(v, "error rate")).transpose()?,
            p99_us: p99_seconds.map(|v| whole(v, "p99 latency")).transpose()?,
        })
    }
}

/// `value` in millionths, if it is a finite, non-negative number.
#[expect(
    clippy::cast_possible_truncation,
    reason = "checked finite and in range"
)]
fn whole(value: f64, what: &str) -> Result<i64, String> {
    if value.is_finite() && (0.0..1e12).contains(&value) {
        Ok((value * 1e6).round() as i64)
    } else {
        Err(format!(
            "the {what} query answered {value}, which is not a measurement"
        ))
    }
}

impl Gates {
    /// Judges `look` against the thresholds; `baseline_p99_us` is the release's baseline.
    pub fn judge(&self, look: &Look, baseline_p99_us: Option<i64>) -> Verdict {
        let reading = match look {
            Ok(reading) => *reading,
            Err(why) => return Verdict::Blind(why.clone()),
        };
        if let Some(query) = &self.error_rate_query {
            let Some(ppm) = reading.error_ppm else {
                return Verdict::Blind("the error rate query gave no reading".to_owned());
            };
            let limit = self.error_limit_ppm();
            if ppm > limit {
                return Verdict::Breach(format!(
                    "error rate {} is above the {} limit (query: {query})",
                    percent(ppm),
                    percent(limit)
                ));
            }
        }
        if let Some(query) = &self.latency_p99_query {
            let Some(us) = reading.p99_us else {
                return Verdict::Blind("the p99 latency query gave no reading".to_owned());
            };
            if let Some(limit) = self.latency_limit_us(baseline_p99_us) {
                if us > limit {
                    return Verdict::Breach(format!(
                        "p99 latency {} is above the {} limit, {}× the baseline {} (query: {query})",
                        millis(us),
                        millis(limit),
                        self.max_latency_ratio,
                        millis(baseline_p99_us.unwrap_or_default()),
                    ));
                }
            }
        }
        Verdict::Healthy(reading)
    }

    #[expect(clippy::cast_possible_truncation, reason = "a fraction from 0 to 1")]
    pub fn error_limit_ppm(&self) -> i64 {
        (self.max_error_rate * 1e6).round() as i64
    }

    /// The p99 above which the release rolls back, once there is a baseline.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "latencies far below 2^52 microseconds"
    )]
    pub fn latency_limit_us(&self, baseline_p99_us: Option<i64>) -> Option<i64> {
        let baseline = baseline_p99_us?.max(BASELINE_FLOOR_US);
        Some((baseline as f64 * self.max_latency_ratio).round() as i64)
    }
}

impl Gates {
    /// The last reading of `watch` beside the thresholds, once there is one.
    pub fn view(&self, watch: &Watch) -> Option<GateView> {
        let (reading, at) = (watch.last?, watch.last_at?);
        let latency = self.latency_p99_query.is_some();
        Some(GateView {
            at: at.timestamp(),
            error_rate: reading.error_ppm.map(percent),
            max_error_rate: self
                .error_rate_query
                .is_some()
                .then(|| percent(self.error_limit_ppm())),
            p99: reading.p99_us.map(millis),
            max_p99: self
                .latency_limit_us(watch.baseline_p99_us)
                .filter(|_| latency)
                .map(millis),
            baseline_p99: watch.baseline_p99_us.filter(|_| latency).map(millis),
        })
    }

    /// Records a healthy `reading` taken at `now`, noting any stretch without a look.
    pub fn record(&self, watch: &mut Watch, reading: Reading, now: DateTime<Utc>) {
        if let Some(last) = watch.last_at {
            let gap = now - last;
            if gap > self.check_every * 2 {
                watch.unwatched_secs = Some(watch.unwatched_secs.unwrap_or(0) + gap.num_seconds());
            }
        }
        watch.last = Some(reading);
        watch.last_at = Some(now);
    }
}

/// Parts per million as a percentage, like `1.25%`.
#[expect(clippy::cast_precision_loss, reason = "parts per million")]
pub fn percent(ppm: i64) -> String {
    format!("{:.2}%", ppm as f64 / 10_000.0)
}

/// Microseconds as milliseconds, like `120 ms` or `4.5 ms`.
#[expect(clippy::cast_precision_loss, reason = "latencies")]
pub fn millis(us: i64) -> String {
    let ms = us as f64 / 1_000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
