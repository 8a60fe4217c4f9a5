//! The text `gonogo check` prints: a summary of a good config, or every problem of a bad one.

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::{Config, ConfigErrors, ExecutorConfig};
use crate::domain::{Policy, ReleaseKind};

/// What `gonogo check` prints, and whether the config is usable (exit code 0).
pub fn check_report(result: &Result<Config, ConfigErrors>) -> (String, bool) {
    match result {
        Ok(config) => (summary(config), true),
        Err(errors) => {
            let count = errors.0.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            (format!("{errors}\nconfig has {count} {noun}"), false)
        }
    }
}

fn summary(config: &Config) -> String {
    let mut out = String::new();
    let discord = &config.discord;
    let commands = match discord.guild_id {
        Some(guild) => format!("in guild {guild}"),
        None => "globally".to_owned(),
    };
    let doors = if discord.gateway {
        "gateway and HTTP"
    } else {
        "HTTP only"
    };
    let _ = writeln!(
        out,
        "discord: application {}, commands registered {commands}, interactions over {doors}",
        discord.application_id
    );
    let _ = writeln!(
        out,
        "http: {}; database: {}",
        config.http.listen, config.database.url
    );
    let stakeholders = &config.channels.stakeholders;
    let _ = writeln!(
        out,
        "channels: releases {}, {} stakeholder channel{}",
        config.channels.releases,
        stakeholders.len(),
        if stakeholders.len() == 1 { "" } else { "s" }
    );
    for kind in ReleaseKind::ALL {
        let policy = config.policies.get(kind);
        let origin = if *policy == Policy::default_for(kind) {
            "default"
        } else {
            "custom"
        };
        let approvers: Vec<String> = policy
            .approvers
            .iter()
            .map(|slot| format!("{} {}", slot.count, slot.role))
            .collect();
        let _ = writeln!(
            out,
            "policy {kind}: {origin}, {} approve, rollback window {}",
            approvers.join(" + "),
            short(policy.rollback_window)
        );
    }
    let rollout = &config.rollout;
    let stages: Vec<String> = rollout
        .stages
        .iter()
        .map(|stage| format!("{} {}%", stage.name, stage.percent))
        .collect();
    let _ = writeln!(
        out,
        "rollout: {}, then verify for {}; progress every {}; polls last {}",
        stages.join(" → "),
        short(rollout.verify_for),
        short(rollout.progress_every),
        short(rollout.vote_ttl)
    );
    let _ = writeln!(
        out,
        "windows: {} allow, {} blackout",
        config.windows.allow.len(),
        config.windows.blackout.len()
    );
    let executor = match &config.executor {
        None => "none (stages are announced; people carry them out)".to_owned(),
        Some(executor @ ExecutorConfig::Command { .. }) => {
            format!("command, timeout {}", short(executor.timeout()))
        }
        Some(executor @ ExecutorConfig::Webhook { url, .. }) => {
            format!("webhook to {url}, timeout {}", short(executor.timeout()))
        }
    };
    let _ = writeln!(out, "executor: {executor}");
    let metrics = if config.gates.prometheus_url.is_some() {
        "Prometheus and complaints"
    } else {
        "complaints only (no gates.prometheus_url)"
    };
    let _ = writeln!(out, "gates: {metrics}");
    let _ = write!(out, "config OK");
    out
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
    let mut out = String::new();
    for (n, unit) in parts.iter().filter(|(n, _)| *n != 0) {
        let _ = write!(out, "{n}{unit}");
    }
    out
}
