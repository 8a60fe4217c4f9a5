//! Approval policies: which roles must approve each kind of release, and how many of each.

use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::release::ReleaseKind;

/// A role in the release process, mapped to a Discord role by the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Lead,
    Security,
    Team,
    Exec,
    ReleaseManager,
    Deployer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Lead,
        Role::Security,
        Role::Team,
        Role::Exec,
        Role::ReleaseManager,
        Role::Deployer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Security => "security",
            Role::Team => "team",
            Role::Exec => "exec",
            Role::ReleaseManager => "release_manager",
            Role::Deployer => "deployer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role `{s}`; expected one of {}", known.join(", "))
            })
    }
}

/// `count` distinct people holding `role` must approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub role: Role,
    pub count: u8,
}

/// The approval policy of one release kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub approvers: Vec<Slot>,
    pub rollback_window: TimeDelta,
    /// The `[[checklist]]` sections a release of this type must tick before `/deploy`.
    pub checklist: Vec<String>,
}

impl Policy {
    /// Whether someone holding `roles` may vote at all.
    pub fn is_eligible(&self, roles: &[Role]) -> bool {
        self.approvers.iter().any(|slot| roles.contains(&slot.role))
    }

    pub fn seats(&self) -> usize {
        self.approvers
            .iter()
            .map(|slot| usize::from(slot.count))
            .sum()
    }

    /// The contract's default policy for `kind`.
    pub fn default_for(kind: ReleaseKind) -> Policy {
        let slot = |role, count| Slot { role, count };
        match kind {
            ReleaseKind::Hotfix => Policy {
                approvers: vec![slot(Role::Lead, 1), slot(Role::Security, 1)],
                rollback_window: TimeDelta::hours(2),
                checklist: Vec::new(),
            },
            ReleaseKind::Patch => Policy {
                approvers: vec![slot(Role::Lead, 1)],
                rollback_window: TimeDelta::hours(4),
                checklist: Vec::new(),
            },
            ReleaseKind::Minor => Policy {
                approvers: vec![slot(Role::Team, 2)],
                rollback_window: TimeDelta::days(1),
                checklist: Vec::new(),
            },
            ReleaseKind::Major => Policy {
                approvers: vec![slot(Role::Exec, 1), slot(Role::Team, 2)],
                rollback_window: TimeDelta::days(3),
                checklist: Vec::new(),
            },
        }
    }
}

/// One policy per release kind, and who may plan a release at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policies {
    pub hotfix: Policy,
    pub patch: Policy,
    pub minor: Policy,
    pub major: Policy,
    /// The roles that may `/release plan`; anyone holding one of them may.
    pub planners: Vec<Role>,
}

/// Who may plan when `policy.planners` does not say.
pub const DEFAULT_PLANNERS: [Role; 4] =
    [Role::Team, Role::Lead, Role::ReleaseManager, Role::Deployer];

impl Policies {
    pub fn get(&self, kind: ReleaseKind) -> &Policy {
        match kind {
            ReleaseKind::Hotfix => &self.hotfix,
            ReleaseKind::Patch => &self.patch,
            ReleaseKind::Minor => &self.minor,
            ReleaseKind::Major => &self.major,
        }
    }
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            hotfix: Policy::default_for(ReleaseKind::Hotfix),
            patch: Policy::default_for(ReleaseKind::Patch),
            minor: Policy::default_for(ReleaseKind::Minor),
            major: Policy::default_for(ReleaseKind::Major),
            planners: DEFAULT_PLANNERS.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract_table() {
        let p = Policies::default();
        assert_eq!(p.get(ReleaseKind::Hotfix).seats(), 2);
        assert_eq!(p.get(ReleaseKind::Patch).seats(), 1);
        assert_eq!(
            p.get(ReleaseKind::Minor).approvers,
            vec![Slot {
                role: Role::Team,
                count: 2
            }]
        );
        assert_eq!(p.get(ReleaseKind::Major).seats(), 3);
        assert_eq!(
            p.get(ReleaseKind::Major).rollback_window,
            TimeDelta::days(3)
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("cto"
            .parse::<Role>()
            .unwrap_err()
            .contains("release_manager"));
    }

    #[test]
    fn eligibility_needs_one_of_the_policy_roles() {
        let hotfix = Policy::default_for(ReleaseKind::Hotfix);
        assert!(hotfix.is_eligible(&[Role::Security]));
        assert!(!hotfix.is_eligible(&[Role::Team, Role::Deployer]));
        assert!(!hotfix.is_eligible(&[]));
    }
}
