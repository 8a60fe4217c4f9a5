//! The fake's OAuth2: the authorize page a browser is sent to, the code exchange, and the
//! member's roles behind an access token. Strict as Discord is: a redirect that is not
//! registered, an unknown code, a code used twice or a redirect that differs from the
//! authorize step's is refused the way Discord refuses it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

use super::fake_discord::{FakeDiscord, Recorded, GUILD_ID};
use super::fixtures::Member;

/// The client secret the fake's application has.
pub const CLIENT_SECRET: &str = "fake-oauth2-client-secret";

/// What the fake's OAuth2 knows.
#[derive(Default)]
pub(crate) struct OAuth {
    /// The redirects registered in the Developer Portal.
    pub redirects: Vec<String>,
    /// Who is signed in to Discord in the browser, and whether they are in the guild.
    pub browser: Option<(Member, bool)>,
    /// The next authorize step is declined by the person.
    pub decline: bool,
    /// Discord is down: the token and member routes answer 502.
    pub down: bool,
    pub codes: HashMap<String, Grant>,
    pub tokens: HashMap<String, Grant>,
}

#[derive(Clone)]
pub(crate) struct Grant {
    pub member: Member,
    pub in_guild: bool,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub used: bool,
}

impl FakeDiscord {
    /// Registers `uri` as an OAuth2 redirect of the application, as the Developer Portal does.
    pub fn register_redirect(&self, uri: &str) {
        self.lock().oauth.redirects.push(uri.to_owned());
    }

    /// `member` is signed in to Discord in the browser; `in_guild` says whether they joined
    /// the guild gonogo serves.
    pub fn browser_signed_in_as(&self, member: &Member, in_guild: bool) {
        self.lock().oauth.browser = Some((member.clone(), in_guild));
    }

    /// Nobody is signed in to Discord in the browser.
    pub fn browser_signed_out(&self) {
        self.lock().oauth.browser = None;
    }

    /// The person declines the next authorization.
    pub fn decline_next_authorization(&self) {
        self.lock().oauth.decline = true;
    }

    /// Discord's OAuth2 routes answer 502 while `down`.
    pub fn set_oauth_down(&self, down: bool) {
        self.lock().oauth.down = down;
    }

    /// How many codes were exchanged for tokens.
    pub fn tokens_issued(&self) -> usize {
        self.lock().oauth.tokens.len()
    }
}

fn params(query: Option<&str>) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn random_token() -> String {
    (0..30)
        .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
        .collect()
}

fn record(
    fake: &FakeDiscord,
    method: &str,
    path: &str,
    body: Value,
    status: u16,
    headers: &HeaderMap,
) {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    {
        let mut st = fake.lock();
        st.requests.push(Recorded {
            method: method.to_owned(),
            path: path.to_owned(),
            body,
            status,
            headers,
            files: Vec::new(),
        });
        st.consumed.push(false);
    }
    fake.bump();
}

/// A page Discord shows the browser when it cannot go on.
fn refused_page(text: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<html><body><h1>Discord</h1><p id=\"oauth-error\">{text}</p></body></html>"
        )),
    )
        .into_response()
}

/// `GET /oauth2/authorize`: a person who already allowed the application is sent straight
/// back with a code; one who declines, with `error=access_denied`.
pub(crate) async fn authorize(
    State(fake): State<FakeDiscord>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = params(query.as_deref());
    let answer = (|| {
        let get = |k: &str| q.get(k).cloned().unwrap_or_default();
        if get("response_type") != "code" {
            return Err("Invalid response_type: this flow takes \"code\".");
        }
        if get("client_id") != fake.app_id().to_string() {
            return Err("Unknown Application");
        }
        let scopes: Vec<String> = get("scope").split(' ').map(str::to_owned).collect();
        if !scopes.iter().any(|s| s == "identify")
            || !scopes.iter().any(|s| s == "guilds.members.read")
        {
            return Err("Invalid scope: this application needs identify and guilds.members.read.");
        }
        let redirect = get("redirect_uri");
        let mut st = fake.lock();
        if !st.oauth.redirects.contains(&redirect) {
            return Err("Invalid OAuth2 redirect_uri");
        }
        let state = get("state");
        let mut back = reqwest::Url::parse(&redirect).expect("registered redirects are URLs");
        if std::mem::take(&mut st.oauth.decline) {
            back.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair(
                    "error_description",
                    "The resource owner or authorization server denied the request",
                )
                .append_pair("state", &state);
            return Ok(back);
        }
        let Some((member, in_guild)) = st.oauth.browser.clone() else {
            return Err("Nobody is signed in to Discord in this browser.");
        };
        let code = random_token();
        st.oauth.codes.insert(
            code.clone(),
            Grant {
                member,
                in_guild,
                redirect_uri: redirect,
                scopes,
                used: false,
            },
        );
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
        Ok(back)
    })();
    let (status, response) = match answer {
        Ok(back) => (
            302,
            (StatusCode::FOUND, [("location", back.to_string())]).into_response(),
        ),
        Err(why) => (400, refused_page(why)),
    };
    let body = serde_json::to_value(&q).unwrap_or(Value::Null);
    record(&fake, "GET", "/oauth2/authorize", body, status, &headers);
    response
}

fn oauth_error(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// `POST /api/v10/oauth2/token`: the code exchange.
pub(crate) async fn token(
    State(fake): State<FakeDiscord>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .unwrap_or_default()
            .into_iter()
            .collect();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (status, answer) = (|| {
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            fake.violation(format!(
                "POST /oauth2/token with content-type '{content_type}', not a form"
            ));
            return oauth_error(400, "invalid_request", "Expected a form body.");
        }
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        let mut st = fake.lock();
        if st.oauth.down {
            return (502, json!({ "message": "502: Bad Gateway", "code": 0 }));
        }
        if get("client_id") != fake.app_id().to_string() || get("client_secret") != CLIENT_SECRET {
            return oauth_error(401, "invalid_client", "Invalid client credentials.");
        }
        if get("grant_type") != "authorization_code" {
            return oauth_error(400, "unsupported_grant_type", "Unsupported grant type.");
        }
        let Some(grant) = st.oauth.codes.get_mut(&get("code")) else {
            return oauth_error(400, "invalid_grant", "Invalid \"code\" in request.");
        };
        if grant.used {
            return oauth_error(400, "invalid_grant", "Invalid \"code\" in request.");
        }
        grant.used = true;
        if grant.redirect_uri != get("redirect_uri") {
            return oauth_error(400, "invalid_grant", "Invalid \"redirect_uri\" in request.");
        }
        let grant = grant.clone();
        let access = random_token();
        let scope = grant.scopes.join(" ");
        st.oauth.tokens.insert(access.clone(), grant);
        (
            200,
            json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 604_800,
                "refresh_token": random_token(),
                "scope": scope,
            }),
        )
    })();
    let mut recorded = serde_json::to_value(&form).unwrap_or(Value::Null);
    if let Some(secret) = recorded.get_mut("client_secret") {
        *secret = json!("(redacted)");
    }
    record(&fake, "POST", "/oauth2/token", recorded, status, &headers);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(answer),
    )
        .into_response()
}

/// `GET /api/v10/users/@me/guilds/{guild}/member`: the member behind a Bearer token.
pub(crate) async fn member(
    State(fake): State<FakeDiscord>,
    headers: HeaderMap,
    axum::extract::Path(guild): axum::extract::Path<String>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, answer) = (|| {
        let st = fake.lock();
        if st.oauth.down {
            return (502, json!({ "message": "502: Bad Gateway", "code": 0 }));
        }
        let Some(grant) = auth
            .strip_prefix("Bearer ")
            .and_then(|t| st.oauth.tokens.get(t))
        else {
            return (401, json!({ "message": "401: Unauthorized", "code": 0 }));
        };
        if !grant.scopes.iter().any(|s| s == "guilds.members.read") {
            return (403, json!({ "message": "Missing Access", "code": 50001 }));
        }
        if guild != GUILD_ID.to_string() || !grant.in_guild {
            return (404, json!({ "message": "Unknown Guild", "code": 10004 }));
        }
        (200, grant.member.member())
    })();
    let path = format!("/users/@me/guilds/{guild}/member");
    record(&fake, "GET", &path, Value::Null, status, &headers);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(answer),
    )
        .into_response()
}

/// A client that shows each redirect instead of following it.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where `url` redirects to.
pub async fn follow_once(url: &str) -> String {
    let response = no_redirects().get(url).send().await.expect("an answer");
    assert!(
        response.status().is_redirection(),
        "{url}: {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The value of the `name` cookie a response sets.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Goes to Discord from the sign-in of the dashboard at `base` and back, as a browser would
/// without one:
/// returns the dashboard's answer to the return, its address, and the sign-in cookie sent.
pub async fn round_trip(base: &str) -> (reqwest::Response, String, String) {
    let client = no_redirects();
    let login = client
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap();
    let signin = set_cookie(&login, "gonogo_signin").expect("a sign-in cookie");
    let callback = follow_once(login.headers()["location"].to_str().unwrap()).await;
    let back = client
        .get(&callback)
        .header("cookie", format!("gonogo_signin={signin}"))
        .send()
        .await
        .unwrap();
    (back, callback, signin)
}
