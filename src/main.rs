//! The `gonogo` command line: run the bot, check its config, migrate, inspect the audit trail.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use gonogo::clock::SystemClock;
use gonogo::config::{self, Config, Secret};
use gonogo::messages::Messages;
use gonogo::store::{self, Db};

#[derive(Parser)]
#[command(
    name = "gonogo",
    version,
    about = "Runs software releases from Discord"
)]
struct Cli {
    /// The config file [default: `$GONOGO_CONFIG`, else gonogo.toml]
    #[arg(long, global = true, env = "GONOGO_CONFIG", default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    /// Log format
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Apply migrations, register the slash commands, and serve until SIGINT/SIGTERM
    Run,
    /// Validate the config, cron expressions, policies and message templates
    Check,
    /// Apply the database migrations; with --to, move the SQLite database into an empty
    /// PostgreSQL one
    Migrate {
        /// The PostgreSQL database to move into, a postgres:// url with its user, password,
        /// host and database name; it must hold no gonogo data
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
    /// Inspect the audit trail
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Print the DORA figures (deployment frequency, lead time, change failure rate, time to
    /// restore) computed from the audit trail, as /release stats shows them
    Stats {
        /// Over how many days, up to now
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
        /// Whose figures
        #[arg(long, default_value = gonogo::domain::release::DEFAULT_ENVIRONMENT)]
        environment: String,
    },
    /// The pipeline's client: plan, check, wait for and deploy releases through the API
    Ci(Box<gonogo::ci::CiArgs>),
    /// Make pipeline tokens
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print a new random token once, and the line that admits it in `[api].tokens`
    New {
        /// The token's name; its actions are audited as `token:NAME`
        name: String,
        /// What the token may do
        #[arg(long, value_delimiter = ',', default_value = "read,plan,check,deploy")]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exit 1 if any row was edited, deleted or reordered
    Verify {
        /// A head printed earlier by `gonogo audit head`: fail unless it is still a prefix
        #[arg(long, value_name = "COUNT:HASH")]
        since_head: Option<store::audit::Head>,
    },
    /// Print the chain's head as COUNT:HASH, to keep outside the database
    Head,
    /// Print every audit event
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    // One worker thread: gonogo waits on Discord, SQLite and executors far more than it
    // computes, and a click that stays on one thread from the door to the commit is not
    // handed between idle workers (each hand-off a kernel wake-up). SQLite's own threads and
    // the blocking pool still run beside it.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    // These run without a config: a pipeline has none, and a token is made before it is listed.
    let command = match cli.command {
        Cmd::Check => return Ok(check(&cli.config)),
        Cmd::Ci(args) => return gonogo::ci::run(*args).await,
        Cmd::Token {
            command: TokenCmd::New { name, scopes },
        } => return new_token(&name, &scopes),
        command => command,
    };
    let config = load(&cli.config)?;
    match command {
        Cmd::Check | Cmd::Ci(_) | Cmd::Token { .. } => unreachable!("handled above"),
        Cmd::Run => {
            let running = gonogo::app::start(config, Arc::new(SystemClock)).await?;
            running.serve_until(shutdown_signal()).await?;
        }
        Cmd::Migrate { to: None } => {
            let db = Db::open(&config.database.url, None).await?;
            db.migrate().await?;
            println!("migrations applied to {}", config.database.shown());
        }
        Cmd::Migrate {
            to: Some(target_url),
        } => {
            let source = open(&config).await?;
            source.migrate().await?;
            let target = Db::open(&target_url, None)
                .await?
                .with_audit_key(source.audit_key().cloned());
            let moved = store::copy::move_to(&source, &target).await?;
            for (table, rows) in &moved.rows {
                println!("{table}: {rows} rows");
            }
            println!(
                "moved {} into {}; the audit chain verifies on both sides at {}",
                config.database.shown(),
                gonogo::config::without_password(&target_url),
                moved.head
            );
            println!(
                "set database.url (or GONOGO_DATABASE__URL) to the new database and start gonogo"
            );
        }
        Cmd::Audit {
            command: AuditCmd::Verify { since_head },
        } => {
            let db = open(&config).await?;
            let verdict =
                store::audit::verify(db.reader(), db.audit_key(), since_head.as_ref()).await?;
            match verdict {
                store::audit::Verdict::Intact(rows) => {
                    println!("audit trail intact: {rows} events");
                }
                store::audit::Verdict::Broken(broken) => {
                    println!("audit trail BROKEN at {broken}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Cmd::Stats { days, environment } => {
            let db = open(&config).await?;
            let messages = gonogo::messages::Messages::load(config.messages.dir.as_deref())?;
            let now = chrono::Utc::now();
            println!(
                "{}",
                gonogo::service::stats_text(&db, &messages, (days, &environment), now).await?
            );
        }
        Cmd::Audit {
            command: AuditCmd::Head,
        } => {
            let db = open(&config).await?;
            println!("{}", store::audit::head(db.reader()).await?);
        }
        Cmd::Audit {
            command: AuditCmd::Export { format },
        } => {
            let db = open(&config).await?;
            let events = store::audit::export(db.reader()).await?;
            print!(
                "{}",
                store::audit::format_export(&events, matches!(format, ExportFormat::Csv))?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn new_token(name: &str, scopes: &[String]) -> anyhow::Result<ExitCode> {
    let issued = gonogo::tokens::issue(name, scopes).map_err(anyhow::Error::msg)?;
    println!("token (shown only now; give it to the pipeline as GONOGO_TOKEN):");
    println!("{}", issued.token);
    println!("add this line to [api].tokens:");
    println!("{}", issued.config_line);
    Ok(ExitCode::SUCCESS)
}

/// The configured database, its audit chain keyed when `GONOGO_AUDIT__KEY` is set.
async fn open(config: &Config) -> anyhow::Result<Db> {
    Db::open(
        &config.database.url,
        config.audit.key.as_ref().map(Secret::expose),
    )
    .await
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    config::load(path).map_err(|errors| anyhow::anyhow!("{errors}\nrun `gonogo check` for details"))
}

/// Prints every problem with the config and the templates; exit code 1 if there is any.
fn check(path: &std::path::Path) -> ExitCode {
    let result = config::load(path);
    let (report, mut ok) = config::check_report(&result);
    println!("{report}");
    let dir = result.as_ref().ok().and_then(|c| c.messages.dir.clone());
    match Messages::load(dir.as_deref()).and_then(|m| m.check_samples()) {
        Ok(()) => println!("message templates OK"),
        Err(error) => {
            println!("messages.dir: {error:#}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return interrupt.await.unwrap_or(());
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,serenity=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
