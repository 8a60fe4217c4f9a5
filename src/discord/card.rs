//! The release card: the embed and buttons built from a release's read model.

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

use super::custom_id::ComponentAction;
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
    Ok(CreateEmbed::new()
        .title(block("title")?)
        .description(block("description")?)
        .field("Status", block("status")?, false)
        .field("Approvals", block("approvals")?, false)
        .field("Votes", block("votes")?, false)
        .footer(CreateEmbedFooter::new(block("footer")?))
        .colour(colour))
}

/// Go and No-Go while the poll is open; no buttons once it is decided.
pub fn buttons(view: &ReleaseView) -> Vec<CreateActionRow> {
    if !view.open {
        return Vec::new();
    }
    let id = ReleaseId(view.id);
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(ComponentAction::Go(id).custom_id())
            .label("Go")
            .style(ButtonStyle::Success),
        CreateButton::new(ComponentAction::NoGo(id).custom_id())
            .label("No-Go")
            .style(ButtonStyle::Danger),
    ])]
}
