//! Sends Ed25519-signed HTTP interactions to the bot's `POST /interactions`, as Discord does.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer as _, SigningKey};
use gonogo::clock::{Clock as _, ManualClock};
use serde_json::Value;

use super::fake_discord::INTERACTION_DEADLINE;

/// Seed of the default key; tests are deterministic.
const SEED: [u8; 32] = *b"gonogo-fake-discord-ed25519-seed";
/// Seed of the key `post_forged` signs with.
const FORGER_SEED: [u8; 32] = *b"gonogo-fake-discord-forger-seed!";

/// The bot's answer to a posted interaction.
#[derive(Clone, Debug)]
pub struct SignedReply {
    pub status: u16,
    /// JSON body; `Null` when empty, a string when not JSON.
    pub body: Value,
    pub elapsed: Duration,
}

/// Holds the application's signing key, like Discord does.
pub struct Signer {
    key: SigningKey,
    http: reqwest::Client,
    /// The clock whose time the signatures carry; the system's when `None`.
    clock: Option<ManualClock>,
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

impl Signer {
    /// A signer with a fixed key (see [`Signer::public_key_hex`]).
    pub fn new() -> Signer {
        Self::from_seed(SEED)
    }

    pub fn from_seed(seed: [u8; 32]) -> Signer {
        Signer {
            key: SigningKey::from_bytes(&seed),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("reqwest client"),
            clock: None,
        }
    }

    /// Signs with the time of `clock`, as the bot under test reads time from it.
    #[must_use]
    pub fn on_clock(mut self, clock: ManualClock) -> Signer {
        self.clock = Some(clock);
        self
    }

    /// The Unix time the next signature carries.
    pub fn now_secs(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock.now().timestamp(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// Posts an interaction signed correctly but `age_secs` ago (negative: in the future).
    pub async fn post_aged(&self, url: &str, body: &Value, age_secs: i64) -> (u16, Value) {
        let r = self
            .send_at(url, body, Some(&self.key), self.now_secs() - age_secs)
            .await;
        (r.status, r.body)
    }

    /// Hex of the public key; configure the bot with it.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// Hex signature of `timestamp + body`, as in `X-Signature-Ed25519`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        sign_with(&self.key, timestamp, body)
    }

    /// Posts a correctly signed interaction. Panics if the bot took longer than Discord's 3 s,
    /// or if a 2xx body is not a valid interaction response (spec and documented limits).
    pub async fn post_interaction(&self, url: &str, body: &Value) -> (u16, Value) {
        let r = self.post_interaction_timed(url, body).await;
        (r.status, r.body)
    }

    /// Like [`Signer::post_interaction`], also returning the elapsed time.
    pub async fn post_interaction_timed(&self, url: &str, body: &Value) -> SignedReply {
        let reply = self.send(url, body, Some(&self.key)).await;
        assert!(
            reply.elapsed <= INTERACTION_DEADLINE,
            "the bot answered the interaction after {:?}, past Discord's 3 s",
            reply.elapsed
        );
        if (200..300).contains(&reply.status) {
            let problems = super::openapi::validate_request(
                "POST",
                "/interactions/1/token/callback",
                &reply.body,
            );
            assert!(
                problems.is_empty(),
                "the bot's interaction response is invalid:\n  - {}\n{:#}",
                problems.join("\n  - "),
                reply.body
            );
        }
        reply
    }

    /// Posts with a signature from another key (Discord's security check sends these).
    pub async fn post_forged(&self, url: &str, body: &Value) -> (u16, Value) {
        let forger = SigningKey::from_bytes(&FORGER_SEED);
        let r = self.send(url, body, Some(&forger)).await;
        (r.status, r.body)
    }

    /// Posts without signature headers.
    pub async fn post_unsigned(&self, url: &str, body: &Value) -> (u16, Value) {
        let r = self.send(url, body, None).await;
        (r.status, r.body)
    }

    async fn send(&self, url: &str, body: &Value, key: Option<&SigningKey>) -> SignedReply {
        self.send_at(url, body, key, self.now_secs()).await
    }

    async fn send_at(
        &self,
        url: &str,
        body: &Value,
        key: Option<&SigningKey>,
        at: i64,
    ) -> SignedReply {
        let bytes = serde_json::to_vec(body).expect("serialize interaction");
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                "Discord-Interactions/1.0 (+https://discord.com)",
            );
        if let Some(key) = key {
            let timestamp = at.to_string();
            let signature = sign_with(key, &timestamp, &bytes);
            req = req
                .header("X-Signature-Ed25519", signature)
                .header("X-Signature-Timestamp", timestamp);
        }
        let started = Instant::now();
        let resp = req
            .body(bytes)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url} failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let elapsed = started.elapsed();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        SignedReply {
            status,
            body,
            elapsed,
        }
    }
}

fn sign_with(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut msg = timestamp.as_bytes().to_vec();
    msg.extend_from_slice(body);
    hex::encode(key.sign(&msg).to_bytes())
}
