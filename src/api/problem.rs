//! The pipeline door's errors as RFC 9457 problem documents, and how a service refusal maps
//! to one: the same refusal text the Discord doors show, in plain words.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::discord::replies::user_error;
use crate::domain::Refusal;
use crate::messages::Messages;
use crate::service::{Error, UserError};

/// A problem document; `errors` lists each bad field of a 422.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    #[serde(skip)]
    pub status: StatusCode,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[serde(rename = "status")]
    pub code: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            kind: format!("urn:gonogo:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            code: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 422 that names each bad field.
    pub fn invalid(errors: Vec<FieldError>) -> Problem {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Problem {
            errors,
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", detail)
        }
    }

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// What a service call failed with: a refusal in the words the Discord doors use, or a
    /// fault of ours under an id the log shows.
    pub fn of(error: Error, messages: &Messages) -> Problem {
        let refusal = match error {
            Error::User(refusal) => refusal,
            Error::Internal(cause) => return Problem::internal(&cause),
        };
        let text = match user_error(messages, &refusal) {
            Ok(text) => plain(&text),
            Err(cause) => return Problem::internal(&cause),
        };
        let (status, kind) = match &refusal {
            UserError::InvalidInput(_) => {
                return Problem::invalid(vec![FieldError {
                    field: "body".to_owned(),
                    message: text,
                }])
            }
            UserError::StaleCard => (StatusCode::NOT_FOUND, "not-found"),
            UserError::Refused { refusal, .. } => match refusal {
                Refusal::UnknownRelease => (StatusCode::NOT_FOUND, "not-found"),
                Refusal::NotAPlanner { .. } | Refusal::NotADeployer => {
                    (StatusCode::FORBIDDEN, "forbidden")
                }
                Refusal::UnknownItem { items } => {
                    let mut problem = Problem::invalid(vec![FieldError {
                        field: "item".to_owned(),
                        message: format!("no such item; the release has: {}", items.join(", ")),
                    }]);
                    problem.detail = text;
                    return problem;
                }
                _ => (StatusCode::CONFLICT, "refused"),
            },
            UserError::AlreadyHandled
            | UserError::OutsideGuild
            | UserError::TooLate
            | UserError::Fenced { .. } => (StatusCode::CONFLICT, "refused"),
        };
        Problem::new(status, kind, text)
    }

    fn internal(cause: &anyhow::Error) -> Problem {
        let error_id = format!("{:08x}", rand::random::<u32>());
        tracing::error!(error_id, "A pipeline request failed: {cause:#}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("something went wrong on our side (error id {error_id})"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(json!(self))).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Chat text for a pipeline's log: Discord's timestamps as RFC 3339, no bold markers.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<t:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find('>');
        let time = end.and_then(|end| {
            let secs = after[..end].split(':').next()?.parse::<i64>().ok()?;
            Some((end, chrono::DateTime::from_timestamp(secs, 0)?))
        });
        if let Some((end, at)) = time {
            out.push_str(&at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            rest = &after[end + 1..];
        } else {
            out.push_str("<t:");
            rest = after;
        }
    }
    out.push_str(rest);
    out.replace("**", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_timestamps_become_times_a_log_can_read() {
        assert_eq!(
            plain("the soak ends <t:1772445600:R>, **not** before"),
            "the soak ends 2026-03-02T10:00:00Z, not before"
        );
        assert_eq!(
            plain("<t:1772445600:F> and <t:1772449200>"),
            "2026-03-02T10:00:00Z and 2026-03-02T11:00:00Z"
        );
        assert_eq!(plain("a <t:soon> and <t:"), "a <t:soon> and <t:");
    }

    #[test]
    fn an_unauthorized_answer_asks_for_a_bearer_token() {
        let response = Problem::unauthorized("no token").into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
