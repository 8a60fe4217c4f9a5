//! The text `gonogo check` prints: a summary of a good config, or every problem of a bad one.

use chrono::TimeDelta;

use super::{Config, ConfigErrors, ExecutorConfig};
use crate::domain::windows::Window;
use crate::domain::{Policy, ReleaseKind};

/// What `gonogo check` prints, and whether the config is usable (exit code 0).
pub fn check_report(result: &Result<Config, ConfigErrors>) -> (String, bool) {
    match result {
        Ok(config) => {
            let mut lines = vec![discord(config), channels(config)];
            lines.extend(policies(config));
            lines.extend([rollout(config), windows(config), actions(config)]);
            lines.extend(environments(config));
            lines.push(pipelines(config));
            lines.push(dashboard(config));
            lines.push("config OK".to_owned());
            (lines.join("\n"), true)
        }
        Err(errors) => {
            let count = errors.0.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            (format!("{errors}\nconfig has {count} {noun}"), false)
        }
    }
}

fn discord(config: &Config) -> String {
    let discord = &config.discord;
    let doors = if discord.gateway {
        "gateway and HTTP"
    } else {
        "HTTP only"
    };
    format!(
        "discord: application {}, serving guild {} only (commands registered there), \
         interactions over {doors}\n\
         http: {}; database: {}",
        discord.application_id,
        discord.guild_id,
        config.http.listen,
        config.database.shown()
    )
}

fn channels(config: &Config) -> String {
    let stakeholders = config.channels.stakeholders.len();
    format!(
        "channels: releases {}, {stakeholders} stakeholder channel{}",
        config.channels.releases,
        if stakeholders == 1 { "" } else { "s" }
    )
}

fn policies(config: &Config) -> Vec<String> {
    let planners: Vec<&str> = config
        .policies
        .planners
        .iter()
        .map(|r| r.as_str())
        .collect();
    let planners = format!("planners: {}", planners.join(", "));
    let kinds = ReleaseKind::ALL.into_iter().map(|kind| {
        let policy = config.policies.get(kind);
        let default = Policy::default_for(kind);
        let origin = if policy.approvers == default.approvers
            && policy.rollback_window == default.rollback_window
        {
            "default"
        } else {
            "custom"
        };
        let approvers: Vec<String> = policy
            .approvers
            .iter()
            .map(|slot| format!("{} {}", slot.count, slot.role))
            .collect();
        let checklist = if policy.checklist.is_empty() {
            String::new()
        } else {
            format!("; checklist {}", policy.checklist.join(", "))
        };
        format!(
            "policy {kind}: {origin}, {} approve, rollback window {}{checklist}",
            approvers.join(" + "),
            short(policy.rollback_window)
        )
    });
    std::iter::once(planners).chain(kinds).collect()
}

fn rollout(config: &Config) -> String {
    let rollout = &config.rollout;
    let stages: Vec<String> = rollout
        .stages
        .iter()
        .map(|stage| {
            let percent = format!("{}%", stage.percent);
            if stage.name == percent {
                percent
            } else {
                format!("{} {percent}", stage.name)
            }
        })
        .collect();
    format!(
        "rollout: {}, then verify for {}; progress every {}; polls last {}",
        stages.join(" → "),
        short(rollout.verify_for),
        short(rollout.progress_every),
        short(rollout.vote_ttl)
    )
}

fn windows(config: &Config) -> String {
    let list = |windows: &[Window], none: &str| {
        if windows.is_empty() {
            none.to_owned()
        } else {
            let all: Vec<String> = windows
                .iter()
                .map(|w| format!("\"{}\" for {}", w.schedule, short(w.duration)))
                .collect();
            all.join(", ")
        }
    };
    let windows = &config.windows;
    format!(
        "windows ({}): allow {}; blackout {}",
        windows.timezone,
        list(&windows.allow, "at any time"),
        list(&windows.blackout, "none")
    )
}

fn actions(config: &Config) -> String {
    let executor = match &config.executor {
        None => "none (stages are announced; people carry them out)".to_owned(),
        Some(executor @ ExecutorConfig::Command { .. }) => {
            format!("command, timeout {}", short(executor.timeout()))
        }
        Some(executor @ ExecutorConfig::Webhook { url, .. }) => {
            format!("webhook to {url}, timeout {}", short(executor.timeout()))
        }
    };
    let gates = if config.gates.prometheus_url.is_some() {
        "Prometheus and complaints"
    } else {
        "complaints only (no gates.prometheus_url)"
    };
    format!("executor: {executor}\ngates: {gates}")
}

/// One line per listed environment: what it follows, what follows it, what it sets itself.
fn environments(config: &Config) -> Vec<String> {
    config
        .environments
        .iter()
        .map(|(name, settings)| {
            let mut said = Vec::new();
            if let Some(after) = &settings.after {
                said.push(format!("after {after} (soak {})", short(settings.soak)));
            }
            if let Some(next) = &settings.next {
                said.push(format!("promotes to {next}"));
            }
            if !settings.approval {
                said.push("no go/no-go poll".to_owned());
            }
            if settings.rollout.is_some() {
                said.push("its own stages and verification".to_owned());
            }
            if settings.executor.is_some() {
                said.push("its own executor".to_owned());
            }
            if said.is_empty() {
                said.push("as [rollout] and [executor] say".to_owned());
            }
            format!("environment {name}: {}", said.join("; "))
        })
        .collect()
}

fn pipelines(config: &Config) -> String {
    let tokens: Vec<String> = config
        .api
        .tokens
        .iter()
        .map(|token| {
            let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
            format!("{} ({})", token.name, scopes.join(", "))
        })
        .collect();
    if tokens.is_empty() {
        "pipeline door: off (no [api].tokens; `gonogo token new NAME` makes one)".to_owned()
    } else {
        format!("pipeline door: /api/v1 for {}", tokens.join(", "))
    }
}

fn dashboard(config: &Config) -> String {
    match &config.dashboard {
        Some(dashboard) => format!(
            "dashboard: {} behind Discord sign-in, sessions of {}; register the OAuth2 \
             redirect {} in the Developer Portal",
            dashboard.public_url,
            short(dashboard.session_ttl),
            dashboard.redirect_uri()
        ),
        None => "dashboard: off (no [dashboard].public_url)".to_owned(),
    }
}

/// A duration the way the config writes it: `1d`, `2h30m`, `0s`.
pub(super) fn short(delta: TimeDelta) -> String {
    let total = delta.num_seconds();
    if total == 0 {
        return "0s".to_owned();
    }
    let parts = [
        (total / 86_400, "d"),
        (total % 86_400 / 3_600, "h"),
        (total % 3_600 / 60, "m"),
        (total % 60, "s"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .concat()
}
