//! The story-level test driver: a real gonogo on loopback, a fake Discord, a driven clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use gonogo::app::{self, Running};
use gonogo::clock::ManualClock;
use gonogo::config::Config;
use serde_json::{json, Value};
use sqlx::AnyPool;

use super::database;
use super::fake_discord::{snowflake_of, FakeDiscord, GUILD_ID};
use super::fixtures::{self, Member};
use super::signer::Signer;
use super::wait::{is, wait_until};

pub const RELEASES_CHANNEL: u64 = 1_400_000_000_000_000_001;
pub const STAKEHOLDER_CHANNEL: u64 = 1_400_000_000_000_000_002;
pub const ROLE_LEAD: u64 = 1_500_000_000_000_000_001;
pub const ROLE_SECURITY: u64 = 1_500_000_000_000_000_002;
pub const ROLE_TEAM: u64 = 1_500_000_000_000_000_003;
pub const ROLE_EXEC: u64 = 1_500_000_000_000_000_004;
pub const ROLE_RELEASE_MANAGER: u64 = 1_500_000_000_000_000_005;
pub const ROLE_DEPLOYER: u64 = 1_500_000_000_000_000_006;
pub const ROLE_UNRELATED: u64 = 1_500_000_000_000_000_099;
pub const ROLE_STAKEHOLDERS: u64 = 1_500_000_000_000_000_007;

/// The people in the stories.
pub fn author() -> Member {
    Member::new(1_600_000_000_000_000_001, "Avery", &[ROLE_LEAD, ROLE_TEAM])
}
pub fn lead() -> Member {
    Member::new(1_600_000_000_000_000_002, "Lee", &[ROLE_LEAD])
}
pub fn security() -> Member {
    Member::new(1_600_000_000_000_000_003, "Sam", &[ROLE_SECURITY])
}
pub fn lead_and_security() -> Member {
    Member::new(
        1_600_000_000_000_000_004,
        "Dana",
        &[ROLE_LEAD, ROLE_SECURITY],
    )
}
pub fn team(n: u64) -> Member {
    const NAMES: [&str; 8] = ["Tam", "Toni", "Tia", "Theo", "Tove", "Tomas", "Tess", "Tyr"];
    let index = usize::try_from(n).unwrap_or(0) % NAMES.len();
    Member::new(1_600_000_000_000_000_100 + n, NAMES[index], &[ROLE_TEAM])
}
pub fn outsider() -> Member {
    Member::new(1_600_000_000_000_000_009, "Olly", &[ROLE_UNRELATED])
}
pub fn release_manager() -> Member {
    Member::new(1_600_000_000_000_000_010, "Remy", &[ROLE_RELEASE_MANAGER])
}
pub fn deployer() -> Member {
    Member::new(
        1_600_000_000_000_000_011,
        "Dee",
        &[ROLE_DEPLOYER, ROLE_TEAM],
    )
}

/// Interaction `id`: `who` runs `/release plan` of `version` in the releases channel.
pub fn plan_command(id: u64, who: &Member, version: &str, kind: &str, summary: &str) -> Value {
    fixtures::slash_command(
        id,
        who,
        RELEASES_CHANNEL,
        GUILD_ID,
        "release",
        Some("plan"),
        vec![
            ("version", json!(version)),
            ("type", json!(kind)),
            ("summary", json!(summary)),
        ],
    )
}

/// The config the stories run with, pointing at the fake Discord and the database at
/// `database_url`.
pub fn config_toml(
    fake: &FakeDiscord,
    signer: &Signer,
    database_url: &str,
    gateway: bool,
) -> String {
    format!(
        r#"
[discord]
application_id = "{app}"
public_key = "{key}"
guild_id = "{GUILD_ID}"
gateway = {gateway}
api_base = "{base}"

[http]
listen = "127.0.0.1:0"

[database]
url = "{database_url}"

[channels]
releases = "{RELEASES_CHANNEL}"
stakeholders = ["{STAKEHOLDER_CHANNEL}"]

[roles]
lead = "{ROLE_LEAD}"
security = "{ROLE_SECURITY}"
team = "{ROLE_TEAM}"
exec = "{ROLE_EXEC}"
release_manager = "{ROLE_RELEASE_MANAGER}"
deployer = "{ROLE_DEPLOYER}"
stakeholder_ping = "{ROLE_STAKEHOLDERS}"
"#,
        app = fake.app_id(),
        key = signer.public_key_hex(),
        base = fake.base_url(),
    )
}

pub const TOKEN_ENV: (&str, &str) = ("GONOGO_DISCORD__TOKEN", "test-bot-token");

/// A running gonogo plus everything around it.
pub struct Tester {
    pub fake: FakeDiscord,
    pub clock: ManualClock,
    pub signer: Signer,
    pub dir: Arc<tempfile::TempDir>,
    config: Config,
    running: Option<Running>,
    /// The tests' own connection to the bot's database, opened as the bot starts.
    reader: Option<AnyPool>,
    next_id: AtomicU64,
}

impl Tester {
    /// gonogo with only the HTTP door.
    pub async fn start() -> Tester {
        Self::start_with(false, "", &[]).await
    }

    /// gonogo with only the HTTP door and these sections added to the config.
    pub async fn start_configured(extra: &str) -> Tester {
        Self::start_with(false, extra, &[]).await
    }

    /// Like [`Tester::start_configured`], with these environment overrides (for secrets).
    pub async fn start_configured_env(extra: &str, env: &[(&str, &str)]) -> Tester {
        Self::start_with(false, extra, env).await
    }

    /// gonogo with both doors; waits until the gateway session is ready.
    pub async fn start_with_gateway() -> Tester {
        let t = Self::start_with(true, "", &[]).await;
        t.fake.wait_gateway_ready().await;
        t
    }

    /// gonogo with both doors and these sections added to the config.
    pub async fn start_with_gateway_configured(extra: &str) -> Tester {
        let t = Self::start_with(true, extra, &[]).await;
        t.fake.wait_gateway_ready().await;
        t
    }

    /// gonogo with the dashboard on a port of its own, its OAuth2 redirect registered with
    /// the fake Discord; `extra` sections are added to the config.
    pub async fn start_with_dashboard(extra: &str) -> Tester {
        let addr = super::process::free_loopback_addr();
        let public_url = format!("http://{addr}");
        let extra =
            format!("{extra}\n[dashboard]\npublic_url = \"{public_url}\"\nsession_ttl = \"12h\"\n");
        let listen = addr.to_string();
        let env = [
            ("GONOGO_HTTP__LISTEN", listen.as_str()),
            (
                "GONOGO_DASHBOARD__CLIENT_SECRET",
                super::oauth::CLIENT_SECRET,
            ),
        ];
        let t = Self::start_with(false, &extra, &env).await;
        t.fake
            .register_redirect(&format!("{public_url}/auth/callback"));
        t
    }

    async fn start_with(gateway: bool, extra: &str, env: &[(&str, &str)]) -> Tester {
        let fake = FakeDiscord::start().await;
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap());
        let signer = Signer::new().on_clock(clock.clone());
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let toml = config_toml(&fake, &signer, &database::url_in(dir.path()), gateway)
            + &extra.replace("{dir}", &dir.path().display().to_string());
        let env: Vec<(&str, &str)> = std::iter::once(TOKEN_ENV)
            .chain(env.iter().copied())
            .collect();
        let config = gonogo::config::load_from_str(&toml, &env)
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let mut t = Tester {
            fake,
            clock,
            signer,
            dir,
            config,
            running: None,
            reader: None,
            next_id: AtomicU64::new(1_700_000_000_000_000_000),
        };
        t.boot().await;
        t.fake
            .wait_for("the slash commands are registered", |r| {
                r.method == "PUT" && r.path.ends_with("/commands")
            })
            .await;
        t
    }

    async fn boot(&mut self) {
        self.boot_unready().await;
        self.running().service.wait_ready().await;
    }

    /// Starts gonogo without waiting for its commands to be registered.
    async fn boot_unready(&mut self) {
        let running = app::start(self.config.clone(), Arc::new(self.clock.clone()))
            .await
            .unwrap_or_else(|e| panic!("gonogo did not start: {e:#}"));
        self.running = Some(running);
        if self.reader.is_none() {
            sqlx::any::install_default_drivers();
            let reader = AnyPool::connect(&self.config.database.url)
                .await
                .expect("the tests open the bot's database");
            self.reader = Some(reader);
        }
    }

    /// Like [`Tester::restart`], without waiting until gonogo is ready.
    pub async fn restart_unready(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("gonogo stopped cleanly");
        }
        self.boot_unready().await;
    }

    /// Stops gonogo, changes its config as an operator would, and starts it again.
    pub async fn restart_reconfigured(&mut self, change: impl FnOnce(&mut Config)) {
        change(&mut self.config);
        self.restart().await;
    }

    /// Stops gonogo gracefully and starts it again on the same database.
    pub async fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("gonogo stopped cleanly");
        }
        self.boot().await;
    }

    pub fn interactions_url(&self) -> String {
        format!("http://{}/interactions", self.running().addr)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.running().addr)
    }

    /// The text of `/metrics`, from its own listener when it has one.
    pub async fn metrics(&self) -> String {
        let running = self.running();
        let addr = running.metrics_addr.unwrap_or(running.addr);
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("the metrics text")
    }

    /// The running bot's service, for questions no door asks.
    pub fn running_service(&self) -> &gonogo::service::Service {
        &self.running().service
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("gonogo is running")
    }

    /// A read connection to the bot's database, for assertions on what was stored.
    pub fn db(&self) -> &AnyPool {
        self.reader.as_ref().expect("gonogo has started")
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// Sends a signed interaction through the HTTP door and returns the response body.
    pub async fn send(&self, payload: Value) -> Value {
        // Discord knows the interaction it sent, so a follow-up to it is one it expects.
        let id = snowflake_of(&payload["id"]);
        if id.is_some() {
            self.fake.register_interaction(&payload);
        }
        let (status, body) = self
            .signer
            .post_interaction(&self.interactions_url(), &payload)
            .await;
        assert_eq!(status, 200, "the HTTP door answered {status}: {body}");
        if let Some(id) = id {
            self.fake.record_http_response(id, &body);
        }
        body
    }

    /// Dispatches an interaction over the gateway and returns the callback the bot sent.
    pub async fn send_via_gateway(&self, payload: Value) -> Value {
        let id = snowflake_of(&payload["id"]).expect("interaction id");
        self.fake.dispatch_interaction(payload).await;
        let path = format!("/interactions/{id}/");
        let callback = self
            .fake
            .wait_for("the bot answers the gateway interaction", |r| {
                r.method == "POST" && r.path.starts_with(&path)
            })
            .await;
        callback.body
    }

    pub fn plan_payload(&self, who: &Member, version: &str, kind: &str) -> Value {
        plan_command(self.next_id(), who, version, kind, "Faster search")
    }

    /// `/release plan`, then waits for the card to be posted.
    pub async fn plan(&self, who: &Member, version: &str, kind: &str) -> Value {
        let response = self.send(self.plan_payload(who, version, kind)).await;
        assert_ephemeral(&response);
        self.card(version).await;
        response
    }

    /// A command of its own, like `/deploy` or `/rollback`.
    pub fn top_command(&self, who: &Member, name: &str, options: Vec<(&str, Value)>) -> Value {
        fixtures::slash_command(
            self.next_id(),
            who,
            RELEASES_CHANNEL,
            GUILD_ID,
            name,
            None,
            options,
        )
    }

    pub fn command(&self, who: &Member, sub: &str, options: Vec<(&str, Value)>) -> Value {
        fixtures::slash_command(
            self.next_id(),
            who,
            RELEASES_CHANNEL,
            GUILD_ID,
            "release",
            Some(sub),
            options,
        )
    }

    /// The release card of `version` as the fake Discord holds it now, once it is posted.
    pub async fn card(&self, version: &str) -> Value {
        let title = format!("Release {version} ·");
        self.fake
            .wait_until(&format!("the card of {version} is posted"), |f| {
                find_card(f, &title).is_some()
            })
            .await;
        find_card(&self.fake, &title).expect("card")
    }

    /// Waits until the card of `version` satisfies `pred` (cards are edited asynchronously).
    pub async fn wait_card(
        &self,
        version: &str,
        description: &str,
        pred: impl Fn(&str) -> bool,
    ) -> Value {
        let title = format!("Release {version} ·");
        self.fake
            .wait_until(description, |f| {
                find_card(f, &title).is_some_and(|c| pred(&card_text(&c)))
            })
            .await;
        find_card(&self.fake, &title).expect("card")
    }

    /// A click on the card's button with this verb (`go` or `nogo`).
    pub async fn click_payload(&self, who: &Member, version: &str, verb: &str) -> Value {
        let card = self.card(version).await;
        let custom_id = button_id(&card, verb)
            .unwrap_or_else(|| panic!("the card of {version} has no {verb} button"));
        fixtures::button_on_message(self.next_id(), who, GUILD_ID, card, &custom_id)
    }

    pub async fn go(&self, who: &Member, version: &str) -> Value {
        let payload = self.click_payload(who, version, "go").await;
        self.send(payload).await
    }

    /// No-Go: the click opens the modal, and the modal is submitted with `reason`.
    /// Returns the answer to the submission (or to the click, if the click was refused).
    pub async fn no_go(&self, who: &Member, version: &str, reason: &str) -> Value {
        let payload = self.click_payload(who, version, "nogo").await;
        let opened = self.send(payload).await;
        if opened["type"] != 9 {
            return opened;
        }
        let modal_id = opened["data"]["custom_id"]
            .as_str()
            .expect("modal custom id")
            .to_owned();
        let submit = fixtures::modal_submit(
            self.next_id(),
            who,
            RELEASES_CHANNEL,
            GUILD_ID,
            &modal_id,
            vec![("reason", reason)],
        );
        self.send(submit).await
    }

    /// Stops gonogo and fails on anything the fake Discord found wrong or a task that crashed.
    pub async fn finish(mut self) {
        if let Some(running) = self.running.take() {
            running
                .stop()
                .await
                .expect("no gonogo task failed or panicked");
        }
        self.fake.assert_clean();
    }

    /// Stored votes on `version`, as (voter name, choice) in order.
    pub async fn votes(&self, version: &str) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT v.voter_name, v.choice FROM votes v JOIN releases r ON r.id = v.release_id \
             WHERE r.version = $1 ORDER BY v.id",
        )
        .bind(version)
        .fetch_all(self.db())
        .await
        .expect("votes")
    }

    /// Waits until a pending outbox row has failed `attempts` times and is scheduled for a
    /// retry, so a test advances the clock only after the bot has chosen its retry time.
    pub async fn wait_retry_scheduled(&self, attempts: i64) {
        let scheduled = format!("an outbox retry with {attempts} attempts is scheduled");
        self.wait_failing(&scheduled, |failed| failed >= attempts)
            .await;
    }

    /// Waits until no outbox row is failing: a delivery the fake took has been settled.
    pub async fn wait_nothing_failing(&self) {
        self.wait_failing("every failing outbox row is settled", |failed| failed == 0)
            .await;
    }

    /// Waits until the most attempts of a failing pending outbox row (0 with none) satisfy
    /// `pred`.
    async fn wait_failing(&self, description: &str, pred: impl Fn(i64) -> bool) {
        wait_until(description, || async {
            let failed: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(attempts), 0) FROM outbox \
                 WHERE state = 'pending' AND last_error IS NOT NULL",
            )
            .fetch_one(self.db())
            .await
            .expect("outbox");
            if pred(failed) {
                return Ok(());
            }
            let rows: Vec<(String, String, i64, Option<String>)> =
                sqlx::query_as("SELECT kind, state, attempts, last_error FROM outbox ORDER BY id")
                    .fetch_all(self.db())
                    .await
                    .expect("outbox");
            Err(rows)
        })
        .await;
    }

    /// The lifecycle state of `version`, as `/release status` reads it.
    pub async fn state(&self, version: &str) -> String {
        match self.running().service.status(Some(version), None).await {
            Ok(view) => view.state,
            Err(error) => panic!("no status for {version}: {error:?}"),
        }
    }

    /// Waits until `version` is in `state`: the executor and the timers move a release on
    /// their own time.
    pub async fn wait_state(&self, version: &str, state: &str) {
        let what = format!("{version} to be {state}");
        wait_until(&what, || async {
            is(self.state(version).await, &state.to_owned())
        })
        .await;
    }

    /// Waits until `query` answers `expected`, for what no service question asks.
    pub async fn wait_db(&self, query: &str, expected: &str) {
        let what = format!("`{query}` to give {expected}");
        wait_until(&what, || async {
            let got: Option<Option<String>> = sqlx::query_scalar(query)
                .fetch_optional(self.db())
                .await
                .expect("query");
            is(got.flatten(), &Some(expected.to_owned()))
        })
        .await;
    }
}

fn find_card(fake: &FakeDiscord, title_prefix: &str) -> Option<Value> {
    fake.messages(RELEASES_CHANNEL).into_iter().rev().find(|m| {
        m["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with(title_prefix))
    })
}

/// The card's visible text: title, description, fields and footer.
pub fn card_text(card: &Value) -> String {
    let embed = &card["embeds"][0];
    let mut text = format!(
        "{}\n{}\n",
        embed["title"].as_str().unwrap_or(""),
        embed["description"].as_str().unwrap_or("")
    );
    for field in embed["fields"].as_array().into_iter().flatten() {
        let (name, value) = (
            field["name"].as_str().unwrap_or(""),
            field["value"].as_str().unwrap_or(""),
        );
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push('\n');
    }
    text.push_str(embed["footer"]["text"].as_str().unwrap_or(""));
    text
}

/// The custom id of the card's button whose id has this verb, if it has one.
pub fn button_id(card: &Value, verb: &str) -> Option<String> {
    card["components"]
        .as_array()?
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .find(|id| id.split(':').nth(1) == Some(verb))
}

/// The text of an interaction response.
pub fn content(response: &Value) -> &str {
    response["data"]["content"].as_str().unwrap_or("")
}

pub fn assert_ephemeral(response: &Value) {
    assert_eq!(
        response["type"], 4,
        "expected a message response: {response}"
    );
    let flags = response["data"]["flags"].as_u64().unwrap_or(0);
    assert_eq!(flags & 64, 64, "expected an ephemeral response: {response}");
}
