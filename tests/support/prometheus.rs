//! A real Prometheus on loopback, scraping a tiny exporter the test controls, and a recorded
//! Prometheus that gives canned API answers (an error, an empty vector, NaN).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use gonogo::prometheus::{MetricReader as _, Prometheus as Reader};

use super::process::{free_loopback_addr, loopback_client};
use super::wait::{is, wait_until_within};

/// The queries the gates run in these tests: the exporter's gauges as they are.
pub const ERROR_RATE_QUERY: &str = "gonogo_test_error_ratio";
pub const LATENCY_QUERY: &str = "gonogo_test_latency_p99_seconds";

/// The `[gates]` section that watches the exporter's gauges through `prometheus_url`, a
/// look every `check_every`, with the contract's default thresholds.
pub fn gates_section(prometheus_url: &str, check_every: &str) -> String {
    format!(
        r#"
[gates]
prometheus_url = "{prometheus_url}"
error_rate_query = "{ERROR_RATE_QUERY}"
latency_p99_query = "{LATENCY_QUERY}"
max_error_rate = 0.01
max_latency_ratio = 2.0
check_every = "{check_every}"
"#
    )
}

/// How long a test waits for Prometheus to start or to scrape a new value.
const PATIENCE: Duration = Duration::from_secs(30);

/// An exporter serving two gauges whose values the test sets.
#[derive(Clone)]
pub struct Exporter {
    pub addr: SocketAddr,
    values: Arc<Mutex<(f64, f64)>>,
}

impl Exporter {
    pub async fn start(error_rate: f64, p99_seconds: f64) -> Exporter {
        let values = Arc::new(Mutex::new((error_rate, p99_seconds)));
        let served = values.clone();
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let (error_rate, p99) = *served.lock().expect("exporter values");
                async move {
                    format!(
                        "# TYPE {ERROR_RATE_QUERY} gauge\n{ERROR_RATE_QUERY} {error_rate}\n\
                         # TYPE {LATENCY_QUERY} gauge\n{LATENCY_QUERY} {p99}\n"
                    )
                }
            }),
        );
        let addr = serve(app).await;
        Exporter { addr, values }
    }

    pub fn set(&self, error_rate: f64, p99_seconds: f64) {
        *self.values.lock().expect("exporter values") = (error_rate, p99_seconds);
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Debian's `prometheus`, run from a temporary directory, scraping `exporter` every second.
pub struct Prometheus {
    pub url: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub async fn start(exporter: &Exporter) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{}']\n",
                exporter.addr
            ),
        )
        .expect("write prometheus.yml");
        let listen = free_loopback_addr();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `prometheus` ({e}): the metric gate tests need Debian's \
                     prometheus package (`apt-get install prometheus`), which .ci/run installs"
                )
            });
        let prometheus = Prometheus {
            url: format!("http://{listen}"),
            child: Some(child),
            _dir: dir,
        };
        let http = loopback_client();
        let ready = format!("{}/-/ready", prometheus.url);
        wait_until_within(PATIENCE, "Prometheus to be ready", || async {
            match http.get(&ready).send().await {
                Ok(answer) => is(answer.status().is_success(), &true),
                Err(_) => Err(false),
            }
        })
        .await;
        prometheus
    }

    /// Waits until Prometheus answers `query` with `expected`: it has scraped the value.
    pub async fn wait_value(&self, query: &str, expected: f64) {
        // Read as the metric gates read it.
        let reader = Reader::new(&self.url);
        let what = format!("Prometheus to read {query} = {expected}");
        wait_until_within(PATIENCE, &what, || async {
            match reader.read(query).await {
                Ok(value) if (value - expected).abs() < 1e-9 => Ok(()),
                seen => Err(seen),
            }
        })
        .await;
    }

    /// Stops the server, as an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Prometheus that answers every instant query with one recorded body.
pub struct Recorded {
    pub url: String,
    body: Arc<Mutex<String>>,
}

/// Prometheus's answer to a query it cannot parse.
pub const ANSWER_ERROR: &str = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: unexpected end of input"}"#;
/// Prometheus's answer to a query that matches no series.
pub const ANSWER_EMPTY: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
/// Prometheus's answer to a ratio over no traffic, 0/0.
pub const ANSWER_NAN: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1772445600.123,"NaN"]}]}}"#;

impl Recorded {
    pub async fn start(body: &str) -> Recorded {
        let body = Arc::new(Mutex::new(body.to_owned()));
        let served = body.clone();
        let app = Router::new().route(
            "/api/v1/query",
            get(move || {
                let body = served.lock().expect("recorded body").clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let addr = serve(app).await;
        Recorded {
            url: format!("http://{addr}"),
            body,
        }
    }

    /// Answers with `body` from now on.
    pub fn answer(&self, body: &str) {
        body.clone_into(&mut self.body.lock().expect("recorded body"));
    }
}

/// A healthy recorded answer with `value`.
pub fn answer_value(value: f64) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1772445600.123,"{value}"]}}]}}}}"#
    )
}
