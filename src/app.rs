//! Wiring: open the store, register commands, start the HTTP door, the gateway door, the
//! outbox dispatcher and the scheduler, and stop them all together.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use serenity::gateway::ShardManager;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;

use crate::clock::Clock;
use crate::config::Config;
use crate::discord::dispatcher;
use crate::discord::gateway;
use crate::discord::handler::Handler;
use crate::discord::rest::Rest;
use crate::messages::Messages;
use crate::service::Service;
use crate::store::{self, Db};
use crate::{executor, http, scheduler};

/// A started bot.
pub struct Running {
    pub addr: SocketAddr,
    pub service: Service,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<anyhow::Result<()>>,
    shards: Option<Arc<ShardManager>>,
}

/// Starts everything `gonogo run` runs, with the given clock.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let db = Db::connect(&config.database.url)
        .await?
        .with_audit_key(config.audit_key());
    db.migrate().await?;
    let messages = Messages::load(config.messages.dir.as_deref())?;
    let config = Arc::new(config);
    let service = Service::new(db, config.clone(), clock, Arc::new(messages));
    let handler = Handler::new(service.clone());
    service.key_the_audit_chain().await?;

    let http_client = gateway::http(&config.discord);
    gateway::register_commands(&http_client, config.discord.guild_id)
        .await
        .context("Cannot register the slash commands with Discord")?;

    let (shutdown, stop) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("Cannot listen on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let router = http::router(handler.clone(), &config.discord.public_key)?;
    let mut stop_http = stop.clone();
    tasks.spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop_http.wait_for(|stop| *stop).await;
            })
            .await
            .context("The HTTP server failed")
    });
    info!(%addr, "Serving POST /interactions, /healthz and /metrics");

    let rest = Rest::new(&config.discord.api_base, config.discord.token.expose())?
        .counting(service.discord_answers.clone());
    supervise(&mut tasks, "outbox dispatcher", &stop, {
        let (service, stop) = (service.clone(), stop.clone());
        move || dispatcher::run(service.clone(), rest.clone(), stop.clone())
    });
    supervise(&mut tasks, "scheduler", &stop, {
        let (service, stop) = (service.clone(), stop.clone());
        move || scheduler::run(service.clone(), stop.clone())
    });
    supervise(&mut tasks, "executor", &stop, {
        let (service, stop) = (service.clone(), stop.clone());
        move || executor::run(service.clone(), stop.clone())
    });
    supervise(&mut tasks, "audit head publisher", &stop, {
        let (service, stop) = (service.clone(), stop.clone());
        move || publish_audit_head(service.clone(), stop.clone())
    });

    let shards = if config.discord.gateway {
        let mut client = gateway::client(&config.discord, handler).await?;
        let shards = client.shard_manager.clone();
        tasks.spawn(async move {
            client
                .start()
                .await
                .context("The Discord gateway connection failed")
        });
        Some(shards)
    } else {
        None
    };
    Ok(Running {
        addr,
        service,
        shutdown,
        tasks,
        shards,
    })
}

impl Running {
    /// Waits until a task ends on its own (an error) or `signal` resolves, then stops.
    pub async fn serve_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            () = signal => info!("Shutting down"),
            Some(ended) = self.tasks.join_next() => {
                self.stop().await?;
                return ended.context("A gonogo task panicked")?.context("A gonogo task stopped");
            }
        }
        self.stop().await
    }

    /// Stops every task and fails if any of them panicked or failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(shards) = &self.shards {
            shards.shutdown_all().await;
        }
        let mut result = Ok(());
        while let Some(ended) = self.tasks.join_next().await {
            let failure = match ended {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error,
                Err(join) => anyhow::anyhow!("A gonogo task panicked: {join}"),
            };
            if result.is_ok() {
                result = Err(failure);
            }
        }
        self.service.db.close().await;
        result
    }
}

/// Logs the audit chain's head now and every hour, so log storage the database file cannot
/// reach keeps copies to check it against (`gonogo audit verify --since-head`).
async fn publish_audit_head(service: Service, mut stop: watch::Receiver<bool>) {
    loop {
        match store::audit::head(service.db.reader()).await {
            Ok(head) => info!(
                audit_count = head.count,
                audit_hash = %head.hash,
                "Audit chain head {head}"
            ),
            Err(cause) => tracing::error!("Cannot read the audit chain head: {cause:#}"),
        }
        let next = service.now() + chrono::TimeDelta::hours(1);
        tokio::select! {
            () = service.clock.sleep_until(next) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Runs a background task made by `make`, and makes a new one should it panic: one bad answer
/// must not take the whole bot down. It ends when the task returns, which it does on shutdown.
fn supervise<F, Fut>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    stop: &watch::Receiver<bool>,
    make: F,
) where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stop = stop.clone();
    tasks.spawn(async move {
        loop {
            match tokio::spawn(make()).await {
                Ok(()) => return Ok(()),
                Err(failure) if failure.is_panic() && !*stop.borrow() => {
                    tracing::error!("The {name} failed and is restarted: {failure}");
                    // Real time: this only paces restarts of a task that keeps failing.
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(failure) => return Err(anyhow::anyhow!("The {name} stopped: {failure}")),
            }
        }
    });
}
