//! The release card: the view of a release's poll, and the embed and buttons built from it.

use serde::Serialize;
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

use super::custom_id::ComponentAction;
use crate::domain::{Ballot, Policy, ReleaseState, Tally, UserId};
use crate::messages::Messages;
use crate::store::releases::StoredRelease;

/// Everything the card template shows.
#[derive(Clone, Debug, Serialize)]
pub struct CardView {
    pub id: i64,
    pub version: String,
    pub kind: String,
    pub state: String,
    pub open: bool,
    pub summary: String,
    pub changelog: Option<String>,
    pub environment: String,
    pub author: String,
    pub expires_at: i64,
    pub decision_reason: Option<String>,
    pub slots: Vec<SlotView>,
    /// The latest votes, newest last, capped so the field stays within Discord's 1024.
    pub votes: Vec<VoteView>,
    pub more_votes: usize,
}

/// How many voters the card lists by name.
const LISTED_VOTES: usize = 10;

#[derive(Clone, Debug, Serialize)]
pub struct SlotView {
    pub role: String,
    pub count: usize,
    pub filled: usize,
    pub missing: usize,
    pub filled_by: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VoteView {
    pub name: String,
    pub choice: String,
}

impl CardView {
    pub fn new(stored: &StoredRelease, policy: &Policy, history: &[Ballot]) -> CardView {
        let release = &stored.release;
        let tally = Tally::count(policy, release.author, history);
        let name_of = |id: UserId| {
            tally
                .latest_of(id)
                .map_or_else(|| id.to_string(), |b| b.voter_name.clone())
        };
        CardView {
            id: release.id.0,
            version: release.version.to_string(),
            kind: release.kind.to_string(),
            state: release.state.to_string(),
            open: release.state.is_open(),
            summary: release.summary.clone(),
            changelog: release.changelog.clone(),
            environment: release.environment.clone(),
            author: stored.author_name.clone(),
            expires_at: release.expires_at.timestamp(),
            decision_reason: release.decision_reason.clone(),
            slots: tally
                .slots
                .iter()
                .map(|fill| SlotView {
                    role: fill.slot.role.to_string(),
                    count: usize::from(fill.slot.count),
                    filled: fill.filled_by.len(),
                    missing: fill.missing(),
                    filled_by: fill.filled_by.iter().map(|&id| name_of(id)).collect(),
                })
                .collect(),
            more_votes: tally.current.len().saturating_sub(LISTED_VOTES),
            votes: tally
                .current
                .iter()
                .skip(tally.current.len().saturating_sub(LISTED_VOTES))
                .map(|b| VoteView {
                    name: b.voter_name.clone(),
                    choice: b.choice.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

/// The embed: title, summary, status, who approved, who voted what.
pub fn embed(messages: &Messages, view: &CardView) -> anyhow::Result<CreateEmbed> {
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
pub fn buttons(view: &CardView) -> Vec<CreateActionRow> {
    if !view.open {
        return Vec::new();
    }
    let id = crate::domain::ReleaseId(view.id);
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(ComponentAction::Go(id).custom_id())
            .label("Go")
            .style(ButtonStyle::Success),
        CreateButton::new(ComponentAction::NoGo(id).custom_id())
            .label("No-Go")
            .style(ButtonStyle::Danger),
    ])]
}
