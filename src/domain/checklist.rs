//! The pre-release checklist: the sections a release type requires are copied onto each
//! release when it is planned, ticked on its card or reported by a pipeline, and `/deploy`
//! waits until none is open or failed.

use chrono::{DateTime, Utc};

use super::effect::Effect;
use super::lifecycle::inputs::Person;
use super::lifecycle::{Event, Transition};
use super::parts::{Check, CheckStatus};
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
    pub items: Vec<Item>,
}

/// An item of a section, and whether only a pipeline may tick it (`by = "pipeline"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub by_pipeline: bool,
}

impl Item {
    /// An item people tick on the card.
    pub fn by_people(name: impl Into<String>) -> Item {
        Item {
            name: name.into(),
            by_pipeline: false,
        }
    }
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
                item: item.name.clone(),
                ticked_by: None,
                ticked_at: None,
                by_pipeline: item.by_pipeline,
                failed: false,
                url: None,
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
        .filter(|(at, check)| {
            check.ticked_by.is_some() && !check.by_pipeline && !selected.contains(at)
        })
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
/// role (`planners`); unticking asks for a `reason`. An item only a pipeline ticks is not
/// the person's to change: selecting it while open is refused, and leaving out the
/// pipeline's report leaves the report as it is.
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
        if check.by_pipeline {
            if selected.contains(&at) && check.ticked_by.is_none() {
                return Err(Refusal::PipelineOnly {
                    item: check.item.clone(),
                });
            }
            continue;
        }
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

/// `/deploy` waits while a required item failed or is open; a failure names its link.
pub fn check_ticked(release: &Release) -> Result<(), Refusal> {
    let failed: Vec<(String, Option<String>)> = release
        .checklist
        .iter()
        .filter(|check| check.status() == CheckStatus::Failed)
        .map(|check| {
            (
                format!("{}: {}", check.section, check.item),
                check.url.clone(),
            )
        })
        .collect();
    if !failed.is_empty() {
        return Err(Refusal::ChecksFailed { items: failed });
    }
    let open = open_items(release);
    if open.is_empty() {
        Ok(())
    } else {
        Err(Refusal::ChecklistOpen { items: open })
    }
}

/// A pipeline's report on an item: it passed or failed, with where to read why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<'a> {
    pub item: &'a str,
    pub passed: bool,
    pub url: Option<&'a str>,
}

/// A pipeline (`by`, the token's name) reports on an item, which it names by its text. Any
/// item may be reported until the rollout starts; a later report replaces an earlier one.
pub fn report(
    release: &Release,
    by: &str,
    report: &Report<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !is_editable(release.state) {
        return Err(Refusal::ChecklistClosed {
            state: release.state,
        });
    }
    let Some(at) = release
        .checklist
        .iter()
        .position(|check| check.item == report.item.trim())
    else {
        return Err(Refusal::UnknownItem {
            items: release
                .checklist
                .iter()
                .map(|check| check.item.clone())
                .collect(),
        });
    };
    let mut next = release.clone();
    let check = &mut next.checklist[at];
    let url = report.url.map(str::to_owned);
    let unchanged =
        check.ticked_by.as_deref() == Some(by) && check.failed != report.passed && check.url == url;
    if unchanged {
        return Ok(Transition::unchanged(release, None));
    }
    check.ticked_by = Some(by.to_owned());
    check.ticked_at = Some(now);
    check.failed = !report.passed;
    check.url.clone_from(&url);
    let event = Event::CheckReported {
        section: check.section.clone(),
        item: check.item.clone(),
        status: check.status().as_str().to_owned(),
        url,
        by: by.to_owned(),
    };
    Ok(Transition {
        release: next,
        ballot: None,
        actor: None,
        events: vec![event],
        effects: vec![Effect::RefreshCard],
    })
}

#[cfg(test)]
#[path = "checklist_tests.rs"]
mod tests;
