//! Pages rendered on the server with minijinja, autoescape on; and the page that says what
//! went wrong, which every failure becomes instead of a stack trace.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// The templates, compiled once.
pub struct Templates(Environment<'static>);

const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("templates/base.html")),
    ("list.html", include_str!("templates/list.html")),
    ("release.html", include_str!("templates/release.html")),
    ("stats.html", include_str!("templates/stats.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("problem.html", include_str!("templates/problem.html")),
    ("signed_out.html", include_str!("templates/signed_out.html")),
];

impl Templates {
    pub fn new() -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        // Every template is HTML: every value is escaped unless a chart marks it safe.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates(env))
    }

    /// `template` rendered with `context`, as a page with `status`.
    pub fn page(&self, status: StatusCode, template: &str, context: impl Serialize) -> Response {
        match self
            .0
            .get_template(template)
            .and_then(|t| t.render(context))
        {
            Ok(html) => html_response(status, html),
            Err(error) => {
                let error_id = format!("{:08x}", rand::random::<u32>());
                tracing::error!(error_id, "Cannot render the page {template}: {error:#}");
                let problem = Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This page could not be drawn",
                    format!("gonogo logged what went wrong as error {error_id}."),
                );
                // The problem page is the simplest template; should it fail too, plain text.
                match self
                    .0
                    .get_template("problem.html")
                    .and_then(|t| t.render(&problem))
                {
                    Ok(html) => html_response(problem.status(), html),
                    Err(_) => (problem.status(), problem.detail).into_response(),
                }
            }
        }
    }

    /// The page of a problem.
    pub fn problem(&self, problem: &Problem) -> Response {
        self.page(problem.status(), "problem.html", problem)
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// What went wrong, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: u16,
    pub title: String,
    pub detail: String,
    /// Whether the page offers to sign in.
    pub sign_in: bool,
    /// Who is signed in, when someone is: the page then shows the dashboard's menu.
    pub me: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            code: status.as_u16(),
            title: title.into(),
            detail: detail.into(),
            sign_in: false,
            me: None,
        }
    }

    /// A problem that signing in again solves.
    pub fn signing_in(mut self) -> Problem {
        self.sign_in = true;
        self
    }

    /// The problem as a signed-in member sees it.
    pub fn for_member(mut self, name: &str) -> Problem {
        self.me = Some(name.to_owned());
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A query parameter that cannot be read.
    pub fn bad_query(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "This address asks for something odd",
            detail,
        )
    }

    pub fn internal(cause: &anyhow::Error) -> Problem {
        let error_id = format!("{:08x}", rand::random::<u32>());
        tracing::error!(error_id, "A dashboard page failed: {cause:#}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "gonogo could not read its record",
            format!("gonogo logged what went wrong as error {error_id}; try again in a moment."),
        )
    }
}
