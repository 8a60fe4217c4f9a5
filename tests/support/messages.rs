//! Message objects as Discord returns them: creation, edits and mention resolution.

use serde_json::{json, Map, Value};

/// ISO-8601 timestamp as Discord writes them.
pub fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// The bot user object (`GET /users/@me`, message authors, READY).
pub fn bot_user(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": "gonogo",
        "discriminator": "0000",
        "avatar": null,
        "bot": true,
        "global_name": null,
        "verified": true,
        "mfa_enabled": false,
        "flags": 0,
        "public_flags": 0,
    })
}

/// A new message object built from a create body.
pub fn new_message(id: u64, channel_id: u64, author: Value, body: &Value) -> Value {
    let mut msg = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "content": "",
        "embeds": [],
        "components": [],
        "author": null,
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    });
    msg["author"] = author;
    if let Some(nonce) = body.get("nonce").filter(|n| !n.is_null()) {
        msg["nonce"] = nonce.clone();
    }
    apply(&mut msg, body);
    msg
}

/// Applies an edit body (`content`, `embeds`, `components`, `allowed_mentions`, `flags`) and
/// marks the message edited.
pub fn edit(msg: &mut Value, body: &Value) {
    apply(msg, body);
    msg["edited_timestamp"] = json!(now_timestamp());
}

fn apply(msg: &mut Value, body: &Value) {
    let Some(fields) = body.as_object() else {
        return;
    };
    for (key, empty) in [
        ("content", json!("")),
        ("embeds", json!([])),
        ("components", json!([])),
        ("flags", json!(0)),
    ] {
        if let Some(v) = fields.get(key) {
            msg[key] = if v.is_null() { empty } else { v.clone() };
        }
    }
    if let Some(am) = fields.get("allowed_mentions") {
        msg["allowed_mentions"] = am.clone();
    }
    resolve_mentions(msg);
}

/// Sets `mentions`, `mention_roles` and `mention_everyone` from the content, honouring
/// `allowed_mentions` the way Discord does (absent = everything in the content pings).
fn resolve_mentions(msg: &mut Value) {
    let content = msg["content"].as_str().unwrap_or_default().to_owned();
    let am = msg
        .get("allowed_mentions")
        .filter(|v| !v.is_null())
        .cloned();
    let parse_allows = |kind: &str| match &am {
        None => true,
        Some(am) => am["parse"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == kind)),
    };
    let listed = |list: &str, id: &str| {
        am.as_ref()
            .and_then(|am| am[list].as_array())
            .is_some_and(|ids| {
                ids.iter().any(|x| {
                    x.as_str() == Some(id)
                        || x.as_u64().map(|n| n.to_string()).as_deref() == Some(id)
                })
            })
    };
    let mut users = Vec::new();
    let mut roles = Vec::new();
    for (is_role, id) in mention_tokens(&content) {
        if is_role {
            if (parse_allows("roles") || listed("roles", &id)) && !roles.contains(&json!(id)) {
                roles.push(json!(id));
            }
        } else if (parse_allows("users") || listed("users", &id))
            && !users.iter().any(|u: &Value| u["id"] == json!(id))
        {
            users.push(json!({
                "id": id, "username": format!("user-{id}"), "discriminator": "0",
                "avatar": null, "global_name": null,
            }));
        }
    }
    msg["mentions"] = Value::Array(users);
    msg["mention_roles"] = Value::Array(roles);
    msg["mention_everyone"] = json!(
        (content.contains("@everyone") || content.contains("@here")) && parse_allows("everyone")
    );
}

/// `(is_role, id)` for every `<@id>`, `<@!id>` and `<@&id>` in `content`.
fn mention_tokens(content: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let (is_role, body) = match rest.chars().next() {
            Some('&') => (true, &rest[1..]),
            Some('!') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && body[digits.len()..].starts_with('>') {
            out.push((is_role, digits));
        }
    }
    out
}

/// Discord refuses (50006) a new message with no content, embeds, components, stickers,
/// attachments or poll.
pub fn is_empty_message(body: &Value) -> bool {
    let filled = |key: &str| match body.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    ![
        "content",
        "embeds",
        "components",
        "sticker_ids",
        "attachments",
        "poll",
    ]
    .iter()
    .any(|k| filled(k))
}

/// Discord rejects `allowed_mentions` that both parse a type and list ids of it.
pub fn allowed_mentions_conflict(body: &Value) -> Option<String> {
    let am = body.get("allowed_mentions")?;
    let parse: Vec<&str> = am["parse"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for kind in ["users", "roles"] {
        let listed = am[kind].as_array().is_some_and(|l| !l.is_empty());
        if listed && parse.contains(&kind) {
            return Some(format!(
                "allowed_mentions: parse contains \"{kind}\" and {kind} lists ids (mutually exclusive)"
            ));
        }
    }
    None
}

/// The thread channel created from a message.
pub fn thread_channel(
    id: u64,
    parent_id: u64,
    guild_id: u64,
    owner_id: u64,
    body: &Value,
) -> Value {
    let mut ch = Map::new();
    ch.insert("id".into(), json!(id.to_string()));
    ch.insert("type".into(), json!(11));
    ch.insert("guild_id".into(), json!(guild_id.to_string()));
    ch.insert("parent_id".into(), json!(parent_id.to_string()));
    ch.insert("owner_id".into(), json!(owner_id.to_string()));
    ch.insert("name".into(), body["name"].clone());
    ch.insert("last_message_id".into(), Value::Null);
    ch.insert(
        "rate_limit_per_user".into(),
        body.get("rate_limit_per_user").cloned().unwrap_or(json!(0)),
    );
    ch.insert("flags".into(), json!(0));
    ch.insert("message_count".into(), json!(0));
    ch.insert("member_count".into(), json!(1));
    ch.insert("total_message_sent".into(), json!(0));
    ch.insert(
        "thread_metadata".into(),
        json!({
            "archived": false,
            "auto_archive_duration": body.get("auto_archive_duration").filter(|v| !v.is_null()).cloned().unwrap_or(json!(4320)),
            "archive_timestamp": now_timestamp(),
            "locked": false,
            "create_timestamp": now_timestamp(),
        }),
    );
    ch.insert(
        "member".into(),
        json!({"id": id.to_string(), "user_id": owner_id.to_string(), "join_timestamp": now_timestamp(), "flags": 0}),
    );
    Value::Object(ch)
}
