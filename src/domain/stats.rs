//! The DORA figures of one environment, computed from the audit trail: deployment frequency,
//! lead time from commit (or plan) to completion, change failure rate and time to restore.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// One audit event that the figures read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub release: i64,
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The time to restore a `rolled_back` event records.
    pub restore_secs: Option<i64>,
    /// The environment a `planned` event records.
    pub environment: Option<String>,
    /// The commit time a `planned` event records, when a pipeline or a promotion gave one.
    pub commit_time: Option<DateTime<Utc>>,
}

/// The audit event kinds the figures read.
pub const KINDS: [&str; 6] = [
    "planned",
    "deploy_started",
    "completed",
    "rollback_started",
    "rolled_back",
    "override_used",
];

/// The figures over one period, as numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dora {
    pub days: i64,
    pub environment: String,
    /// Releases completed in the period.
    pub deployments: usize,
    /// Median time from commit to completion of those releases, or from plan where no
    /// commit time is known.
    pub lead_time: Option<TimeDelta>,
    /// How many of those lead times started at the commit, and how many at the plan.
    pub from_commit: usize,
    pub from_plan: usize,
    /// Rollouts started in the period, and how many of them were rolled back or needed an
    /// override.
    pub started: usize,
    pub failed: usize,
    /// Median time from rollback asked to rollback confirmed, over the period's rollbacks.
    pub restore: Option<TimeDelta>,
}

/// The figures as people read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoraView {
    pub days: i64,
    pub environment: String,
    pub deployments: usize,
    pub per_week: String,
    pub lead_time: Option<String>,
    pub from_commit: usize,
    pub from_plan: usize,
    pub started: usize,
    pub failed: usize,
    pub failure_rate: Option<String>,
    pub restore: Option<String>,
    pub rollbacks: usize,
}

/// The figures of `environment` over `days` days up to `until`, from `facts` (each release's
/// relevant events, older ones included, so a release planned before the period still has
/// its plan). Lead time counts from the commit, as DORA defines it, when the release has a
/// commit time, and from the plan otherwise.
pub fn dora(facts: &[Fact], days: i64, until: DateTime<Utc>, environment: &str) -> (Dora, usize) {
    History::of(facts, environment).figures(days, until)
}

/// The figures of a period, and the same figures week by week: the facts are read once.
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub figures: Dora,
    /// The period's rollbacks.
    pub rollbacks: usize,
    pub weeks: Vec<Week>,
}

/// [`dora`] over `days` days up to `until`, and its trend week by week, oldest first. A partial
/// first week is a whole week that starts before the period.
pub fn trend(facts: &[Fact], days: i64, until: DateTime<Utc>, environment: &str) -> Trend {
    let history = History::of(facts, environment);
    let (figures, rollbacks) = history.figures(days, until);
    Trend {
        figures,
        rollbacks,
        weeks: weekly(&history, days, until),
    }
}

/// The facts of one environment's releases, read once, however many periods are figured.
struct History<'a> {
    environment: &'a str,
    facts: Vec<&'a Fact>,
    /// When each release's lead time starts, and whether that is its commit.
    starts: HashMap<i64, (DateTime<Utc>, bool)>,
    /// The releases that were rolled back or needed an override: a set, not a search per
    /// rollout, which over a year of releases would cost its square.
    troubled: HashSet<i64>,
}

impl<'a> History<'a> {
    fn of(facts: &'a [Fact], environment: &'a str) -> History<'a> {
        let mut starts: HashMap<i64, (DateTime<Utc>, bool)> = HashMap::new();
        let mut here: HashSet<i64> = HashSet::new();
        for fact in facts.iter().filter(|f| f.kind == "planned") {
            if fact.environment.as_deref() == Some(environment) {
                here.insert(fact.release);
            }
            let start = fact
                .commit_time
                .map_or((fact.at, false), |commit| (commit, true));
            starts.entry(fact.release).or_insert(start);
        }
        let facts: Vec<&Fact> = facts.iter().filter(|f| here.contains(&f.release)).collect();
        let troubled = facts
            .iter()
            .filter(|f| f.kind == "rollback_started" || f.kind == "override_used")
            .map(|f| f.release)
            .collect();
        History {
            environment,
            facts,
            starts,
            troubled,
        }
    }

    fn figures(&self, days: i64, until: DateTime<Utc>) -> (Dora, usize) {
        let history = self;
        let environment = history.environment;
        let since = until - TimeDelta::days(days);
        let inside = |at: DateTime<Utc>| at > since && at <= until;
        let facts = &history.facts;
        let completed: Vec<&Fact> = facts
            .iter()
            .copied()
            .filter(|f| f.kind == "completed" && inside(f.at))
            .collect();
        let leads: Vec<(TimeDelta, bool)> = completed
            .iter()
            .filter_map(|done| {
                let (start, from_commit) = history.starts.get(&done.release)?;
                Some((done.at - *start, *from_commit))
            })
            .collect();
        let from_commit = leads.iter().filter(|(_, commit)| *commit).count();
        let from_plan = leads.len() - from_commit;
        let leads: Vec<TimeDelta> = leads.into_iter().map(|(lead, _)| lead).collect();
        let started: Vec<i64> = facts
            .iter()
            .filter(|f| f.kind == "deploy_started" && inside(f.at))
            .map(|f| f.release)
            .collect();
        let failed = started
            .iter()
            .filter(|release| history.troubled.contains(release))
            .count();
        let restores: Vec<TimeDelta> = facts
            .iter()
            .filter(|f| f.kind == "rolled_back" && inside(f.at))
            .filter_map(|f| f.restore_secs.map(TimeDelta::seconds))
            .collect();
        let rollbacks = restores.len();
        (
            Dora {
                days,
                environment: environment.to_owned(),
                deployments: completed.len(),
                lead_time: median(leads),
                from_commit,
                from_plan,
                started: started.len(),
                failed,
                restore: median(restores),
            },
            rollbacks,
        )
    }
}

/// One week of a trend: the figures of the seven days up to `ends`.
#[derive(Clone, Debug, PartialEq)]
pub struct Week {
    pub ends: DateTime<Utc>,
    pub deployments: usize,
    pub lead_time: Option<TimeDelta>,
    /// Failed rollouts of those started that week, as a fraction; `None` when none started.
    pub failure_rate: Option<f64>,
    pub restore: Option<TimeDelta>,
}

/// The figures week by week over `days` days up to `until`. Each week is what [`dora`] gives
/// for its seven days, found in one pass over the facts rather than one a week.
#[expect(clippy::cast_precision_loss, reason = "counts of releases")]
fn weekly(history: &History<'_>, days: i64, until: DateTime<Utc>) -> Vec<Week> {
    let weeks = usize::try_from((days + 6) / 7).unwrap_or(0);
    let mut buckets: Vec<Bucket> = (0..weeks).map(|_| Bucket::default()).collect();
    // A week's seven days end on its last instant and not on its first, as a period's do.
    let week_of = |at: DateTime<Utc>| {
        let back = (until - at).num_milliseconds();
        if back < 0 {
            return None;
        }
        let back = usize::try_from(back / TimeDelta::weeks(1).num_milliseconds()).ok()?;
        (back < weeks).then(|| weeks - 1 - back)
    };
    for fact in &history.facts {
        let Some(bucket) = week_of(fact.at).map(|week| &mut buckets[week]) else {
            continue;
        };
        match fact.kind.as_str() {
            "completed" => {
                bucket.deployments += 1;
                if let Some((start, _)) = history.starts.get(&fact.release) {
                    bucket.leads.push(fact.at - *start);
                }
            }
            "deploy_started" => {
                bucket.started += 1;
                bucket.failed += usize::from(history.troubled.contains(&fact.release));
            }
            "rolled_back" => bucket
                .restores
                .extend(fact.restore_secs.map(TimeDelta::seconds)),
            _ => {}
        }
    }
    buckets
        .into_iter()
        .zip((0..weeks).rev())
        .map(|(bucket, back)| Week {
            ends: until - TimeDelta::weeks(i64::try_from(back).unwrap_or(0)),
            deployments: bucket.deployments,
            lead_time: median(bucket.leads),
            failure_rate: (bucket.started > 0)
                .then(|| bucket.failed as f64 / bucket.started as f64),
            restore: median(bucket.restores),
        })
        .collect()
}

/// What one week of a trend gathers.
#[derive(Default)]
struct Bucket {
    deployments: usize,
    leads: Vec<TimeDelta>,
    started: usize,
    failed: usize,
    restores: Vec<TimeDelta>,
}

/// The middle value; the mean of the two middle ones for an even count.
fn median(mut values: Vec<TimeDelta>) -> Option<TimeDelta> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

impl Dora {
    #[expect(clippy::cast_precision_loss, reason = "counts of releases")]
    pub fn view(&self, rollbacks: usize) -> DoraView {
        let weeks = self.days as f64 / 7.0;
        DoraView {
            days: self.days,
            environment: self.environment.clone(),
            from_commit: self.from_commit,
            from_plan: self.from_plan,
            deployments: self.deployments,
            per_week: format!("{:.1}", self.deployments as f64 / weeks),
            lead_time: self.lead_time.map(span),
            started: self.started,
            failed: self.failed,
            failure_rate: (self.started > 0)
                .then(|| format!("{:.0}%", 100.0 * self.failed as f64 / self.started as f64)),
            restore: self.restore.map(span),
            rollbacks,
        }
    }
}

/// A duration to the minute, like `2d 3h`, `3h 20m` or `45m`; under a minute in seconds.
pub fn span(duration: TimeDelta) -> String {
    let secs = duration.num_seconds().max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
