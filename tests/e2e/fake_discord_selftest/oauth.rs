//! The fake's OAuth2 refuses what Discord refuses: an unregistered redirect, a wrong secret,
//! an unknown or reused code, a redirect that changed, and a member of no guild.

use serde_json::Value;

use crate::support::fake_discord::{FakeDiscord, APP_ID, GUILD_ID};
use crate::support::oauth::{follow_once, no_redirects, CLIENT_SECRET};
use crate::support::tester::team;

const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";

fn authorize(fake: &FakeDiscord, redirect: &str) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/oauth2/authorize", fake.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &APP_ID.to_string())
        .append_pair("scope", "identify guilds.members.read")
        .append_pair("state", "s")
        .append_pair("redirect_uri", redirect);
    url.into()
}

async fn code(fake: &FakeDiscord) -> String {
    let back = reqwest::Url::parse(&follow_once(&authorize(fake, REDIRECT)).await).unwrap();
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("state".into(), "s".into())), "{pairs:?}");
    pairs.into_iter().find(|(k, _)| k == "code").unwrap().1
}

async fn exchange(fake: &FakeDiscord, code: &str, redirect: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", &APP_ID.to_string()),
        ("client_secret", secret),
    ];
    let response = no_redirects()
        .post(format!("{}/api/v10/oauth2/token", fake.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_fake_refuses_what_discord_refuses_in_sign_in() {
    let fake = FakeDiscord::start().await;
    fake.register_redirect(REDIRECT);
    fake.browser_signed_in_as(&team(1), true);

    let unregistered = no_redirects()
        .get(authorize(&fake, "http://127.0.0.1:9/elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(unregistered.status(), 400);
    assert!(unregistered
        .text()
        .await
        .unwrap()
        .contains("Invalid OAuth2 redirect_uri"));

    let first = code(&fake).await;
    let (status, body) = exchange(&fake, &first, REDIRECT, "wrong").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = exchange(&fake, "no-such-code", REDIRECT, CLIENT_SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = exchange(&fake, &first, REDIRECT, CLIENT_SECRET).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = exchange(&fake, &first, REDIRECT, CLIENT_SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "used twice"
    );

    let second = code(&fake).await;
    let (status, body) = exchange(&fake, &second, "http://127.0.0.1:9/other", CLIENT_SECRET).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri"),
        "{body}"
    );

    let member = |token: String| {
        let url = format!(
            "{}/api/v10/users/@me/guilds/{GUILD_ID}/member",
            fake.base_url()
        );
        async move {
            let response = no_redirects()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = member(token).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["id"], team(1).id.to_string());
    assert_eq!(member("forged".into()).await.0, 401);

    fake.browser_signed_in_as(&team(2), false);
    let third = code(&fake).await;
    let (_, body) = exchange(&fake, &third, REDIRECT, CLIENT_SECRET).await;
    let (status, body) = member(body["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10_004)));
    fake.assert_clean();
}
