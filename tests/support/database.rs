//! The database a story runs on: an `SQLite` file in its directory, or, when
//! `GONOGO_TEST_BACKEND=postgres`, a fresh database in a real PostgreSQL from Debian's packages,
//! started once per test process on loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use super::process::free_loopback_addr;

/// The variable that picks the backend the stories run on: `sqlite` (the default) or
/// `postgres`.
pub const BACKEND_ENV: &str = "GONOGO_TEST_BACKEND";

/// The role the stories connect as, and its password: the stories check that the password
/// never shows in what gonogo prints or logs.
pub const USER: &str = "gonogo";
pub const PASSWORD: &str = "pg-test-secret-7f3a";

/// The backend a benchmark chose for its next run, over the environment's: 0 none, 1
/// `SQLite`, 2 PostgreSQL.
static CHOSEN: AtomicU32 = AtomicU32::new(0);

/// Runs what follows on PostgreSQL when `postgres`, else on `SQLite`: a benchmark that prints
/// both side by side.
#[allow(
    dead_code,
    reason = "benchmarks choose the backend of each run; the stories take the environment's"
)]
pub fn choose(postgres: bool) {
    CHOSEN.store(if postgres { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether the stories run on PostgreSQL.
pub fn on_postgres() -> bool {
    match CHOSEN.load(Ordering::Relaxed) {
        1 => return false,
        2 => return true,
        _ => {}
    }
    match std::env::var(BACKEND_ENV).as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("{BACKEND_ENV}={other}: use sqlite or postgres"),
    }
}

/// The url of the database of the story whose files are in `dir`: a file there, or a
/// database of its own on the shared PostgreSQL, created on the first call and noted in `dir`
/// for the next.
pub fn url_in(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("gonogo.db").display());
    }
    let noted = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&noted) {
        return url;
    }
    let url = server().create_database();
    std::fs::write(&noted, &url).expect("note the story's database url");
    url
}

/// A connection to the database of the story whose files are in `dir`.
pub async fn connect_in(dir: &Path) -> sqlx::AnyConnection {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&url_in(dir))
        .await
        .expect("open the story's database")
}

/// A PostgreSQL server on loopback that lives as long as the test process.
pub struct Server {
    port: u16,
    bin: PathBuf,
    dir: PathBuf,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The shared server, started by the first story that needs it.
pub fn server() -> &'static Server {
    SERVER.get_or_init(Server::start)
}

impl Server {
    /// The url of database `name` on this server, as `user` with `password`.
    pub fn url(&self, user: &str, password: &str, name: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Creates an empty database and returns its url.
    pub fn create_database(&self) -> String {
        let name = format!(
            "story_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url(USER, PASSWORD, &name)
    }

    /// Runs one SQL command on the server's `postgres` database, as the stories' role.
    pub fn psql(&self, sql: &str) {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap_or_else(|e| panic!("run psql: {e}"));
        assert!(
            output.status.success(),
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start() -> Server {
        let bin = installed().unwrap_or_else(|| {
            panic!(
                "The stories on PostgreSQL need Debian's postgresql package, which is not \
                 installed: run scripts/install-postgresql (or apt-get install postgresql) and \
                 run the tests again"
            )
        });
        remove_stale_servers();
        let dir = std::env::temp_dir().join(format!("gonogo-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let password_file = dir.join("password");
        std::fs::write(&password_file, PASSWORD).expect("write the password file");
        give_to_server_user(&dir);
        let data = dir.join("data");
        let initdb = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", USER, "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_loopback_addr().port();
        let log = std::fs::File::create(dir.join("server.log")).expect("create the server log");
        give_to_server_user(&dir.join("server.log"));
        let mut postgres = as_server_user(&bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(&dir)
            // A story's database is thrown away: durability would only slow the stories.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=400"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // The server is the child of a thread that lives as long as the process, and it is
        // killed when that thread's process ends, however the test run ends.
        let (started, running) = mpsc::channel();
        std::thread::spawn(move || {
            let child = postgres.spawn();
            let failed = child.as_ref().err().map(ToString::to_string);
            let _ = started.send(failed);
            if let Ok(mut child) = child {
                let _ = child.wait();
            }
        });
        if let Some(error) = running.recv().expect("the server thread reports") {
            panic!("cannot start postgres: {error}");
        }
        let server = Server { port, bin, dir };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start within 30 s; its log:\n{}",
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The directory of Debian's newest installed PostgreSQL programs.
fn installed() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// PostgreSQL refuses to run as root: as root, the server runs as Debian's `postgres` user.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status
                .lines()
                .find(|line| line.starts_with("Uid:"))?
                .to_owned();
            Some(uids.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// `program`, run as the server's user, and killed when the thread that starts it ends.
fn as_server_user(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    if running_as_root() {
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    command.args(["--pdeathsig", "KILL"]).arg(program);
    command
}

fn give_to_server_user(path: &Path) {
    if running_as_root() {
        let status = Command::new("chown")
            .arg("postgres:postgres")
            .arg(path)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {} failed", path.display());
    }
}

/// Removes the directories of servers whose test process has ended.
fn remove_stale_servers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("gonogo-postgres-"))
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The SQL that drops one of the audit trail's guard triggers, as someone with raw access to
/// the database would.
pub fn drop_trigger(name: &str) -> String {
    if on_postgres() {
        format!("DROP TRIGGER {name} ON audit_events")
    } else {
        format!("DROP TRIGGER {name}")
    }
}

/// The SQL that tries to rewrite audit event 2 in place with an insert: `INSERT OR REPLACE` on
/// `SQLite`, an upsert on PostgreSQL.
pub fn replace_audit_event_2() -> &'static str {
    if on_postgres() {
        "INSERT INTO audit_events (id, release_id, actor_id, kind, detail, at, prev_hash, hash) \
         SELECT id, release_id, actor_id, kind, '{}', at, prev_hash, hash FROM audit_events \
         WHERE id = 2 ON CONFLICT (id) DO UPDATE SET detail = excluded.detail"
    } else {
        "INSERT OR REPLACE INTO audit_events (id, release_id, actor_id, kind, detail, at, prev_hash, hash) \
         SELECT id, release_id, actor_id, kind, '{}', at, prev_hash, hash FROM audit_events WHERE id = 2"
    }
}
