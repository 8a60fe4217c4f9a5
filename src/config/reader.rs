//! Walking the merged config tree: typed reads that record every problem under its key.

use figment::value::{Dict, Value};

use super::error::{ConfigError, ConfigErrors};
use super::values::expected;

/// A problem already recorded in [`Problems`]; the caller only needs to give up.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reported;

/// The problems found so far, and which keys the environment set (to say so in messages).
pub(super) struct Problems {
    list: Vec<ConfigError>,
    /// `(config key, environment variable)` for every override.
    env_origin: Vec<(String, String)>,
}

impl Problems {
    pub fn new(env_origin: Vec<(String, String)>) -> Problems {
        Problems {
            list: Vec::new(),
            env_origin,
        }
    }

    pub fn add(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.list.push(ConfigError {
            key: key.into(),
            problem: problem.into(),
        });
    }

    /// Records the error of `result`, if any, under `key`.
    pub fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|problem| self.add(key, problem)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether the environment set `key` itself.
    pub fn set_by_env(&self, key: &str) -> bool {
        self.env_origin.iter().any(|(path, _)| path == key)
    }

    /// The environment variable that set `key` or something below it.
    fn env_var_for(&self, key: &str) -> Option<&str> {
        self.env_origin
            .iter()
            .find(|(path, _)| {
                path == key
                    || path
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            .map(|(_, var)| var.as_str())
    }

    /// Every problem, with any text of `secrets` masked as a last line of defence.
    pub fn into_errors(self, secrets: &[String]) -> ConfigErrors {
        let mask = |text: String| {
            secrets
                .iter()
                .filter(|secret| !secret.is_empty())
                .fold(text, |text, secret| {
                    text.replace(secret.as_str(), "[redacted]")
                })
        };
        ConfigErrors(
            self.list
                .into_iter()
                .map(|error| ConfigError {
                    key: mask(error.key),
                    problem: mask(error.problem),
                })
                .collect(),
        )
    }
}

/// One table of the config, such as `[discord]` or `rollout.stages[1]`, possibly absent.
pub(super) struct Table<'a> {
    path: String,
    dict: Option<&'a Dict>,
}

impl<'a> Table<'a> {
    /// Reads the table at `path`, reporting a non-table value and any key not in `allowed`.
    pub fn new(
        path: impl Into<String>,
        value: Option<&'a Value>,
        allowed: &[&str],
        problems: &mut Problems,
    ) -> Table<'a> {
        let path = path.into();
        let dict = match value {
            None => None,
            Some(Value::Dict(_, dict)) => Some(dict),
            Some(other) => {
                problems.add(&path, expected("a table", other));
                None
            }
        };
        let table = Table { path, dict };
        table.report_unknown(allowed, problems);
        table
    }

    /// The root of the config tree.
    pub fn root(dict: &'a Dict, allowed: &[&str], problems: &mut Problems) -> Table<'a> {
        let table = Table {
            path: String::new(),
            dict: Some(dict),
        };
        table.report_unknown(allowed, problems);
        table
    }

    fn report_unknown(&self, allowed: &[&str], problems: &mut Problems) {
        let Some(dict) = self.dict else { return };
        for name in dict.keys().filter(|name| !allowed.contains(&name.as_str())) {
            let key = self.key(name);
            let place = if self.path.is_empty() {
                "sections are".to_owned()
            } else {
                format!("keys in {} are", self.path)
            };
            let origin = problems
                .env_var_for(&key)
                .map(|var| format!(" (set by {var})"))
                .unwrap_or_default();
            problems.add(
                &key,
                format!(
                    "unknown key{origin}; the valid {place}: {}",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// The full name of `name` in this table, like `discord.token`.
    pub fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn is_present(&self) -> bool {
        self.dict.is_some()
    }

    /// The value of `name`; an empty string counts as unset, so the environment can clear a key.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        match self.dict?.get(name)? {
            Value::Empty(..) => None,
            Value::String(_, text) if text.is_empty() => None,
            value => Some(value),
        }
    }

    /// A key that must be set; `how` says how to set it.
    pub fn required<T>(
        &self,
        name: &str,
        how: &str,
        problems: &mut Problems,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        let key = self.key(name);
        if let Some(value) = self.get(name) {
            problems.check(&key, parse(value))
        } else {
            problems.add(&key, format!("missing: {how}"));
            None
        }
    }

    /// A key that takes `default` when unset.
    pub fn or<T>(
        &self,
        name: &str,
        default: T,
        problems: &mut Problems,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.get(name) {
            Some(value) => problems.check(&self.key(name), parse(value)),
            None => Some(default),
        }
    }

    /// A key that may stay unset: `Ok(None)` when unset.
    pub fn optional<T>(
        &self,
        name: &str,
        problems: &mut Problems,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Result<Option<T>, Reported> {
        match self.get(name) {
            Some(value) => problems
                .check(&self.key(name), parse(value))
                .map(Some)
                .ok_or(Reported),
            None => Ok(None),
        }
    }

    /// A list key, as `(key of item i, item)` pairs; `None` when unset or not a list.
    pub fn list(&self, name: &str, problems: &mut Problems) -> Option<Vec<(String, &'a Value)>> {
        let key = self.key(name);
        match self.get(name)? {
            Value::Array(_, items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{key}[{i}]"), item))
                    .collect(),
            ),
            other => {
                problems.add(&key, expected("a list", other));
                None
            }
        }
    }
}
