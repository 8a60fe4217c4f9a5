//! The gateway with a real serenity `Client`, and the interaction callback rules.

use std::time::Duration;

use serenity::all::{
    Client, ClientBuilder, Context, CreateInteractionResponse, CreateInteractionResponseMessage,
    EventHandler, GatewayIntents, Interaction, Ready,
};
use tokio::sync::mpsc;

use super::http;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures::{self, Member};

struct Handler {
    tx: mpsc::UnboundedSender<(Interaction, Vec<String>)>,
    ready: mpsc::UnboundedSender<Ready>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        let _ = self.ready.send(ready);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let mut results = Vec::new();
        if let Interaction::Component(c) = &interaction {
            // Answer twice: the second must be refused with 40060.
            for text in ["first", "second"] {
                let reply = CreateInteractionResponse::Message(
                    CreateInteractionResponseMessage::new()
                        .content(text)
                        .ephemeral(true),
                );
                results.push(match c.create_response(&ctx.http, reply).await {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                });
            }
        }
        let _ = self.tx.send((interaction, results));
    }
}

async fn start_client(
    fake: &FakeDiscord,
) -> (
    Client,
    mpsc::UnboundedReceiver<(Interaction, Vec<String>)>,
    mpsc::UnboundedReceiver<Ready>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = mpsc::unbounded_channel();
    let client = ClientBuilder::new_with_http(http(fake), GatewayIntents::empty())
        .event_handler(Handler {
            tx,
            ready: ready_tx,
        })
        .await
        .expect("client");
    (client, rx, ready_rx)
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("channel closed waiting for {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_gateway_serenity_client_receives_and_answers() {
    let fake = FakeDiscord::start().await;
    let (mut client, mut rx, mut ready_rx) = start_client(&fake).await;
    let shards = client.shard_manager.clone();
    let runner = tokio::spawn(async move { client.start().await });
    fake.wait_gateway_ready().await;
    let ready = recv(&mut ready_rx, "READY in the handler").await;
    assert_eq!(ready.session_id, "fake-session");
    assert_eq!(ready.application.id.get(), fake.app_id());

    let alice = Member::new(501, "alice", &[601]);
    let click = fixtures::button(1001, &alice, 900, 800, 700, "v1:go:42");
    fake.dispatch_interaction(click).await;
    let (interaction, results) = recv(&mut rx, "INTERACTION_CREATE in the handler").await;
    let Interaction::Component(c) = interaction else {
        panic!("not a component interaction")
    };
    assert_eq!(c.data.custom_id, "v1:go:42");
    assert_eq!(c.user.id.get(), 501);
    assert_eq!(results[0], "ok");
    assert!(
        results[1].contains("already been acknowledged"),
        "{results:?}"
    );
    assert_eq!(
        fake.interaction_response(1001).expect("response")["data"]["content"],
        "first"
    );
    let callbacks = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/callback"))
        .count();
    assert_eq!(callbacks, 2);
    let violations = fake.take_violations();
    assert!(
        violations.len() == 1 && violations[0].contains("40060"),
        "{violations:?}"
    );

    // Discord asks for a reconnect; serenity comes back by resuming.
    fake.request_reconnect();
    fake.wait_until("serenity resumed", |f| {
        f.gateway_resumes() + f.gateway_identifies() >= 2
    })
    .await;
    fake.wait_gateway_ready().await;
    let second = fixtures::button(1002, &alice, 900, 800, 700, "v1:go:42");
    fake.dispatch_interaction(second).await;
    let _ = recv(&mut rx, "INTERACTION_CREATE after reconnect").await;

    let startup: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    eprintln!(
        "serenity REST calls: {startup:?}; identifies {}, resumes {}",
        fake.gateway_identifies(),
        fake.gateway_resumes()
    );
    let _ = fake.take_violations();
    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), runner).await;
}

#[tokio::test]
async fn fake_interaction_callback_rules() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let bob = Member::new(502, "bob", &[]);
    let cmd = fixtures::slash_command(
        2001,
        &bob,
        900,
        800,
        "deploy",
        None,
        vec![("version", "1.4.0".into())],
    );
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));

    // Never sent by Discord.
    let err = http
        .create_interaction_response(2001.into(), "token-2001", &ack, vec![])
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("Unknown interaction"), "{err}");
    // Too late.
    fake.register_interaction(&cmd);
    fake.age_interaction(2001, Duration::from_millis(3100));
    let err = http
        .create_interaction_response(2001.into(), "token-2001", &ack, vec![])
        .await
        .expect_err("late");
    assert!(err.to_string().contains("Unknown interaction"), "{err}");
    let v = fake.take_violations();
    assert!(v.len() == 2 && v[1].contains("past Discord's 3 s"), "{v:?}");
    // In time, then a follow-up through the webhook.
    fake.register_interaction(&cmd);
    http.create_interaction_response(2001.into(), "token-2001", &ack, vec![])
        .await
        .expect("in time");
    let edit = serenity::builder::EditInteractionResponse::new().content("done");
    let original = http
        .edit_original_interaction_response("token-2001", &edit, vec![])
        .await
        .expect("edit original");
    assert_eq!(original.content, "done");
    assert_eq!(
        fake.interaction_original(2001).expect("original")["content"],
        "done"
    );
    // An update-message response is not valid for a slash command.
    let other = fixtures::slash_command(2002, &bob, 900, 800, "deploy", None, vec![]);
    fake.register_interaction(&other);
    let update = CreateInteractionResponse::UpdateMessage(
        CreateInteractionResponseMessage::new().content("x"),
    );
    http.create_interaction_response(2002.into(), "token-2002", &update, vec![])
        .await
        .expect_err("type 7");
    assert_eq!(fake.take_violations().len(), 1);
    fake.assert_clean();
}
