//! `POST /api/v1/releases`'s body, parsed at the edge: every bad field is named at once, and
//! what comes out is the same `PlanRequest` `/release plan` makes, with its origin.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::problem::FieldError;
use crate::domain::parts::Origin;
use crate::domain::{PlanRequest, UserId};

/// The body as sent. Unknown fields are refused: a misspelt `comit` must not vanish.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub version: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub summary: String,
    pub changelog: Option<String>,
    pub environment: Option<String>,
    pub commit: Option<String>,
    pub commit_time: Option<String>,
    pub build_url: Option<String>,
    pub artifact: Option<String>,
    pub on_behalf_of: Option<Snowflake>,
}

/// A Discord user id, as a string (as Discord writes them) or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Snowflake {
    Text(String),
    Number(u64),
}

/// The longest artifact reference, such as an OCI digest with its repository.
const MAX_ARTIFACT: usize = 300;
/// The longest link: the card shows it, within an embed field's 1,024 characters.
pub const MAX_URL: usize = 256;

impl PlanBody {
    /// The plan it asks for, by the token `token` under `key`, and for whom; or every field
    /// that is wrong.
    pub fn parse(
        self,
        token: &str,
        key: Option<String>,
    ) -> Result<(PlanRequest, Option<UserId>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError {
                    field: name.to_owned(),
                    message,
                });
            }
        };
        let request = PlanRequest::parse_each(
            &self.version,
            &self.kind,
            &self.summary,
            self.changelog.as_deref(),
            self.environment.as_deref(),
        )
        .map_err(|wrong| {
            for (option, problem) in wrong {
                field(option, Err(problem));
            }
        })
        .ok();
        let mut origin = Origin {
            token: Some(token.to_owned()),
            idempotency_key: key,
            ..Origin::default()
        };
        if let Some(commit) = &self.commit {
            field("commit", commit_id(commit).map(|c| origin.commit = Some(c)));
        }
        if let Some(time) = &self.commit_time {
            field(
                "commit_time",
                commit_time(time).map(|t| origin.commit_time = Some(t)),
            );
        }
        if let Some(url) = &self.build_url {
            field(
                "build_url",
                http_url(url).map(|u| origin.build_url = Some(u)),
            );
        }
        if let Some(artifact) = &self.artifact {
            field(
                "artifact",
                crate::domain::text::bounded_text("artifact", artifact, MAX_ARTIFACT)
                    .map(|a| origin.artifact = Some(a)),
            );
        }
        let mut author = None;
        if let Some(user) = &self.on_behalf_of {
            field("on_behalf_of", user_id(user).map(|id| author = Some(id)));
        }
        match request {
            Some(mut request) if errors.is_empty() => {
                request.origin = origin;
                Ok((request, author))
            }
            _ => Err(errors),
        }
    }
}

fn commit_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    if (7..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("a commit is 7 to 64 hex digits, like 3f9c2ab".to_owned())
    }
}

fn commit_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "a commit time is RFC 3339, like 2026-03-02T09:12:00Z".to_owned())
}

/// An http or https link with a host.
pub fn http_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let valid = text.chars().count() <= MAX_URL
        && reqwest::Url::parse(text).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a link is an http:// or https:// URL of at most {MAX_URL} characters"
        ))
    }
}

fn user_id(user: &Snowflake) -> Result<UserId, String> {
    let id = match user {
        Snowflake::Number(id) => Some(*id),
        Snowflake::Text(text) => text.trim().parse().ok(),
    };
    id.filter(|id| *id > 0)
        .map(UserId)
        .ok_or_else(|| "on_behalf_of is a Discord user id, like \"80351110224678912\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(extra: &serde_json::Value) -> PlanBody {
        let mut json =
            serde_json::json!({ "version": "1.4.0", "type": "minor", "summary": "Faster search" });
        json.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json).unwrap()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_pipelines_plan_carries_its_origin() {
        let (request, author) = body(&serde_json::json!({
            "commit": "3F9C2AB", "commit_time": "2026-03-02T10:12:00+01:00",
            "build_url": "https://ci.example.com/runs/812", "artifact": "registry/app@sha256:ab",
            "environment": "staging", "on_behalf_of": "80351110224678912",
        }))
        .parse("ci", Some("run-812".to_owned()))
        .unwrap();
        assert_eq!(request.environment, "staging");
        let origin = &request.origin;
        assert_eq!(origin.commit.as_deref(), Some("3f9c2ab"));
        assert_eq!(
            origin.commit_time.unwrap().to_rfc3339(),
            "2026-03-02T09:12:00+00:00"
        );
        assert_eq!(origin.token.as_deref(), Some("ci"));
        assert_eq!(origin.idempotency_key.as_deref(), Some("run-812"));
        assert_eq!(author, Some(UserId(80_351_110_224_678_912)));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errors = body(&serde_json::json!({
            "version": "v1.4", "commit": "xyz", "commit_time": "yesterday",
            "build_url": "ftp://ci.example.com/812", "on_behalf_of": "me",
        }))
        .parse("ci", None)
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "version",
                "commit",
                "commit_time",
                "build_url",
                "on_behalf_of"
            ]
        );
        for (extra, field) in [
            (serde_json::json!({ "type": "giant" }), "type"),
            (serde_json::json!({ "summary": " " }), "summary"),
            (
                serde_json::json!({ "changelog": "x".repeat(1001) }),
                "changelog",
            ),
            (serde_json::json!({ "environment": "Prod!" }), "environment"),
            (serde_json::json!({ "commit": "abc123" }), "commit"),
            (serde_json::json!({ "commit": "a".repeat(65) }), "commit"),
            (
                serde_json::json!({ "artifact": "x".repeat(301) }),
                "artifact",
            ),
        ] {
            let errors = body(&extra).parse("ci", None).unwrap_err();
            assert_eq!(fields(&errors), [field], "{extra}");
        }
    }

    #[test]
    fn a_misspelt_field_is_refused_not_dropped() {
        let json = serde_json::json!({ "version": "1.4.0", "type": "minor", "summary": "x", "comit": "3f9c2ab" });
        let error = serde_json::from_value::<PlanBody>(json).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `comit`"),
            "{error}"
        );
    }
}
