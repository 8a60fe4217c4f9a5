//! Wiring: open the store, claim the lease, start the HTTP door and, while this replica leads,
//! register the commands and run the gateway door, the outbox dispatcher, the scheduler, the
//! executor and housekeeping; stop them all together.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use serenity::gateway::ShardManager;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;

use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::discord::dispatcher;
use crate::discord::gateway;
use crate::discord::handler::Handler;
use crate::discord::rest::Rest;
use crate::messages::Messages;
use crate::prometheus::{MetricReader, Prometheus};
use crate::service::Service;
use crate::store::Db;
use crate::{checkpointer, executor, housekeeping, http, scheduler};

/// A started bot.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    pub service: Service,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<anyhow::Result<()>>,
    shards: Shards,
}

/// The gateway connection's shards, once it is connected, so that stopping can close them.
type Shards = Arc<std::sync::Mutex<Option<Arc<ShardManager>>>>;

/// Starts everything `gonogo run` runs, with the given clock.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let db = open_database(&config).await?;
    let messages = Messages::load(config.messages.dir.as_deref())?;
    let config = Arc::new(config);
    let reader = config.gates.prometheus_url.as_deref().map(|url| {
        let reader: Arc<dyn MetricReader> = Arc::new(Prometheus::new(url));
        reader
    });
    let service = Service::new(db, config.clone(), clock, Arc::new(messages), reader);
    let handler = Handler::new(service.clone());
    service.key_the_audit_chain().await?;
    // Claimed before the doors open, so a lone replica leads from its first request.
    if let Err(cause) = service.claim_lease().await {
        tracing::warn!("Cannot claim the lease yet, trying again every second: {cause:#}");
    }

    // The database and the HTTP door first: Discord being unreachable must not stop the bot.
    let (shutdown, stop) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let metrics_apart = config.http.metrics_listen.is_some();
    let http_client = Arc::new(gateway::http(&config.discord));
    let mut router = http::router(
        handler.clone(),
        &config.discord.public_key,
        !metrics_apart,
        http_client.clone(),
    )?;
    let pipelines = crate::api::router(service.clone());
    let api = pipelines.is_some();
    if let Some(pipelines) = pipelines {
        router = router.merge(pipelines);
    }
    let dashboard = crate::dashboard::router(service.clone())?;
    let with_dashboard = dashboard.is_some();
    if let Some(dashboard) = dashboard {
        router = router.merge(dashboard);
    }
    let addr = serve(&mut tasks, config.http.listen, router, &stop).await?;
    info!(
        %addr,
        "Serving POST /interactions, /healthz, /livez{}{}{}",
        if metrics_apart { "" } else { ", /metrics" },
        if api { ", the pipeline door /api/v1" } else { "" },
        if with_dashboard { " and the dashboard" } else { "" }
    );
    let mut metrics_addr = None;
    if let Some(listen) = config.http.metrics_listen {
        let router = http::metrics_router(handler.clone());
        let bound = serve(&mut tasks, listen, router, &stop).await?;
        info!(addr = %bound, "Serving GET /metrics");
        metrics_addr = Some(bound);
    }
    let shards = start_loops(&mut tasks, &stop, &service, handler, &http_client)?;
    Ok(Running {
        addr,
        metrics_addr,
        service,
        shutdown,
        tasks,
        shards,
    })
}

/// Starts the background loops: the lease keeper and the checkpointer on every replica, the
/// rest only while this replica leads.
fn start_loops(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    stop: &watch::Receiver<bool>,
    service: &Service,
    handler: Handler,
    http_client: &Arc<serenity::all::Http>,
) -> anyhow::Result<Shards> {
    let config = service.config().clone();
    supervise(tasks, "lease keeper", stop, {
        let service = service.clone();
        move |stop| keep_lease(service.clone(), stop)
    });
    lead(tasks, "command registration", stop, service, {
        let (service, http_client) = (service.clone(), http_client.clone());
        move |stop| register_commands(service.clone(), http_client.clone(), stop)
    });

    let rest = Rest::new(&config.discord.api_base, config.discord.token.expose())?
        .counting(service.discord_answers().clone())
        .pacing(service.clock().clone());
    lead(tasks, "outbox dispatcher", stop, service, {
        let service = service.clone();
        move |stop| dispatcher::run(service.outbox(), rest.clone(), stop)
    });
    lead(tasks, "scheduler", stop, service, {
        let service = service.clone();
        move |stop| scheduler::run(service.timers(), stop)
    });
    lead(tasks, "executor", stop, service, {
        let service = service.clone();
        move |stop| executor::run(service.jobs(), stop)
    });
    lead(tasks, "housekeeping", stop, service, {
        let service = service.clone();
        move |stop| housekeeping::run(service.housekeeping(), stop)
    });
    supervise(tasks, "commit listener", stop, {
        let service = service.clone();
        move |stop| service.clone().listen_for_commits(stop)
    });
    supervise(tasks, "checkpointer", stop, {
        let service = service.clone();
        move |stop| checkpointer::run(service.wal(), stop)
    });
    supervise(tasks, "audit head publisher", stop, {
        let service = service.clone();
        move |stop| publish_audit_head(service.clone(), stop)
    });

    let shards = Shards::default();
    if config.discord.gateway {
        lead(tasks, "gateway connection", stop, service, {
            let (service, shards) = (service.clone(), shards.clone());
            move |stop| connect_gateway(service.clone(), handler.clone(), shards.clone(), stop)
        });
    }
    Ok(shards)
}

impl Running {
    /// Waits until a task ends on its own (an error) or `signal` resolves, then stops.
    pub async fn serve_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => {
                    info!("Shutting down");
                    return self.stop().await;
                }
                Some(ended) = self.tasks.join_next() => match ended {
                    // A task that finished its work, such as registering the commands.
                    Ok(Ok(())) => {}
                    failed => {
                        self.stop().await?;
                        return failed
                            .context("A gonogo task panicked")?
                            .context("A gonogo task stopped");
                    }
                },
            }
        }
    }

    /// Stops every task and fails if any of them panicked or failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let shards = self.shards.lock().ok().and_then(|mut shards| shards.take());
        if let Some(shards) = shards {
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
        self.service.release_lease().await;
        self.service.close().await;
        result
    }
}

/// Opens and migrates the database, trying again with backoff while it cannot be reached, as
/// while Discord cannot: a database server that starts after gonogo, or restarts, does not
/// stop it. A url that can never work, and a schema newer than this build's, stop it at once.
async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let url = &config.database.url;
    Db::check_url(url)?;
    let secret = config.audit.key.as_ref().map(Secret::expose);
    let mut backoff = chrono::TimeDelta::seconds(1);
    loop {
        match Db::open(url, secret).await {
            Ok(db) => {
                db.migrate().await?;
                return Ok(db);
            }
            Err(cause) => tracing::error!(
                "Cannot reach the database, trying again in {}s: {cause:#}",
                backoff.num_seconds()
            ),
        }
        // Real time: nothing else runs yet, and the injected clock paces only the domain.
        tokio::time::sleep(backoff.to_std().unwrap_or_default()).await;
        backoff = (backoff * 2).min(chrono::TimeDelta::seconds(30));
    }
}

/// Serves `router` on `listen` until shutdown, and returns the address it is bound to.
async fn serve(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    listen: SocketAddr,
    router: axum::Router,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("Cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let mut stop = stop.clone();
    tasks.spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await
            .context("The HTTP server failed")
    });
    Ok(addr)
}

/// Registers the slash commands in the guild, retrying with backoff until Discord takes them;
/// `/healthz` reports ready from then on.
async fn register_commands(
    service: Service,
    http: Arc<serenity::all::Http>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = chrono::TimeDelta::seconds(1);
    loop {
        match gateway::register_commands(&http, service.config().discord.guild_id).await {
            Ok(()) => {
                service.mark_ready();
                return;
            }
            Err(cause) => tracing::error!(
                "Cannot register the slash commands with Discord, retrying in {}s: {cause}",
                backoff.num_seconds()
            ),
        }
        if !service.pause(backoff, &mut stop).await {
            return;
        }
        backoff = longer(backoff);
    }
}

/// The next wait of a retry that keeps failing: doubled, up to five minutes.
fn longer(backoff: chrono::TimeDelta) -> chrono::TimeDelta {
    (backoff * 2).min(chrono::TimeDelta::minutes(5))
}

/// Connects to the gateway and serves interactions, connecting again with backoff whenever
/// the connection cannot be made or ends, until shutdown.
async fn connect_gateway(
    service: Service,
    handler: Handler,
    shards: Shards,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = chrono::TimeDelta::seconds(1);
    loop {
        match gateway::client(&service.config().discord, handler.clone()).await {
            Ok(mut client) => {
                if let Ok(mut shards) = shards.lock() {
                    *shards = Some(client.shard_manager.clone());
                }
                let manager = client.shard_manager.clone();
                tokio::select! {
                    ended = client.start() => match ended {
                        Ok(()) => tracing::warn!("The Discord gateway connection ended; connecting again"),
                        Err(cause) => tracing::error!("The Discord gateway connection failed, connecting again in {}s: {cause}", backoff.num_seconds()),
                    },
                    _ = stop.changed() => {
                        // Stopped, or this replica no longer leads: the next leader connects.
                        manager.shutdown_all().await;
                        return;
                    }
                }
            }
            Err(cause) => tracing::error!(
                "Cannot connect to the Discord gateway, trying again in {}s: {cause}",
                backoff.num_seconds()
            ),
        }
        if !service.pause(backoff, &mut stop).await {
            return;
        }
        backoff = longer(backoff);
    }
}

/// Logs the audit chain's head now and every hour, so log storage the database file cannot
/// reach keeps copies to check it against (`gonogo audit verify --since-head`).
async fn publish_audit_head(service: Service, mut stop: watch::Receiver<bool>) {
    loop {
        match service.audit_head().await {
            Ok(head) => info!(
                audit_count = head.count,
                audit_hash = %head.hash,
                "Audit chain head {head}"
            ),
            Err(cause) => tracing::error!("Cannot read the audit chain head: {cause:#}"),
        }
        if !service.pause(chrono::TimeDelta::hours(1), &mut stop).await {
            return;
        }
    }
}

/// Renews this replica's lease every second, or takes it over once it has expired, until
/// shutdown. Real time, not the injected clock: the lease is about processes staying alive.
async fn keep_lease(service: Service, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(cause) = service.claim_lease().await {
            tracing::warn!("Cannot claim the lease: {cause:#}");
        }
        tokio::select! {
            () = tokio::time::sleep(crate::service::leadership::CLAIM_EVERY) => {}
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
    F: Fn(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tasks.spawn(supervised(name, stop.clone(), make));
}

async fn supervised<F, Fut>(
    name: &'static str,
    stop: watch::Receiver<bool>,
    make: F,
) -> anyhow::Result<()>
where
    F: Fn(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(make(stop.clone())).await {
            Ok(()) => return Ok(()),
            Err(failure) if failure.is_panic() && !*stop.borrow() => {
                tracing::error!("The {name} failed and is restarted: {failure}");
                // Real time: this only paces restarts of a task that keeps failing.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(failure) => return Err(anyhow::anyhow!("The {name} stopped: {failure}")),
        }
    }
}

/// Runs a task made by `make` only while this replica leads: started when it takes the lease,
/// stopped when its term is over, and started again when it leads again, until shutdown.
fn lead<F, Fut>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    stop: &watch::Receiver<bool>,
    service: &Service,
    make: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (mut stop, service) = (stop.clone(), service.clone());
    let make = Arc::new(make);
    tasks.spawn(async move {
        loop {
            if !service.leadership().until_leading(&mut stop).await {
                return Ok(());
            }
            let Some(term) = service.leadership().term() else {
                continue;
            };
            let (end, stint) = watch::channel(false);
            let over = {
                let (service, mut stop) = (service.clone(), stop.clone());
                async move {
                    tokio::select! {
                        () = service.leadership().until_term_over(term) => {}
                        _ = stop.wait_for(|stop| *stop) => {}
                    }
                    let _ = end.send(true);
                }
            };
            let make = make.clone();
            let ((), ran) = tokio::join!(over, supervised(name, stint, move |stop| make(stop)));
            ran?;
        }
    });
}
