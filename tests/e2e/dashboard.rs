//! The dashboard in a real browser: signing in with Discord through the fake's OAuth2, a
//! rolled-back release's storyboard checked against the audit export, a summary that tries to
//! run script, the figures and the chain, signing out for good; and every refusal on its page.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde_json::json;

use crate::deployments::{approved, deploy, stage_done, thread_of, ROLLOUT};
use crate::support::browser::Browser;
use crate::support::fixtures::Member;
use crate::support::oauth::{follow_once, no_redirects, round_trip, set_cookie};
use crate::support::process::loopback_client;
use crate::support::tester::*;
use crate::support::GUILD_ID;

/// The frame each kind of event of a rolled-back release belongs to, as the contract tells
/// the story: planned, then voted and approved, rolled out, then rolled back.
fn frame_of_kind(kind: &str, detail: &serde_json::Value) -> &'static str {
    match kind {
        "planned" => "plan",
        "vote_cast" | "approved" => "approval",
        "action_finished" if detail["action"] == "rollback" => "rollback",
        "deploy_started" | "stage_started" | "action_finished" => "release",
        "rollback_started" | "rolled_back" => "rollback",
        other => panic!("a rolled-back release has no {other} event in this story"),
    }
}

/// The deployment stories' rollout, its commands only saying what they do: the storyboard's
/// screenshot shows its rollback procedure, and it names no path.
fn rollout() -> String {
    ROLLOUT.replace(" >> {dir}/actions.log", "")
}

/// 5.1.0 rolled out to 10% and rolled back by the release manager.
async fn rolled_back(t: &Tester) {
    approved(t, "5.1.0").await;
    deploy(t, &deployer(), "5.1.0").await;
    stage_done(t, "5.1.0", 0).await;
    t.advance(TimeDelta::minutes(30));
    stage_done(t, "5.1.0", 1).await;
    let command = t.top_command(
        &release_manager(),
        "rollback",
        vec![("reason", json!("errors up"))],
    );
    t.send(command).await;
    t.wait_state("5.1.0", "rolled_back").await;
}

const HOSTILE: &str =
    r#"<script>document.title="owned"</script><img src=x onerror="document.title='owned'">"#;

#[tokio::test]
async fn a_team_member_signs_in_reads_a_rolled_back_release_and_signs_out() {
    let t = Tester::start_with_dashboard(&rollout()).await;
    rolled_back(&t).await;
    let hostile = plan_command(t.next_id(), &author(), "5.2.0", "minor", HOSTILE);
    t.send(hostile).await;
    let thread = thread_of(&t, "5.1.0").await;
    let base = t.base_url();

    let mut browser = Browser::start("signed-in").await;
    t.fake.browser_signed_in_as(&team(1), true);
    browser.go(&base).await;
    assert_eq!(browser.attributes("#problem", "data-status").await, ["401"]);
    browser.screenshot("sign-in").await;
    browser.click("#sign-in").await;
    browser.wait_for("#signed-in-as").await;
    assert_eq!(browser.text("#signed-in-as").await, team(1).name);
    assert_eq!(browser.url().await, format!("{base}/"));
    assert_eq!(
        browser.texts("#releases tbody tr td:first-child").await,
        ["5.2.0", "5.1.0"]
    );
    browser.screenshot("releases").await;

    storyboard_matches_the_export(&mut browser, &t, thread).await;

    // A summary that tries to run script is shown as the text it is.
    browser.go(&format!("{base}/releases/2")).await;
    assert_eq!(browser.text("#summary").await, HOSTILE);
    assert_eq!(browser.count("#summary img, #summary script").await, 0);
    assert_ne!(browser.title().await, "owned");
    browser.screenshot("hostile-summary").await;

    browser.go(&format!("{base}/stats?days=30")).await;
    assert_eq!(browser.count(".charts figure svg").await, 4);
    assert!(browser.text("#failure-rate").await.contains("100%"));
    assert_eq!(
        browser.text("#restore").await,
        "0s",
        "restored in the same instant"
    );
    browser.screenshot("figures").await;
    browser.go(&format!("{base}/audit")).await;
    let export = gonogo::store::audit::export(t.db())
        .await
        .expect("the audit export");
    assert_eq!(browser.text("#audit-count").await, export.len().to_string());
    assert!(browser.text("#audit-verdict").await.starts_with("intact"));
    assert_eq!(
        browser.text("#audit-head").await,
        export.last().expect("events").hash
    );

    // The session cookie is out of script's reach, and signing out ends it for every copy.
    let copy = browser
        .cookie("gonogo_session")
        .await
        .expect("a session cookie");
    let seen_by_script = browser
        .client
        .execute("return document.cookie", Vec::new())
        .await
        .expect("script runs");
    assert!(
        !seen_by_script.to_string().contains("gonogo_session"),
        "{seen_by_script}"
    );
    browser.click("#sign-out").await;
    browser.wait_for("#signed-out").await;
    assert_eq!(browser.cookie("gonogo_session").await, None);
    browser.screenshot("signed-out").await;
    let replayed = loopback_client()
        .get(format!("{base}/"))
        .header("cookie", format!("gonogo_session={copy}"))
        .send()
        .await
        .expect("the dashboard answers");
    assert_eq!(replayed.status(), 401);
    assert!(replayed
        .text()
        .await
        .unwrap()
        .contains("You are signed out"));
    browser.close().await;
    t.finish().await;
}

#[tokio::test]
async fn a_member_without_a_role_and_a_forged_state_are_refused_in_the_browser() {
    let t = Tester::start_with_dashboard("").await;
    let base = t.base_url();
    let mut browser = Browser::start("refused").await;

    t.fake.browser_signed_in_as(&outsider(), true);
    browser.go(&format!("{base}/auth/login")).await;
    assert_eq!(browser.attributes("#problem", "data-status").await, ["403"]);
    let why = browser.text("#problem-detail").await;
    assert!(
        why.contains("Olly") && why.contains("lead") && why.contains("team"),
        "{why}"
    );
    browser.screenshot("no-role").await;

    // A callback with a real, unused code but a state this browser did not start.
    t.fake.browser_signed_out();
    browser.go(&format!("{base}/auth/login")).await;
    assert!(browser
        .text("#oauth-error")
        .await
        .contains("Nobody is signed in"));
    let code = authorize_code(&t, &team(1), "not-the-browsers").await;
    let issued = t.fake.tokens_issued();
    browser
        .go(&format!("{base}/auth/callback?code={code}&state=forged"))
        .await;
    assert_eq!(browser.attributes("#problem", "data-status").await, ["400"]);
    assert!(browser.text("#problem-detail").await.contains("forged"));
    assert_eq!(
        t.fake.tokens_issued(),
        issued,
        "a forged state exchanges no code"
    );
    browser.screenshot("forged-state").await;
    browser.go(&format!("{base}/")).await;
    assert_eq!(browser.attributes("#problem", "data-status").await, ["401"]);
    browser.close().await;
    t.finish().await;
}

/// Opens the rolled-back release 5.1.0 from the list and checks its storyboard against the
/// audit export.
async fn storyboard_matches_the_export(browser: &mut Browser, t: &Tester, thread: u64) {
    // The storyboard of the rolled-back release: each frame holds exactly the events the
    // audit export has of it, with the same hashes.
    browser.click("#releases a[href='/releases/1']").await;
    let export = gonogo::store::audit::export(t.db())
        .await
        .expect("the audit export");
    let mine: Vec<_> = export.iter().filter(|e| e.release_id == Some(1)).collect();
    let mut expected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for event in &mine {
        expected
            .entry(frame_of_kind(&event.kind, &event.detail))
            .or_default()
            .push(event.hash.clone());
    }
    for frame in ["plan", "approval", "release", "verify", "rollback"] {
        let shown = browser
            .attributes(
                &format!("section[data-frame='{frame}'] li[data-hash]"),
                "data-hash",
            )
            .await;
        assert_eq!(
            shown,
            expected.remove(frame).unwrap_or_default(),
            "the {frame} frame"
        );
    }
    let listed = browser.texts("#audit-events code").await;
    let hashes: Vec<String> = mine.iter().map(|e| e.hash.clone()).collect();
    assert_eq!(
        listed, hashes,
        "every event of the release is listed with its hash"
    );
    assert_eq!(browser.text("#rollback-by").await, release_manager().name);
    assert_eq!(browser.text("#rollback-reason").await, "errors up");
    let timeline = browser.texts("#stage-timeline svg text").await;
    for label in ["canary", "10%", "rollback"] {
        assert!(
            timeline.iter().any(|t| t == label),
            "{label} in {timeline:?}"
        );
    }
    let links = browser
        .attributes("section.frame-detail a.discord", "href")
        .await;
    let card: i64 = sqlx::query_scalar("SELECT card_message_id FROM releases WHERE id = 1")
        .fetch_one(t.db())
        .await
        .expect("the card");
    assert_eq!(
        links[0],
        format!("https://discord.com/channels/{GUILD_ID}/{RELEASES_CHANNEL}/{card}")
    );
    assert_eq!(
        links[4],
        format!("https://discord.com/channels/{GUILD_ID}/{thread}")
    );
    browser.screenshot("storyboard").await;
}

/// A code the fake Discord issues for `member` to the dashboard's redirect, with `state`.
async fn authorize_code(t: &Tester, member: &Member, state: &str) -> String {
    t.fake.browser_signed_in_as(member, true);
    let location = follow_once(&authorize_url(t, state)).await;
    let url = reqwest::Url::parse(&location).expect("a redirect");
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code")
}

fn authorize_url(t: &Tester, state: &str) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/oauth2/authorize", t.fake.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &t.fake.app_id().to_string())
        .append_pair("scope", "identify guilds.members.read")
        .append_pair("state", state)
        .append_pair("redirect_uri", &format!("{}/auth/callback", t.base_url()));
    url.into()
}

/// Signs `member` in: returns the session cookie, and the callback address with the sign-in
/// cookie that came back with it, for replays.
async fn sign_in_over_http(t: &Tester, member: &Member) -> (String, String, String) {
    t.fake.browser_signed_in_as(member, true);
    let (back, callback, signin) = round_trip(&t.base_url()).await;
    assert_eq!(
        back.status(),
        303,
        "{}",
        back.text().await.unwrap_or_default()
    );
    let session = set_cookie(&back, "gonogo_session").expect("a session cookie");
    assert!(
        back.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().contains("HttpOnly; SameSite=Lax")),
        "the cookies are HttpOnly and SameSite=Lax"
    );
    (session, callback, signin)
}

/// A page's status and text, with `cookie` sent when given.
async fn page(t: &Tester, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = no_redirects().get(format!("{}{path}", t.base_url()));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("the dashboard answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn every_bad_request_gets_a_page_that_says_what_happened() {
    let t = Tester::start_with_dashboard("").await;
    t.plan(&author(), "6.0.0", "minor").await;
    let (session, callback, signin) = sign_in_over_http(&t, &team(2)).await;
    let me = format!("gonogo_session={session}");
    let me = Some(me.as_str());

    let (status, text) = page(&t, "/", me).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("6.0.0") && text.contains(team(2).name),
        "{text}"
    );

    // Every page carries the headers, signed in or not.
    let response = no_redirects()
        .get(format!("{}/stats", t.base_url()))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["content-security-policy"], "default-src 'self'");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");

    let cases: [(&str, Option<&str>, u16, &str); 12] = [
        ("/", None, 401, "Sign in"),
        ("/", Some("gonogo_session=00.00"), 401, "You are signed out"),
        (
            "/stats",
            Some("gonogo_session=forged"),
            401,
            "You are signed out",
        ),
        ("/releases/99", me, 404, "no release 99"),
        ("/releases/nine", me, 404, "no release nine"),
        ("/stats?days=-1", me, 400, "from 1 to 3650"),
        ("/stats?days=100000", me, 400, "from 1 to 3650"),
        ("/stats?days=ten", me, 400, "from 1 to 3650"),
        ("/?page=2", me, 404, "Page 2 is past the end"),
        ("/?state=shipped", me, 400, "is not a state"),
        ("/?colour=red", me, 400, "does not know"),
        ("/no/such/page", me, 404, "No such page"),
    ];
    for (path, cookie, status, says) in cases {
        let (got, text) = page(&t, path, cookie).await;
        assert_eq!(got, status, "{path}: {text}");
        assert!(text.contains(says), "{path} says {says:?}: {text}");
    }

    // The callback replayed, with and without the sign-in cookie: nothing more is signed in.
    let issued = t.fake.tokens_issued();
    let (status, text) = page(
        &t,
        &callback[callback.find("/auth").unwrap()..],
        Some(&format!("gonogo_signin={signin}")),
    )
    .await;
    assert_eq!(
        (status, text.contains("already used")),
        (400, true),
        "{text}"
    );
    let (status, text) = page(&t, &callback[callback.find("/auth").unwrap()..], None).await;
    assert_eq!(
        (status, text.contains("not started here")),
        (400, true),
        "{text}"
    );
    assert_eq!(t.fake.tokens_issued(), issued);

    // The session still works after all that, and the dashboard wrote nothing.
    assert_eq!(page(&t, "/audit", me).await.0, 200);
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(events, 1, "the dashboard only reads");
    t.finish().await;
}

#[tokio::test]
async fn a_session_ends_when_its_time_is_up() {
    let t = Tester::start_with_dashboard("").await;
    let (session, _, _) = sign_in_over_http(&t, &lead()).await;
    let me = format!("gonogo_session={session}");
    assert_eq!(page(&t, "/", Some(&me)).await.0, 200);
    t.advance(TimeDelta::hours(12));
    let (status, text) = page(&t, "/", Some(&me)).await;
    assert_eq!(status, 401);
    assert!(text.contains("You are signed out"), "{text}");
    t.finish().await;
}

#[tokio::test]
async fn discord_refusing_failing_or_not_knowing_the_member_each_gets_its_page() {
    let t = Tester::start_with_dashboard("").await;
    t.fake.browser_signed_in_as(&team(1), true);
    // Discord's refusal, Discord being down, and a member of another server.
    let refused = async |setup: &dyn Fn()| {
        setup();
        let (back, _, _) = round_trip(&t.base_url()).await;
        (back.status().as_u16(), back.text().await.unwrap())
    };
    let (status, text) = refused(&|| t.fake.decline_next_authorization()).await;
    assert_eq!(
        (status, text.contains("did not allow gonogo")),
        (403, true),
        "{text}"
    );
    let (status, text) = refused(&|| t.fake.set_oauth_down(true)).await;
    assert_eq!(
        (status, text.contains("Discord could not be reached")),
        (502, true),
        "{text}"
    );
    t.fake.set_oauth_down(false);
    let (status, text) = refused(&|| t.fake.browser_signed_in_as(&team(3), false)).await;
    assert_eq!(
        (status, text.contains("not a member of the server")),
        (403, true),
        "{text}"
    );
    t.finish().await;
}
