//! User-visible text: templates from `messages/`, embedded in the binary and overridable
//! file by file from `messages.dir`.

use std::path::Path;

use anyhow::Context as _;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        /// Every message kind, with the text shipped in the binary.
        pub const TEMPLATES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../messages/", $name, ".md")))),*
        ];
    };
}

templates![
    "action_failed",
    "already_handled",
    "cancel_confirmed",
    "deploy_completed",
    "deploy_halted",
    "deploy_progress",
    "deploy_resumed",
    "deploy_started",
    "deployment_answer",
    "halt_modal",
    "internal_error",
    "list",
    "on_call_asked",
    "on_call_needed",
    "nogo_modal",
    "notes",
    "plan_confirmed",
    "poll_ended",
    "override_approved",
    "override_requested",
    "postmortem_filed",
    "problem_reported",
    "refusal_already_planned",
    "refusal_already_promoted",
    "refusal_already_reported",
    "refusal_already_rolling_back",
    "refusal_ambiguous_version",
    "refusal_author",
    "refusal_cannot_cancel",
    "refusal_cannot_be_on_call",
    "refusal_cannot_halt",
    "refusal_cannot_promote",
    "refusal_cannot_promote_roles",
    "refusal_cannot_request_override",
    "refusal_cannot_tick",
    "refusal_checklist_closed",
    "refusal_checklist_open",
    "refusal_checks_failed",
    "refusal_deploy_locked",
    "refusal_in_blackout",
    "refusal_invalid_input",
    "refusal_no_override_asked",
    "refusal_no_postmortem_open",
    "refusal_not_a_deployer",
    "refusal_not_an_exec",
    "refusal_not_a_planner",
    "refusal_not_a_release_manager",
    "refusal_not_allowed_to_cancel",
    "refusal_not_approved",
    "refusal_not_eligible",
    "refusal_not_finished",
    "refusal_not_halted",
    "refusal_not_rolling_out",
    "refusal_not_verifying",
    "refusal_nothing_running",
    "refusal_nothing_to_override",
    "refusal_nothing_to_roll_back",
    "refusal_order_not_met",
    "refusal_outside_guild",
    "refusal_outside_window",
    "refusal_override_already_asked",
    "refusal_own_override",
    "refusal_pipeline_only",
    "refusal_poll_closed",
    "refusal_reason_required",
    "refusal_rollback_window_closed",
    "refusal_several_running",
    "refusal_stale_card",
    "refusal_too_late",
    "refusal_unknown_item",
    "refusal_unknown_release",
    "release_card",
    "report_modal",
    "retro_modal",
    "retrospective_filed",
    "retrospective_prompt",
    "rollback_modal",
    "rollback_procedure",
    "rollback_started",
    "checklist_answer",
    "untick_modal",
    "rolled_back",
    "stats",
    "status",
    "thread_name",
    "vote_recorded",
    "vote_unchanged",
];

/// User text made inert for Discord markdown: every formatting character is escaped, line
/// breaks become spaces (no line can pass for one of the bot's), and a URL stays a plain URL
/// (escaped brackets around it mean it can never be a masked link).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '-' | '[' | ']' | '(' | ')' | '<'
            | '@' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The loaded templates.
#[derive(Debug)]
pub struct Messages {
    env: Environment<'static>,
}

impl Messages {
    /// The embedded templates only.
    pub fn embedded() -> Messages {
        Messages::load(None).expect("the embedded templates compile")
    }

    /// The embedded templates, each replaced by `dir/<name>.md` where that file exists.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Messages> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        // Lets a short message quote a long text, such as a summary, without outgrowing it.
        env.add_filter("excerpt", |text: &str, max: usize| {
            crate::domain::text::excerpt(text, max)
        });
        // Text people typed is shown as typed, never as the bot's own formatting.
        env.add_filter("md", |text: &str| escape_markdown(text));
        for (name, embedded) in TEMPLATES {
            let source = match dir.map(|dir| dir.join(format!("{name}.md"))) {
                Some(path) if path.exists() => std::fs::read_to_string(&path)
                    .with_context(|| format!("Cannot read the template {}", path.display()))?,
                _ => (*embedded).to_owned(),
            };
            env.add_template_owned(*name, source)
                .with_context(|| format!("The template `{name}` does not compile"))?;
        }
        Ok(Messages { env })
    }

    /// Renders a whole template, trimmed.
    pub fn render(&self, name: &str, ctx: impl Serialize) -> anyhow::Result<String> {
        let template = self
            .env
            .get_template(name)
            .with_context(|| format!("No template `{name}`"))?;
        let text = template
            .render(ctx)
            .with_context(|| format!("Cannot render the template `{name}`"))?;
        Ok(text.trim().to_owned())
    }

    /// Renders one `{% block %}` of a template, trimmed.
    pub fn render_block(
        &self,
        name: &str,
        block: &str,
        ctx: impl Serialize,
    ) -> anyhow::Result<String> {
        let template = self
            .env
            .get_template(name)
            .with_context(|| format!("No template `{name}`"))?;
        #[expect(
            deprecated,
            reason = "render_captured gives a shared State; render_block needs it mutable"
        )]
        let mut state = template
            .eval_to_state(ctx)
            .with_context(|| format!("Cannot render the template `{name}`"))?;
        let text = state
            .render_block(block)
            .with_context(|| format!("Cannot render block `{block}` of the template `{name}`"))?;
        Ok(text.trim().to_owned())
    }
}

impl Messages {
    /// Renders every template with sample data and checks Discord's size limits.
    pub fn check_samples(&self) -> anyhow::Result<()> {
        // Templates made of blocks become embeds and modals, whose limits the tests check.
        let whole = TEMPLATES.iter().filter(|(name, _)| {
            !matches!(
                *name,
                "release_card" | "nogo_modal" | "halt_modal" | "rollback_modal"
            )
        });
        for (name, _) in whole {
            for (label, ctx) in samples::for_template(name) {
                let text = self
                    .render(name, &ctx)
                    .with_context(|| format!("sample `{label}`"))?;
                anyhow::ensure!(
                    text.chars().count() <= limits::CONTENT,
                    "the template `{name}` renders {} characters for sample `{label}`; Discord allows {}",
                    text.chars().count(),
                    limits::CONTENT
                );
            }
        }
        Ok(())
    }
}

/// Discord's documented size limits.
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBED_TOTAL: usize = 6000;
    pub const EMBED_TITLE: usize = 256;
    pub const EMBED_DESCRIPTION: usize = 4096;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const MODAL_TITLE: usize = 45;
    pub const INPUT_LABEL: usize = 45;
    pub const THREAD_NAME: usize = 100;
}

pub mod samples;

#[cfg(test)]
mod tests;
