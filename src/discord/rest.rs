//! A thin REST client for the outbox: channel posts, edits and threads, with the status and
//! `Retry-After` of every failure kept, since the outbox itself handles rate limits.

use std::time::Duration;

use anyhow::Context as _;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// Discord's REST API version.
const API: &str = "/api/v10";

/// Why a request failed, in the terms the outbox decides on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RestError {
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    #[error("Discord answered {status}")]
    Server { status: u16 },
    #[error("Discord refused the request ({status}, code {code}): {message}")]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("Cannot reach Discord: {0}")]
    Network(String),
}

/// Discord's code for "a thread has already been created for this message".
pub const THREAD_ALREADY_CREATED: i64 = 160_004;

#[derive(Clone, Debug)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    authorization: String,
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
        })
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

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Value, RestError> {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.authorization)
            .json(body)
            .send()
            .await
            .map_err(|e| RestError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let retry_after = retry_after_header(&response);
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
                let wait = retry_after.or_else(|| body_secs.map(Duration::from_secs_f64));
                RestError::RateLimited(wait.unwrap_or(Duration::from_secs(1)))
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

/// `Retry-After` in seconds; Discord may send a fraction.
fn retry_after_header(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

fn snowflake(object: &Value) -> Result<u64, RestError> {
    object
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| RestError::Network("Discord's answer has no id".to_owned()))
}
