//! The two doors: the gateway and `POST /interactions` lead to the same handler and results.

use gonogo::discord::request::Request;
use serde_json::json;

use crate::support::fixtures;
use crate::support::tester::*;
use crate::support::GUILD_ID;

#[tokio::test]
async fn the_same_vote_through_either_door_gives_the_same_stored_result_and_card() {
    let t = Tester::start_with_gateway().await;
    t.plan(&author(), "5.0.0", "minor").await;
    t.plan(&author(), "5.0.1", "minor").await;

    let over_http = t.go(&team(1), "5.0.0").await;
    let payload = t.click_payload(&team(1), "5.0.1", "go").await;
    let over_gateway = t.send_via_gateway(payload).await;
    assert_eq!(
        content(&over_http).replace("5.0.0", "X"),
        content(&over_gateway).replace("5.0.1", "X"),
        "both doors answer alike"
    );
    assert_ephemeral(&over_gateway);

    let http_card = t
        .wait_card("5.0.0", "the first card shows the vote", |c| {
            c.contains("Toni: Go")
        })
        .await;
    let gateway_card = t
        .wait_card("5.0.1", "the second card shows the vote", |c| {
            c.contains("Toni: Go")
        })
        .await;
    let normalise = |card: &serde_json::Value, version: &str| {
        card_text(card)
            .replace(version, "X")
            .replace("release #1", "release #N")
            .replace("release #2", "release #N")
    };
    assert_eq!(
        normalise(&http_card, "5.0.0"),
        normalise(&gateway_card, "5.0.1")
    );
    assert_eq!(t.votes("5.0.0").await, t.votes("5.0.1").await);
    t.finish().await;
}

#[tokio::test]
async fn a_forged_or_missing_signature_gets_401_and_a_ping_gets_a_pong() {
    let t = Tester::start().await;
    let payload = t.plan_payload(&author(), "6.0.0", "patch");
    let (status, _) = t.signer.post_forged(&t.interactions_url(), &payload).await;
    assert_eq!(status, 401);
    let (status, _) = t
        .signer
        .post_unsigned(&t.interactions_url(), &payload)
        .await;
    assert_eq!(status, 401);
    let releases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM releases")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(releases, 0, "nothing unsigned gets in");

    let pong = t.send(fixtures::ping()).await;
    assert_eq!(pong["type"], json!(1), "{pong}");
    t.finish().await;
}

#[tokio::test]
async fn a_replayed_interaction_changes_nothing() {
    let t = Tester::start().await;
    let plan = t.plan_payload(&author(), "7.0.0", "minor");
    t.send(plan.clone()).await;
    let replay = t.send(plan).await;
    assert!(content(&replay).contains("already handled"), "{replay}");
    let releases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM releases")
        .fetch_one(t.db())
        .await
        .unwrap();
    assert_eq!(releases, 1);

    let click = t.click_payload(&team(1), "7.0.0", "go").await;
    t.send(click.clone()).await;
    let replay = t.send(click).await;
    assert!(content(&replay).contains("already handled"), "{replay}");
    assert_eq!(t.votes("7.0.0").await.len(), 1);
    t.finish().await;
}

#[tokio::test]
async fn a_replay_over_the_gateway_is_not_acknowledged_twice() {
    let t = Tester::start_with_gateway().await;
    t.plan(&author(), "7.1.0", "minor").await;
    let click = t.click_payload(&team(1), "7.1.0", "go").await;
    t.send_via_gateway(click.clone()).await;
    // Delivered again over the HTTP door: answered there, stored once, and the fake Discord
    // (which refuses a second acknowledgement) sees no second callback.
    let replay = t.send(click).await;
    assert!(content(&replay).contains("already handled"));
    assert_eq!(t.votes("7.1.0").await.len(), 1);
    t.finish().await;
}

#[tokio::test]
async fn commands_are_registered_in_the_guild_from_the_one_command_enum() {
    let t = Tester::start().await;
    let commands = t.fake.commands();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["release", "deploy", "rollback"]);
    let subs: Vec<&str> = commands[0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            "plan",
            "status",
            "list",
            "notes",
            "stats",
            "cancel",
            "halt",
            "resume",
            "override",
            "postmortem"
        ]
    );
    assert!(t.fake.requests().iter().any(|r| r.path
        == format!(
            "/applications/{}/guilds/{GUILD_ID}/commands",
            t.fake.app_id()
        )));
    t.finish().await;
}

#[tokio::test]
async fn metrics_move_to_their_own_listener_when_asked() {
    let t =
        Tester::start_configured_env("", &[("GONOGO_HTTP__METRICS_LISTEN", "127.0.0.1:0")]).await;
    let public = reqwest::get(format!("{}/metrics", t.base_url()))
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "not on the public listener");
    let metrics = t.metrics().await;
    assert!(metrics.contains("gonogo_audit_head_info"), "{metrics}");
    let live = reqwest::get(format!("{}/livez", t.base_url()))
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    t.finish().await;
}

/// Everything the handler can read of `request`.
fn as_json(request: &Request) -> serde_json::Value {
    match request {
        Request::Ping => json!("ping"),
        Request::Command(c) => serde_json::to_value(c).unwrap(),
        Request::Click(c) => serde_json::to_value(c).unwrap(),
        Request::Modal(m) => serde_json::to_value(m).unwrap(),
        Request::Unsupported(u) => serde_json::to_value(u).unwrap(),
    }
}

/// The HTTP door parses each kind straight from its bytes; the gateway door gets serenity's
/// parse. The handler must see the same request either way.
#[test]
fn the_http_door_reads_every_kind_of_interaction_as_the_gateway_door_does() {
    let channel = RELEASES_CHANNEL;
    let command = fixtures::slash_command(
        11,
        &author(),
        channel,
        GUILD_ID,
        "release",
        Some("plan"),
        vec![("version", json!("1.0.0")), ("type", json!("minor"))],
    );
    let mut autocomplete = command.clone();
    autocomplete["type"] = json!(4);
    let payloads = [
        fixtures::ping(),
        command,
        autocomplete,
        fixtures::button(12, &team(1), channel, GUILD_ID, 13, "gng1:go:1"),
        fixtures::select_on_message(
            14,
            &team(1),
            GUILD_ID,
            fixtures::minimal_message(channel, 15),
            "gng1:tick:1:0",
            &["0", "1"],
        ),
        fixtures::modal_submit(
            16,
            &team(1),
            channel,
            GUILD_ID,
            "gng1:nogo:1",
            vec![("reason", "broken")],
        ),
    ];
    for payload in payloads {
        let body = serde_json::to_vec(&payload).unwrap();
        let ours = Request::parse(&body).expect("the door reads it");
        let serenitys: serenity::all::Interaction = serde_json::from_slice(&body).unwrap();
        let gateways = Request::from(serenitys);
        assert_eq!(
            std::mem::discriminant(&ours),
            std::mem::discriminant(&gateways),
            "type {}",
            payload["type"]
        );
        assert_eq!(
            (ours.id(), ours.token(), ours.guild_id(), ours.user_id()),
            (
                gateways.id(),
                gateways.token(),
                gateways.guild_id(),
                gateways.user_id()
            ),
            "type {}",
            payload["type"]
        );
        assert_eq!(
            as_json(&ours),
            as_json(&gateways),
            "type {}",
            payload["type"]
        );
    }
    let mut unknown = fixtures::ping();
    unknown["type"] = json!(9);
    let error = Request::parse(&serde_json::to_vec(&unknown).unwrap()).expect_err("no such kind");
    assert!(
        error.to_string().contains("unknown interaction type 9"),
        "{error}"
    );
}
