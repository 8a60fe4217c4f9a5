//! A group's lookups by version and by deploy lock: each read for the whole group in one
//! statement as it begins, with what the group has decided since laid over it, so a burst of
//! `/deploy`s costs no round trip apiece.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::domain::{lookup, Release, ReleaseId, Version};
use crate::store;

/// What a group's lookups read as it began. The group holds the write lock, so nothing but
/// the group itself changes these rows before it commits.
#[derive(Default)]
pub(super) struct Lookups {
    /// Every release of each version looked up in any environment, by version key.
    versions: FxHashMap<String, Vec<Release>>,
    /// The releases of each version looked up in one environment, by key and environment.
    placed: FxHashMap<(String, String), Vec<Release>>,
    /// The releases holding the deploy lock of each environment a deploy of the group may take.
    holding: FxHashMap<String, Vec<Release>>,
}

impl Lookups {
    /// Reads the releases the `named` lookups may pick, a version in an environment or in
    /// any; answers with the ids of those they pick now, so the group loads them together.
    pub(super) async fn read_versions(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        named: &[(Version, Option<&str>)],
    ) -> anyhow::Result<Vec<ReleaseId>> {
        if named.is_empty() {
            return Ok(Vec::new());
        }
        for (version, environment) in named {
            let key = version.key();
            match environment.map(str::trim) {
                None => {
                    self.versions.insert(key, Vec::new());
                }
                Some(environment) => {
                    self.placed
                        .insert((key, environment.to_owned()), Vec::new());
                }
            }
        }
        // A version read in every environment is read in each already.
        self.placed
            .retain(|(key, _), _| !self.versions.contains_key(key));
        let keys: Vec<String> = self.versions.keys().cloned().collect();
        let placed: Vec<(String, String)> = self.placed.keys().cloned().collect();
        for stored in store::releases::of_versions(conn, &keys, &placed).await? {
            let release = stored.release;
            let key = release.version.key();
            let environment = release.environment.clone();
            match self.versions.get_mut(&key) {
                Some(all) => all.push(release),
                None => {
                    if let Some(there) = self.placed.get_mut(&(key, environment)) {
                        there.push(release);
                    }
                }
            }
        }
        Ok(named
            .iter()
            .filter_map(|(version, environment)| self.pick(version, *environment))
            .collect())
    }

    /// The release a lookup of `version` picks among those read, as the group began.
    pub(super) fn pick(&self, version: &Version, environment: Option<&str>) -> Option<ReleaseId> {
        let found = self.of_version(version, environment)?.iter().collect();
        lookup::pick(found, environment)
            .ok()
            .map(|release| release.id)
    }

    /// Reads the releases holding the deploy locks of `environments`.
    pub(super) async fn read_holding(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        mut environments: Vec<String>,
    ) -> anyhow::Result<()> {
        if environments.is_empty() {
            return Ok(());
        }
        environments.sort();
        environments.dedup();
        for environment in &environments {
            self.holding.insert(environment.clone(), Vec::new());
        }
        for stored in store::releases::holding_locks(conn, &environments).await? {
            let environment = stored.release.environment.clone();
            let holding = self.holding.entry(environment).or_default();
            holding.push(stored.release);
        }
        Ok(())
    }

    /// The releases of `version` (in `environment`, when given) as read, if the group read
    /// them; those of other environments may come with them.
    pub(super) fn of_version(
        &self,
        version: &Version,
        environment: Option<&str>,
    ) -> Option<&[Release]> {
        let key = version.key();
        if let Some(all) = self.versions.get(&key) {
            return Some(all);
        }
        let environment = environment?.trim().to_owned();
        self.placed.get(&(key, environment)).map(Vec::as_slice)
    }

    /// The releases holding `environment`'s deploy lock as read, if the group read them.
    pub(super) fn holding(&self, environment: &str) -> Option<&[Release]> {
        self.holding.get(environment).map(Vec::as_slice)
    }
}

/// The releases `wanted` picks, newest first, from those `read` as the group began with the
/// group's `copies` laid over them. Every release the group changed or planned is one it
/// `touched`, and its copy is current; a touched release without a copy is gone.
pub(super) fn as_decided<'a>(
    read: &'a [Release],
    touched: &FxHashSet<ReleaseId>,
    copies: impl Iterator<Item = &'a Release>,
    wanted: impl Fn(&Release) -> bool,
) -> Vec<Release> {
    let untouched = read.iter().filter(|release| !touched.contains(&release.id));
    let mut found: Vec<Release> = untouched
        .chain(copies)
        .filter(|release| wanted(release))
        .cloned()
        .collect();
    found.sort_unstable_by_key(|release| std::cmp::Reverse(release.id));
    found
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::lifecycle::poll;
    use crate::domain::{PlanRequest, ReleaseState, UserId};

    fn release(id: i64, version: &str, state: ReleaseState) -> Release {
        let request = PlanRequest::parse(version, "patch", "Fix login", None, None).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let hour = chrono::TimeDelta::hours(1);
        let mut planned = poll::plan(ReleaseId(id), request, UserId(1), hour, now).release;
        planned.state = state;
        planned
    }

    #[test]
    fn a_lookup_sees_what_the_group_changed_planned_and_removed_since_it_read() {
        let read = [
            release(3, "1.0.0", ReleaseState::Approved),
            release(2, "1.0.0", ReleaseState::Voting),
            release(1, "1.0.0", ReleaseState::Cancelled),
        ];
        // The group started release 3, planned release 4 and touched release 1, now gone.
        let copies = [
            release(3, "1.0.0", ReleaseState::Deploying),
            release(4, "1.0.0", ReleaseState::Voting),
        ];
        let touched: FxHashSet<ReleaseId> = [1, 3, 4].map(ReleaseId).into_iter().collect();
        let states = |found: Vec<Release>| -> Vec<(i64, ReleaseState)> {
            found.iter().map(|r| (r.id.0, r.state)).collect()
        };

        let all = as_decided(&read, &touched, copies.iter(), |_| true);
        assert_eq!(
            states(all),
            [
                (4, ReleaseState::Voting),
                (3, ReleaseState::Deploying),
                (2, ReleaseState::Voting)
            ]
        );
        let holding = as_decided(&read, &touched, copies.iter(), |r| {
            r.state.holds_deploy_lock()
        });
        assert_eq!(states(holding), [(3, ReleaseState::Deploying)]);
        // Untouched, each release stands as read.
        let untouched = FxHashSet::default();
        let as_read = as_decided(&read, &untouched, std::iter::empty(), |_| true);
        assert_eq!(as_read, read);
    }
}
