//! Vote counting: who fills which approver slot, and whether the poll is decided.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
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

/// The standing of a poll: each voter's latest ballot and the slot assignment, kept up to
/// date click by click so that a click costs the same on the first vote and the ten-thousandth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    author: UserId,
    /// One role per seat: each slot of the policy repeated `count` times.
    seats: Vec<Role>,
    slots: Vec<Slot>,
    /// Each voter's latest ballot, in the order they first voted.
    current: Vec<Ballot>,
    position: FxHashMap<UserId, usize>,
    /// Indices into `current` of the Go ballots that may fill a seat, in order.
    candidates: Vec<usize>,
    /// For each seat, the index into `candidates` of its holder.
    seat_holder: Vec<Option<usize>>,
    /// Indices into `current` of the No-Go ballots, so the veto is found without a scan.
    no_go: BTreeSet<usize>,
}

impl Tally {
    /// No ballot yet under `policy`, for a release planned by `author`.
    pub fn new(policy: &Policy, author: UserId) -> Tally {
        Tally {
            author,
            seats: policy
                .approvers
                .iter()
                .flat_map(|slot| std::iter::repeat_n(slot.role, usize::from(slot.count)))
                .collect(),
            slots: policy.approvers.clone(),
            current: Vec::new(),
            position: FxHashMap::default(),
            candidates: Vec::new(),
            seat_holder: vec![None; policy.approvers.iter().map(|s| usize::from(s.count)).sum()],
            no_go: BTreeSet::new(),
        }
    }

    /// Counts `history` (every accepted ballot, oldest first) under `policy`.
    ///
    /// Distinct people fill slots, one slot each, and the author fills none; the
    /// assignment is a bipartite matching, so a person holding two roles is
    /// placed where they unblock the most.
    pub fn count<'a>(
        policy: &Policy,
        author: UserId,
        history: impl IntoIterator<Item = &'a Ballot>,
    ) -> Tally {
        let mut tally = Tally::new(policy, author);
        for ballot in history {
            tally.cast(ballot.clone());
        }
        tally
    }

    /// Counts one more ballot. A first vote only tries to seat its voter, which leaves the
    /// seating exactly as a count from scratch would; a changed vote counts everyone again.
    pub fn cast(&mut self, ballot: Ballot) {
        let known = self.position.get(&ballot.voter).copied();
        let at = known.unwrap_or(self.current.len());
        if ballot.choice == Choice::NoGo {
            self.no_go.insert(at);
        } else {
            self.no_go.remove(&at);
        }
        if known.is_some() {
            self.current[at] = ballot;
            self.seat_everyone();
            return;
        }
        self.position.insert(ballot.voter, at);
        let candidate = self.may_sit(&ballot);
        self.current.push(ballot);
        if candidate {
            self.candidates.push(at);
            self.seat(self.candidates.len() - 1);
        }
    }

    fn may_sit(&self, ballot: &Ballot) -> bool {
        ballot.choice == Choice::Go && ballot.voter != self.author
    }

    fn seat_everyone(&mut self) {
        self.candidates = (0..self.current.len())
            .filter(|&at| self.may_sit(&self.current[at]))
            .collect();
        self.seat_holder.fill(None);
        for candidate in 0..self.candidates.len() {
            self.seat(candidate);
        }
    }

    fn seat(&mut self, candidate: usize) {
        let mut visited = vec![false; self.seats.len()];
        let voters = Voters {
            current: &self.current,
            candidates: &self.candidates,
            seats: &self.seats,
        };
        augment(candidate, &voters, &mut self.seat_holder, &mut visited);
    }

    /// Each voter's latest ballot, in the order they first voted.
    pub fn current(&self) -> &[Ballot] {
        &self.current
    }

    /// The slots of the policy and who fills them.
    pub fn slots(&self) -> Vec<SlotFill> {
        let mut seat = 0;
        self.slots
            .iter()
            .map(|&slot| {
                let holders = &self.seat_holder[seat..seat + usize::from(slot.count)];
                seat += usize::from(slot.count);
                SlotFill {
                    slot,
                    filled_by: holders
                        .iter()
                        .flatten()
                        .map(|&holder| self.current[self.candidates[holder]].voter)
                        .collect(),
                }
            })
            .collect()
    }

    pub fn is_approved(&self) -> bool {
        self.seat_holder.iter().all(Option::is_some)
    }

    /// The first No-Go among the current ballots: a veto.
    pub fn veto(&self) -> Option<&Ballot> {
        self.no_go.first().map(|&at| &self.current[at])
    }

    pub fn latest_of(&self, voter: UserId) -> Option<&Ballot> {
        self.position.get(&voter).map(|&at| &self.current[at])
    }

    /// The ballots of the people seated, slot by slot.
    pub fn seated(&self) -> Vec<&Ballot> {
        self.slots()
            .iter()
            .flat_map(|slot| &slot.filled_by)
            .filter_map(|&voter| self.latest_of(voter))
            .collect()
    }
}

/// What the matching reads: the ballots, who may sit, and the seats' roles.
struct Voters<'a> {
    current: &'a [Ballot],
    candidates: &'a [usize],
    seats: &'a [Role],
}

/// Kuhn's augmenting path: tries to seat `candidate`, moving earlier holders if needed.
fn augment(
    candidate: usize,
    voters: &Voters<'_>,
    seat_holder: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    let roles = &voters.current[voters.candidates[candidate]].roles;
    let fits = |seat: usize| roles.contains(&voters.seats[seat]);
    // A free seat first, so earlier voters keep their place and the card stays stable.
    if let Some(seat) =
        (0..voters.seats.len()).find(|&s| !visited[s] && seat_holder[s].is_none() && fits(s))
    {
        seat_holder[seat] = Some(candidate);
        return true;
    }
    for seat in 0..voters.seats.len() {
        if visited[seat] || !fits(seat) {
            continue;
        }
        visited[seat] = true;
        let free = match seat_holder[seat] {
            None => true,
            Some(holder) => augment(holder, voters, seat_holder, visited),
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

    fn count(kind: ReleaseKind, history: &[Ballot]) -> Tally {
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
            tally
                .slots()
                .iter()
                .map(|s| s.filled_by.len())
                .sum::<usize>(),
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
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(3)]);
        assert_eq!(tally.slots()[1].filled_by, vec![UserId(2)]);
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
        assert_eq!(tally.slots()[0].missing(), 1);
        let bob = ballot(3, &[Role::Team], Choice::Go);
        let both = count(ReleaseKind::Minor, &[alice, bob]);
        assert!(both.is_approved());
        assert_eq!(both.slots()[0].missing(), 0);
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
        assert_eq!(tally.current().len(), 1);
        assert_eq!(tally.slots()[0].filled_by, Vec::<UserId>::new());
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(2)));
    }

    #[test]
    fn a_seated_voter_who_turns_no_go_gives_the_seat_to_the_next_in_line() {
        let mut tally = count(
            ReleaseKind::Minor,
            &[
                ballot(2, &[Role::Team], Choice::Go),
                ballot(3, &[Role::Team], Choice::Go),
                ballot(4, &[Role::Team], Choice::Go),
            ],
        );
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(2), UserId(3)]);
        tally.cast(ballot(3, &[Role::Team], Choice::NoGo));
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(2), UserId(4)]);
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(3)));
        assert_eq!(
            tally.current().len(),
            3,
            "a change replaces the voter's ballot"
        );
        assert_eq!(
            tally.latest_of(UserId(3)).map(|b| b.choice),
            Some(Choice::NoGo)
        );
    }

    #[test]
    fn a_vote_changed_back_to_go_takes_its_first_place_in_line() {
        let mut tally = count(
            ReleaseKind::Minor,
            &[
                ballot(2, &[Role::Team], Choice::NoGo),
                ballot(3, &[Role::Team], Choice::Go),
                ballot(4, &[Role::Team], Choice::Go),
            ],
        );
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(3), UserId(4)]);
        tally.cast(ballot(2, &[Role::Team], Choice::Go));
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(2), UserId(3)]);
        assert!(tally.veto().is_none());
    }

    #[test]
    fn click_by_click_seats_everyone_as_a_count_from_scratch_does() {
        let clicks = [
            ballot(2, &[Role::Lead, Role::Security], Choice::Go),
            ballot(AUTHOR.0, &[Role::Security], Choice::Go),
            ballot(3, &[Role::Lead], Choice::Go),
            ballot(2, &[Role::Lead, Role::Security], Choice::NoGo),
            ballot(4, &[Role::Security], Choice::Go),
            ballot(2, &[Role::Lead, Role::Security], Choice::Go),
        ];
        let policy = Policy::default_for(ReleaseKind::Hotfix);
        let mut tally = Tally::new(&policy, AUTHOR);
        for (n, click) in clicks.iter().enumerate() {
            tally.cast(click.clone());
            let from_scratch = Tally::count(&policy, AUTHOR, &clicks[..=n]);
            assert_eq!(tally.slots(), from_scratch.slots(), "after click {n}");
            assert_eq!(tally.veto(), from_scratch.veto(), "after click {n}");
        }
        let seated: Vec<UserId> = tally.seated().iter().map(|b| b.voter).collect();
        assert_eq!(seated, [UserId(3), UserId(2)]);
        assert!(tally.is_approved());
    }

    #[test]
    fn the_first_no_go_in_line_is_the_veto_until_it_turns_go() {
        let mut tally = count(
            ReleaseKind::Minor,
            &[
                ballot(2, &[Role::Team], Choice::Go),
                ballot(3, &[Role::Team], Choice::NoGo),
                ballot(4, &[Role::Team], Choice::NoGo),
            ],
        );
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(3)));
        tally.cast(ballot(2, &[Role::Team], Choice::NoGo));
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(2)));
        tally.cast(ballot(2, &[Role::Team], Choice::Go));
        tally.cast(ballot(3, &[Role::Team], Choice::Go));
        assert_eq!(tally.veto().map(|b| b.voter), Some(UserId(4)));
        tally.cast(ballot(4, &[Role::Team], Choice::Go));
        assert!(tally.veto().is_none());
    }

    #[test]
    fn extra_go_votes_beyond_the_seats_are_kept_but_unseated() {
        let history: Vec<_> = (2..6)
            .map(|id| ballot(id, &[Role::Team], Choice::Go))
            .collect();
        let tally = count(ReleaseKind::Minor, &history);
        assert!(tally.is_approved());
        assert_eq!(tally.current().len(), 4);
        assert_eq!(tally.slots()[0].filled_by, vec![UserId(2), UserId(3)]);
    }
}
