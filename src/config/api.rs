//! Reading `[api]`: the pipeline door's tokens, each kept as the SHA-256 of its secret.

use figment::value::Value;

use super::reader::{Problems, Table};
use super::values::{quote, string};
use crate::domain::text::short_name;

/// What a token may do on the pipeline door.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every `GET`.
    Read,
    Plan,
    Check,
    Deploy,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Plan, Scope::Check, Scope::Deploy];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Plan => "plan",
            Scope::Check => "check",
            Scope::Deploy => "deploy",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text.trim())
            .ok_or_else(|| {
                format!(
                    "{} is not a scope; use read, plan, check or deploy",
                    quote(text)
                )
            })
    }
}

/// A token of the pipeline door: its name (the actor `token:<name>`), the SHA-256 of the
/// secret, and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub sha256: [u8; 32],
    pub scopes: Vec<Scope>,
}

#[derive(Clone, Debug, Default)]
pub struct ApiConfig {
    /// No token, no door: `/api/v1` answers 404 until one is configured.
    pub tokens: Vec<ApiToken>,
}

pub(super) fn api(root: &Table, p: &mut Problems) -> Option<ApiConfig> {
    let t = Table::new("api", root.get("api"), p);
    let Some(entries) = t.list("tokens", p) else {
        return t.get("tokens").is_none().then(ApiConfig::default);
    };
    let mut tokens = Some(Vec::new());
    for (key, entry) in entries {
        let token = token(&key, entry, p);
        if let (Some(token), Some(list)) = (&token, &tokens) {
            if list.iter().any(|known: &ApiToken| known.name == token.name) {
                p.add(key_of(&key, "name"), "another token has this name");
            }
            if list
                .iter()
                .any(|known: &ApiToken| known.sha256 == token.sha256)
            {
                p.add(key_of(&key, "sha256"), "another token has this hash");
            }
        }
        match (token, tokens.as_mut()) {
            (Some(token), Some(list)) => list.push(token),
            _ => tokens = None,
        }
    }
    Some(ApiConfig { tokens: tokens? })
}

fn key_of(table: &str, name: &str) -> String {
    format!("{table}.{name}")
}

fn token(key: &str, entry: &Value, p: &mut Problems) -> Option<ApiToken> {
    let t = Table::new(key, Some(entry), p);
    let new_token = "run `gonogo token new NAME` and paste the line it prints";
    let name = t.required("name", new_token, p, |v| {
        token_name(&string(v)?).map_err(ToOwned::to_owned)
    });
    let sha256 = t.required("sha256", new_token, p, |v| {
        let mut hash = [0_u8; 32];
        hex::decode_to_slice(string(v)?.trim(), &mut hash)
            .map_err(|_| format!("not a SHA-256: write the 64 hex characters {new_token}"))?;
        Ok(hash)
    });
    let scopes = t.required(
        "scopes",
        "list what it may do: read, plan, check, deploy",
        p,
        scopes,
    );
    Some(ApiToken {
        name: name?,
        sha256: sha256?,
        scopes: scopes?,
    })
}

/// A token's name: 1 to 32 lowercase letters, digits, `-` or `_`.
pub fn token_name(name: &str) -> Result<String, &'static str> {
    short_name(name).ok_or("a token name is 1 to 32 lowercase letters, digits, `-` or `_`")
}

fn scopes(value: &Value) -> Result<Vec<Scope>, String> {
    let Value::Array(_, items) = value else {
        return Err("must be a list, like [\"read\", \"plan\"]".to_owned());
    };
    let mut scopes = Vec::new();
    for item in items {
        let scope: Scope = string(item)?.parse()?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err("a token needs at least one scope: read, plan, check or deploy".to_owned());
    }
    Ok(scopes)
}
