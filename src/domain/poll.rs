//! Vote counting: who fills which approver slot, and whether the poll is decided.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::policy::{Policy, Role, Slot};

/// A Go or a No-Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Go,
    NoGo,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Go => "go",
            Choice::NoGo => "no_go",
        }
    }

    pub fn parse(text: &str) -> Option<Choice> {
        match text {
            "go" => Some(Choice::Go),
            "no_go" => Some(Choice::NoGo),
            _ => None,
        }
    }
}

/// One accepted click, with the roles its voter held at that moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    pub voter: UserId,
    pub voter_name: String,
    pub roles: Vec<Role>,
    pub choice: Choice,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A slot of the policy and the people who fill it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotFill {
    pub slot: Slot,
    pub filled_by: Vec<UserId>,
}

impl SlotFill {
    pub fn missing(&self) -> usize {
        usize::from(self.slot.count).saturating_sub(self.filled_by.len())
    }
}

/// The standing of a poll: each voter's latest ballot and the slot assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally<'a> {
    /// Each voter's latest ballot, in the order they first voted.
    pub current: Vec<&'a Ballot>,
    pub slots: Vec<SlotFill>,
}

impl<'a> Tally<'a> {
    /// Counts `history` (every accepted ballot, oldest first) under `policy`.
    ///
    /// Distinct people fill slots, one slot each, and the author fills none; the
    /// assignment is a bipartite matching, so a person holding two roles is
    /// placed where they unblock the most.
    pub fn count(
        policy: &Policy,
        author: UserId,
        history: impl IntoIterator<Item = &'a Ballot>,
    ) -> Tally<'a> {
        let current = latest_per_voter(history);
        let seats: Vec<Role> = policy
            .approvers
            .iter()
            .flat_map(|slot| std::iter::repeat_n(slot.role, usize::from(slot.count)))
            .collect();
        let candidates: Vec<&Ballot> = current
            .iter()
            .copied()
            .filter(|b| b.choice == Choice::Go && b.voter != author)
            .collect();
        let mut seat_holder: Vec<Option<usize>> = vec![None; seats.len()];
        for candidate in 0..candidates.len() {
            let mut visited = vec![false; seats.len()];
            augment(
                candidate,
                &candidates,
                &seats,
                &mut seat_holder,
                &mut visited,
            );
        }
        let mut slots: Vec<SlotFill> = policy
            .approvers
            .iter()
            .map(|&slot| SlotFill {
                slot,
                filled_by: Vec::new(),
            })
            .collect();
        let mut seat = 0;
        for fill in &mut slots {
            for _ in 0..fill.slot.count {
                if let Some(holder) = seat_holder[seat] {
                    fill.filled_by.push(candidates[holder].voter);
                }
                seat += 1;
            }
        }
        Tally { current, slots }
    }

    pub fn is_approved(&self) -> bool {
        self.slots.iter().all(|fill| fill.missing() == 0)
    }

    /// The first No-Go among the current ballots: a veto.
    pub fn veto(&self) -> Option<&'a Ballot> {
        self.current
            .iter()
            .copied()
            .find(|b| b.choice == Choice::NoGo)
    }

    pub fn latest_of(&self, voter: UserId) -> Option<&'a Ballot> {
        self.current.iter().copied().find(|b| b.voter == voter)
    }
}

fn latest_per_voter<'a>(history: impl IntoIterator<Item = &'a Ballot>) -> Vec<&'a Ballot> {
    let mut position: HashMap<UserId, usize> = HashMap::new();
    let mut current: Vec<&Ballot> = Vec::new();
    for ballot in history {
        if let Some(&at) = position.get(&ballot.voter) {
            current[at] = ballot;
        } else {
            position.insert(ballot.voter, current.len());
            current.push(ballot);
        }
    }
    current
}

/// The latest ballot of `voter` in `history`, if any.
pub fn latest_of(history: &[Ballot], voter: UserId) -> Option<&Ballot> {
    history.iter().rev().find(|b| b.voter == voter)
}

/// Kuhn's augmenting path: tries to seat `candidate`, moving earlier holders if needed.
fn augment(
    candidate: usize,
    candidates: &[&Ballot],
    seats: &[Role],
    seat_holder: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    let fits = |seat: usize| candidates[candidate].roles.contains(&seats[seat]);
    // A free seat first, so earlier voters keep their place and the card stays stable.
    if let Some(seat) =
        (0..seats.len()).find(|&s| !visited[s] && seat_holder[s].is_none() && fits(s))
    {
        seat_holder[seat] = Some(candidate);
        return true;
    }
    for seat in 0..seats.len() {
        if visited[seat] || !fits(seat) {
            continue;
        }
        visited[seat] = true;
        let free = match seat_holder[seat] {
            None => true,
            Some(holder) => augment(holder, candidates, seats, seat_holder, visited),
        };
        if free {
            seat_holder[seat] = Some(candidate);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::policy::Policy;
    use crate::domain::release::ReleaseKind;

    const AUTHOR: UserId = UserId(1);

    fn ballot(voter: u64, roles: &[Role], choice: Choice) -> Ballot {
        Ballot {
            voter: UserId(voter),
            voter_name: format!("user{voter}"),
            roles: roles.to_vec(),
            choice,
            reason: (choice == Choice::NoGo).then(|| "broken".to_owned()),
            at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn count(kind: ReleaseKind, history: &[Ballot]) -> Tally<'_> {
        Tally::count(&Policy::default_for(kind), AUTHOR, history)
    }

    #[test]
    fn choices_are_stored_under_their_names() {
        assert_eq!(Choice::Go.as_str(), "go");
        assert_eq!(Choice::NoGo.as_str(), "no_go");
        for choice in [Choice::Go, Choice::NoGo] {
            assert_eq!(Choice::parse(choice.as_str()), Some(choice));
        }
        assert_eq!(Choice::parse("maybe"), None);
    }

    #[test]
    fn hotfix_needs_a_lead_and_a_security() {
        let lead = ballot(2, &[Role::Lead], Choice::Go);
        let security = ballot(3, &[Role::Security], Choice::Go);
        assert!(!count(ReleaseKind::Hotfix, std::slice::from_ref(&lead)).is_approved());
        assert!(count(ReleaseKind::Hotfix, &[lead, security]).is_approved());
    }

    #[test]
    fn one_person_with_two_roles_fills_one_slot() {
        let both = ballot(2, &[Role::Lead, Role::Security], Choice::Go);
        let history = [both.clone(), both];
        let tally = count(ReleaseKind::Hotfix, &history);
        assert!(!tally.is_approved());
        assert_eq!(
            tally.slots.iter().map(|s| s.filled_by.len()).sum::<usize>(),
            1
        );
    }

    #[test]
    fn a_dual_role_voter_moves_aside_for_a_single_role_voter() {
        let both = ballot(2, &[Role::Lead, Role::Security], Choice::Go);
        let lead = ballot(3, &[Role::Lead], Choice::Go);
        let history = [both, lead];
        let tally = count(ReleaseKind::Hotfix, &history);
        assert!(tally.is_approved());
        assert_eq!(tally.slots[0].filled_by, vec![UserId(3)]);
        assert_eq!(tally.slots[1].filled_by, vec![UserId(2)]);
    }

    #[test]
    fn the_author_fills_no_slot() {
        let author = ballot(AUTHOR.0, &[Role::Lead], Choice::Go);
        assert!(!count(ReleaseKind::Patch, &[author]).is_approved());
    }

    #[test]
    fn minor_needs_two_distinct_team_members() {
        let alice = ballot(2, &[Role::Team], Choice::Go);
        let history = [alice.clone(), alice.clone(), alice.clone()];
        let tally = count(ReleaseKind::Minor, &history);
        assert_eq!(tally.slots[0].missing(), 1);
        let bob = ballot(3, &[Role::Team], Choice::Go);
        assert!(count(ReleaseKind::Minor, &[alice, bob]).is_approved());
    }

    #[test]
    fn major_needs_an_exec_and_two_team_members_who_are_not_the_exec() {
        let exec_in_team = ballot(2, &[Role::Exec, Role::Team], Choice::Go);
        let team = ballot(3, &[Role::Team], Choice::Go);
        let history = [exec_in_team.clone(), team.clone()];
        let tally = count(ReleaseKind::Major, &history);
        assert!(!tally.is_approved());
        let team2 = ballot(4, &[Role::Team], Choice::Go);
        assert!(count(ReleaseKind::Major, &[exec_in_team, team, team2]).is_approved());
    }

    #[test]
    fn a_changed_vote_counts_only_as_its_latest_choice() {
        let go = ballot(2, &[Role::Team], Choice::Go);
        let no_go = ballot(2, &[Role::Team], Choice::NoGo);
        let history = [go, no_go];
        let tally = count(ReleaseKind::Minor, &history);
        assert_eq!(tally.current.len(), 1);
        assert_eq!(tally.slots[0].filled_by, Vec::<UserId>::new());
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(2)));
    }

    #[test]
    fn extra_go_votes_beyond_the_seats_are_kept_but_unseated() {
        let history: Vec<_> = (2..6)
            .map(|id| ballot(id, &[Role::Team], Choice::Go))
            .collect();
        let tally = count(ReleaseKind::Minor, &history);
        assert!(tally.is_approved());
        assert_eq!(tally.current.len(), 4);
        assert_eq!(tally.slots[0].filled_by, vec![UserId(2), UserId(3)]);
    }
}
