//! Reading `[dashboard]`: where the dashboard is served from, how long a sign-in lasts, and
//! the OAuth2 secret that only the environment may hold.

use chrono::TimeDelta;

use super::error::Secret;
use super::reader::{Problems, Reported, Table};
use super::values::{duration_at_least, http_url, string};

/// The dashboard behind Discord sign-in; present when `[dashboard].public_url` is set.
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    /// Where people open the dashboard, without a trailing `/`; the OAuth2 redirect is
    /// `{public_url}/auth/callback`.
    pub public_url: String,
    /// How long a sign-in lasts.
    pub session_ttl: TimeDelta,
    /// The Discord application's OAuth2 client secret; only ever from
    /// `GONOGO_DASHBOARD__CLIENT_SECRET`.
    pub client_secret: Secret,
}

impl DashboardConfig {
    /// The OAuth2 redirect to register in the Developer Portal.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// Whether the session cookie must only travel over https.
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `Ok(None)` without `[dashboard]`: no dashboard, and its paths answer 404. `Err` when a
/// problem was reported.
pub(super) fn dashboard(
    root: &Table,
    p: &mut Problems,
) -> Result<Option<DashboardConfig>, Reported> {
    let t = Table::new("dashboard", root.get("dashboard"), p);
    if !t.is_present() {
        return Ok(None);
    }
    let public_url = t.required(
        "public_url",
        "set it to where people open the dashboard, like \"https://gonogo.example.com\"",
        p,
        |v| http_url(v, true),
    );
    let session_ttl = t.or("session_ttl", TimeDelta::hours(12), p, |v| {
        duration_at_least(v, TimeDelta::minutes(1), "1m")
    });
    let secret = t.optional("client_secret", p, |v| Ok(Secret::new(string(v)?.trim())));
    let secret = match secret? {
        Some(_) if !p.set_by_env("dashboard.client_secret") => {
            p.add(
                "dashboard.client_secret",
                "the secret must not be in the file; remove it and set \
                 GONOGO_DASHBOARD__CLIENT_SECRET",
            );
            None
        }
        Some(secret) => Some(secret),
        None => {
            p.add(
                "dashboard.client_secret",
                "set GONOGO_DASHBOARD__CLIENT_SECRET to the OAuth2 client secret from the \
                 Developer Portal (OAuth2 → Client Secret)",
            );
            None
        }
    };
    match (public_url, session_ttl, secret) {
        (Some(public_url), Some(session_ttl), Some(client_secret)) => Ok(Some(DashboardConfig {
            public_url,
            session_ttl,
            client_secret,
        })),
        _ => Err(Reported),
    }
}
