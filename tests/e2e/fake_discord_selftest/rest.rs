//! REST routes: messages, nonces, edits, threads, commands, faults, strictness, waiting.

use serde_json::{json, Value};
use serenity::builder::{
    CreateCommand, CreateCommandOption, CreateMessage, CreateThread, EditMessage,
};
use serenity::model::application::{Command, CommandOptionType};
use serenity::model::channel::{GuildChannel, Message, Nonce};
use serenity::model::id::{ChannelId, GuildId, MessageId};

use super::http;
use crate::support::fake_discord::{FakeDiscord, Fault, FaultKind, FIRST_SNOWFLAKE};

const CH: u64 = 900_000_000_000_000_001;

async fn raw(
    fake: &FakeDiscord,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}/api/v10{path}", fake.base_url()))
        .header("authorization", "Bot token");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn fake_rest_messages_nonce_edit_and_serenity_shapes() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let builder = CreateMessage::new()
        .content("hello <@&77> @everyone")
        .nonce(Nonce::String("n-1".into()))
        .enforce_nonce(true);
    let m1: Message = ChannelId::new(CH)
        .send_message(&http, builder.clone())
        .await
        .expect("send");
    assert_eq!(m1.id.get(), FIRST_SNOWFLAKE);
    assert_eq!(m1.content, "hello <@&77> @everyone");
    assert!(m1.author.bot);
    // No allowed_mentions: Discord pings everything in the content.
    assert!(m1.mention_everyone);
    // Retry with the same nonce: the same message, not a second one.
    let again = ChannelId::new(CH)
        .send_message(&http, builder)
        .await
        .expect("resend");
    assert_eq!(again.id, m1.id);
    assert_eq!(fake.messages(CH).len(), 1);

    let quiet = CreateMessage::new()
        .content("<@&77> @everyone")
        .allowed_mentions(serenity::builder::CreateAllowedMentions::new().roles([77]));
    let m2 = ChannelId::new(CH)
        .send_message(&http, quiet)
        .await
        .expect("send 2");
    assert!(!m2.mention_everyone);
    assert_eq!(
        m2.mention_roles.iter().map(|r| r.get()).collect::<Vec<_>>(),
        vec![77]
    );

    let edited = ChannelId::new(CH)
        .edit_message(&http, m1.id, EditMessage::new().content("edited"))
        .await
        .expect("edit");
    assert_eq!(edited.content, "edited");
    assert!(edited.edited_timestamp.is_some());
    let stored = fake.message(CH, m1.id.get()).expect("stored");
    assert_eq!(stored["content"], "edited");
    assert_eq!(fake.messages(CH)[1]["id"], json!(m2.id.to_string()));

    let err = ChannelId::new(CH)
        .edit_message(&http, MessageId::new(5), EditMessage::new().content("x"))
        .await
        .expect_err("unknown message");
    assert!(err.to_string().contains("Unknown Message"), "{err}");
    assert_eq!(fake.take_violations().len(), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn fake_rest_threads_have_the_message_id() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let m = ChannelId::new(CH).say(&http, "card").await.expect("send");
    let t: GuildChannel = ChannelId::new(CH)
        .create_thread_from_message(&http, m.id, CreateThread::new("release 1.4.0"))
        .await
        .expect("thread");
    assert_eq!(t.id.get(), m.id.get());
    assert_eq!(t.parent_id, Some(ChannelId::new(CH)));
    assert_eq!(t.name, "release 1.4.0");
    let again = ChannelId::new(CH)
        .create_thread_from_message(&http, m.id, CreateThread::new("again"))
        .await
        .expect_err("second thread");
    assert!(
        again.to_string().contains("already been created"),
        "{again}"
    );
    assert_eq!(fake.threads().len(), 1);
    ChannelId::new(t.id.get())
        .say(&http, "progress")
        .await
        .expect("post in thread");
    assert_eq!(fake.messages(t.id.get())[0]["content"], "progress");
    // The starter message deserializes with its thread attached.
    let starter: Message =
        serde_json::from_value(fake.message(CH, m.id.get()).unwrap()).expect("starter");
    assert!(starter.thread.is_some());
    assert_eq!(
        fake.take_violations().len(),
        1,
        "double thread is a violation"
    );
}

#[tokio::test]
async fn fake_rest_commands_bulk_overwrite() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let release = CreateCommand::new("release")
        .description("Run releases")
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "plan", "Plan a release")
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::String, "version", "semver")
                        .required(true),
                ),
        );
    let cmds: Vec<Command> = GuildId::new(42)
        .set_commands(
            &http,
            vec![
                release.clone(),
                CreateCommand::new("deploy").description("Deploy"),
            ],
        )
        .await
        .expect("guild commands");
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[0].guild_id, Some(GuildId::new(42)));
    let global = Command::set_global_commands(&http, vec![release])
        .await
        .expect("global");
    assert_eq!(global[0].guild_id, None);
    assert_eq!(fake.commands().len(), 3);
    fake.assert_clean();
}

#[tokio::test]
async fn fake_rest_injected_faults_are_recorded() {
    let fake = FakeDiscord::start().await;
    fake.inject(Fault {
        method: "POST",
        path_contains: "/messages".into(),
        kind: FaultKind::RateLimited {
            retry_after_secs: 1.5,
        },
        times: 1,
    });
    fake.inject(Fault {
        method: "*",
        path_contains: "/messages".into(),
        kind: FaultKind::Status(500),
        times: 1,
    });
    let body = json!({"content": "x"});
    let path = format!("/channels/{CH}/messages");
    let first = reqwest::Client::new()
        .post(format!("{}/api/v10{path}", fake.base_url()))
        .header("authorization", "Bot t")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(first.status().as_u16(), 429);
    assert_eq!(first.headers()["retry-after"], "2");
    assert_eq!(first.headers()["x-ratelimit-reset-after"], "1.5");
    assert_eq!(first.headers()["x-ratelimit-scope"], "user");
    let limited: Value = first.json().await.expect("json");
    assert_eq!(limited["retry_after"], 1.5);
    let (status, err) = raw(&fake, reqwest::Method::POST, &path, Some(body.clone())).await;
    assert_eq!((status, err["code"].clone()), (500, json!(0)));
    let (status, _) = raw(&fake, reqwest::Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 200]);
    assert_eq!(fake.messages(CH).len(), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn fake_rest_strictness_and_waiting() {
    let fake = FakeDiscord::start().await;
    let (status, body) = raw(
        &fake,
        reqwest::Method::DELETE,
        "/channels/1/messages/2",
        None,
    )
    .await;
    assert_eq!((status, body["code"].clone()), (404, json!(0)));
    let (status, body) = raw(
        &fake,
        reqwest::Method::POST,
        "/channels/1/messages",
        Some(json!({"content": 1})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!(50035)));
    let (status, body) = raw(
        &fake,
        reqwest::Method::POST,
        "/channels/1/messages",
        Some(json!({"content": "", "embeds": []})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!(50006)));
    let unauthenticated = reqwest::Client::new()
        .get(format!("{}/api/v10/users/@me", fake.base_url()))
        .send()
        .await
        .expect("get");
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let v = fake.take_violations();
    assert!(v[0].contains("unexpected request DELETE"), "{v:?}");
    assert!(v[1].contains("spec"), "{v:?}");
    assert!(v[2].contains("empty message"), "{v:?}");
    assert!(v[3].contains("Authorization"), "{v:?}");

    // wait_for consumes: two waits for the same predicate get two different requests.
    let f2 = fake.clone();
    let poster = tokio::spawn(async move {
        for i in 0..2 {
            raw(
                &f2,
                reqwest::Method::POST,
                "/channels/7/messages",
                Some(json!({"content": format!("m{i}")})),
            )
            .await;
        }
    });
    let a = fake
        .wait_for("post to 7", |r| r.path == "/channels/7/messages")
        .await;
    let b = fake
        .wait_for("post to 7", |r| r.path == "/channels/7/messages")
        .await;
    assert_eq!(
        (a.body["content"].clone(), b.body["content"].clone()),
        (json!("m0"), json!("m1"))
    );
    assert_eq!(a.header("authorization"), Some("Bot token"));
    fake.wait_until("two messages in 7", |f| f.messages(7).len() == 2)
        .await;
    poster.await.expect("poster");
    fake.assert_clean();
}

#[tokio::test]
async fn fake_rest_enforces_discords_global_limit_of_fifty_a_second() {
    let fake = FakeDiscord::start().await;
    let path = format!("/channels/{CH}/messages");
    let mut statuses = Vec::new();
    for n in 0..51 {
        let body = json!({ "content": format!("message {n}") });
        let (status, answer) = raw(&fake, reqwest::Method::POST, &path, Some(body)).await;
        statuses.push((status, answer));
    }
    assert!(statuses[..50].iter().all(|(status, _)| *status == 200));
    let (status, answer) = &statuses[50];
    assert_eq!(*status, 429);
    assert_eq!(answer["global"], true);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("global limit"), "{violations:?}");
}
