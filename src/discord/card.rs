//! The release card: the embed and buttons built from a release's read model.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption,
};

use super::custom_id::ComponentAction;
use crate::domain::checklist::{MAX_ITEMS, MAX_SECTIONS};
use crate::domain::contract::ContractView;
use crate::domain::{ReleaseId, ReleaseState};
use crate::messages::Messages;
use crate::service::view::ReleaseView;

/// The embed: title, summary, status, who approved, who voted what.
pub fn embed(messages: &Messages, view: &ReleaseView) -> anyhow::Result<CreateEmbed> {
    let block = |name: &str| messages.render_block("release_card", name, view);
    let colour = match view.state.parse::<ReleaseState>() {
        Ok(ReleaseState::Approved) => 0x002e_cc71,
        Ok(ReleaseState::Rejected | ReleaseState::Cancelled) => 0x00e7_4c3c,
        Ok(ReleaseState::Expired) => 0x0095_a5a6,
        _ => 0x0034_98db,
    };
    let mut embed = CreateEmbed::new()
        .title(block("title")?)
        .description(block("description")?)
        .field("Status", block("status")?, false)
        .field("Approvals", block("approvals")?, false)
        .field("Votes", block("votes")?, false);
    let checklist = block("checklist")?;
    if !checklist.trim().is_empty() {
        embed = embed.field("Checklist", checklist, false);
    }
    let contract = block("contract")?;
    if !contract.trim().is_empty() {
        embed = embed.field("Rollback contract", contract, false);
    }
    Ok(embed
        .footer(CreateEmbedFooter::new(block("footer")?))
        .colour(colour))
}

/// The buttons that fit the release's state: Go and No-Go while the poll is open, Deploy once
/// approved, Halt and Rollback while it rolls out, Resume and Rollback while it is halted.
pub fn buttons(view: &ReleaseView) -> Vec<CreateActionRow> {
    let id = ReleaseId(view.id);
    let button = |action: ComponentAction, label: &str, style| {
        CreateButton::new(action.custom_id())
            .label(label)
            .style(style)
    };
    let go = || button(ComponentAction::Go(id), "Go", ButtonStyle::Success);
    let no_go = || button(ComponentAction::NoGo(id), "No-Go", ButtonStyle::Danger);
    let deploy = || button(ComponentAction::Deploy(id), "Deploy", ButtonStyle::Primary);
    let halt = || button(ComponentAction::Halt(id), "Halt", ButtonStyle::Secondary);
    let resume = || {
        button(
            ComponentAction::Resume(id),
            "Resume / retry stage",
            ButtonStyle::Primary,
        )
    };
    let rollback = || {
        button(
            ComponentAction::Rollback(id),
            "Rollback",
            ButtonStyle::Danger,
        )
    };
    let row = match view.state.parse::<ReleaseState>() {
        _ if view.open => vec![go(), no_go()],
        Ok(ReleaseState::Approved) => vec![deploy()],
        Ok(ReleaseState::Deploying | ReleaseState::Verifying) => vec![halt(), rollback()],
        Ok(ReleaseState::Halted) => vec![resume(), rollback()],
        Ok(ReleaseState::Completed) => match &view.promote_to {
            Some(next) => vec![promote_button(id, next), rollback()],
            None => vec![rollback()],
        },
        Ok(ReleaseState::RollingBack) => vec![rollback()],
        _ => Vec::new(),
    };
    let mut rows = Vec::new();
    if !row.is_empty() {
        rows.push(CreateActionRow::Buttons(row));
    }
    if view.checklist_editable {
        rows.extend(checklist_menus(view));
    }
    rows
}

/// One menu per checklist section: its items, ticked ones selected.
fn checklist_menus(view: &ReleaseView) -> Vec<CreateActionRow> {
    let id = ReleaseId(view.id);
    view.checklist
        .iter()
        .take(MAX_SECTIONS)
        .enumerate()
        .filter_map(|(at, section)| {
            let options: Vec<CreateSelectMenuOption> = section
                .items
                .iter()
                .take(MAX_ITEMS)
                .enumerate()
                .map(|(i, item)| {
                    CreateSelectMenuOption::new(item.name.clone(), i.to_string())
                        .default_selection(item.ticked_by.is_some())
                })
                .collect();
            let count = u8::try_from(options.len()).ok()?;
            let menu = CreateSelectMenu::new(
                ComponentAction::Check(id, u8::try_from(at).ok()?).custom_id(),
                CreateSelectMenuKind::String { options },
            )
            .placeholder(placeholder(&section.name))
            .min_values(0)
            .max_values(count);
            Some(CreateActionRow::SelectMenu(menu))
        })
        .collect()
}

/// A menu's placeholder: Discord shows at most 150 characters.
fn placeholder(section: &str) -> String {
    crate::domain::text::excerpt(&format!("{section}: tick what is done"), 150)
}

/// The rollback contract as the start notice shows it, in the card's words.
pub fn contract_embed(messages: &Messages, contract: &ContractView) -> anyhow::Result<CreateEmbed> {
    let ctx = serde_json::json!({ "contract": contract });
    let text = messages.render_block("release_card", "contract", &ctx)?;
    Ok(CreateEmbed::new()
        .title("Rollback contract")
        .description(text)
        .colour(0x0095_a5a6))
}

/// The start notice's button, which opens the dialog for a problem report.
pub fn report_button(release: ReleaseId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(
        ComponentAction::Report(release).custom_id(),
    )
    .label("Report a problem")
    .style(ButtonStyle::Secondary)])
}

/// The override request's button, which an exec other than the requester approves with.
pub fn approve_override_button(release: ReleaseId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(
        ComponentAction::ApproveOverride(release).custom_id(),
    )
    .label("Approve override (exec)")
    .style(ButtonStyle::Danger)])
}

/// The button that plans a completed release in the `next` environment.
pub fn promote_button(release: ReleaseId, next: &str) -> CreateButton {
    CreateButton::new(ComponentAction::Promote(release).custom_id())
        .label(format!("Promote to {next}"))
        .style(ButtonStyle::Success)
}

/// The verification's button for whoever is on call.
pub fn on_call_button(release: ReleaseId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(
        ComponentAction::OnCall(release).custom_id(),
    )
    .label("I'm on call")
    .style(ButtonStyle::Primary)])
}

/// The retrospective prompt's button, which opens its three questions.
pub fn retro_button(release: ReleaseId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(
        ComponentAction::Retro(release).custom_id(),
    )
    .label("Write the retrospective")
    .style(ButtonStyle::Primary)])
}
