//! Reading the release process: approval policies, rollout stages and deployment windows.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use chrono_tz::Tz;

use super::reader::{Problems, Table};
use super::values::{duration, duration_at_least, integer, quote, schedule, string};
use super::RolesConfig;
use crate::domain::checklist::Section;
use crate::domain::policy::DEFAULT_PLANNERS;
use crate::domain::rollout::{Rollout, Stage};
use crate::domain::windows::{Window, Windows};
use crate::domain::{Policies, Policy, ReleaseKind, Role, Slot};

/// Reads `[policy.*]`, filling the kinds it leaves out with the contract's defaults, and checks
/// that `roles` maps every role a policy names (skipped when `roles` itself is wrong).
pub(super) fn policies(
    root: &Table,
    roles: Option<&RolesConfig>,
    sections: Option<&[Section]>,
    p: &mut Problems,
) -> Option<Policies> {
    let t = Table::new("policy", root.get("policy"), p);
    // Roles the defaults rely on but nobody mapped: role → who needs it.
    let mut unmapped: BTreeMap<Role, Vec<String>> = BTreeMap::new();
    let unmapped_role = |role: Role| roles.is_some_and(|roles| roles.role_id(role).is_none());
    if unmapped_role(Role::Exec) {
        unmapped
            .entry(Role::Exec)
            .or_default()
            .push("overrides, which exec approves".to_owned());
    }
    let planners = planners(&t, &unmapped_role, p);
    let mut read = |kind: ReleaseKind| {
        let path = t.key(kind.as_str());
        let table = Table::new(&path, t.get(kind.as_str()), p);
        if !table.is_present() {
            let policy = Policy::default_for(kind);
            for slot in policy.approvers.iter().filter(|s| unmapped_role(s.role)) {
                unmapped
                    .entry(slot.role)
                    .or_default()
                    .push(format!("the default {kind} policy"));
            }
            return Some(policy);
        }
        let approvers = approvers(&table, kind, &unmapped_role, p);
        let rollback_window = table.required(
            "rollback_window",
            "set how long after a deployment a rollback needs no override, like \"4h\"",
            p,
            duration,
        );
        let checklist = super::checklist::required(&table, sections, p);
        Some(Policy {
            approvers: approvers?,
            rollback_window: rollback_window?,
            checklist: checklist?,
        })
    };
    let hotfix = read(ReleaseKind::Hotfix);
    let patch = read(ReleaseKind::Patch);
    let minor = read(ReleaseKind::Minor);
    let major = read(ReleaseKind::Major);
    for (role, needers) in unmapped {
        p.add(
            format!("roles.{role}"),
            format!(
                "missing: {} need it; set it to the ID of the Discord role",
                needers.join(" and ")
            ),
        );
    }
    Some(Policies {
        hotfix: hotfix?,
        patch: patch?,
        minor: minor?,
        major: major?,
        planners: planners?,
    })
}

/// `policy.planners`: the roles that may plan, each mapped in `roles`; the default when unset.
fn planners(
    t: &Table,
    unmapped_role: &dyn Fn(Role) -> bool,
    p: &mut Problems,
) -> Option<Vec<Role>> {
    let Some(items) = t.list("planners", p) else {
        return t
            .get("planners")
            .is_none()
            .then(|| DEFAULT_PLANNERS.to_vec());
    };
    let mut planners = Some(Vec::new());
    for (key, item) in items {
        let role = p.check(
            &key,
            string(item).and_then(|name| name.trim().parse::<Role>()),
        );
        if let Some(role) = role.filter(|role| unmapped_role(*role)) {
            p.add(
                &key,
                format!("role `{role}` may plan, but roles.{role} is not set; set it to the ID of the Discord role"),
            );
        }
        planners = planners
            .zip(role)
            .map(|(mut all, role): (Vec<Role>, Role)| {
                if !all.contains(&role) {
                    all.push(role);
                }
                all
            });
    }
    if planners.as_ref().is_some_and(Vec::is_empty) {
        p.add(
            t.key("planners"),
            "nobody could plan a release; name at least one role, like [\"team\", \"lead\"]",
        );
        return None;
    }
    planners
}

/// A policy's non-empty `approvers`, each role at most once.
fn approvers(
    table: &Table,
    kind: ReleaseKind,
    unmapped_role: &impl Fn(Role) -> bool,
    p: &mut Problems,
) -> Option<Vec<Slot>> {
    let key = table.key("approvers");
    let hint = "list who must approve, like [{ role = \"lead\", count = 1 }]";
    let Some(items) = table.list("approvers", p) else {
        if table.get("approvers").is_none() {
            p.add(&key, format!("missing: {hint}"));
        }
        return None;
    };
    if items.is_empty() {
        p.add(&key, format!("needs at least one approver; {hint}"));
        return None;
    }
    let mut slots = Some(Vec::new());
    let mut seen = Vec::new();
    for (item_key, item) in items {
        let entry = Table::new(&item_key, Some(item), p);
        let role = entry.required("role", hint, p, |v| string(v)?.trim().parse::<Role>());
        let count = entry.or("count", 1, p, |v| integer(v, 1, 10));
        if let Some(role) = role {
            let role_key = entry.key("role");
            if seen.contains(&role) {
                p.add(
                    &role_key,
                    format!("`{role}` is listed twice; give it once with the total count"),
                );
            } else if unmapped_role(role) {
                p.add(
                    &role_key,
                    format!("role `{role}` is used by the {kind} policy but roles.{role} is not set; set it to the ID of the Discord role"),
                );
            }
            seen.push(role);
        }
        let slot = role.zip(count).map(|(role, count)| Slot { role, count });
        slots = slots.zip(slot).map(|(mut slots, slot)| {
            slots.push(slot);
            slots
        });
    }
    let seats: usize = slots
        .iter()
        .flatten()
        .map(|slot| usize::from(slot.count))
        .sum();
    if seats > MAX_SEATS {
        // The card lists every approver by name in one embed field of 1024 characters.
        p.add(
            &key,
            format!("asks for {seats} approvers; at most {MAX_SEATS} fit on the release card"),
        );
        return None;
    }
    slots
}

/// The most approvers one policy may ask for.
const MAX_SEATS: usize = 10;
/// The longest a poll may stay open.
const MAX_VOTE_TTL_DAYS: i64 = 30;

pub(super) fn rollout(root: &Table, p: &mut Problems) -> Option<Rollout> {
    let defaults = Rollout::default();
    let t = Table::new("rollout", root.get("rollout"), p);
    let stages = if t.get("stages").is_some() {
        stages(&t, p)
    } else {
        Some(defaults.stages)
    };
    let progress_every = t.or("progress_every", defaults.progress_every, p, |v| {
        duration_at_least(v, TimeDelta::seconds(1), "1s")
    });
    let verify_for = t.or("verify_for", defaults.verify_for, p, duration);
    let vote_ttl = t.or("vote_ttl", defaults.vote_ttl, p, |v| {
        let ttl = duration_at_least(v, TimeDelta::minutes(1), "1m")?;
        if ttl > TimeDelta::days(MAX_VOTE_TTL_DAYS) {
            return Err(format!(
                "must be at most {MAX_VOTE_TTL_DAYS}d; a poll that long is no longer a decision"
            ));
        }
        Ok(ttl)
    });
    let oncall_within = t.or("oncall_within", defaults.oncall_within, p, |v| {
        duration_at_least(v, TimeDelta::minutes(1), "1m")
    });
    Some(Rollout {
        stages: stages?,
        progress_every: progress_every?,
        verify_for: verify_for?,
        vote_ttl: vote_ttl?,
        oncall_within: oncall_within?,
    })
}

/// Stages whose percents climb strictly to 100, with distinct names.
pub(super) fn stages(t: &Table, p: &mut Problems) -> Option<Vec<Stage>> {
    let key = t.key("stages");
    let items = t.list("stages", p)?;
    if items.is_empty() || items.len() > 20 {
        p.add(
            &key,
            "needs 1 to 20 stages, the last at 100%, like [{ percent = 10, hold = \"1h\" }, { percent = 100 }]",
        );
        return None;
    }
    let last = items.len() - 1;
    let mut stages = Some(Vec::new());
    let mut previous: Option<u8> = None;
    let mut names: Vec<String> = Vec::new();
    for (i, (stage_key, item)) in items.into_iter().enumerate() {
        let s = Table::new(&stage_key, Some(item), p);
        let percent = s.required(
            "percent",
            "set the share of traffic of this stage, from 1 to 100",
            p,
            |v| integer::<u8>(v, 1, 100),
        );
        if let (Some(before), Some(now)) = (previous, percent) {
            if now <= before {
                p.add(
                    s.key("percent"),
                    format!("must be above the {before}% of the stage before; stages are never skipped or repeated"),
                );
            }
        }
        if i == last && percent.is_some_and(|n| n != 100) {
            p.add(s.key("percent"), "the last stage must be 100");
        }
        previous = percent.or(previous);
        let name = s.optional("name", p, stage_name);
        let name = name.map(|name| name.or(percent.map(|n| format!("{n}%"))));
        if let Ok(Some(name)) = &name {
            if names.contains(name) {
                p.add(
                    s.key("name"),
                    format!("{} names two stages; rename one", quote(name)),
                );
            }
            names.push(name.clone());
        }
        let hold = if i == last {
            s.or("hold", TimeDelta::zero(), p, duration)
        } else {
            s.required(
                "hold",
                "set how long this stage runs before the next, like \"30m\"",
                p,
                duration,
            )
        };
        let stage = (|| {
            Some(Stage {
                name: name.ok()??,
                percent: percent?,
                hold: hold?,
            })
        })();
        stages = stages.zip(stage).map(|(mut stages, stage)| {
            stages.push(stage);
            stages
        });
    }
    stages
}

/// A short name fit for a message and a `{stage}` argument.
fn stage_name(value: &figment::value::Value) -> Result<String, String> {
    let name = string(value)?.trim().to_owned();
    let fits = name.chars().count() <= 32
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '%' | '.'));
    if fits {
        Ok(name)
    } else {
        Err(format!(
            "{} is not a stage name; use up to 32 letters, digits, spaces, `-`, `_`, `%` or `.`",
            quote(&name)
        ))
    }
}

pub(super) fn windows(root: &Table, p: &mut Problems) -> Option<Windows> {
    let t = Table::new("windows", root.get("windows"), p);
    let timezone = t.or("timezone", Tz::UTC, p, timezone);
    let allow = window_list(&t, "allow", p);
    let blackout = window_list(&t, "blackout", p);
    Some(Windows {
        timezone: timezone?,
        allow: allow?,
        blackout: blackout?,
    })
}

/// The windows under `name`: none when unset.
fn window_list(t: &Table, name: &str, p: &mut Problems) -> Option<Vec<Window>> {
    let Some(items) = t.list(name, p) else {
        return t.get(name).is_none().then(Vec::new);
    };
    let mut windows = Some(Vec::new());
    for (key, item) in items {
        let window = window(&key, item, p);
        windows = windows.zip(window).map(|(mut all, one)| {
            all.push(one);
            all
        });
    }
    windows
}

/// `{ cron = "0 0 9 * * Mon-Thu", duration = "8h" }`: open at each firing, for `duration`.
fn window(key: &str, item: &figment::value::Value, p: &mut Problems) -> Option<Window> {
    if let figment::value::Value::String(_, text) = item {
        p.add(
            key,
            format!(
                "a window is now a table that says how long it lasts: write {{ cron = {:?}, duration = \"8h\" }}; it opens at each firing of the cron and stays open for the duration",
                text.trim()
            ),
        );
        return None;
    }
    let w = Table::new(key, Some(item), p);
    let schedule = w.required(
        "cron",
        "set when the window opens, like \"0 0 9 * * Mon-Thu\"",
        p,
        schedule,
    );
    let duration = w.required(
        "duration",
        "set how long the window stays open, like \"8h\"",
        p,
        |v| duration_at_least(v, TimeDelta::seconds(1), "1s"),
    );
    Some(Window {
        schedule: schedule?,
        duration: duration?,
    })
}

/// An IANA timezone name, such as `Europe/Berlin` or `UTC`.
fn timezone(value: &figment::value::Value) -> Result<Tz, String> {
    let text = string(value)?;
    text.trim().parse::<Tz>().map_err(|_| {
        format!(
            "{} is not an IANA timezone name; write one like \"Europe/Berlin\", \"America/New_York\" or \"UTC\"",
            quote(text.trim())
        )
    })
}
