//! A pipeline's side of the door: tokens the stories configure, and a client that sends
//! JSON with a bearer token and reads the answer, problem documents included.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::tester::Tester;

/// The pipeline's token, with every scope.
pub const CI_TOKEN: &str = "gng_story_pipeline_token_with_every_scope";
/// A token that may only read.
pub const VIEWER_TOKEN: &str = "gng_story_viewer_token_that_only_reads";

/// `[api]` with the `ci` and `viewer` tokens, as `gonogo token new` prints them.
pub fn api_config() -> String {
    let sha = |token: &str| hex::encode(Sha256::digest(token.as_bytes()));
    format!(
        "\n[api]\ntokens = [\n  {{ name = \"ci\", sha256 = \"{}\", scopes = [\"read\", \"plan\", \"check\", \"deploy\"] }},\n  {{ name = \"viewer\", sha256 = \"{}\", scopes = [\"read\"] }},\n]\n",
        sha(CI_TOKEN),
        sha(VIEWER_TOKEN)
    )
}

/// An answer: the status, its headers and the JSON body (`Null` when there is none).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The problem document's `detail`.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    /// The fields a 422 names.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect()
    }
}

/// A pipeline calling gonogo's door with `token` (none: an anonymous caller).
pub struct Pipeline {
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Pipeline {
    pub fn new(t: &Tester, token: Option<&str>) -> Pipeline {
        Pipeline {
            base: t.base_url(),
            token: token.map(str::to_owned),
            client: reqwest::Client::new(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_keyed(&self, path: &str, body: &Value, key: &str) -> Answer {
        let request = self.client.post(self.url(path)).json(body);
        self.send(request.header("idempotency-key", key)).await
    }

    /// A POST of raw bytes as JSON.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Answer {
        let request = self.client.post(self.url(path)).body(body);
        self.send(request.header("content-type", "application/json"))
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Answer {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the door answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }
}
