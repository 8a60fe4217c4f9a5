//! The typed config, read once at start-up from `gonogo.toml` and `GONOGO_*` overrides, fully checked.

mod api;
mod checklist;
mod dashboard;
mod environments;
mod error;
mod process;
mod reader;
mod report;
mod sections;
mod source;
#[cfg(test)]
pub(crate) mod tests;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;

use crate::domain::checklist::Section;
use crate::domain::gates::Gates;
use crate::domain::rollout::Rollout;
use crate::domain::windows::Windows;
use crate::domain::{Policies, Role, RoleId};

pub use api::{token_name, ApiConfig, ApiToken, Scope};
pub use dashboard::DashboardConfig;
pub use error::{ConfigError, ConfigErrors, Secret};
pub use report::check_report;
pub use sections::PLACEHOLDERS;
pub use source::{CONFIG_ENV, ENV_PREFIX};

/// The config file read when neither `--config` nor `GONOGO_CONFIG` names one.
pub const DEFAULT_PATH: &str = "gonogo.toml";

/// The whole config; every value in it has been checked.
#[derive(Clone, Debug)]
pub struct Config {
    pub discord: DiscordConfig,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub channels: ChannelsConfig,
    pub roles: RolesConfig,
    pub policies: Policies,
    pub rollout: Rollout,
    pub windows: Windows,
    /// How stages and rollbacks are carried out; `None` when people do it by hand.
    pub executor: Option<ExecutorConfig>,
    pub gates: GatesConfig,
    pub messages: MessagesConfig,
    pub audit: AuditConfig,
    /// The pre-release checklist's sections; empty when there is none.
    pub checklist: Vec<Section>,
    /// The pipeline door's tokens.
    pub api: ApiConfig,
    /// Environments with an order or settings of their own; any other uses `[rollout]` and
    /// `[executor]`.
    pub environments: Vec<(String, EnvironmentConfig)>,
    /// The dashboard behind Discord sign-in, when `[dashboard]` is set.
    pub dashboard: Option<DashboardConfig>,
}

/// One `[environments.NAME]`.
#[derive(Clone, Debug)]
pub struct EnvironmentConfig {
    /// Completing here offers promotion to this environment.
    pub next: Option<String>,
    /// A deploy here needs the same version completed in this environment first…
    pub after: Option<String>,
    /// …at least this long ago.
    pub soak: TimeDelta,
    /// Whether a release here holds a go/no-go poll.
    pub approval: bool,
    /// Its own stages and verification, when it sets either.
    pub rollout: Option<Rollout>,
    /// Its own executor, when it sets one.
    pub executor: Option<ExecutorConfig>,
}

impl Config {
    /// The settings of `environment`, when it is listed.
    pub fn environment(&self, environment: &str) -> Option<&EnvironmentConfig> {
        self.environments
            .iter()
            .find(|(name, _)| name == environment)
            .map(|(_, settings)| settings)
    }

    /// The stages and verification of a release in `environment`.
    pub fn rollout_for(&self, environment: &str) -> &Rollout {
        self.environment(environment)
            .and_then(|e| e.rollout.as_ref())
            .unwrap_or(&self.rollout)
    }

    /// How a release in `environment` is deployed and rolled back, when anything does it.
    pub fn executor_for(&self, environment: &str) -> Option<&ExecutorConfig> {
        self.environment(environment)
            .and_then(|e| e.executor.as_ref())
            .or(self.executor.as_ref())
    }

    /// Whether any environment has an executor.
    pub fn has_executor(&self) -> bool {
        self.executor.is_some() || self.environments.iter().any(|(_, e)| e.executor.is_some())
    }
}

#[derive(Clone, Debug)]
pub struct DiscordConfig {
    pub token: Secret,
    pub application_id: u64,
    /// The application's Ed25519 key, which signs HTTP interactions; checked to be a valid key.
    pub public_key: [u8; 32],
    /// The one server gonogo serves: its commands are registered there, and interactions
    /// from anywhere else are refused.
    pub guild_id: u64,
    /// Receive interactions over the gateway as well as over HTTP.
    pub gateway: bool,
    /// Discord's REST base, without a trailing `/`; a proxy in tests.
    pub api_base: String,
}

#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Serves `/metrics` here, and not on `listen`, when set.
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// A `sqlite:` URL.
    pub url: String,
}

impl DatabaseConfig {
    /// The URL as it may be printed or logged.
    pub fn shown(&self) -> String {
        without_password(&self.url)
    }
}

/// `url` with any password in it shown as `***`: a database URL may carry its credentials,
/// and a log or a terminal must not.
pub fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                "(a database URL that cannot be shown)".to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        Err(_) => masked_by_hand(url),
    }
}

/// `url`'s password masked by its place alone, for a URL too malformed to parse: whatever
/// stands between the user's `:` and the last `@`, since a password may hold a `/`.
fn masked_by_hand(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[derive(Clone, Debug)]
pub struct ChannelsConfig {
    /// Where release cards and notices are posted.
    pub releases: u64,
    /// Where start, completion and rollback notices are also posted.
    pub stakeholders: Vec<u64>,
}

/// Which Discord role stands for each policy role.
#[derive(Clone, Debug, Default)]
pub struct RolesConfig {
    by_role: BTreeMap<Role, RoleId>,
    /// The role mentioned on start, completion and rollback notices.
    pub stakeholder_ping: Option<RoleId>,
}

impl RolesConfig {
    pub fn role_id(&self, role: Role) -> Option<RoleId> {
        self.by_role.get(&role).copied()
    }

    /// The policy roles held by a member with these Discord roles.
    pub fn roles_of(&self, member_roles: &[RoleId]) -> Vec<Role> {
        self.by_role
            .iter()
            .filter(|(_, id)| member_roles.contains(id))
            .map(|(role, _)| *role)
            .collect()
    }
}

/// How the bot acts on the world.
#[derive(Clone, Debug)]
pub enum ExecutorConfig {
    /// Runs an argv directly, never through a shell; [`PLACEHOLDERS`] are filled in.
    Command {
        deploy: Vec<String>,
        rollback: Vec<String>,
        timeout: TimeDelta,
    },
    /// POSTs a JSON body signed with `secret`.
    Webhook {
        url: String,
        secret: Secret,
        timeout: TimeDelta,
    },
}

impl ExecutorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ExecutorConfig::Command { .. } => "command",
            ExecutorConfig::Webhook { .. } => "webhook",
        }
    }

    pub fn timeout(&self) -> TimeDelta {
        match self {
            ExecutorConfig::Command { timeout, .. } | ExecutorConfig::Webhook { timeout, .. } => {
                *timeout
            }
        }
    }
}

/// The automatic rollback triggers.
#[derive(Clone, Debug)]
pub struct GatesConfig {
    /// Without it, only complaints are counted.
    pub prometheus_url: Option<String>,
    /// The queries, thresholds and pace of the metric gates.
    pub metrics: Gates,
    /// Rollback when there are more problem reports than this.
    pub max_complaints: u32,
}

impl GatesConfig {
    /// The metric gates, when Prometheus watches the rollouts.
    pub fn metric_gates(&self) -> Option<&Gates> {
        self.prometheus_url.as_ref().map(|_| &self.metrics)
    }
}

#[derive(Clone, Debug)]
pub struct MessagesConfig {
    /// An existing directory of templates that override the embedded ones.
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditConfig {
    /// Keys the audit chain (HMAC-SHA256); only ever from `GONOGO_AUDIT__KEY`.
    pub key: Option<Secret>,
}

/// Reads the config file at `path`, applies the `GONOGO_<SECTION>__<KEY>` variables of the
/// process environment, and checks everything, reporting every problem at once.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        let problem = if error.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no such file: pass --config PATH or set {CONFIG_ENV}; \
                 gonogo.example.toml shows every key"
            )
        } else {
            format!("cannot read the config file: {error}")
        };
        ConfigErrors::one(&label, problem)
    })?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(var, value)| {
            (
                var.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    parse(&label, &text, &env)
}

/// Like [`load`], with the file's text and the environment given, for tests.
pub fn load_from_str(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    parse(DEFAULT_PATH, toml, env)
}

fn parse(label: &str, text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let source = source::merge(label, text, env)?;
    let mut problems = reader::Problems::new(source.env_origin);
    for (var, problem) in source.misnamed {
        problems.add(var, problem);
    }
    let root = reader::Table::root(&source.tree, &mut problems);
    let p = &mut problems;
    let discord = sections::discord(&root, p);
    let http = sections::http(&root, p);
    let database = sections::database(&root, p);
    let channels = sections::channels(&root, p);
    let roles = sections::roles(&root, p);
    let checklist = checklist::sections(&root, p);
    let policies = process::policies(&root, roles.as_ref(), checklist.as_deref(), p);
    let rollout = process::rollout(&root, p);
    let windows = process::windows(&root, p);
    let executor = sections::executor(&root, p);
    let gates = sections::gates(&root, p);
    let messages = sections::messages(&root, p);
    let audit = sections::audit(&root, p);
    let api = api::api(&root, p);
    let environments = environments::environments(&root, rollout.as_ref(), p);
    let dashboard = dashboard::dashboard(&root, p);
    // What the readers asked for is the schema: now a near miss and an unknown key can be told.
    p.report_unread(source.single_underscore);
    let config = (|| {
        Some(Config {
            discord: discord?,
            http: http?,
            database: database?,
            channels: channels?,
            roles: roles?,
            policies: policies?,
            rollout: rollout?,
            windows: windows?,
            executor: executor.ok()?,
            gates: gates?,
            messages: messages?,
            audit: audit?,
            checklist: checklist?,
            api: api?,
            environments: environments?,
            dashboard: dashboard.ok()?,
        })
    })();
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ if !problems.is_empty() => Err(problems.into_errors(&source.secrets)),
        _ => Err(ConfigErrors::one(label, "the config could not be read")),
    }
}
