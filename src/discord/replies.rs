//! Interaction responses: ephemeral answers, refusals and the No-Go modal, all rendered from
//! templates and with mentions switched off.

use serde_json::json;
use serenity::all::{
    CreateActionRow, CreateAllowedMentions, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, InputTextStyle,
};

use super::custom_id::{ComponentAction, REASON_INPUT, RETRO_INPUTS};
use crate::domain::release::MAX_REASON;
use crate::domain::{Refusal, ReleaseState, Role};
use crate::messages::Messages;
use crate::service::UserError;

/// An ephemeral text answer that pings no one.
pub fn ephemeral(text: String) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(CreateAllowedMentions::new()),
    )
}

/// The text that tells a person why their request was refused and what to do.
pub fn user_error(messages: &Messages, error: &UserError) -> anyhow::Result<String> {
    match error {
        UserError::Refused { version, refusal } => refusal_text(messages, version, refusal),
        UserError::InvalidInput(problem) => {
            messages.render("refusal_invalid_input", json!({ "problem": problem }))
        }
        UserError::StaleCard => messages.render("refusal_stale_card", json!({})),
        UserError::OutsideGuild => messages.render("refusal_outside_guild", json!({})),
        // A person's request is never fenced; were one, it came too late all the same.
        UserError::TooLate | UserError::Fenced { .. } => {
            messages.render("refusal_too_late", json!({}))
        }
        UserError::AlreadyHandled => messages.render("already_handled", json!({})),
    }
}

fn refusal_text(messages: &Messages, version: &str, refusal: &Refusal) -> anyhow::Result<String> {
    let just_version = || json!({ "version": version });
    let with_state = |template: &str, state: ReleaseState| {
        messages.render(
            template,
            json!({ "version": version, "state": state.as_str() }),
        )
    };
    match refusal {
        Refusal::NotAPlanner { planners } => messages.render(
            "refusal_not_a_planner",
            json!({
                "version": version,
                "roles": planners.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            }),
        ),
        Refusal::NotEligible { kind, needed } => messages.render(
            "refusal_not_eligible",
            json!({
                "version": version,
                "kind": kind.as_str(),
                "needed": needed.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            }),
        ),
        Refusal::PollClosed { state } => with_state("refusal_poll_closed", *state),
        Refusal::AuthorCannotApprove => messages.render("refusal_author", just_version()),
        Refusal::ReasonRequired => messages.render("refusal_reason_required", just_version()),
        Refusal::InvalidReason(problem) => {
            messages.render("refusal_invalid_input", json!({ "problem": problem }))
        }
        Refusal::NotAllowedToCancel => {
            messages.render("refusal_not_allowed_to_cancel", just_version())
        }
        Refusal::CannotCancel { state } => with_state("refusal_cannot_cancel", *state),
        Refusal::AlreadyPlanned { environment, state } => messages.render(
            "refusal_already_planned",
            json!({ "version": version, "environment": environment, "state": state.as_str() }),
        ),
        Refusal::UnknownRelease => messages.render("refusal_unknown_release", just_version()),
        Refusal::AmbiguousVersion { environments } => messages.render(
            "refusal_ambiguous_version",
            json!({ "version": version, "environments": environments }),
        ),
        Refusal::NothingToRollBack { state } => with_state("refusal_nothing_to_roll_back", *state),
        Refusal::RollbackWindowClosed { closed_at } => messages.render(
            "refusal_rollback_window_closed",
            json!({ "version": version, "closed_at": closed_at.timestamp() }),
        ),
        Refusal::OutsideWindow { next_open } => messages.render(
            "refusal_outside_window",
            json!({ "version": version, "next_open": next_open.map(|t| t.timestamp()) }),
        ),
        Refusal::InBlackout { until, next_open } => messages.render(
            "refusal_in_blackout",
            json!({
                "version": version,
                "until": until.timestamp(),
                "next_open": next_open.map(|t| t.timestamp()),
            }),
        ),
        Refusal::NotApproved { state } => with_state("refusal_not_approved", *state),
        Refusal::NotADeployer => messages.render("refusal_not_a_deployer", just_version()),
        Refusal::NotAReleaseManager => {
            messages.render("refusal_not_a_release_manager", just_version())
        }
        Refusal::CannotHalt { state } => with_state("refusal_cannot_halt", *state),
        Refusal::NotHalted { state } => with_state("refusal_not_halted", *state),
        Refusal::AlreadyRollingBack => {
            messages.render("refusal_already_rolling_back", just_version())
        }
        Refusal::NothingRunning => messages.render("refusal_nothing_running", json!({})),
        Refusal::SeveralRunning { versions } => {
            messages.render("refusal_several_running", json!({ "versions": versions }))
        }
        Refusal::DeployLocked {
            holder,
            environment,
            state,
        } => messages.render(
            "refusal_deploy_locked",
            json!({
                "version": version,
                "holder": holder,
                "environment": environment,
                "state": state.as_str(),
            }),
        ),
        other => guardrail_text(messages, version, other),
    }
}

/// The refusals of the guardrails: problem reports, the checklist and overrides.
fn guardrail_text(messages: &Messages, version: &str, refusal: &Refusal) -> anyhow::Result<String> {
    let just_version = || json!({ "version": version });
    let with_state = |template: &str, state: ReleaseState| {
        messages.render(
            template,
            json!({ "version": version, "state": state.as_str() }),
        )
    };
    let with_roles = |template: &str, roles: &[Role]| {
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        messages.render(template, json!({ "version": version, "roles": roles }))
    };
    match refusal {
        Refusal::NotRollingOut { state } => with_state("refusal_not_rolling_out", *state),
        Refusal::AlreadyReported => messages.render("refusal_already_reported", just_version()),
        Refusal::CannotTick { roles } => with_roles("refusal_cannot_tick", roles),
        Refusal::ChecklistClosed { state } => with_state("refusal_checklist_closed", *state),
        Refusal::StaleChecklist => messages.render("refusal_stale_card", just_version()),
        Refusal::ChecklistOpen { items } => messages.render(
            "refusal_checklist_open",
            json!({ "version": version, "items": items }),
        ),
        Refusal::ChecksFailed { items } => {
            let items: Vec<_> = items
                .iter()
                .map(|(name, url)| json!({ "name": name, "url": url }))
                .collect();
            messages.render(
                "refusal_checks_failed",
                json!({ "version": version, "items": items }),
            )
        }
        Refusal::OrderNotMet {
            environment,
            after,
            completed_at,
            soak_ends,
        } => messages.render(
            "refusal_order_not_met",
            json!({
                "version": version,
                "environment": environment,
                "after": after,
                "completed_at": completed_at.map(|t| t.timestamp()),
                "soak_ends": soak_ends.map(|t| t.timestamp()),
            }),
        ),
        Refusal::AlreadyPromoted { environment, state } => messages.render(
            "refusal_already_promoted",
            json!({ "version": version, "environment": environment, "state": state.as_str() }),
        ),
        Refusal::CannotBeOnCall { roles } => with_roles("refusal_cannot_be_on_call", roles),
        Refusal::NotVerifying { state } => with_state("refusal_not_verifying", *state),
        Refusal::CannotPromote { state } => with_state("refusal_cannot_promote", *state),
        Refusal::CannotPromoteRoles { roles } => with_roles("refusal_cannot_promote_roles", roles),
        Refusal::PipelineOnly { item } => messages.render(
            "refusal_pipeline_only",
            json!({ "version": version, "item": item }),
        ),
        Refusal::UnknownItem { items } => messages.render(
            "refusal_unknown_item",
            json!({ "version": version, "items": items }),
        ),
        Refusal::CannotRequestOverride { roles } => {
            with_roles("refusal_cannot_request_override", roles)
        }
        Refusal::NothingToOverride { state } => with_state("refusal_nothing_to_override", *state),
        Refusal::OverrideAlreadyAsked => {
            messages.render("refusal_override_already_asked", just_version())
        }
        Refusal::NotAnExec => messages.render("refusal_not_an_exec", just_version()),
        Refusal::NoOverrideAsked => messages.render("refusal_no_override_asked", just_version()),
        Refusal::OwnOverride => messages.render("refusal_own_override", just_version()),
        Refusal::NotFinished { state } => with_state("refusal_not_finished", *state),
        Refusal::NoPostmortemOpen => messages.render("refusal_no_postmortem_open", just_version()),
        other => Err(anyhow::anyhow!("no text for the refusal {other:?}")),
    }
}

/// The retrospective's modal: what went well, what to improve, and the action items.
pub fn retro_modal(
    messages: &Messages,
    release: crate::domain::ReleaseId,
    version: &str,
) -> anyhow::Result<CreateInteractionResponse> {
    let ctx = json!({ "version": version });
    let block = |name: &str| messages.render_block("retro_modal", name, &ctx);
    let max = u16::try_from(crate::domain::lifecycle::retro::MAX_ANSWER).unwrap_or(u16::MAX);
    let rows = RETRO_INPUTS
        .iter()
        .map(|&input| {
            let field = CreateInputText::new(InputTextStyle::Paragraph, block(input)?, input)
                .max_length(max)
                .required(true);
            Ok(CreateActionRow::InputText(field))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CreateInteractionResponse::Modal(
        CreateModal::new(
            ComponentAction::RetroText(release).custom_id(),
            block("title")?,
        )
        .components(rows),
    ))
}

/// A modal that asks for a reason: a No-Go's veto, a halt, or a rollback's confirmation.
/// `template` words it; `submit` is what submitting it does.
pub fn reason_modal(
    messages: &Messages,
    template: &str,
    submit: ComponentAction,
    version: &str,
) -> anyhow::Result<CreateInteractionResponse> {
    let ctx = json!({ "version": version });
    let block = |name: &str| messages.render_block(template, name, &ctx);
    let max = u16::try_from(MAX_REASON).unwrap_or(u16::MAX);
    let input = CreateInputText::new(InputTextStyle::Paragraph, block("label")?, REASON_INPUT)
        .placeholder(block("placeholder")?)
        .min_length(3)
        .max_length(max)
        .required(true);
    Ok(CreateInteractionResponse::Modal(
        CreateModal::new(submit.custom_id(), block("title")?)
            .components(vec![CreateActionRow::InputText(input)]),
    ))
}
