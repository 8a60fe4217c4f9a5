//! The pipeline's client: `gonogo ci plan|check|wait|deploy` against the server's `/api/v1`.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use reqwest::{RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::domain::{Milestone, ReleaseState};

/// The longest long poll the server holds.
const MAX_POLL: Duration = Duration::from_secs(120);
/// How long an answer may lag behind the server's own wait before the request counts as lost.
const SLACK: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Releases of one version to look through for the live one; it is almost always the newest.
const LOOKUP_LIMIT: u32 = 20;

#[derive(Args)]
pub struct CiArgs {
    /// The gonogo server, such as `https://gonogo.example.com`; the token comes from `GONOGO_TOKEN`
    #[arg(long, global = true, env = "GONOGO_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Print the release as JSON instead of one line
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CiCommand,
}

#[derive(Subcommand)]
pub enum CiCommand {
    /// Plan a release, as /release plan does; prints `<id> <state> <card link>`
    Plan(Plan),
    /// Report a checklist item as passed or failed
    Check {
        #[command(flatten)]
        target: Target,
        /// The checklist item, as the config writes it
        #[arg(long)]
        item: String,
        #[arg(long, value_enum)]
        status: CheckStatus,
        /// A link to the evidence, shown on the card
        #[arg(long, value_name = "URL")]
        link: Option<String>,
    },
    /// Wait for a milestone; exit 0 on go, 1 on an ending otherwise, 2 on timeout
    Wait {
        #[command(flatten)]
        target: Target,
        /// decided (the poll is over), deployed (verifying or later) or finished
        #[arg(long, value_parser = str::parse::<Milestone>)]
        until: Milestone,
        /// How long to wait in all, such as 30m or 24h
        #[arg(long, default_value = "24h")]
        timeout: humantime::Duration,
    },
    /// Start an approved release's rollout, under every rule /deploy follows
    Deploy {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Args)]
pub struct Plan {
    /// The version to release, such as 1.4.0
    #[arg(long)]
    version: String,
    /// hotfix, patch, minor or major
    #[arg(long = "type", value_name = "TYPE")]
    kind: String,
    /// What the release brings, as the card shows it
    #[arg(long)]
    summary: String,
    /// The changelog's text or link
    #[arg(long)]
    changelog: Option<String>,
    /// Where it is released, such as staging
    #[arg(long)]
    environment: Option<String>,
    /// The commit's hash, 7 to 64 hex digits
    #[arg(long)]
    commit: Option<String>,
    /// When the commit was made (RFC 3339); lead time counts from it
    #[arg(long)]
    commit_time: Option<String>,
    /// The CI run that built it
    #[arg(long, value_name = "URL")]
    build_url: Option<String>,
    /// What is deployed, such as an OCI digest
    #[arg(long)]
    artifact: Option<String>,
    /// The Discord user id the card credits as the author
    #[arg(long, value_name = "USER_ID")]
    on_behalf_of: Option<String>,
    /// Makes a retried plan answer with the release planned the first time
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// Which release a command acts on: by id, or the live release of a version.
#[derive(Args)]
pub struct Target {
    /// The release's id
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "version",
        conflicts_with = "version"
    )]
    release: Option<String>,
    /// Instead of --release: the live release of this version
    #[arg(long, value_name = "V")]
    version: Option<String>,
    /// With --version: the environment it was planned in
    #[arg(
        long,
        value_name = "E",
        requires = "version",
        conflicts_with = "release"
    )]
    environment: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CheckStatus {
    Passed,
    Failed,
}

/// How a command ended, as the pipeline reads it from the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Go,
    /// The release ended otherwise, or the server refused.
    NoGo,
    Timeout,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Go => 0,
            Exit::NoGo => 1,
            Exit::Timeout => 2,
        })
    }
}

/// What the client reads of a release; the rest passes through to `--json`.
#[derive(Debug, Deserialize)]
struct Summary {
    id: String,
    state: ReleaseState,
    #[serde(default)]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    card: Option<String>,
}

/// Runs `gonogo ci …` with the token from `GONOGO_TOKEN`.
pub async fn run(args: CiArgs) -> anyhow::Result<ExitCode> {
    let token = std::env::var("GONOGO_TOKEN").unwrap_or_default();
    let server = args
        .server
        .as_deref()
        .context("Name the server with --server URL or GONOGO_SERVER")?;
    let client = Client::new(server, token.trim())?;
    let exit = execute(&client, args.command, args.json).await?;
    Ok(exit.into())
}

async fn execute(client: &Client, command: CiCommand, json: bool) -> anyhow::Result<Exit> {
    let (release, exit) = match command {
        CiCommand::Plan(plan) => {
            let mut request = client.http.post(client.url(&["releases"])?);
            if let Some(key) = &plan.idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let release = client.send(request.json(&plan_body(&plan))).await;
            (release.context("Cannot plan the release")?, Exit::Go)
        }
        CiCommand::Check {
            target,
            item,
            status,
            link,
        } => {
            let id = client.resolve(&target).await?;
            let url = client.url(&["releases", &id, "checks"])?;
            let body = check_body(&item, status, link.as_deref());
            let release = client.send(client.http.post(url).json(&body)).await;
            (release.context("Cannot report the check")?, Exit::Go)
        }
        CiCommand::Wait {
            target,
            until,
            timeout,
        } => {
            let id = client.resolve(&target).await?;
            client.wait(&id, until, timeout.into()).await?
        }
        CiCommand::Deploy { target } => {
            let id = client.resolve(&target).await?;
            let url = client.url(&["releases", &id, "deploy"])?;
            let release = client.send(client.http.post(url).json(&json!({}))).await;
            (release.context("Cannot deploy the release")?, Exit::Go)
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&release)?);
    } else {
        println!("{}", line(&summary(&release)?));
    }
    Ok(exit)
}

struct Client {
    http: reqwest::Client,
    /// The server's base; `/api/v1/…` goes after whatever path it has.
    base: Url,
    token: String,
    /// The first retry's delay, and the least time between two polls.
    pause: Duration,
}

impl Client {
    fn new(server: &str, token: &str) -> anyhow::Result<Client> {
        if token.is_empty() {
            anyhow::bail!(
                "Set GONOGO_TOKEN to the pipeline's token (`gonogo token new` makes one)"
            );
        }
        let base = Url::parse(server)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .with_context(|| format!("The server `{server}` is not an http or https URL"))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("gonogo/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("Cannot build the HTTP client")?;
        Ok(Client {
            http,
            base,
            token: token.to_owned(),
            pause: Duration::from_secs(1),
        })
    }

    fn url(&self, segments: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("The server `{}` cannot have a path", self.base))?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// The answer's JSON, or why there is none.
    async fn send(&self, request: RequestBuilder) -> Result<Value, Failure> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(Failure::Transport)?;
        let status = response.status();
        let body = response.text().await.map_err(Failure::Transport)?;
        if !status.is_success() {
            return Err(Failure::Refused(Refusal::read(status, &body)));
        }
        serde_json::from_str(&body).map_err(|error| Failure::Garbled(error.to_string()))
    }

    /// The release's id: the one given, or the live release of the version.
    async fn resolve(&self, target: &Target) -> anyhow::Result<String> {
        if let Some(id) = &target.release {
            return Ok(id.clone());
        }
        let version = target
            .version
            .as_deref()
            .context("Name the release with --release ID or --version V")?;
        let limit = LOOKUP_LIMIT.to_string();
        let mut query = vec![("version", version), ("limit", &limit)];
        if let Some(environment) = &target.environment {
            query.push(("environment", environment));
        }
        let request = self.http.get(self.url(&["releases"])?).query(&query);
        let list = self
            .send(request)
            .await
            .with_context(|| format!("Cannot look up version {version}"))?;
        let releases: Vec<Summary> = serde_json::from_value(list["releases"].clone())
            .context("The server's list of releases is not one")?;
        let found = pick_live(&releases).with_context(|| match &target.environment {
            Some(environment) => format!("No release of version {version} in {environment}"),
            None => format!("No release of version {version}"),
        })?;
        Ok(found.id.clone())
    }

    /// Repeats the long poll until the milestone or the timeout, riding out a server that
    /// restarts or a proxy that drops a connection.
    async fn wait(
        &self,
        id: &str,
        until: Milestone,
        timeout: Duration,
    ) -> anyhow::Result<(Value, Exit)> {
        let deadline = Instant::now() + timeout;
        let url = self.url(&["releases", id, "wait"])?;
        let mut backoff = self.pause;
        loop {
            let started = Instant::now();
            let slice = poll_slice(deadline.saturating_duration_since(started));
            let timeout = format!("{}s", slice.as_secs());
            let request = self
                .http
                .get(url.clone())
                .query(&[("until", until.as_str()), ("timeout", &timeout)])
                .timeout(slice + SLACK);
            match self.send(request).await {
                Ok(release) => {
                    let reached = release.get("reached") == Some(&Value::Bool(true));
                    let state = summary(&release)?.state;
                    if let Some(exit) = outcome(until, state, reached) {
                        return Ok((release, exit));
                    }
                    if Instant::now() >= deadline {
                        eprintln!("timed out before the release was {}", until.as_str());
                        return Ok((release, Exit::Timeout));
                    }
                    backoff = self.pause;
                    // A server that answers at once must not be polled in a tight loop.
                    tokio::time::sleep_until(started + self.pause).await;
                }
                Err(failure) if failure.is_transient() && Instant::now() < deadline => {
                    let delay = backoff.min(deadline.saturating_duration_since(Instant::now()));
                    eprintln!(
                        "warning: {failure}; retrying in {:.1}s",
                        delay.as_secs_f64()
                    );
                    tokio::time::sleep(delay).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(failure) => {
                    return Err(failure).context("Cannot wait for the release");
                }
            }
        }
    }
}

/// Why a request brought no release.
#[derive(Debug)]
enum Failure {
    Transport(reqwest::Error),
    Refused(Refusal),
    Garbled(String),
}

impl Failure {
    /// Whether asking again may help: the server or the way to it is down for a while.
    fn is_transient(&self) -> bool {
        match self {
            Failure::Transport(_) => true,
            Failure::Refused(refusal) => {
                refusal.status.is_server_error()
                    || refusal.status == StatusCode::TOO_MANY_REQUESTS
                    || refusal.status == StatusCode::REQUEST_TIMEOUT
            }
            Failure::Garbled(_) => false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Transport(error) => {
                write!(f, "cannot reach the server: {error}")?;
                // reqwest keeps the telling part, such as "connection refused", in the sources.
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            Failure::Refused(refusal) => refusal.fmt(f),
            Failure::Garbled(error) => write!(f, "the server's answer is not JSON: {error}"),
        }
    }
}

impl std::error::Error for Failure {}

/// A refusal, read from the server's problem document (RFC 9457).
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    detail: String,
    /// `(field, message)` for each invalid field of a 422.
    errors: Vec<(String, String)>,
}

impl Refusal {
    fn read(status: StatusCode, body: &str) -> Refusal {
        #[derive(Deserialize)]
        struct Problem {
            title: Option<String>,
            detail: Option<String>,
            #[serde(default)]
            errors: Vec<FieldError>,
        }
        #[derive(Deserialize)]
        struct FieldError {
            field: String,
            message: String,
        }
        // A proxy in front of the server may answer with a page of its own.
        let problem = serde_json::from_str::<Problem>(body).ok();
        let detail = problem
            .as_ref()
            .and_then(|p| p.detail.clone().or_else(|| p.title.clone()))
            .unwrap_or_else(|| format!("the server answered {status}"));
        let errors = problem
            .map(|p| p.errors.into_iter().map(|e| (e.field, e.message)).collect())
            .unwrap_or_default();
        Refusal {
            status,
            detail,
            errors,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)?;
        for (field, message) in &self.errors {
            write!(f, "\n  {field}: {message}")?;
        }
        Ok(())
    }
}

fn plan_body(plan: &Plan) -> Value {
    let mut body = Map::new();
    let fields = [
        ("version", Some(&plan.version)),
        ("type", Some(&plan.kind)),
        ("summary", Some(&plan.summary)),
        ("changelog", plan.changelog.as_ref()),
        ("environment", plan.environment.as_ref()),
        ("commit", plan.commit.as_ref()),
        ("commit_time", plan.commit_time.as_ref()),
        ("build_url", plan.build_url.as_ref()),
        ("artifact", plan.artifact.as_ref()),
        ("on_behalf_of", plan.on_behalf_of.as_ref()),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            body.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
    Value::Object(body)
}

fn check_body(item: &str, status: CheckStatus, link: Option<&str>) -> Value {
    let status = match status {
        CheckStatus::Passed => "passed",
        CheckStatus::Failed => "failed",
    };
    let mut body = json!({ "item": item, "status": status });
    if let Some(link) = link {
        body["url"] = json!(link);
    }
    body
}

/// The server's wait for one poll: what is left, at most the server's limit, and at least a
/// second so that even a zero timeout asks once.
fn poll_slice(remaining: Duration) -> Duration {
    let seconds = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    Duration::from_secs(seconds.clamp(1, MAX_POLL.as_secs()))
}

/// How a wait ends on this answer, or `None` to keep waiting.
fn outcome(until: Milestone, state: ReleaseState, reached: bool) -> Option<Exit> {
    // An ended release never reaches a later milestone: waiting on would only time out.
    if state.ended_unshipped() {
        return Some(Exit::NoGo);
    }
    if !reached {
        return None;
    }
    Some(if until.means_go(state) {
        Exit::Go
    } else {
        Exit::NoGo
    })
}

/// The live release of a list, newest first: the first one that has not ended otherwise, or
/// else the newest.
fn pick_live(releases: &[Summary]) -> Option<&Summary> {
    releases
        .iter()
        .find(|release| !release.state.ended_unshipped())
        .or_else(|| releases.first())
}

fn summary(release: &Value) -> anyhow::Result<Summary> {
    Summary::deserialize(release).context("The server's answer is not a release")
}

fn line(release: &Summary) -> String {
    let card = release.links.card.as_deref().unwrap_or("-");
    format!("{} {} {card}", release.id, release.state.as_str())
}

#[cfg(test)]
mod tests;
