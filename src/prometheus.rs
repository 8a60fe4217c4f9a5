//! The metric gates' door to Prometheus: instant queries over its HTTP API. Anything but a
//! number in the answer is reported as no reading, never as a healthy one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::gates::{Gates, Look, Reading};

/// A look that takes longer than this is no reading: the timers it holds up are due.
const PATIENCE: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Prometheus {
    http: reqwest::Client,
    url: String,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Sample>),
    Scalar((f64, String)),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Sample {
    value: (f64, String),
}

/// Where the metric gates read a value: one instant query, answered with a number or with
/// why there is none.
pub trait MetricReader: Send + Sync {
    /// The value of `query` now; the worst one when it returns several series.
    fn read<'a>(
        &'a self,
        query: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<f64, String>> + Send + 'a>>;
}

/// Reads every query the gates have.
pub async fn look(reader: &dyn MetricReader, gates: &Gates) -> Look {
    let error_rate = match &gates.error_rate_query {
        Some(query) => Some(reader.read(query).await?),
        None => None,
    };
    let p99 = match &gates.latency_p99_query {
        Some(query) => Some(reader.read(query).await?),
        None => None,
    };
    Reading::of(error_rate, p99)
}

impl MetricReader for Prometheus {
    fn read<'a>(
        &'a self,
        query: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<f64, String>> + Send + 'a>> {
        Box::pin(self.query(query))
    }
}

impl Prometheus {
    /// A client of the Prometheus server at `url`, like `http://127.0.0.1:9090`.
    pub fn new(url: &str) -> Prometheus {
        Prometheus {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    async fn query(&self, query: &str) -> Result<f64, String> {
        let url = format!("{}/api/v1/query", self.url);
        let response = self
            .http
            .get(&url)
            .timeout(PATIENCE)
            .query(&[("query", query)])
            .send()
            .await
            .map_err(|e| format!("Prometheus at {} did not answer: {e}", self.url))?;
        let status = response.status();
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| format!("Prometheus answered {status} with no readable body: {e}"))?;
        if answer.status != "success" {
            return Err(format!(
                "Prometheus refused the query `{query}`: {}: {}",
                answer.error_type.unwrap_or_default(),
                answer.error.unwrap_or_default()
            ));
        }
        let values: Vec<String> = match answer.data {
            Some(Data::Vector(samples)) => samples.into_iter().map(|s| s.value.1).collect(),
            Some(Data::Scalar((_, value))) => vec![value],
            Some(Data::Other) | None => {
                return Err(format!(
                    "the query `{query}` did not give an instant vector or a scalar"
                ))
            }
        };
        let mut worst: Option<f64> = None;
        for text in values {
            let value: f64 = text
                .parse()
                .map_err(|_| format!("the query `{query}` answered `{text}`, not a number"))?;
            if value.is_nan() {
                return Err(format!("the query `{query}` answered NaN"));
            }
            worst = Some(worst.map_or(value, |w| w.max(value)));
        }
        worst.ok_or_else(|| format!("the query `{query}` matched no series"))
    }
}
