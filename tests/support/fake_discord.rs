//! The fake Discord server: shared state, the public handle tests use, and waiting helpers.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

/// Application id (and bot user id) the fake reports.
pub const APP_ID: u64 = 1_100_000_000_000_000_001;
/// Guild the fake puts threads in.
pub const GUILD_ID: u64 = 1_200_000_000_000_000_001;
/// First snowflake the fake hands out; ids increase from here.
pub const FIRST_SNOWFLAKE: u64 = 1_300_000_000_000_000_000;
/// Discord's deadline for the first response to an interaction.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);
/// How long `wait_for` / `wait_until` wait before failing the test.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One REST request the fake received, with the status it answered.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path without the `/api/v10` prefix, without the query string.
    pub path: String,
    /// Parsed JSON body; `Null` when empty.
    pub body: Value,
    pub status: u16,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    /// The files of a `multipart/form-data` request; its `payload_json` is the body.
    pub files: Vec<super::multipart::Upload>,
}

impl Recorded {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What an injected fault answers.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// 429 with `Retry-After`, `X-RateLimit-Reset-After`, `X-RateLimit-Scope: user`.
    RateLimited { retry_after_secs: f64 },
    /// Any status, with a `{code: 0, message}` body.
    Status(u16),
    /// The request is carried out, but the answer is lost: the client sees this status.
    AnswerLost(u16),
    /// A refusal with Discord's error code and message, like 403, 50013, Missing Permissions.
    Refused {
        status: u16,
        code: u64,
        message: &'static str,
    },
    /// A global 429: `X-RateLimit-Global: true` and `"global": true`; every route must wait.
    GlobalRateLimited { retry_after_secs: f64 },
    /// A 429 whose `Retry-After` header and `retry_after` body say these, however odd.
    OddRateLimit { header: &'static str, body: f64 },
    /// The request is carried out, and the answer says its bucket is now empty for this long.
    BucketEmptied { reset_after_secs: f64 },
}

/// Answer the next `times` requests matching `method` (`"*"` for any) and `path_contains`
/// (matched against the path without `/api/v10`) with `kind` instead of handling them.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: u32,
}

/// What the fake knows about an interaction it dispatched (or was told about).
#[derive(Clone, Debug)]
pub(crate) struct InteractionRecord {
    pub token: String,
    pub kind: u64,
    pub channel_id: u64,
    pub message_id: Option<u64>,
    pub registered_at: Instant,
    pub response: Option<Value>,
    /// Latest content of the `@original` response message, after edits.
    pub original: Option<Value>,
    /// Follow-up messages (`POST /webhooks/{app}/{token}`), after edits.
    pub followups: Vec<Value>,
}

/// Gateway bookkeeping.
#[derive(Default)]
pub(crate) struct GatewayState {
    /// Sender of the live, identified session (text frames).
    pub session: Option<mpsc::UnboundedSender<String>>,
    pub session_no: u64,
    pub identify: Option<Value>,
    pub identified_sessions: u64,
    pub resumes: u64,
    pub seq: u64,
}

#[derive(Default)]
pub(crate) struct State {
    pub requests: Vec<Recorded>,
    pub consumed: Vec<bool>,
    /// Message ids per channel, in creation order.
    pub channels: HashMap<u64, Vec<u64>>,
    /// Message id → current message object.
    pub messages: HashMap<u64, Value>,
    pub threads: Vec<Value>,
    pub interactions: HashMap<u64, InteractionRecord>,
    /// Bulk-overwritten commands by scope (`None` = global).
    pub commands: BTreeMap<Option<u64>, Vec<Value>>,
    pub faults: Vec<Fault>,
    pub violations: Vec<String>,
    /// Messages a story found, each of which must stay the only one of its kind.
    pub found_once: Vec<FoundOnce>,
    pub next_id: u64,
    pub gateway: GatewayState,
    /// Messages up to this id were posted before the nonce window: their nonces dedupe no more.
    pub nonces_expired_through: u64,
    /// When each bot request of the last second arrived, for Discord's global rate limit.
    pub last_second: std::collections::VecDeque<Instant>,
    /// Sign-in with Discord.
    pub oauth: super::oauth::OAuth,
}

/// A message a story waited for: [`FakeDiscord::assert_clean`] checks that it is still the
/// only message in its channel that matches, so a notice posted twice fails the story even
/// when the second copy comes after the wait.
#[derive(Clone)]
pub(crate) struct FoundOnce {
    pub channel: u64,
    pub description: String,
    pub matches: Matcher,
}

/// Whether a message is the one a story looks for.
pub(crate) type Matcher = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// Discord's global rate limit: requests per second per bot, interaction callbacks aside.
pub const GLOBAL_LIMIT_PER_SECOND: usize = 50;

impl State {
    pub fn snowflake(&mut self) -> u64 {
        if self.next_id < FIRST_SNOWFLAKE {
            self.next_id = FIRST_SNOWFLAKE;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

pub(crate) struct Inner {
    pub state: Mutex<State>,
    pub changed: watch::Sender<u64>,
    pub addr: SocketAddr,
    pub app_id: u64,
}

/// Handle on a running fake Discord. Cheap to clone.
#[derive(Clone)]
pub struct FakeDiscord {
    pub(crate) inner: Arc<Inner>,
}

impl FakeDiscord {
    /// Starts the fake on `127.0.0.1:0` with application id [`APP_ID`].
    pub async fn start() -> FakeDiscord {
        Self::start_with_app_id(APP_ID).await
    }

    /// Starts the fake with another application id.
    pub async fn start_with_app_id(app_id: u64) -> FakeDiscord {
        // Compile the validators up front (once per process) so the first request is fast.
        tokio::task::spawn_blocking(super::openapi::warm_up)
            .await
            .expect("compile OpenAPI validators");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Discord");
        let addr = listener.local_addr().expect("local addr");
        let fake = FakeDiscord {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                changed: watch::channel(0).0,
                addr,
                app_id,
            }),
        };
        let app = super::rest::router(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake Discord server");
        });
        fake
    }

    /// `http://127.0.0.1:PORT`; give this to the bot as `api_base` / serenity's proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// `ws://127.0.0.1:PORT/gateway`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/gateway", self.inner.addr)
    }

    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes every waiter; call after any state change.
    pub(crate) fn bump(&self) {
        self.inner.changed.send_modify(|v| *v += 1);
    }

    pub(crate) fn violation(&self, text: String) {
        eprintln!("fake Discord violation: {text}");
        self.lock().violations.push(text);
        self.bump();
    }

    // ----- recording -------------------------------------------------------------------------

    /// Every REST request so far, in the order they were answered.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Waits (up to [`WAIT_TIMEOUT`]) for the first request matching `pred` that no earlier
    /// `wait_for` returned, marks it consumed and returns it. Panics on timeout.
    pub async fn wait_for(&self, description: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        let mut rx = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT_TIMEOUT;
        loop {
            {
                let mut st = self.lock();
                let st = &mut *st;
                let found = st
                    .requests
                    .iter()
                    .zip(st.consumed.iter_mut())
                    .find(|(r, used)| !**used && pred(r));
                if let Some((r, used)) = found {
                    *used = true;
                    return r.clone();
                }
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!(
                    "timed out after {WAIT_TIMEOUT:?} waiting for request: {description}\n{}",
                    self.summary()
                );
            }
        }
    }

    /// Waits (up to [`WAIT_TIMEOUT`]) until `pred` holds over the fake's state. Panics on
    /// timeout. `pred` is re-checked after every request, gateway event or violation.
    pub async fn wait_until(&self, description: &str, pred: impl Fn(&FakeDiscord) -> bool) {
        self.wait_until_within(WAIT_TIMEOUT, description, pred)
            .await;
    }

    /// Like [`FakeDiscord::wait_until`], with its own patience: a load that Discord's rate
    /// limits pace takes longer than a story.
    pub async fn wait_until_within(
        &self,
        patience: Duration,
        description: &str,
        pred: impl Fn(&FakeDiscord) -> bool,
    ) {
        let mut rx = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if pred(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!(
                    "timed out after {patience:?} waiting until: {description}\n{}",
                    self.summary()
                );
            }
        }
    }

    /// Waits (up to [`WAIT_TIMEOUT`]) for a message in `channel` that `matches`, and returns
    /// it. It must be the only one that matches, now and when the story finishes.
    pub async fn wait_message(
        &self,
        channel: u64,
        description: &str,
        matches: impl Fn(&Value) -> bool + Send + Sync + 'static,
    ) -> Value {
        let matches: Matcher = Arc::new(matches);
        let found = |f: &FakeDiscord| -> Vec<Value> {
            f.messages(channel)
                .into_iter()
                .filter(|m| matches(m))
                .collect()
        };
        self.wait_until(description, |f| !found(f).is_empty()).await;
        let mut copies = found(self);
        assert_eq!(
            copies.len(),
            1,
            "{description}: posted {} times in <#{channel}>\n{}",
            copies.len(),
            self.summary()
        );
        self.lock().found_once.push(FoundOnce {
            channel,
            description: description.to_owned(),
            matches,
        });
        copies.remove(0)
    }

    /// [`FakeDiscord::wait_message`] for a message whose content contains `text`.
    pub async fn wait_notice(&self, channel: u64, text: &str) -> Value {
        let text = text.to_owned();
        let description = format!("a message containing {text:?}");
        self.wait_message(channel, &description, move |m| {
            m["content"].as_str().is_some_and(|c| c.contains(&text))
        })
        .await
    }

    /// A compact listing of recorded requests and violations, for failure messages.
    pub fn summary(&self) -> String {
        let st = self.lock();
        let mut out = format!("recorded {} request(s):\n", st.requests.len());
        for (i, r) in st.requests.iter().enumerate() {
            let mut body = r.body.to_string();
            if body.len() > 160 {
                let mut cut = 160;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
                body.push('…');
            }
            let used = if st.consumed[i] { "*" } else { " " };
            let _ = writeln!(
                out,
                " {used}{i:>3} {} {} -> {} {body}",
                r.method, r.path, r.status
            );
        }
        if !st.violations.is_empty() {
            let _ = writeln!(out, "violations:");
            for v in &st.violations {
                let _ = writeln!(out, "  - {v}");
            }
        }
        out
    }

    // ----- strictness ------------------------------------------------------------------------

    /// Spec violations, unexpected requests, interaction timing/double-ack errors and
    /// documented-limit breaches seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Panics listing the violations, if any.
    pub fn assert_clean(&self) {
        let mut v = self.violations();
        let found_once = self.lock().found_once.clone();
        for FoundOnce {
            channel,
            description,
            matches,
        } in found_once
        {
            let copies = self.messages(channel).iter().filter(|m| matches(m)).count();
            if copies != 1 {
                v.push(format!(
                    "{description}: found once, but by the end posted {copies} times in <#{channel}>"
                ));
            }
        }
        assert!(
            v.is_empty(),
            "fake Discord saw {} violation(s):\n  - {}",
            v.len(),
            v.join("\n  - ")
        );
    }

    /// Forgets the violations so far (for tests that provoke them on purpose).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().violations)
    }

    /// Lets the nonce window of every message posted so far pass: Discord de-duplicates a
    /// nonce only for a few minutes, and a retry after that would post again.
    pub fn expire_nonces(&self) {
        let mut st = self.lock();
        st.nonces_expired_through = st.next_id;
    }

    /// Injects a fault for the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    // ----- state -----------------------------------------------------------------------------

    /// Current messages of a channel (or thread), after edits, in creation order.
    pub fn messages(&self, channel_id: u64) -> Vec<Value> {
        let st = self.lock();
        st.channels
            .get(&channel_id)
            .into_iter()
            .flatten()
            .filter_map(|id| st.messages.get(id).cloned())
            .collect()
    }

    /// One message, after edits.
    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<Value> {
        let st = self.lock();
        st.messages
            .get(&message_id)
            .filter(|m| m["channel_id"] == json!(channel_id.to_string()))
            .cloned()
    }

    /// Threads created so far.
    pub fn threads(&self) -> Vec<Value> {
        self.lock().threads.clone()
    }

    /// Commands from the latest bulk overwrites, global first, then per guild.
    pub fn commands(&self) -> Vec<Value> {
        self.lock().commands.values().flatten().cloned().collect()
    }
}

/// Parses a snowflake given as a JSON string or number.
pub fn snowflake_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
