//! The `webhook` executor: a JSON POST signed in GitHub's style, with an `Idempotency-Key`
//! that stays the same across retries of 5xx answers and network errors.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{tail, Facts};
use crate::domain::lifecycle::inputs::Outcome;

/// How many times a 5xx or a network error is tried before the action fails.
const ATTEMPTS: u32 = 5;
/// The first wait between attempts; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// `sha256=<hex HMAC-SHA256 of body under secret>`; `None` only if the key were refused,
/// which HMAC never does.
pub fn signature(secret: &str, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Posts `facts` to `url`; a 2xx answer means the action was accepted.
pub async fn send(
    url: &str,
    secret: &str,
    key: &str,
    facts: &Facts,
    timeout: Duration,
) -> (Outcome, String) {
    let body = match serde_json::to_vec(facts) {
        Ok(body) => body,
        Err(error) => {
            return (
                Outcome::Failed(format!("cannot encode the request: {error}")),
                String::new(),
            )
        }
    };
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(error) => {
            return (
                Outcome::Failed(format!("cannot build the HTTP client: {error}")),
                String::new(),
            )
        }
    };
    let Some(signature) = signature(secret, &body) else {
        return (
            Outcome::Failed("cannot sign the request".into()),
            String::new(),
        );
    };
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-gonogo-signature-256", &signature)
            .header("idempotency-key", key)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                let text = response.text().await.unwrap_or_default();
                return (Outcome::Succeeded, tail(&text));
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return (
                    Outcome::Failed(format!("the webhook answered {status}")),
                    tail(&text),
                );
            }
            Ok(response) => last = format!("the webhook answered {}", response.status()),
            Err(error) => last = format!("cannot reach the webhook: {}", error.without_url()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    (
        Outcome::Failed(format!("{last}, {ATTEMPTS} times")),
        String::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_githubs_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?").as_deref(),
            Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}
