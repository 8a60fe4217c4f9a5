//! Reading `[environments.NAME]`: environments that follow one another, each with its own
//! stages, verification and executor when it sets them.

use chrono::TimeDelta;

use super::process::stages;
use super::reader::{Problems, Table};
use super::sections::executor_in;
use super::values::{boolean, duration, string};
use super::{EnvironmentConfig, ExecutorConfig};
use crate::domain::release::environment_name;
use crate::domain::rollout::Rollout;

pub(super) fn environments(
    root: &Table,
    rollout: Option<&Rollout>,
    p: &mut Problems,
) -> Option<Vec<(String, EnvironmentConfig)>> {
    let t = Table::new("environments", root.get("environments"), p);
    let entries = t.entries();
    let names: Vec<String> = entries.iter().map(|(name, _)| name.clone()).collect();
    let mut environments = Some(Vec::new());
    for (name, value) in entries {
        let key = t.key(&name);
        if let Err(problem) = environment_name(&name) {
            p.add(&key, problem);
        }
        let read = environment(&Table::new(&key, Some(value), p), &name, &names, rollout, p);
        match (read, environments.as_mut()) {
            (Some(environment), Some(list)) => list.push((name, environment)),
            _ => environments = None,
        }
    }
    environments
}

fn environment(
    t: &Table,
    name: &str,
    names: &[String],
    rollout: Option<&Rollout>,
    p: &mut Problems,
) -> Option<EnvironmentConfig> {
    let neighbour = |key: &str, p: &mut Problems| {
        let other = t.optional(key, p, |v| environment_name(&string(v)?));
        if let Ok(Some(other)) = &other {
            if other == name {
                p.add(t.key(key), "an environment cannot follow itself");
            }
        }
        other.ok()
    };
    let next = neighbour("next", p);
    let after = neighbour("after", p);
    if let Some(Some(after)) = &after {
        if !names.contains(after) {
            p.add(
                t.key("after"),
                format!("no [environments.{after}]; list it, even empty, so its order is known"),
            );
        }
    }
    let soak = t.or("soak", TimeDelta::zero(), p, duration);
    if t.get("soak").is_some() && !matches!(after, Some(Some(_))) {
        p.add(
            t.key("soak"),
            "a soak needs `after`: the environment it is counted from",
        );
    }
    let approval = t.or("approval", true, p, boolean);
    let own_stages = if t.get("stages").is_some() {
        stages(t, p).map(Some)
    } else {
        Some(None)
    };
    let verify_for = t.optional("verify_for", p, duration);
    let executor: Result<Option<ExecutorConfig>, _> = match t.get("executor") {
        Some(value) => executor_in(&Table::new(t.key("executor"), Some(value), p), p),
        None => Ok(None),
    };
    let rollout = match (own_stages?, verify_for.ok()?, rollout) {
        (None, None, _) => None,
        (stages, verify_for, Some(base)) => Some(Rollout {
            stages: stages.unwrap_or_else(|| base.stages.clone()),
            verify_for: verify_for.unwrap_or(base.verify_for),
            ..base.clone()
        }),
        // `[rollout]` is wrong and reported where it is.
        (_, _, None) => return None,
    };
    Some(EnvironmentConfig {
        next: next?,
        after: after?,
        soak: soak?,
        approval: approval?,
        rollout,
        executor: executor.ok()?,
    })
}
