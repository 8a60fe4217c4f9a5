//! Walking the merged config tree: typed reads that record every problem under its key, and
//! every key they ask for. What the readers ask for is the schema: a key no reader asked for
//! is unknown.

use std::cell::RefCell;
use std::rc::Rc;

use figment::value::{Dict, Value};

use super::error::{ConfigError, ConfigErrors};
use super::values::expected;

/// A problem already recorded in [`Problems`]; the caller only needs to give up.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reported;

/// The problems found so far, which keys the environment set (to say so in messages), and
/// every table read with the keys asked of it.
pub(super) struct Problems {
    list: Vec<ConfigError>,
    /// `(config key, environment variable)` for every override.
    env_origin: Vec<(String, String)>,
    tables: Vec<Read>,
}

/// A table as it was read: the keys it holds and the keys its reader asked for.
struct Read {
    path: String,
    present: Vec<String>,
    asked: Asked,
}

/// The keys a table's reader asked for, in the order it asked.
type Asked = Rc<RefCell<Vec<String>>>;

impl Problems {
    pub fn new(env_origin: Vec<(String, String)>) -> Problems {
        Problems {
            list: Vec::new(),
            env_origin,
            tables: Vec::new(),
        }
    }

    /// Once every reader has run: reports each `(variable, name)` of `single_underscore` that
    /// names a section's key with one `_` where two belong, then each key of a table that its
    /// reader never asked for, with the keys it did ask for.
    pub fn report_unread(&mut self, single_underscore: Vec<(String, String)>) {
        for (var, name) in single_underscore {
            if let Some(fixed) = self.known_as_single_underscore(&name) {
                self.add(
                    var,
                    format!(
                        "not read: put two underscores between the section and the key, as in GONOGO_{}",
                        fixed.to_ascii_uppercase()
                    ),
                );
            }
        }
        self.report_unknown_keys();
    }

    fn report_unknown_keys(&mut self) {
        for read in std::mem::take(&mut self.tables) {
            let asked = read.asked.borrow();
            for name in read.present.iter().filter(|name| !asked.contains(name)) {
                let key = key_in(&read.path, name);
                let place = if read.path.is_empty() {
                    "sections are".to_owned()
                } else {
                    format!("keys in {} are", read.path)
                };
                let origin = self
                    .env_var_for(&key)
                    .map(|var| format!(" (set by {var})"))
                    .unwrap_or_default();
                self.add(
                    &key,
                    format!(
                        "unknown key{origin}; the valid {place}: {}",
                        asked.join(", ")
                    ),
                );
            }
        }
    }

    /// The key a reader asked for, written `<section>_<key>`, like `discord_token` for a
    /// variable written `GONOGO_DISCORD_TOKEN`.
    fn known_as_single_underscore(&self, name: &str) -> Option<String> {
        self.tables
            .iter()
            .filter(|read| !read.path.is_empty() && !read.path.contains(['.', '[']))
            .find_map(|read| {
                let key = name.strip_prefix(&read.path)?.strip_prefix('_')?;
                read.asked
                    .borrow()
                    .iter()
                    .any(|asked| asked == key)
                    .then(|| format!("{}__{key}", read.path))
            })
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
    asked: Asked,
}

impl<'a> Table<'a> {
    /// Reads the table at `path`, reporting a non-table value. Its keys that no read asks for
    /// are reported once reading ends.
    pub fn new(
        path: impl Into<String>,
        value: Option<&'a Value>,
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
        Table::registered(path, dict, problems)
    }

    /// The root of the config tree: its keys are the sections.
    pub fn root(dict: &'a Dict, problems: &mut Problems) -> Table<'a> {
        Table::registered(String::new(), Some(dict), problems)
    }

    fn registered(path: String, dict: Option<&'a Dict>, problems: &mut Problems) -> Table<'a> {
        let asked = Asked::default();
        problems.tables.push(Read {
            path: path.clone(),
            present: dict
                .map(|dict| dict.keys().cloned().collect())
                .unwrap_or_default(),
            asked: asked.clone(),
        });
        Table { path, dict, asked }
    }

    /// Names keys this table's reader knows but reads only in some configs, such as another
    /// executor kind's: they are not unknown, whether or not they are read.
    pub fn knows(&self, names: &[&str]) {
        for name in names {
            self.ask(name);
        }
    }

    fn ask(&self, name: &str) {
        let mut asked = self.asked.borrow_mut();
        if !asked.iter().any(|known| known == name) {
            asked.push(name.to_owned());
        }
    }

    /// Every key of a table whose keys are names, such as `[environments]`, with its value:
    /// none of them is unknown.
    pub fn entries(&self) -> Vec<(String, &'a Value)> {
        let entries: Vec<(String, &'a Value)> = self
            .dict
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), value))
            .collect();
        for (name, _) in &entries {
            self.ask(name);
        }
        entries
    }

    /// The full name of `name` in this table, like `discord.token`.
    pub fn key(&self, name: &str) -> String {
        key_in(&self.path, name)
    }

    pub fn is_present(&self) -> bool {
        self.dict.is_some()
    }

    /// The value of `name`; an empty string counts as unset, so the environment can clear a key.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.ask(name);
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

/// The full name of `name` in the table at `path`, like `discord.token`.
fn key_in(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}
