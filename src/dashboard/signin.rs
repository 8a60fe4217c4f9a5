//! Signing in with Discord (OAuth2's authorization code flow) and signing out.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::discord::Refused;
use super::render::Problem;
use super::session::{self, Session, SESSION_COOKIE, SIGNIN_COOKIE, SIGNIN_TTL};
use super::Board;
use crate::domain::UserId;

/// `GET /auth/login`: off to Discord, with a `state` this browser's cookie vouches for.
pub async fn login(State(board): State<Board>) -> Response {
    let state = hex::encode(rand::random::<[u8; 16]>());
    let expires = board.service.now() + SIGNIN_TTL;
    let value = board.sessions.sign(&session::signin_value(&state, expires));
    let mut response = Redirect::to(&board.discord.authorize_url(&state)).into_response();
    board.set_cookie(&mut response, SIGNIN_COOKIE, &value, "/auth", SIGNIN_TTL);
    response
}

/// What Discord sends the browser back with.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: checks the `state`, trades the code, reads the member's roles and
/// starts a session for a member who holds one of gonogo's roles.
pub async fn callback(
    State(board): State<Board>,
    headers: HeaderMap,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let mut response = match signed_in(&board, &headers, query).await {
        Ok(cookie) => {
            let mut response = Redirect::to("/").into_response();
            let ttl = board.config.session_ttl;
            board.set_cookie(&mut response, SESSION_COOKIE, &cookie, "/", ttl);
            response
        }
        Err(problem) => board.templates.problem(&problem),
    };
    // A sign-in's state is good for one return, whatever came of it.
    board.clear_cookie(&mut response, SIGNIN_COOKIE, "/auth");
    response
}

async fn signed_in(
    board: &Board,
    headers: &HeaderMap,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Result<String, Problem> {
    let again =
        |status, title: &str, detail: String| Problem::new(status, title, detail).signing_in();
    let Ok(Query(callback)) = query else {
        return Err(again(
            StatusCode::BAD_REQUEST,
            "This sign-in address is malformed",
            "Discord's answer could not be read. Sign in again.".to_owned(),
        ));
    };
    if let Some(error) = &callback.error {
        let said = callback
            .error_description
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let detail = if error == "access_denied" {
            format!("Discord says you did not allow gonogo to read who you are{said}, so you are not signed in.")
        } else {
            format!("Discord refused the sign-in with \"{error}\"{said}.")
        };
        return Err(again(
            StatusCode::FORBIDDEN,
            "Discord did not sign you in",
            detail,
        ));
    }
    let now = board.service.now();
    let expected = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| session::cookie(cookies, SIGNIN_COOKIE))
        .and_then(|signed| board.sessions.verify(signed))
        .and_then(|value| session::signin_state(value, now));
    let (Some(expected), Some(state)) = (expected, callback.state.as_deref()) else {
        return Err(again(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here",
            "The sign-in has no state this browser started, or it took longer than ten \
             minutes, or it was already used. Nothing was signed in. Sign in again."
                .to_owned(),
        ));
    };
    if expected != state {
        return Err(again(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here",
            "The sign-in's state is not the one this browser started: it may be forged. \
             Nothing was signed in. Sign in again."
                .to_owned(),
        ));
    }
    let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
        return Err(again(
            StatusCode::BAD_REQUEST,
            "Discord sent no code",
            "The sign-in came back without its code. Sign in again.".to_owned(),
        ));
    };
    let member = match board.discord.exchange(code).await {
        Ok(token) => board.discord.member(&token).await,
        Err(refused) => Err(refused),
    }
    .map_err(refused)?;
    let config = board.service.config();
    let roles = config.roles.roles_of(&member.roles);
    if roles.is_empty() {
        let names: Vec<&str> = crate::domain::Role::ALL
            .iter()
            .filter(|role| config.roles.role_id(**role).is_some())
            .map(|role| role.as_str())
            .collect();
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "You hold none of gonogo's roles",
            format!(
                "{}, you are a member of the server, but the dashboard is for those who hold \
                 one of gonogo's roles: {}. Ask a server admin for one.",
                member.name,
                names.join(", ")
            ),
        ));
    }
    let session = Session {
        user: UserId(member.id),
        name: member.name,
        roles,
        expires: now + board.config.session_ttl,
    };
    Ok(board.sessions.start(session, now))
}

fn refused(refused: Refused) -> Problem {
    let (status, title, detail) = match refused {
        Refused::Code => (
            StatusCode::BAD_REQUEST,
            "This sign-in was already used",
            "Discord says its code is unknown, used already or expired. Sign in again.".to_owned(),
        ),
        Refused::Client => (
            StatusCode::BAD_GATEWAY,
            "gonogo's Discord application refused it",
            "Discord refused gonogo's client id or secret: the operator must check \
             GONOGO_DASHBOARD__CLIENT_SECRET and the application id."
                .to_owned(),
        ),
        Refused::NotInGuild => (
            StatusCode::FORBIDDEN,
            "You are not a member of the server",
            "The dashboard is for members of the Discord server gonogo serves.".to_owned(),
        ),
        Refused::Unreachable(why) => (
            StatusCode::BAD_GATEWAY,
            "Discord could not be reached",
            format!(
                "Signing in needs Discord, which did not answer ({why}). Try again in a minute."
            ),
        ),
        Refused::Unexpected(why) => (
            StatusCode::BAD_GATEWAY,
            "Discord's answer made no sense",
            format!("Signing in stopped at an answer gonogo could not use: {why}. Try again."),
        ),
    };
    Problem::new(status, title, detail).signing_in()
}

/// `POST /auth/logout`: ends the session on the server, so no copy of its cookie works.
pub async fn logout(State(board): State<Board>, headers: HeaderMap) -> Response {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| session::cookie(cookies, SESSION_COOKIE));
    if let Some(cookie) = cookie {
        board.sessions.end(cookie);
    }
    let mut response = Redirect::to("/auth/signed-out").into_response();
    board.clear_cookie(&mut response, SESSION_COOKIE, "/");
    response
}

pub async fn signed_out(State(board): State<Board>) -> Response {
    board
        .templates
        .page(StatusCode::OK, "signed_out.html", serde_json::json!({}))
}
