//! The real `gonogo` binary as a child process: a free port, its config, spawn, health, SIGTERM.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::fake_discord::{FakeDiscord, GUILD_ID};
use super::fixtures;
use super::signer::Signer;
use super::tester::{
    author, button_id, card_text, config_toml, content, deployer, lead, plan_command,
    RELEASES_CHANNEL, TOKEN_ENV,
};
use super::wait::{is, wait_until_within};

/// How long the binary may take to answer `/healthz`, to exit after SIGTERM, or to answer one
/// request.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A loopback address nothing listens on right now.
pub fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// The stories' config, served on `addr`, with the story's database (see
/// [`super::database::url_in`]); returns the file, `gonogo.toml` in `dir`.
pub fn write_config(fake: &FakeDiscord, signer: &Signer, dir: &Path, addr: SocketAddr) -> PathBuf {
    let url = super::database::url_in(dir);
    write_config_named(fake, signer, &dir.join("gonogo.toml"), addr, &url)
}

/// The stories' config at `path`, served on `addr`, on the database at `url`: one replica's,
/// when several share a database.
pub fn write_config_named(
    fake: &FakeDiscord,
    signer: &Signer,
    path: &Path,
    addr: SocketAddr,
    url: &str,
) -> PathBuf {
    let toml = config_toml(fake, signer, url, false);
    let any_port = r#"listen = "127.0.0.1:0""#;
    assert!(
        toml.contains(any_port),
        "the stories' config changed: {toml}"
    );
    let path = path.to_owned();
    std::fs::write(
        &path,
        toml.replace(any_port, &format!(r#"listen = "{addr}""#)),
    )
    .expect("write the config");
    path
}

/// What `/healthz` on `addr` says of the leadership: (leads, term); `None` when it does not
/// answer 200.
pub async fn leadership(addr: SocketAddr) -> Option<(bool, i64)> {
    let response = loopback_client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some((body["leader"].as_bool()?, body["term"].as_i64()?))
}

/// A client of a server on loopback: no proxy, and at most [`PATIENCE`] per request.
pub fn loopback_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .expect("reqwest client")
}

/// `gonogo ARGS --config CONFIG`, with no `GONOGO_*` variables but the token, if `token`.
pub fn command(config: &Path, token: bool, args: &[&str]) -> Command {
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

/// The card of `version` at the fake, once `pred` holds over its text.
pub async fn wait_card(
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

/// Plans a patch `version`, has a lead approve it and a deployer start its rollout, each
/// through the binary's door at `url`: the opening of the stories and benchmarks that watch a
/// rollout.
pub async fn plan_approve_deploy(fake: &FakeDiscord, signer: &Signer, url: &str, version: &str) {
    let send = |payload: Value| async move {
        let (status, body) = signer.post_interaction(url, &payload).await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let plan = plan_command(
        1_700_000_000_000_000_001,
        &author(),
        version,
        "patch",
        "Rollout",
    );
    send(plan).await;
    let card = wait_card(fake, version, "the card is posted", |_| true).await;
    let go = button_id(&card, "go").expect("a Go button");
    let click =
        fixtures::button_on_message(1_700_000_000_000_000_002, &lead(), GUILD_ID, card, &go);
    send(click).await;
    wait_card(fake, version, "the card says approved", |text| {
        text.contains("Approved")
    })
    .await;
    let deploy = fixtures::slash_command(
        1_700_000_000_000_000_003,
        &deployer(),
        RELEASES_CHANNEL,
        GUILD_ID,
        "deploy",
        None,
        vec![("version", json!(version))],
    );
    assert!(content(&send(deploy).await).contains("deploying"));
}

/// `gonogo ARGS` (a `run`) with the token and its output in a log file; killed when dropped (a
/// failed assertion, a panicking bench), and then its log is printed.
pub struct Bot {
    child: Child,
    log: PathBuf,
}

impl Bot {
    /// Spawns `gonogo ARGS`, listening on `addr` as its config says, and returns once it is
    /// healthy.
    pub async fn start(config: &Path, args: &[&str], log: &Path, addr: SocketAddr) -> Bot {
        Bot::start_with_env(config, args, log, addr, &[]).await
    }

    /// [`Bot::start`] with these `GONOGO_*` variables set too, for secrets.
    pub async fn start_with_env(
        config: &Path,
        args: &[&str],
        log: &Path,
        addr: SocketAddr,
        env: &[(&str, &str)],
    ) -> Bot {
        let mut bot = Bot::spawn(config, args, log, env);
        bot.wait_healthy(addr).await;
        bot
    }

    fn spawn(config: &Path, args: &[&str], log: &Path, env: &[(&str, &str)]) -> Bot {
        let file = File::create(log).expect("create the log file");
        let child = command(config, true, args)
            .envs(env.iter().copied())
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

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /healthz` on `addr` until it answers 200, for up to [`PATIENCE`].
    async fn wait_healthy(&mut self, addr: SocketAddr) {
        let http = loopback_client();
        let url = format!("http://{addr}/healthz");
        let child = &mut self.child;
        wait_until_within(PATIENCE, "GET /healthz to answer 200", || {
            if let Some(status) = child.try_wait().expect("poll gonogo") {
                panic!("gonogo run exited with {status} before it was healthy");
            }
            let (http, url) = (&http, &url);
            async move {
                match http.get(url).send().await {
                    Ok(response) => is(response.status().as_u16(), &200),
                    Err(_) => Err(0),
                }
            }
        })
        .await;
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the child.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed: {status}");
    }

    /// Sends SIGKILL and reaps the child: a crash, with no chance to clean up.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL gonogo");
        self.child.wait().expect("reap gonogo");
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// The exit status, once the child exits within [`PATIENCE`].
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_until_within(PATIENCE, "gonogo to exit after SIGTERM", || {
            std::future::ready(child.try_wait().expect("poll gonogo").ok_or("running"))
        })
        .await
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
