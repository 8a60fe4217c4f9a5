//! What the phases take besides the release: who acts, what the deploy phase needs from the
//! config, and how an executor action ended.

use crate::domain::gates::Gates;
use crate::domain::ids::UserId;
use crate::domain::policy::Role;
use crate::domain::release::Release;
use crate::domain::rollout::Rollout;

/// What the deploy phase needs besides the release itself.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    pub rollout: &'a Rollout,
    /// Whether an executor acts on each stage; without one only the schedule and notices run.
    pub executor: bool,
    /// The metric gates, when Prometheus watches the rollouts.
    pub gates: Option<&'a Gates>,
    /// Whether an approved override lets this request past the guardrails (windows, the
    /// checklist, the rollback window, the order of environments).
    pub past_guardrails: bool,
    /// What the order of environments asks of a deploy here, when it follows another.
    pub order: Option<crate::domain::order::Order<'a>>,
}

#[cfg(test)]
impl<'a> Plan<'a> {
    /// A rollout carried out by hand: no executor, no metric gates, no override, no order.
    pub(crate) fn by_hand(rollout: &'a Rollout) -> Plan<'a> {
        Plan {
            rollout,
            executor: false,
            gates: None,
            past_guardrails: false,
            order: None,
        }
    }
}

impl Plan<'_> {
    /// The metric gates for `release`: the config's queries under the thresholds of its
    /// rollback contract, when it has one.
    pub fn gates_for(&self, release: &Release) -> Option<Gates> {
        let gates = self.gates?;
        Some(match &release.contract {
            Some(contract) => contract.thresholds_of(gates),
            None => gates.clone(),
        })
    }
}

/// Someone acting on a deployment, with the policy roles they hold now.
#[derive(Clone, Copy, Debug)]
pub struct Person<'a> {
    pub id: UserId,
    pub name: &'a str,
    pub roles: &'a [Role],
}

/// How an executor action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// It failed, timed out, or died with the process (its effect unknown); the text says how.
    Failed(String),
}
