//! The slash commands: one enum, from which both parsing and registration are generated.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use crate::domain::release::{MAX_CHANGELOG, MAX_REASON, MAX_SUMMARY};
use crate::domain::ReleaseKind;

/// The top-level command that groups the release subcommands.
pub const RELEASE: &str = "release";

/// A `/release` subcommand, with its options as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Plan a release and open its go/no-go poll
    Plan {
        version: String,
        kind: String,
        summary: String,
        changelog: Option<String>,
        environment: Option<String>,
    },
    /// Show a release's poll and state (the newest release if no version is given)
    Status {
        version: Option<String>,
        environment: Option<String>,
    },
    /// List the recent releases
    List,
    /// Cancel a release that has not started deploying
    Cancel {
        version: String,
        reason: String,
        environment: Option<String>,
    },
}

/// The name, description and options of each subcommand, in registration order.
struct Spec {
    name: &'static str,
    description: &'static str,
    options: &'static [OptionSpec],
}

struct OptionSpec {
    name: &'static str,
    description: &'static str,
    required: bool,
    max_length: usize,
    choices: &'static [&'static str],
}

const fn opt(
    name: &'static str,
    description: &'static str,
    required: bool,
    max_length: usize,
) -> OptionSpec {
    OptionSpec {
        name,
        description,
        required,
        max_length,
        choices: &[],
    }
}

const VERSION: OptionSpec = opt("version", "Semantic version, like 1.4.0", true, 64);
const ENVIRONMENT: OptionSpec = opt(
    "environment",
    "Environment, when the version is planned in more than one",
    false,
    32,
);

const SPECS: &[Spec] = &[
    Spec {
        name: "plan",
        description: "Plan a release and open its go/no-go poll",
        options: &[
            VERSION,
            OptionSpec {
                name: "type",
                description: "Release type; it decides who must approve",
                required: true,
                max_length: 10,
                choices: &["hotfix", "patch", "minor", "major"],
            },
            opt("summary", "What this release changes", true, MAX_SUMMARY),
            opt("changelog", "Changelog text or link", false, MAX_CHANGELOG),
            opt(
                "environment",
                "Target environment (default: production)",
                false,
                32,
            ),
        ],
    },
    Spec {
        name: "status",
        description: "Show a release's poll and state (the newest release if no version is given)",
        options: &[
            opt("version", "Semantic version, like 1.4.0", false, 64),
            ENVIRONMENT,
        ],
    },
    Spec {
        name: "list",
        description: "List the recent releases",
        options: &[],
    },
    Spec {
        name: "cancel",
        description: "Cancel a release that has not started deploying",
        options: &[
            VERSION,
            opt("reason", "Why it is cancelled", true, MAX_REASON),
            ENVIRONMENT,
        ],
    },
];

impl Command {
    /// The commands to register with Discord, generated from the same table `parse` reads.
    pub fn registrations() -> Vec<CreateCommand> {
        debug_assert_eq!(ReleaseKind::ALL.len(), 4);
        let subcommands = SPECS.iter().map(|spec| {
            spec.options.iter().fold(
                CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    spec.name,
                    spec.description,
                ),
                |sub, o| {
                    let max = u16::try_from(o.max_length).unwrap_or(u16::MAX);
                    let option = o.choices.iter().fold(
                        CreateCommandOption::new(CommandOptionType::String, o.name, o.description)
                            .required(o.required)
                            .max_length(max),
                        |option, choice| option.add_string_choice(*choice, *choice),
                    );
                    sub.add_sub_option(option)
                },
            )
        });
        vec![subcommands.fold(
            CreateCommand::new(RELEASE).description("Plan, vote on and follow releases"),
            CreateCommand::add_option,
        )]
    }

    /// Reads a `/release …` invocation; the error says what was wrong.
    pub fn parse(interaction: &CommandInteraction) -> Result<Command, String> {
        if interaction.data.name != RELEASE {
            return Err(format!(
                "`/{}` is not a gonogo command",
                interaction.data.name
            ));
        }
        let Some(sub) = interaction.data.options.first() else {
            return Err("choose a /release subcommand".to_owned());
        };
        let CommandDataOptionValue::SubCommand(options) = &sub.value else {
            return Err("choose a /release subcommand".to_owned());
        };
        let get = |name: &str| {
            options
                .iter()
                .find(|o| o.name == name)
                .and_then(|o| o.value.as_str())
                .map(str::to_owned)
        };
        let need = |name: &str| get(name).ok_or_else(|| format!("the `{name}` option is required"));
        match sub.name.as_str() {
            "plan" => Ok(Command::Plan {
                version: need("version")?,
                kind: need("type")?,
                summary: need("summary")?,
                changelog: get("changelog"),
                environment: get("environment"),
            }),
            "status" => Ok(Command::Status {
                version: get("version"),
                environment: get("environment"),
            }),
            "list" => Ok(Command::List),
            "cancel" => Ok(Command::Cancel {
                version: need("version")?,
                reason: need("reason")?,
                environment: get("environment"),
            }),
            other => Err(format!(
                "`/release {other}` is not available in this version of gonogo"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_is_registered_with_its_options() {
        let registered = serde_json::to_value(Command::registrations()).unwrap();
        let subs = registered[0]["options"].as_array().unwrap();
        let names: Vec<_> = subs.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["plan", "status", "list", "cancel"]);
        let plan_options: Vec<_> = subs[0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].clone())
            .collect();
        assert_eq!(
            plan_options,
            ["version", "type", "summary", "changelog", "environment"]
        );
        assert_eq!(
            subs[0]["options"][1]["choices"].as_array().unwrap().len(),
            4
        );
    }
}
