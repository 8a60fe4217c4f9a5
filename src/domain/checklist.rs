//! The pre-release checklist: the sections a release type requires are copied onto each
//! release when it is planned, ticked on its card, and `/deploy` waits until none is open.

use chrono::{DateTime, Utc};

use super::effect::Effect;
use super::lifecycle::inputs::Person;
use super::lifecycle::{Event, Transition};
use super::parts::Check;
use super::policy::Role;
use super::refusal::Refusal;
use super::release::{Release, ReleaseState};

/// Discord lists at most 25 options in one select menu: one menu per section.
pub const MAX_ITEMS: usize = 25;
/// The card has five rows of components, and its buttons take one.
pub const MAX_SECTIONS: usize = 4;

/// One section of `[[checklist]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub items: Vec<String>,
}

/// The unticked checklist of a release whose type requires the sections named `required`,
/// taken from the configured `sections` in their order.
pub fn for_release(sections: &[Section], required: &[String]) -> Vec<Check> {
    sections
        .iter()
        .filter(|section| required.contains(&section.name))
        .flat_map(|section| {
            section.items.iter().map(|item| Check {
                section: section.name.clone(),
                item: item.clone(),
                ticked_by: None,
                ticked_at: None,
            })
        })
        .collect()
}

/// The section names of `checks`, in order, each once.
pub fn sections(checks: &[Check]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for check in checks {
        if !names.contains(&check.section.as_str()) {
            names.push(&check.section);
        }
    }
    names
}

/// The items still open, as `section: item`.
pub fn open_items(release: &Release) -> Vec<String> {
    release
        .checklist
        .iter()
        .filter(|check| check.ticked_by.is_none())
        .map(|check| format!("{}: {}", check.section, check.item))
        .collect()
}

/// Whether someone holding `roles` may change the checklist now: it takes a planning role,
/// and the checklist is fixed once the rollout starts.
pub fn may_tick(release: &Release, planners: &[Role], roles: &[Role]) -> Result<(), Refusal> {
    if !roles.iter().any(|role| planners.contains(role)) {
        return Err(Refusal::CannotTick {
            roles: planners.to_vec(),
        });
    }
    if is_editable(release.state) {
        Ok(())
    } else {
        Err(Refusal::ChecklistClosed {
            state: release.state,
        })
    }
}

/// Whether a release's checklist may change in `state`: until the rollout starts.
pub fn is_editable(state: ReleaseState) -> bool {
    matches!(
        state,
        ReleaseState::Planned | ReleaseState::Voting | ReleaseState::Approved
    )
}

/// The items of section `index` whose tick the selection `selected` (item positions in the
/// section) would take away: an untick needs a reason.
pub fn unticks(release: &Release, index: usize, selected: &[usize]) -> Vec<String> {
    in_section(release, index)
        .enumerate()
        .filter(|(at, check)| check.ticked_by.is_some() && !selected.contains(at))
        .map(|(_, check)| check.item.clone())
        .collect()
}

fn in_section(release: &Release, index: usize) -> impl Iterator<Item = &Check> {
    let name = sections(&release.checklist)
        .get(index)
        .map(|name| (*name).to_owned());
    release
        .checklist
        .iter()
        .filter(move |check| Some(&check.section) == name.as_ref())
}

/// `by` sets section `index` to exactly the `selected` items ticked. Ticks take a planning
/// role (`planners`); unticking asks for a `reason`.
pub fn select(
    release: &Release,
    planners: &[Role],
    by: Person<'_>,
    (index, selected): (usize, &[usize]),
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    may_tick(release, planners, by.roles)?;
    let Some(section) = sections(&release.checklist)
        .get(index)
        .map(|name| (*name).to_owned())
    else {
        return Err(Refusal::StaleChecklist);
    };
    let taken_away = unticks(release, index, selected);
    let reason = if taken_away.is_empty() {
        None
    } else {
        Some(super::lifecycle::poll::parse_reason(reason)?)
    };
    let mut next = release.clone();
    let mut events = Vec::new();
    let checks = next
        .checklist
        .iter_mut()
        .filter(|check| check.section == section);
    for (at, check) in checks.enumerate() {
        match (selected.contains(&at), check.ticked_by.is_some()) {
            (true, false) => {
                check.ticked_by = Some(by.name.to_owned());
                check.ticked_at = Some(now);
                events.push(Event::ChecklistTicked {
                    section: section.clone(),
                    item: check.item.clone(),
                    by: by.name.to_owned(),
                });
            }
            (false, true) => {
                check.ticked_by = None;
                check.ticked_at = None;
                events.push(Event::ChecklistUnticked {
                    section: section.clone(),
                    item: check.item.clone(),
                    by: by.name.to_owned(),
                    reason: reason.clone().unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    let effects = if events.is_empty() {
        Vec::new()
    } else {
        vec![Effect::RefreshCard]
    };
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events,
        effects,
    })
}

/// `/deploy` waits while a required item is open.
pub fn check_ticked(release: &Release) -> Result<(), Refusal> {
    let open = open_items(release);
    if open.is_empty() {
        Ok(())
    } else {
        Err(Refusal::ChecklistOpen { items: open })
    }
}

#[cfg(test)]
#[path = "checklist_tests.rs"]
mod tests;
