//! Discord's side of signing in: the authorize URL, the code exchange and the member's roles.

use std::time::Duration;

use serde::Deserialize;

use crate::config::{Config, DashboardConfig, Secret};
use crate::domain::RoleId;

/// The scopes the dashboard asks for: who the person is, and their roles in the guild.
pub const SCOPES: &str = "identify guilds.members.read";
/// How long a call to Discord may take before sign-in gives up and says so.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why Discord did not tell us who signed in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The code is unknown, used already or expired (`invalid_grant`).
    Code,
    /// Discord refused our client id or secret (`invalid_client`).
    Client,
    /// The person is not a member of the guild gonogo serves.
    NotInGuild,
    /// Discord could not be reached, or answered with a server error.
    Unreachable(String),
    /// Anything else Discord answered that sign-in cannot use.
    Unexpected(String),
}

/// A member of the guild, as Discord describes them.
#[derive(Debug)]
pub struct Member {
    pub id: u64,
    pub name: String,
    pub roles: Vec<RoleId>,
}

/// The OAuth2 client of the Discord application.
pub struct Discord {
    http: reqwest::Client,
    api_base: String,
    client_id: u64,
    secret: Secret,
    redirect_uri: String,
    guild: u64,
}

impl Discord {
    pub fn new(config: &Config, dashboard: &DashboardConfig) -> anyhow::Result<Discord> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Discord {
            http,
            api_base: config.discord.api_base.clone(),
            client_id: config.discord.application_id,
            secret: dashboard.client_secret.clone(),
            redirect_uri: dashboard.redirect_uri(),
            guild: config.discord.guild_id,
        })
    }

    /// Where the browser goes to sign in, carrying `state` there and back.
    pub fn authorize_url(&self, state: &str) -> String {
        let mut url = reqwest::Url::parse(&format!("{}/oauth2/authorize", self.api_base))
            .expect("api_base is a checked URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id.to_string())
            .append_pair("scope", SCOPES)
            .append_pair("state", state)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("prompt", "none");
        url.into()
    }

    /// Trades the code Discord gave the browser for an access token.
    pub async fn exchange(&self, code: &str) -> Result<String, Refused> {
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        #[derive(Deserialize)]
        struct OAuthError {
            error: String,
        }
        let client_id = self.client_id.to_string();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &client_id),
            ("client_secret", self.secret.expose()),
        ];
        let request = self
            .http
            .post(format!("{}/api/v10/oauth2/token", self.api_base))
            .form(&form);
        let response = answered(request).await?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            let token: Token = serde_json::from_slice(&body)
                .map_err(|e| Refused::Unexpected(format!("the token answer: {e}")))?;
            return Ok(token.access_token);
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) if e.error == "invalid_grant" => Err(Refused::Code),
            Ok(e) if e.error == "invalid_client" => Err(Refused::Client),
            Ok(e) => Err(Refused::Unexpected(e.error)),
            Err(_) => Err(Refused::Unexpected(format!("Discord answered {status}"))),
        }
    }

    /// The member behind `token` in the guild gonogo serves.
    pub async fn member(&self, token: &str) -> Result<Member, Refused> {
        #[derive(Deserialize)]
        struct User {
            id: String,
            username: String,
            global_name: Option<String>,
        }
        #[derive(Deserialize)]
        struct GuildMember {
            user: User,
            nick: Option<String>,
            roles: Vec<String>,
        }
        let request = self
            .http
            .get(format!(
                "{}/api/v10/users/@me/guilds/{}/member",
                self.api_base, self.guild
            ))
            .bearer_auth(token);
        let response = answered(request).await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(Refused::NotInGuild);
        }
        if !status.is_success() {
            return Err(Refused::Unexpected(format!(
                "Discord answered {status} for the member"
            )));
        }
        let member: GuildMember = response
            .json()
            .await
            .map_err(|e| Refused::Unexpected(format!("the member answer: {e}")))?;
        let id = member
            .user
            .id
            .parse()
            .map_err(|_| Refused::Unexpected("the member's id is not a snowflake".into()))?;
        let roles = member
            .roles
            .iter()
            .filter_map(|role| role.parse().ok().map(RoleId))
            .collect();
        let name = member
            .nick
            .or(member.user.global_name)
            .unwrap_or(member.user.username);
        Ok(Member { id, name, roles })
    }
}

/// Discord's answer to `request`, unless it could not be reached or failed on its side.
async fn answered(request: reqwest::RequestBuilder) -> Result<reqwest::Response, Refused> {
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Refused::Unreachable(format!("Discord answered {status}")));
    }
    Ok(response)
}

fn unreachable(error: reqwest::Error) -> Refused {
    Refused::Unreachable(error.without_url().to_string())
}
