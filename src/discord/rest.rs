//! A thin REST client for the outbox: channel posts, edits and threads, with the status and
//! `Retry-After` of every failure kept, since the outbox itself handles rate limits.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::buckets::{self, clamped_wait, Buckets, Reading};
use crate::clock::Clock;
use crate::service::DiscordAnswers;

/// Discord's REST API version.
const API: &str = "/api/v10";

/// Why a request failed, in the terms the outbox decides on. Each says what happened in
/// words an operator reads in `/release status`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RestError {
    /// A 429: wait this long; `global` pauses every request, not just this route's.
    #[error("Discord rate limited it for {wait:?}{}", if *global { " (global)" } else { "" })]
    RateLimited { wait: Duration, global: bool },
    #[error("Discord answered {status}")]
    Server { status: u16 },
    #[error("Discord says {message} ({status}, code {code})")]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("Discord cannot be reached: {0}")]
    Network(String),
}

/// Discord's code for "a thread has already been created for this message".
pub const THREAD_ALREADY_CREATED: i64 = 160_004;

#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    authorization: String,
    answers: Option<Arc<DiscordAnswers>>,
    buckets: Option<Buckets>,
    pace: Arc<GlobalPace>,
}

/// Discord's global limit is 50 requests a second per bot; gonogo keeps under it with room.
const GLOBAL_PER_SECOND: u32 = 45;

/// Spaces requests evenly, one per 1/[`GLOBAL_PER_SECOND`] of a second, so no second ever
/// holds more than that, however they bunch up on their way. Real time: this paces the wire,
/// which Discord times.
#[derive(Debug, Default)]
struct GlobalPace {
    next_slot: Mutex<Option<Instant>>,
}

impl GlobalPace {
    /// Waits for this request's slot.
    async fn take(&self) {
        let spacing = Duration::from_secs(1) / GLOBAL_PER_SECOND;
        let slot = {
            let Ok(mut next_slot) = self.next_slot.lock() else {
                return;
            };
            let slot = next_slot.map_or_else(Instant::now, |next| next.max(Instant::now()));
            *next_slot = Some(slot + spacing);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// The token stays out of logs: `Debug` shows where requests go, never the header.
impl fmt::Debug for Rest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rest")
            .field("base", &self.base)
            .field("authorization", &"Bot [redacted]")
            .finish_non_exhaustive()
    }
}

impl Rest {
    pub fn new(api_base: &str, token: &str) -> anyhow::Result<Rest> {
        let authorization = if token.starts_with("Bot ") {
            token.to_owned()
        } else {
            format!("Bot {token}")
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!(
                "DiscordBot (gonogo, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .context("Cannot build the HTTP client for Discord")?;
        Ok(Rest {
            client,
            base: format!("{}{API}", api_base.trim_end_matches('/')),
            authorization,
            answers: None,
            buckets: None,
            pace: Arc::default(),
        })
    }

    /// Keeps Discord's rate limit buckets, timed on `clock`, and sends nothing into one that
    /// is empty.
    #[must_use]
    pub fn pacing(mut self, clock: Arc<dyn Clock>) -> Rest {
        self.buckets = Some(Buckets::new(clock));
        self
    }

    /// Counts Discord's 401, 403 and 429 answers into `answers`.
    #[must_use]
    pub fn counting(mut self, answers: Arc<DiscordAnswers>) -> Rest {
        self.answers = Some(answers);
        self
    }

    /// Posts a message and returns its id.
    pub async fn create_message(
        &self,
        channel: u64,
        body: &impl Serialize,
    ) -> Result<u64, RestError> {
        let created = self
            .send(Method::POST, &format!("/channels/{channel}/messages"), body)
            .await?;
        snowflake(&created)
    }

    pub async fn edit_message(
        &self,
        channel: u64,
        message: u64,
        body: &impl Serialize,
    ) -> Result<(), RestError> {
        self.send(
            Method::PATCH,
            &format!("/channels/{channel}/messages/{message}"),
            body,
        )
        .await
        .map(drop)
    }

    /// Starts a thread on a message and returns the thread's id.
    pub async fn start_thread(
        &self,
        channel: u64,
        message: u64,
        body: &impl Serialize,
    ) -> Result<u64, RestError> {
        let created = self
            .send(
                Method::POST,
                &format!("/channels/{channel}/messages/{message}/threads"),
                body,
            )
            .await?;
        snowflake(&created)
    }

    /// The newest messages of a channel, newest first.
    pub async fn recent_messages(&self, channel: u64, limit: u8) -> Result<Vec<Value>, RestError> {
        let path = format!("/channels/{channel}/messages?limit={limit}");
        let listed = self.request(Method::GET, &path, None).await?;
        Ok(match listed {
            Value::Array(messages) => messages,
            _ => Vec::new(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Value, RestError> {
        let body = serde_json::to_value(body)
            .map_err(|e| RestError::Network(format!("cannot encode the request: {e}")))?;
        self.request(method, path, Some(body)).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, RestError> {
        let route = buckets::route(method.as_str(), path.split('?').next().unwrap_or(path));
        if let Some(wait) = self.buckets.as_ref().and_then(|b| b.wait_for(&route)) {
            // Known to be refused: not sent, so it costs nothing against the invalid-request limit.
            return Err(RestError::RateLimited {
                wait,
                global: false,
            });
        }
        self.pace.take().await;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.authorization);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| RestError::Network(e.without_url().to_string()))?;
        let status = response.status();
        if let Some(answers) = &self.answers {
            answers.count(status.as_u16());
        }
        if let (Some(buckets), Some(reading)) = (&self.buckets, bucket_reading(&response)) {
            buckets.record(&route, reading);
        }
        let retry_after = retry_after_header(&response);
        let global_header = response.headers().contains_key("x-ratelimit-global");
        let text = response
            .text()
            .await
            .map_err(|e| RestError::Network(e.without_url().to_string()))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let body_secs = json.get("retry_after").and_then(Value::as_f64);
                let global =
                    global_header || json.get("global").and_then(Value::as_bool) == Some(true);
                RestError::RateLimited {
                    wait: clamped_wait(retry_after.or(body_secs).unwrap_or(1.0)),
                    global,
                }
            }
            s if s.is_server_error() => RestError::Server { status: s.as_u16() },
            s => RestError::Refused {
                status: s.as_u16(),
                code: json.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: json
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
        })
    }
}

/// What `X-RateLimit-Bucket`, `-Remaining` and `-Reset-After` say, when all three are there.
fn bucket_reading(response: &reqwest::Response) -> Option<Reading> {
    let header = |name: &str| response.headers().get(name)?.to_str().ok();
    Some(Reading {
        bucket: header("x-ratelimit-bucket")?.to_owned(),
        remaining: header("x-ratelimit-remaining")?.trim().parse().ok()?,
        reset_after_secs: header("x-ratelimit-reset-after")?.trim().parse().ok()?,
    })
}

/// `Retry-After` in seconds; Discord may send a fraction.
fn retry_after_header(response: &reqwest::Response) -> Option<f64> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse().ok()
}

fn snowflake(object: &Value) -> Result<u64, RestError> {
    object
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| RestError::Network("Discord's answer has no id".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug() {
        let rest = Rest::new("http://127.0.0.1:9", "secret-token-value").unwrap();
        let shown = format!("{rest:?}");
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(shown.contains("127.0.0.1:9"), "{shown}");
    }

    #[test]
    fn failures_read_as_what_happened() {
        let refused = RestError::Refused {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into(),
        };
        assert_eq!(
            refused.to_string(),
            "Discord says Missing Permissions (403, code 50013)"
        );
        let global = RestError::RateLimited {
            wait: Duration::from_secs(2),
            global: true,
        };
        assert_eq!(
            global.to_string(),
            "Discord rate limited it for 2s (global)"
        );
    }
}
