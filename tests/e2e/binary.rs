//! The real `gonogo` binary, run as an operator runs it: check, run, a poll over HTTP, SIGTERM,
//! audit verify.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_discord::{FakeDiscord, GUILD_ID};
use crate::support::fixtures;
use crate::support::signer::Signer;
use crate::support::tester::{
    assert_ephemeral, author, button_id, card_text, config_toml, content, lead, RELEASES_CHANNEL,
    TOKEN_ENV,
};

/// How long the binary may take to answer `/healthz`, and to exit after SIGTERM.
const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_binary_checks_its_config_runs_a_poll_and_stops_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);

    let checked = gonogo(&config, true, &["check"]);
    assert!(
        checked.status.success(),
        "gonogo check: {}",
        printed(&checked)
    );
    let no_token = gonogo(&config, false, &["check"]);
    assert_eq!(
        no_token.status.code(),
        Some(1),
        "gonogo check without a token: {}",
        printed(&no_token)
    );
    assert!(
        printed(&no_token).contains("discord.token"),
        "the error names the key: {}",
        printed(&no_token)
    );

    let mut bot = Bot::spawn(&config, &dir.path().join("gonogo.log"));
    bot.wait_healthy(addr).await;
    let url = format!("http://{addr}/interactions");

    let plan = fixtures::slash_command(
        1_700_000_000_000_000_001,
        &author(),
        RELEASES_CHANNEL,
        GUILD_ID,
        "release",
        Some("plan"),
        vec![
            ("version", json!("1.4.1")),
            ("type", json!("patch")),
            ("summary", json!("Faster search")),
        ],
    );
    let (status, planned) = signer.post_interaction(&url, &plan).await;
    assert_eq!(status, 200, "{planned}");
    assert_ephemeral(&planned);
    let card = wait_card(&fake, "1.4.1", "the card is posted", |_| true).await;

    let go = button_id(&card, "go").expect("the card has a Go button");
    let click =
        fixtures::button_on_message(1_700_000_000_000_000_002, &lead(), GUILD_ID, card, &go);
    let (status, voted) = signer.post_interaction(&url, &click).await;
    assert_eq!(status, 200, "{voted}");
    assert!(content(&voted).contains("Your **Go**"), "{voted}");
    wait_card(&fake, "1.4.1", "the card shows the approval", |text| {
        text.contains("Approved")
    })
    .await;

    bot.terminate();
    let exit = bot.wait_exit().await;
    assert!(exit.success(), "gonogo exited with {exit} after SIGTERM");

    let verified = gonogo(&config, true, &["audit", "verify"]);
    assert!(
        verified.status.success() && printed(&verified).contains("audit trail intact"),
        "gonogo audit verify: {}",
        printed(&verified)
    );
    fake.assert_clean();
}

/// A loopback address nothing listens on right now.
fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// The stories' config, served on `addr`, with the database in `dir`; returns the file.
fn write_config(fake: &FakeDiscord, signer: &Signer, dir: &Path, addr: SocketAddr) -> PathBuf {
    let toml = config_toml(fake, signer, &dir.join("gonogo.db"), false);
    let any_port = r#"listen = "127.0.0.1:0""#;
    assert!(
        toml.contains(any_port),
        "the stories' config changed: {toml}"
    );
    let path = dir.join("gonogo.toml");
    std::fs::write(
        &path,
        toml.replace(any_port, &format!(r#"listen = "{addr}""#)),
    )
    .expect("write the config");
    path
}

/// `gonogo ARGS --config CONFIG`, with the token in the environment or not.
fn command(config: &Path, token: bool, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    command.args(args).arg("--config").arg(config);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GONOGO_") {
            command.env_remove(key);
        }
    }
    if token {
        command.env(TOKEN_ENV.0, TOKEN_ENV.1);
    }
    command
}

/// Runs a short-lived subcommand to completion.
fn gonogo(config: &Path, token: bool, args: &[&str]) -> Output {
    command(config, token, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gonogo {args:?}: {e}"))
}

/// Everything a subcommand printed, with its exit status.
fn printed(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The card of `version` at the fake, once `pred` holds over its text.
async fn wait_card(
    fake: &FakeDiscord,
    version: &str,
    description: &str,
    pred: impl Fn(&str) -> bool,
) -> Value {
    let title = format!("Release {version} ·");
    let find = |fake: &FakeDiscord| {
        fake.messages(RELEASES_CHANNEL).into_iter().rev().find(|m| {
            m["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.starts_with(&title))
        })
    };
    fake.wait_until(description, |f| {
        find(f).is_some_and(|card| pred(&card_text(&card)))
    })
    .await;
    find(fake).expect("the card")
}

/// `gonogo run`; killed when dropped (a failed assertion), and then its log is printed.
struct Bot {
    child: Child,
    log: PathBuf,
}

impl Bot {
    fn spawn(config: &Path, log: &Path) -> Bot {
        let file = File::create(log).expect("create the log file");
        let child = command(config, true, &["run"])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the log file"))
            .stderr(file)
            .spawn()
            .expect("spawn gonogo run");
        Bot {
            child,
            log: log.to_owned(),
        }
    }

    async fn wait_healthy(&mut self, addr: SocketAddr) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("reqwest client");
        let url = format!("http://{addr}/healthz");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(response) = http.get(&url).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.try_wait().expect("poll gonogo") {
                panic!("gonogo run exited with {status} before it was healthy");
            }
            assert!(
                Instant::now() < deadline,
                "GET /healthz did not answer 200 within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll gonogo") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gonogo did not exit within {PATIENCE:?} of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- gonogo run's log\n{log}");
        }
    }
}
