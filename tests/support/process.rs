//! The real `gonogo` binary as a child process: a free port, its config, spawn, health, SIGTERM.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fake_discord::FakeDiscord;
use super::signer::Signer;
use super::tester::{card_text, config_toml, RELEASES_CHANNEL, TOKEN_ENV};

/// How long the binary may take to answer `/healthz`, to exit after SIGTERM, or to answer one
/// request.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A loopback address nothing listens on right now.
pub fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// The stories' config, served on `addr`, with the database on disk in `dir`; returns the file.
pub fn write_config(fake: &FakeDiscord, signer: &Signer, dir: &Path, addr: SocketAddr) -> PathBuf {
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
        let mut bot = Bot::spawn(config, args, log);
        bot.wait_healthy(addr).await;
        bot
    }

    fn spawn(config: &Path, args: &[&str], log: &Path) -> Bot {
        let file = File::create(log).expect("create the log file");
        let child = command(config, true, args)
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

    /// Sends SIGKILL and reaps the child: a crash, with no chance to clean up.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL gonogo");
        self.child.wait().expect("reap gonogo");
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// The exit status, once the child exits within [`PATIENCE`].
    pub async fn wait_exit(&mut self) -> ExitStatus {
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

/// What a process has used so far, from `/proc`: CPU time and context switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessUse {
    /// utime + stime, in clock ticks (hundredths of a second).
    pub cpu_ticks: u64,
    /// Voluntary and involuntary context switches, over all its threads.
    pub ctxt_switches: u64,
}

impl ProcessUse {
    pub fn of(pid: u32) -> ProcessUse {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15, the 12th and 13th after the name.
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let mut ctxt_switches = 0;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten();
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            ctxt_switches += status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split(':').nth(1)?.trim().parse::<u64>().ok())
                .sum::<u64>();
        }
        ProcessUse {
            cpu_ticks: field(11) + field(12),
            ctxt_switches,
        }
    }

    /// What was used between `earlier` and this reading.
    #[must_use]
    pub fn since(self, earlier: ProcessUse) -> ProcessUse {
        ProcessUse {
            cpu_ticks: self.cpu_ticks.saturating_sub(earlier.cpu_ticks),
            ctxt_switches: self.ctxt_switches.saturating_sub(earlier.ctxt_switches),
        }
    }
}

/// What every CPU of the machine has spent so far, from `/proc/stat`: a virtual machine's
/// host may take some of it for other guests ("steal"), which slows the whole run alike.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineUse {
    /// All ticks of every CPU, idle and stolen included.
    pub ticks: u64,
    pub stolen: u64,
}

impl MachineUse {
    pub fn now() -> MachineUse {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // `cpu  user nice system idle iowait irq softirq steal guest guest_nice`; the guest
        // times are counted in user and nice already.
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|field| field.parse().ok())
            .collect();
        MachineUse {
            ticks: ticks.iter().sum(),
            stolen: ticks.get(7).copied().unwrap_or(0),
        }
    }

    /// The share of the machine's CPU time its host took between `earlier` and now, in %.
    #[expect(clippy::cast_precision_loss, reason = "tick counts far below 2^52")]
    pub fn stolen_pct_since(earlier: MachineUse) -> f64 {
        let now = MachineUse::now();
        let ticks = now.ticks.saturating_sub(earlier.ticks).max(1);
        now.stolen.saturating_sub(earlier.stolen) as f64 * 100.0 / ticks as f64
    }
}

/// The process's peak resident memory (`VmHWM`), in kB.
pub fn peak_rss_kb(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/PID/status:\n{status}"))
}
