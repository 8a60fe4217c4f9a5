//! The slash commands: one table of names, descriptions and options, from which both the
//! registration and the parsing into the command enum are generated.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use crate::domain::release::{MAX_CHANGELOG, MAX_REASON, MAX_SUMMARY};
use crate::domain::ReleaseKind;
use crate::service::Ask;

/// The top-level command that groups the release subcommands.
pub const RELEASE: &str = "release";

/// A gonogo command, with its options as typed. Each variant's name and description live in
/// `SPECS` (the `/release` subcommands) or `TOP` (commands of their own), written once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Plan {
        version: String,
        kind: String,
        summary: String,
        changelog: Option<String>,
        environment: Option<String>,
    },
    Status {
        version: Option<String>,
        environment: Option<String>,
    },
    List,
    /// `/release notes version`: what the release was, how it went, what was learned.
    Notes {
        version: String,
        environment: Option<String>,
    },
    /// `/release stats [days]`: the DORA figures.
    Stats {
        days: i64,
        environment: Option<String>,
    },
    Cancel {
        version: String,
        reason: String,
        environment: Option<String>,
    },
    /// `/deploy`, `/rollback`, `/release halt` and `/release resume`: something asked of a
    /// deployment. Only a rollback may leave out the version.
    Deployment {
        version: Option<String>,
        environment: Option<String>,
        ask: Ask,
    },
}

/// The name, description and options of each subcommand, in registration order, and how to
/// build the command from its options.
struct Spec {
    name: &'static str,
    description: &'static str,
    options: &'static [OptionSpec],
    build: fn(&Options<'_>) -> Result<Command, String>,
}

/// The options of one invocation, as typed.
struct Options<'a>(&'a [serenity::all::CommandDataOption]);

impl Options<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_str())
            .map(str::to_owned)
    }

    fn need(&self, name: &str) -> Result<String, String> {
        self.get(name)
            .ok_or_else(|| format!("the `{name}` option is required"))
    }
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
        build: |o| {
            Ok(Command::Plan {
                version: o.need("version")?,
                kind: o.need("type")?,
                summary: o.need("summary")?,
                changelog: o.get("changelog"),
                environment: o.get("environment"),
            })
        },
    },
    Spec {
        name: "status",
        description: "Show a release's poll and state (the newest release if no version is given)",
        options: &[
            opt("version", "Semantic version, like 1.4.0", false, 64),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Status {
                version: o.get("version"),
                environment: o.get("environment"),
            })
        },
    },
    Spec {
        name: "list",
        description: "List the recent releases",
        options: &[],
        build: |_| Ok(Command::List),
    },
    Spec {
        name: "notes",
        description: "Release notes: the release, its rollout and its retrospective",
        options: &[VERSION, ENVIRONMENT],
        build: |o| {
            Ok(Command::Notes {
                version: o.need("version")?,
                environment: o.get("environment"),
            })
        },
    },
    Spec {
        name: "stats",
        description: "Delivery figures (DORA) from the audit trail",
        options: &[
            opt(
                "days",
                "Over how many days, 1 to 365 (default 30)",
                false,
                3,
            ),
            opt(
                "environment",
                "Whose figures (default production)",
                false,
                32,
            ),
        ],
        build: |o| {
            let days = match o.get("days") {
                Some(text) => text
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|days| (1..=365).contains(days))
                    .ok_or("days must be a whole number from 1 to 365")?,
                None => 30,
            };
            Ok(Command::Stats {
                days,
                environment: o.get("environment"),
            })
        },
    },
    Spec {
        name: "cancel",
        description: "Cancel a release that has not started deploying",
        options: &[
            VERSION,
            opt("reason", "Why it is cancelled", true, MAX_REASON),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Cancel {
                version: o.need("version")?,
                reason: o.need("reason")?,
                environment: o.get("environment"),
            })
        },
    },
    Spec {
        name: "halt",
        description: "Pause a rollout's stage clock (release managers)",
        options: &[
            VERSION,
            opt("reason", "Why it is halted", true, MAX_REASON),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Deployment {
                version: Some(o.need("version")?),
                environment: o.get("environment"),
                ask: Ask::Halt {
                    reason: o.need("reason")?,
                },
            })
        },
    },
    Spec {
        name: "resume",
        description: "Continue a halted rollout, or retry its failed stage",
        options: &[VERSION, ENVIRONMENT],
        build: |o| {
            Ok(Command::Deployment {
                version: Some(o.need("version")?),
                environment: o.get("environment"),
                ask: Ask::Resume,
            })
        },
    },
    Spec {
        name: "override",
        description: "Ask an exec to let a release past a guardrail once",
        options: &[
            VERSION,
            opt(
                "reason",
                "Why the guardrail should let it through",
                true,
                MAX_REASON,
            ),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Deployment {
                version: Some(o.need("version")?),
                environment: o.get("environment"),
                ask: Ask::Override {
                    reason: o.need("reason")?,
                },
            })
        },
    },
    Spec {
        name: "postmortem",
        description: "File the post-mortem an approved override opened",
        options: &[
            VERSION,
            opt("text", "What happened, and what changes", true, MAX_REASON),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Deployment {
                version: Some(o.need("version")?),
                environment: o.get("environment"),
                ask: Ask::Postmortem {
                    text: o.need("text")?,
                },
            })
        },
    },
];

/// Commands of their own, beside `/release`.
const TOP: &[Spec] = &[
    Spec {
        name: "deploy",
        description: "Start the staged rollout of an approved release",
        options: &[VERSION, ENVIRONMENT],
        build: |o| {
            Ok(Command::Deployment {
                version: Some(o.need("version")?),
                environment: o.get("environment"),
                ask: Ask::Start,
            })
        },
    },
    Spec {
        name: "rollback",
        description: "Roll a release back (without a version: the one rolling out now)",
        options: &[
            opt("reason", "Why it is rolled back", true, MAX_REASON),
            opt("version", "Semantic version, like 1.4.0", false, 64),
            ENVIRONMENT,
        ],
        build: |o| {
            Ok(Command::Deployment {
                version: o.get("version"),
                environment: o.get("environment"),
                ask: Ask::Rollback {
                    reason: o.need("reason")?,
                },
            })
        },
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
                |sub, o| sub.add_sub_option(o.option()),
            )
        });
        let release = subcommands.fold(
            CreateCommand::new(RELEASE).description("Plan, vote on and follow releases"),
            CreateCommand::add_option,
        );
        let top = TOP.iter().map(|spec| {
            spec.options.iter().fold(
                CreateCommand::new(spec.name).description(spec.description),
                |command, o| command.add_option(o.option()),
            )
        });
        std::iter::once(release).chain(top).collect()
    }

    /// Reads an invocation; the error says what was wrong.
    pub fn parse(interaction: &CommandInteraction) -> Result<Command, String> {
        let name = interaction.data.name.as_str();
        if let Some(spec) = TOP.iter().find(|spec| spec.name == name) {
            return (spec.build)(&Options(&interaction.data.options));
        }
        if name != RELEASE {
            return Err(format!("`/{name}` is not a gonogo command"));
        }
        let Some(sub) = interaction.data.options.first() else {
            return Err("choose a /release subcommand".to_owned());
        };
        let CommandDataOptionValue::SubCommand(options) = &sub.value else {
            return Err("choose a /release subcommand".to_owned());
        };
        let spec = SPECS
            .iter()
            .find(|spec| spec.name == sub.name)
            .ok_or_else(|| {
                format!(
                    "`/release {}` is not available in this version of gonogo",
                    sub.name
                )
            })?;
        (spec.build)(&Options(options))
    }
}

impl OptionSpec {
    /// The string option Discord shows, with its limit and choices.
    fn option(&self) -> CreateCommandOption {
        let max = u16::try_from(self.max_length).unwrap_or(u16::MAX);
        self.choices.iter().fold(
            CreateCommandOption::new(CommandOptionType::String, self.name, self.description)
                .required(self.required)
                .max_length(max),
            |option, choice| option.add_string_choice(*choice, *choice),
        )
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
        assert_eq!(
            names,
            [
                "plan",
                "status",
                "list",
                "notes",
                "stats",
                "cancel",
                "halt",
                "resume",
                "override",
                "postmortem"
            ]
        );
        let top: Vec<_> = registered.as_array().unwrap()[1..]
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(top, ["deploy", "rollback"]);
        let rollback = &registered[2]["options"];
        assert_eq!(rollback[0]["name"], "reason");
        assert_eq!(rollback[0]["required"], true, "required options come first");
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
