//! Reading a page's query string: every parameter checked, and anything odd named plainly.

use super::render::Problem;
use crate::domain::{ReleaseKind, ReleaseState};

/// The parameters of a query string, decoded; a malformed one is a problem.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, Problem> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|e| Problem::bad_query(format!("The query string cannot be read: {e}.")))?;
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, _)| !known.contains(&name.as_str()))
        {
            return Err(Problem::bad_query(format!(
                "This page takes {}; it does not know \"{name}\".",
                known.join(", ")
            )));
        }
        Ok(Params(pairs))
    }

    /// The parameter's value; an empty one is the same as none.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A whole number from `min` to `max`, or `default` when unset.
    pub fn number(&self, name: &str, (min, max): (i64, i64), default: i64) -> Result<i64, Problem> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        text.parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                Problem::bad_query(format!(
                    "{name} must be a whole number from {min} to {max}, not \"{text}\"."
                ))
            })
    }

    /// An environment's name.
    pub fn environment(&self) -> Result<Option<String>, Problem> {
        self.get("environment")
            .map(|name| {
                crate::domain::text::short_name(name).ok_or_else(|| {
                    Problem::bad_query(format!(
                        "\"{name}\" is not an environment's name: lower-case letters, digits, \
                         - and _, up to 32."
                    ))
                })
            })
            .transpose()
    }

    pub fn state(&self) -> Result<Option<ReleaseState>, Problem> {
        self.get("state")
            .map(|text| {
                text.parse().map_err(|_| {
                    let all: Vec<&str> = ReleaseState::ALL.iter().map(|s| s.as_str()).collect();
                    Problem::bad_query(format!(
                        "\"{text}\" is not a state; use one of {}.",
                        all.join(", ")
                    ))
                })
            })
            .transpose()
    }

    pub fn kind(&self) -> Result<Option<ReleaseKind>, Problem> {
        self.get("type")
            .map(|text| {
                text.parse().map_err(|_| {
                    Problem::bad_query(format!(
                        "\"{text}\" is not a release type; use hotfix, patch, minor or major."
                    ))
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_odd_parameter_is_named() {
        let detail = |query: &str, known: &[&str]| match Params::parse(Some(query), known) {
            Ok(_) => String::new(),
            Err(problem) => problem.detail,
        };
        assert!(detail("dayz=3", &["days"]).contains("\"dayz\""));
        let days = Params::parse(Some("days=-1"), &["days"]).unwrap();
        let problem = days.number("days", (1, 3650), 90).unwrap_err();
        assert!(
            problem.detail.contains("from 1 to 3650"),
            "{}",
            problem.detail
        );
        let days = Params::parse(Some("days=100000"), &["days"]).unwrap();
        assert!(days.number("days", (1, 3650), 90).is_err());
        let days = Params::parse(Some("days="), &["days"]).unwrap();
        assert_eq!(days.number("days", (1, 3650), 90).unwrap(), 90);
        let state = Params::parse(Some("state=shipped"), &["state"]).unwrap();
        assert!(state.state().unwrap_err().detail.contains("approved"));
        let kind = Params::parse(Some("type=huge"), &["type"]).unwrap();
        assert!(kind.kind().is_err());
        let env = Params::parse(Some("environment=Prod%20One"), &["environment"]).unwrap();
        assert!(env.environment().is_err());
        let fine = Params::parse(
            Some("state=approved&type=major&environment=staging"),
            &["state", "type", "environment"],
        )
        .unwrap();
        assert_eq!(fine.state().unwrap(), Some(ReleaseState::Approved));
        assert_eq!(fine.kind().unwrap(), Some(ReleaseKind::Major));
        assert_eq!(fine.environment().unwrap().as_deref(), Some("staging"));
    }
}
