//! Reading the plain sections: discord, http, database, channels, roles, executor, gates, messages.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::TimeDelta;
use figment::value::Value;

use super::reader::{Problems, Reported, Table};
use super::values::{
    boolean, duration_at_least, http_url, integer, number, quote, snowflake, string,
};
use super::{
    AuditConfig, ChannelsConfig, DatabaseConfig, DiscordConfig, ExecutorConfig, GatesConfig,
    HttpConfig, MessagesConfig, RolesConfig, Secret,
};
use crate::domain::gates::Gates;
use crate::domain::{Role, RoleId};

/// The placeholders a command executor's argv may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "{version}",
    "{percent}",
    "{stage}",
    "{release_id}",
    "{kind}",
    "{action}",
];

pub(super) fn discord(root: &Table, p: &mut Problems) -> Option<DiscordConfig> {
    let t = Table::new("discord", root.get("discord"), p);
    let token = t.required(
        "token",
        "set GONOGO_DISCORD__TOKEN (the bot token from the Developer Portal)",
        p,
        |v| Ok(Secret::new(string(v)?.trim())),
    );
    let application_id = t.required(
        "application_id",
        "set it to the application ID from the Developer Portal (General Information)",
        p,
        snowflake,
    );
    let public_key = t.required(
        "public_key",
        "set it to the public key from the Developer Portal (General Information); \
         gonogo checks every HTTP interaction against it",
        p,
        public_key,
    );
    let guild_id = t.required(
        "guild_id",
        "set it to the ID of the server gonogo serves (in Discord, right-click the server \
         and Copy Server ID); the commands are registered there, and interactions from any \
         other server or from direct messages are refused",
        p,
        snowflake,
    );
    let gateway = t.or("gateway", true, p, boolean);
    let api_base = t.or("api_base", "https://discord.com".to_owned(), p, |v| {
        http_url(v, true)
    });
    Some(DiscordConfig {
        token: token?,
        application_id: application_id?,
        public_key: public_key?,
        guild_id: guild_id?,
        gateway: gateway?,
        api_base: api_base?,
    })
}

/// 64 hex characters that make a valid Ed25519 public key.
fn public_key(value: &Value) -> Result<[u8; 32], String> {
    let text = string(value)?;
    let hint = "copy the 64 hex characters of Public Key from the Developer Portal";
    let mut key = [0_u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| format!("not a public key: {hint}"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| format!("not a valid Ed25519 public key: {hint}"))?;
    Ok(key)
}

pub(super) fn http(root: &Table, p: &mut Problems) -> Option<HttpConfig> {
    let t = Table::new("http", root.get("http"), p);
    let default = SocketAddr::from(([127, 0, 0, 1], 8080));
    let listen = t.or("listen", default, p, socket_addr);
    let metrics_listen = t.optional("metrics_listen", p, socket_addr);
    Some(HttpConfig {
        listen: listen?,
        metrics_listen: metrics_listen.ok()?,
    })
}

fn socket_addr(v: &Value) -> Result<SocketAddr, String> {
    let text = string(v)?;
    text.trim().parse().map_err(|_| {
        format!(
            "{} is not an address and port; write an IP address like \"127.0.0.1:8080\" \
             or \"0.0.0.0:8080\"",
            quote(&text)
        )
    })
}

pub(super) fn database(root: &Table, p: &mut Problems) -> Option<DatabaseConfig> {
    let t = Table::new("database", root.get("database"), p);
    let url = t.or("url", "sqlite://gonogo.db".to_owned(), p, |v| {
        let text = string(v)?.trim().to_owned();
        let shown = quote(&super::without_password(&text));
        if text.starts_with("sqlite:") {
            return Ok(text);
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(format!(
                "{shown} is neither an SQLite nor a PostgreSQL URL; write it like \
                 \"sqlite://gonogo.db\" or \"postgres://gonogo@db.internal/gonogo\""
            ));
        }
        match reqwest::Url::parse(&text) {
            Ok(url) if url.host_str().is_some_and(|host| !host.is_empty()) => Ok(text),
            Ok(_) => Err(format!(
                "{shown} names no server; write it like \"postgres://gonogo@db.internal/gonogo\""
            )),
            Err(error) => Err(format!(
                "{shown} is not a valid PostgreSQL URL ({error}); write it like \
                 \"postgres://gonogo@db.internal/gonogo\", with special characters in the \
                 password percent-encoded"
            )),
        }
    });
    Some(DatabaseConfig { url: url? })
}

pub(super) fn channels(root: &Table, p: &mut Problems) -> Option<ChannelsConfig> {
    let t = Table::new("channels", root.get("channels"), p);
    let releases = t.required(
        "releases",
        "set it to the ID of the channel where release cards are posted",
        p,
        snowflake,
    );
    let mut stakeholders = Some(Vec::new());
    for (key, item) in t.list("stakeholders", p).unwrap_or_default() {
        let id = p.check(&key, snowflake(item));
        if id.is_some() && id == releases {
            p.add(
                &key,
                "this is the releases channel, which gets every notice already; remove it",
            );
        }
        stakeholders = stakeholders.zip(id).map(|(mut ids, id)| {
            ids.push(id);
            ids
        });
    }
    if t.get("stakeholders")
        .is_some_and(|v| !matches!(v, Value::Array(..)))
    {
        stakeholders = None;
    }
    Some(ChannelsConfig {
        releases: releases?,
        stakeholders: stakeholders?,
    })
}

pub(super) fn roles(root: &Table, p: &mut Problems) -> Option<RolesConfig> {
    let t = Table::new("roles", root.get("roles"), p);
    let mut by_role = Some(BTreeMap::new());
    for role in Role::ALL {
        match t.optional(role.as_str(), p, snowflake) {
            Ok(Some(id)) => {
                if let Some(map) = by_role.as_mut() {
                    map.insert(role, RoleId(id));
                }
            }
            Ok(None) => {}
            Err(Reported) => by_role = None,
        }
    }
    let stakeholder_ping = t.optional("stakeholder_ping", p, snowflake);
    Some(RolesConfig {
        by_role: by_role?,
        stakeholder_ping: stakeholder_ping.ok()?.map(RoleId),
    })
}

pub(super) fn executor(root: &Table, p: &mut Problems) -> Result<Option<ExecutorConfig>, Reported> {
    executor_in(&Table::new("executor", root.get("executor"), p), p)
}

/// An executor table: `[executor]`, or an environment's own `executor = { … }`.
pub(super) fn executor_in(t: &Table, p: &mut Problems) -> Result<Option<ExecutorConfig>, Reported> {
    const COMMAND: [&str; 4] = ["kind", "deploy", "rollback", "timeout"];
    const WEBHOOK: [&str; 4] = ["kind", "url", "secret", "timeout"];
    // Either kind's keys are known, whichever kind is set, if any.
    t.knows(&COMMAND);
    t.knows(&WEBHOOK);
    if !t.is_present() {
        return Ok(None);
    }
    let kind = t
        .required(
            "kind",
            "set it to \"command\" or \"webhook\"",
            p,
            |v| match string(v)?.trim() {
                kind @ ("command" | "webhook") => Ok(kind.to_owned()),
                other => Err(format!(
                    "{} is not an executor kind; use \"command\" or \"webhook\"",
                    quote(other)
                )),
            },
        )
        .ok_or(Reported)?;
    let (own_keys, other_keys) = if kind == "command" {
        (COMMAND, WEBHOOK)
    } else {
        (WEBHOOK, COMMAND)
    };
    for name in other_keys {
        if !own_keys.contains(&name) && t.get(name).is_some() {
            p.add(
                t.key(name),
                format!(
                    "not used by the {kind} executor; its keys are: {}",
                    own_keys.join(", ")
                ),
            );
        }
    }
    let timeout = t.or("timeout", TimeDelta::minutes(10), p, |v| {
        duration_at_least(v, TimeDelta::seconds(1), "1s")
    });
    let executor = if kind == "command" {
        let deploy = argv(t, "deploy", "./deploy.sh", p);
        let rollback = argv(t, "rollback", "./rollback.sh", p);
        ExecutorConfig::Command {
            deploy: deploy.ok_or(Reported)?,
            rollback: rollback.ok_or(Reported)?,
            timeout: timeout.ok_or(Reported)?,
        }
    } else {
        let url = t.required(
            "url",
            "set it to the URL that receives the signed POST, like \"https://deploy.example.com/hooks/gonogo\"",
            p,
            |v| http_url(v, false),
        );
        let secret = t.required(
            "secret",
            "set GONOGO_EXECUTOR__SECRET (the shared key that signs each request)",
            p,
            |v| Ok(Secret::new(string(v)?)),
        );
        ExecutorConfig::Webhook {
            url: url.ok_or(Reported)?,
            secret: secret.ok_or(Reported)?,
            timeout: timeout.ok_or(Reported)?,
        }
    };
    Ok(Some(executor))
}

/// A non-empty argv whose placeholders are all known.
fn argv(t: &Table, name: &str, example: &str, p: &mut Problems) -> Option<Vec<String>> {
    let key = t.key(name);
    let hint =
        format!("write the program and its arguments, like [\"{example}\", \"{{version}}\"]");
    let items = match t.get(name) {
        None => {
            p.add(&key, format!("missing: {hint}"));
            return None;
        }
        Some(Value::String(..)) => {
            p.add(
                &key,
                format!("expected a list, found a string (no shell splits it); {hint}"),
            );
            return None;
        }
        Some(_) => t.list(name, p)?,
    };
    if items.is_empty() {
        p.add(&key, format!("the list is empty; {hint}"));
        return None;
    }
    let mut args = Some(Vec::new());
    for (i, (item_key, item)) in items.into_iter().enumerate() {
        let arg = p.check(
            &item_key,
            string(item).and_then(|arg| {
                if i == 0 && arg.trim().is_empty() {
                    return Err("the program name is empty".to_owned());
                }
                check_placeholders(&arg).map(|()| arg)
            }),
        );
        args = args.zip(arg).map(|(mut args, arg)| {
            args.push(arg);
            args
        });
    }
    args
}

/// Every `{…}` in `arg` must be one of [`PLACEHOLDERS`].
fn check_placeholders(arg: &str) -> Result<(), String> {
    let mut rest = arg;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let placeholder = &rest[start..=start + len];
        if !PLACEHOLDERS.contains(&placeholder) {
            return Err(format!(
                "unknown placeholder {}; use {}",
                quote(placeholder),
                PLACEHOLDERS.join(", ")
            ));
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}

pub(super) fn gates(root: &Table, p: &mut Problems) -> Option<GatesConfig> {
    let t = Table::new("gates", root.get("gates"), p);
    let prometheus_url = t.optional("prometheus_url", p, |v| http_url(v, false));
    let mut query = |name: &str| {
        let query = t.optional(name, p, string);
        if matches!(query, Ok(Some(_))) && t.get("prometheus_url").is_none() {
            p.add(
                t.key(name),
                "a query needs gates.prometheus_url to run against; set it too",
            );
        }
        query
    };
    let error_rate_query = query("error_rate_query");
    let latency_p99_query = query("latency_p99_query");
    if matches!(prometheus_url, Ok(Some(_)))
        && matches!(
            (&error_rate_query, &latency_p99_query),
            (Ok(None), Ok(None))
        )
    {
        p.add(
            t.key("prometheus_url"),
            "the metric gates need a query to watch: set gates.error_rate_query, \
             gates.latency_p99_query or both",
        );
    }
    let max_error_rate = t.or("max_error_rate", 0.01, p, |v| {
        number(v).and_then(|n| {
            if (0.0..=1.0).contains(&n) {
                Ok(n)
            } else {
                Err("must be a fraction from 0 to 1, like 0.01 for 1%".to_owned())
            }
        })
    });
    let max_latency_ratio = t.or("max_latency_ratio", 2.0, p, |v| {
        number(v).and_then(|n| {
            if n > 1.0 && n.is_finite() {
                Ok(n)
            } else {
                Err("must be above 1, like 2.0 for twice the baseline p99".to_owned())
            }
        })
    });
    let max_complaints = t.or("max_complaints", 3, p, |v| integer(v, 0, 10_000));
    let check_every = t.or("check_every", TimeDelta::minutes(1), p, |v| {
        duration_at_least(v, TimeDelta::seconds(1), "1s")
    });
    Some(GatesConfig {
        prometheus_url: prometheus_url.ok()?,
        metrics: Gates {
            error_rate_query: error_rate_query.ok()?,
            latency_p99_query: latency_p99_query.ok()?,
            max_error_rate: max_error_rate?,
            max_latency_ratio: max_latency_ratio?,
            check_every: check_every?,
        },
        max_complaints: max_complaints?,
    })
}

pub(super) fn messages(root: &Table, p: &mut Problems) -> Option<MessagesConfig> {
    let t = Table::new("messages", root.get("messages"), p);
    let dir = t.optional("dir", p, |v| {
        let dir = PathBuf::from(string(v)?.trim());
        if dir.is_dir() {
            Ok(dir)
        } else {
            let shown = dir.display().to_string();
            Err(format!(
                "{} is not a directory (a relative path starts from the working directory); \
                 create it or remove the key to use the built-in templates",
                quote(&shown)
            ))
        }
    });
    Some(MessagesConfig { dir: dir.ok()? })
}

/// The shortest `audit.key` accepted: a short key could be guessed, and a rewrite then signed.
const MIN_AUDIT_KEY: usize = 32;

pub(super) fn audit(root: &Table, p: &mut Problems) -> Option<AuditConfig> {
    let t = Table::new("audit", root.get("audit"), p);
    let key = t.optional("key", p, |v| {
        let key = string(v)?;
        if key.trim().len() < MIN_AUDIT_KEY {
            return Err(format!(
                "the key is too short to resist guessing; use {MIN_AUDIT_KEY} or more random \
                 characters, like the output of `openssl rand -hex 32`"
            ));
        }
        Ok(Secret::new(key.trim()))
    });
    let key = key.ok()?;
    if key.is_some() && !p.set_by_env("audit.key") {
        p.add(
            "audit.key",
            "the key must not be in the file, which anyone rewriting the database could read; \
             remove it and set GONOGO_AUDIT__KEY",
        );
        return None;
    }
    Some(AuditConfig { key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_must_be_known() {
        assert!(check_placeholders("--canary={percent}").is_ok());
        assert!(check_placeholders("{version}-{stage}{kind}").is_ok());
        assert!(check_placeholders("no braces, or an open { only").is_ok());
        let error = check_placeholders("{verison}").unwrap_err();
        assert!(
            error.contains("`{verison}`") && error.contains("{version}"),
            "{error}"
        );
    }
}
