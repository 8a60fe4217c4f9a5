//! The raw config tree: the TOML file, with `GONOGO_<SECTION>__<KEY>` environment overrides merged on top.

use figment::providers::Serialized;
use figment::value::{Dict, Value};
use figment::Figment;

use super::error::ConfigErrors;

/// The prefix of every override.
pub const ENV_PREFIX: &str = "GONOGO_";
/// The variable that names the config file; it is not an override.
pub const CONFIG_ENV: &str = "GONOGO_CONFIG";

/// Keys whose values are taken verbatim from the environment and never quoted.
pub(super) const SECRET_KEYS: [&str; 4] = [
    "discord.token",
    "executor.secret",
    "audit.key",
    "dashboard.client_secret",
];

/// The merged tree, and where its environment overrides came from.
pub(super) struct Source {
    pub tree: Dict,
    /// `(config key, environment variable)` for every override.
    pub env_origin: Vec<(String, String)>,
    /// The secret values seen, to mask them should one ever reach a message.
    pub secrets: Vec<String>,
    /// `(variable, problem)` for `GONOGO_` variables that look like overrides but are not.
    pub misnamed: Vec<(String, String)>,
    /// `(variable, name)` for `GONOGO_<NAME>` variables with no `__`: a near miss when the
    /// name is a section and one of its keys, like `GONOGO_DISCORD_TOKEN`.
    pub single_underscore: Vec<(String, String)>,
}

/// Parses `text` (named `label` in messages) and merges the overrides among `env` onto it.
pub(super) fn merge(label: &str, text: &str, env: &[(&str, &str)]) -> Result<Source, ConfigErrors> {
    let file: Dict = toml::from_str(text).map_err(|error| syntax_error(label, text, &error))?;
    let mut figment = Figment::from(Serialized::defaults(file));
    let mut env_origin = Vec::new();
    let mut misnamed = Vec::new();
    let mut single_underscore = Vec::new();
    for &(var, raw) in env {
        match override_key(var) {
            Ok(Some(Override::Key(key))) => {
                // Secrets stay verbatim: figment would turn a token of digits into a number.
                let value = if SECRET_KEYS.contains(&key.as_str()) {
                    Value::from(raw.to_owned())
                } else {
                    raw.parse().unwrap_or_else(|never| match never {})
                };
                figment = figment.merge(Serialized::default(&key, value));
                env_origin.push((key, var.to_owned()));
            }
            Ok(Some(Override::SingleUnderscore(name))) => {
                single_underscore.push((var.to_owned(), name));
            }
            Ok(None) => {}
            Err(problem) => misnamed.push((var.to_owned(), problem)),
        }
    }
    let tree: Dict = figment.extract().map_err(|error| {
        ConfigErrors::one(label, format!("cannot merge the overrides: {error}"))
    })?;
    let secrets = SECRET_KEYS
        .iter()
        .filter_map(|key| Value::from(tree.clone()).find(key))
        .filter_map(Value::into_string)
        .collect();
    Ok(Source {
        tree,
        env_origin,
        secrets,
        misnamed,
        single_underscore,
    })
}

/// What a `GONOGO_` variable names.
#[derive(Debug, PartialEq, Eq)]
enum Override {
    /// A config key, like `discord.token`.
    Key(String),
    /// A name with no `__`, lowercased, like `discord_token`: not an override.
    SingleUnderscore(String),
}

/// The config key an environment variable overrides, if it is an override at all.
///
/// Only `GONOGO_<SECTION>__<KEY>` names are overrides; other `GONOGO_` variables (such as
/// `GONOGO_CONFIG`) are left alone, though one like `GONOGO_DISCORD_TOKEN` is kept to be
/// checked for a near miss once the readers have said which keys there are.
fn override_key(var: &str) -> Result<Option<Override>, String> {
    let Some(rest) = var
        .get(..ENV_PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(ENV_PREFIX))
        .and_then(|_| var.get(ENV_PREFIX.len()..))
    else {
        return Ok(None);
    };
    let rest = rest.trim().to_ascii_lowercase();
    if !rest.contains("__") {
        return Ok(Some(Override::SingleUnderscore(rest)));
    }
    let key = rest.replace("__", ".");
    if key.split('.').any(str::is_empty) {
        return Err(
            "not a config key: write GONOGO_<SECTION>__<KEY>, as in GONOGO_DISCORD__TOKEN"
                .to_owned(),
        );
    }
    Ok(Some(Override::Key(key)))
}

/// A TOML syntax error with its line and column, but without the offending line:
/// it might hold a secret.
fn syntax_error(label: &str, text: &str, error: &toml::de::Error) -> ConfigErrors {
    let place = error.span().map_or_else(String::new, |span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(":{line}:{column}")
    });
    let message = error.message().trim().replace('\n', "; ");
    ConfigErrors::one(
        format!("{label}{place}"),
        format!("not valid TOML: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_double_underscore_names_are_overrides() {
        let key = |key: &str| Ok(Some(Override::Key(key.to_owned())));
        let single = |name: &str| Ok(Some(Override::SingleUnderscore(name.to_owned())));
        assert_eq!(
            override_key("GONOGO_DISCORD__GUILD_ID"),
            key("discord.guild_id")
        );
        assert_eq!(
            override_key("GONOGO_POLICY__HOTFIX__ROLLBACK_WINDOW"),
            key("policy.hotfix.rollback_window")
        );
        assert_eq!(override_key("GONOGO_CONFIG"), single("config"));
        assert_eq!(override_key("GONOGO_LOG_FORMAT"), single("log_format"));
        assert_eq!(
            override_key("GONOGO_DISCORD_TOKEN"),
            single("discord_token")
        );
        assert_eq!(override_key("HOME"), Ok(None));
        assert!(override_key("GONOGO___TOKEN").is_err());
    }

    #[test]
    fn syntax_errors_give_the_place_but_not_the_line() {
        let text = "[discord]\ntoken = \"abc.def\nx = 1\n";
        let errors = merge("gonogo.toml", text, &[]).err().unwrap();
        assert_eq!(errors.0.len(), 1);
        assert!(errors.0[0].key.starts_with("gonogo.toml:2:"), "{errors}");
        assert!(!errors.to_string().contains("abc.def"), "{errors}");
    }
}
