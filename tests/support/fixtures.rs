//! Interaction payload builders, each checked against serenity's `Interaction` before use.

use serde_json::{json, Map, Value};

use super::fake_discord::APP_ID;
use super::messages;

/// A guild member who clicks and types.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: u64,
    pub name: &'static str,
    /// Discord role ids.
    pub roles: Vec<u64>,
}

impl Member {
    pub fn new(id: u64, name: &'static str, roles: &[u64]) -> Member {
        Member {
            id,
            name,
            roles: roles.to_vec(),
        }
    }

    /// The `user` object.
    pub fn user(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": null,
            "public_flags": 0,
        })
    }

    /// The `member` object of an interaction.
    pub fn member(&self) -> Value {
        json!({
            "user": self.user(),
            "nick": null,
            "avatar": null,
            "roles": self.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "joined_at": "2024-01-15T09:30:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "permissions": "0",
            "communication_disabled_until": null,
        })
    }
}

/// Panics (naming serde's complaint, which names the field) unless serenity accepts it.
pub fn checked(payload: Value) -> Value {
    if let Err(e) =
        serde_json::from_value::<serenity::model::application::Interaction>(payload.clone())
    {
        panic!("fixture does not deserialize into serenity's Interaction: {e}\n{payload:#}");
    }
    payload
}

fn base(id: u64, kind: u8, member: &Member, channel_id: u64, guild_id: u64) -> Map<String, Value> {
    let v = json!({
        "id": id.to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "token": format!("token-{id}"),
        "version": 1,
        "guild_id": guild_id.to_string(),
        "guild": {"id": guild_id.to_string(), "locale": "en-US", "features": []},
        "channel_id": channel_id.to_string(),
        "channel": {"id": channel_id.to_string(), "type": 0, "name": "releases", "guild_id": guild_id.to_string(), "permissions": "0"},
        "member": member.member(),
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id.to_string()},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Stable fake command id for a command name.
pub fn command_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    1_150_000_000_000_000_000 + hash % 1_000_000
}

/// A command option value: strings are type 3, integers 4, booleans 5, other numbers 10.
fn option(name: &str, value: Value) -> Value {
    let kind = match &value {
        Value::String(_) => 3,
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        other => panic!("option {name}: unsupported value {other}"),
    };
    let mut option = json!({"name": name, "type": kind});
    option["value"] = value;
    option
}

/// A chat-input command, e.g. `/release plan version:1.4.0 type:minor` is
/// `slash_command(id, &m, ch, g, "release", Some("plan"), vec![("version", json!("1.4.0")), …])`.
pub fn slash_command(
    id: u64,
    member: &Member,
    channel_id: u64,
    guild_id: u64,
    name: &str,
    subcommand: Option<&str>,
    options: Vec<(&str, Value)>,
) -> Value {
    let opts: Vec<Value> = options.into_iter().map(|(n, v)| option(n, v)).collect();
    let options = match subcommand {
        Some(sub) => json!([{"name": sub, "type": 1, "options": opts}]),
        None => json!(opts),
    };
    let mut m = base(id, 2, member, channel_id, guild_id);
    m.insert(
        "data".into(),
        json!({
            "id": command_id(name).to_string(),
            "name": name,
            "type": 1,
            "guild_id": guild_id.to_string(),
            "options": options,
        }),
    );
    checked(Value::Object(m))
}

/// A minimal valid message object posted by the bot (what a button click carries).
pub fn minimal_message(channel_id: u64, message_id: u64) -> Value {
    let mut msg = messages::new_message(
        message_id,
        channel_id,
        messages::bot_user(APP_ID),
        &json!({}),
    );
    msg["timestamp"] = json!("2024-01-15T10:00:00.000000+00:00");
    msg
}

/// A click on a button (`component_type` 2) of message `message_id`.
pub fn button(
    id: u64,
    member: &Member,
    channel_id: u64,
    guild_id: u64,
    message_id: u64,
    custom_id: &str,
) -> Value {
    button_on_message(
        id,
        member,
        guild_id,
        minimal_message(channel_id, message_id),
        custom_id,
    )
}

/// A click on a button of a given message object (e.g. `fake.message(ch, id)`, so the
/// interaction carries the card as the user saw it).
pub fn button_on_message(
    id: u64,
    member: &Member,
    guild_id: u64,
    message: Value,
    custom_id: &str,
) -> Value {
    let channel_id = super::fake_discord::snowflake_of(&message["channel_id"])
        .expect("message has a channel_id");
    let mut m = base(id, 3, member, channel_id, guild_id);
    m.insert("message".into(), message);
    m.insert(
        "data".into(),
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    checked(Value::Object(m))
}

/// A choice in a string select menu (`component_type` 3) of a given message.
pub fn select_on_message(
    id: u64,
    member: &Member,
    guild_id: u64,
    message: Value,
    custom_id: &str,
    values: &[&str],
) -> Value {
    let channel_id = super::fake_discord::snowflake_of(&message["channel_id"])
        .expect("message has a channel_id");
    let mut m = base(id, 3, member, channel_id, guild_id);
    m.insert("message".into(), message);
    m.insert(
        "data".into(),
        json!({"custom_id": custom_id, "component_type": 3, "values": values}),
    );
    checked(Value::Object(m))
}

/// A modal submission: one row per text input, `(input custom_id, value)`.
pub fn modal_submit(
    id: u64,
    member: &Member,
    channel_id: u64,
    guild_id: u64,
    custom_id: &str,
    fields: Vec<(&str, &str)>,
) -> Value {
    let rows: Vec<Value> = fields
        .into_iter()
        .map(|(input, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": input, "value": value}]}))
        .collect();
    let mut m = base(id, 5, member, channel_id, guild_id);
    m.insert(
        "data".into(),
        json!({"custom_id": custom_id, "components": rows}),
    );
    checked(Value::Object(m))
}

/// Discord's PING (type 1), sent when the interactions endpoint URL is saved.
pub fn ping() -> Value {
    checked(json!({
        "id": "1150000000000000001",
        "application_id": APP_ID.to_string(),
        "type": 1,
        "token": "token-ping",
        "version": 1,
        "user": {"id": "1", "username": "discord", "discriminator": "0", "global_name": null, "avatar": null},
        "entitlements": [],
        "authorizing_integration_owners": {},
    }))
}
