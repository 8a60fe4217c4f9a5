//! Channel, thread, command, gateway-info and user routes of the fake.

use serde_json::{json, Value};

use super::fake_discord::{snowflake_of, FakeDiscord, GUILD_ID};
use super::messages;
use super::rest::{Reply, Req};

/// Whether the fake serves this method and path at all (everything else is a violation).
pub fn known(req: &Req<'_>) -> bool {
    match req.method {
        "GET" => matches!(
            req.segs.as_slice(),
            ["gateway"]
                | ["gateway", "bot"]
                | ["users", "@me"]
                | ["oauth2", "applications", "@me"]
                | ["channels", _, "messages"]
                | ["channels", _, "messages", _]
                | ["applications", _, "commands"]
                | ["applications", _, "guilds", _, "commands"]
        ),
        "POST" => matches!(
            req.segs.as_slice(),
            ["channels", _, "messages"]
                | ["channels", _, "messages", _, "threads"]
                | ["interactions", _, _, "callback"]
                | ["webhooks", _, _]
        ),
        "PATCH" => matches!(
            req.segs.as_slice(),
            ["channels", _, "messages", _] | ["webhooks", _, _, "messages", _]
        ),
        "PUT" => matches!(
            req.segs.as_slice(),
            ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]
        ),
        _ => false,
    }
}

fn id(seg: &str) -> Option<u64> {
    seg.parse().ok()
}

/// Routes a request that passed validation (interactions and webhooks excluded).
pub fn route(fake: &FakeDiscord, req: &Req<'_>, problems: &mut Vec<String>) -> Reply {
    let app_id = fake.app_id();
    match (req.method, req.segs.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({ "url": fake.gateway_url() })),
        ("GET", ["gateway", "bot"]) => Reply::ok(json!({
            "url": fake.gateway_url(),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        })),
        ("GET", ["users", "@me"]) => Reply::ok(messages::bot_user(app_id)),
        ("GET", ["oauth2", "applications", "@me"]) => Reply::ok(application(app_id)),
        ("POST", ["channels", ch, "messages"]) => match id(ch) {
            Some(_) if messages::is_empty_message(req.body) => {
                problems.push(format!("POST {}: empty message (50006)", req.path));
                Reply::error(400, 50006, "Cannot send an empty message")
            }
            Some(ch) => create_message(fake, ch, req.body),
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("GET", ["channels", ch, "messages"]) => match id(ch) {
            Some(ch) => recent_messages(fake, ch, req.query),
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("GET" | "PATCH", ["channels", ch, "messages", msg]) => {
            let (Some(ch), Some(msg)) = (id(ch), id(msg)) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            let mut st = fake.lock();
            let Some(m) = st
                .messages
                .get_mut(&msg)
                .filter(|m| m["channel_id"] == json!(ch.to_string()))
            else {
                problems.push(format!(
                    "{} {}: unknown message {msg} in channel {ch}",
                    req.method, req.path
                ));
                return Reply::error(404, 10008, "Unknown Message");
            };
            if req.method == "PATCH" {
                messages::edit(m, req.body);
            }
            Reply::ok(m.clone())
        }
        ("POST", ["channels", ch, "messages", msg, "threads"]) => {
            let (Some(ch), Some(msg)) = (id(ch), id(msg)) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            create_thread(fake, ch, msg, req, problems)
        }
        ("PUT" | "GET", ["applications", app, "commands"]) => {
            commands(fake, app, None, req, problems)
        }
        ("PUT" | "GET", ["applications", app, "guilds", guild, "commands"]) => {
            commands(fake, app, id(guild), req, problems)
        }
        _ => Reply::not_found(),
    }
}

fn create_message(fake: &FakeDiscord, ch: u64, body: &Value) -> Reply {
    let mut st = fake.lock();
    let nonce = body.get("nonce").filter(|n| !n.is_null()).map(nonce_key);
    if body["enforce_nonce"] == json!(true) {
        if let Some(nonce) = &nonce {
            let existing = st.channels.get(&ch).into_iter().flatten().find_map(|mid| {
                st.messages
                    .get(mid)
                    .filter(|m| m.get("nonce").map(nonce_key).as_ref() == Some(nonce))
            });
            let inside_window = existing
                .and_then(|m| snowflake_of(&m["id"]))
                .is_some_and(|id| id > st.nonces_expired_through);
            if let Some(m) = existing.filter(|_| inside_window) {
                return Reply::ok(m.clone());
            }
        }
    }
    let mid = st.snowflake();
    let msg = messages::new_message(mid, ch, messages::bot_user(fake.app_id()), body);
    st.channels.entry(ch).or_default().push(mid);
    st.messages.insert(mid, msg.clone());
    Reply::ok(msg)
}

/// `GET /channels/{id}/messages?limit=N`: the newest messages first, at most `limit` (50 by
/// default, 100 at most). Like Discord's reads, they do not carry the nonce they were sent with.
fn recent_messages(fake: &FakeDiscord, ch: u64, query: &str) -> Reply {
    let limit = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("limit="))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(50)
        .min(100);
    let st = fake.lock();
    let listed: Vec<Value> = st
        .channels
        .get(&ch)
        .into_iter()
        .flatten()
        .rev()
        .take(limit)
        .filter_map(|mid| st.messages.get(mid).cloned())
        .map(|mut m| {
            if let Some(fields) = m.as_object_mut() {
                fields.remove("nonce");
            }
            m
        })
        .collect();
    Reply::ok(json!(listed))
}

/// Nonces compare by their text, whether sent as a string or a number.
fn nonce_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn create_thread(
    fake: &FakeDiscord,
    ch: u64,
    msg: u64,
    req: &Req<'_>,
    problems: &mut Vec<String>,
) -> Reply {
    let mut st = fake.lock();
    if !st
        .messages
        .get(&msg)
        .is_some_and(|m| m["channel_id"] == json!(ch.to_string()))
    {
        problems.push(format!(
            "POST {}: unknown message {msg} in channel {ch}",
            req.path
        ));
        return Reply::error(404, 10008, "Unknown Message");
    }
    if st
        .threads
        .iter()
        .any(|t| snowflake_of(&t["id"]) == Some(msg))
    {
        problems.push(format!(
            "POST {}: a thread already exists for message {msg}",
            req.path
        ));
        return Reply::error(
            400,
            160_004,
            "A thread has already been created for this message",
        );
    }
    let thread = messages::thread_channel(msg, ch, GUILD_ID, fake.app_id(), req.body);
    st.threads.push(thread.clone());
    st.channels.entry(msg).or_default();
    if let Some(m) = st.messages.get_mut(&msg) {
        m["thread"] = thread.clone();
        m["flags"] = json!(m["flags"].as_u64().unwrap_or(0) | 32); // HAS_THREAD
    }
    Reply::ok(thread)
}

fn commands(
    fake: &FakeDiscord,
    app: &str,
    guild: Option<u64>,
    req: &Req<'_>,
    problems: &mut Vec<String>,
) -> Reply {
    if id(app) != Some(fake.app_id()) {
        problems.push(format!(
            "{} {}: application id {app} is not {}",
            req.method,
            req.path,
            fake.app_id()
        ));
        return Reply::error(404, 10002, "Unknown Application");
    }
    let mut st = fake.lock();
    if req.method == "GET" {
        return Reply::ok(json!(st.commands.get(&guild).cloned().unwrap_or_default()));
    }
    let previous = st.commands.get(&guild).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for cmd in req.body.as_array().into_iter().flatten() {
        let name = cmd["name"].clone();
        let kind = cmd
            .get("type")
            .filter(|t| !t.is_null())
            .cloned()
            .unwrap_or(json!(1));
        let existing = previous
            .iter()
            .find(|c| c["name"] == name && c["type"] == kind);
        let cid = existing
            .and_then(|c| snowflake_of(&c["id"]))
            .unwrap_or_else(|| st.snowflake());
        let version = st.snowflake();
        let mut c = cmd.clone();
        c["id"] = json!(cid.to_string());
        c["application_id"] = json!(fake.app_id().to_string());
        c["version"] = json!(version.to_string());
        c["type"] = kind;
        c["guild_id"] = guild.map_or(Value::Null, |g| json!(g.to_string()));
        for (key, default) in [
            ("description", json!("")),
            ("default_member_permissions", Value::Null),
            ("nsfw", json!(false)),
        ] {
            if c.get(key).is_none_or(Value::is_null) {
                c[key] = default;
            }
        }
        out.push(c);
    }
    st.commands.insert(guild, out.clone());
    Reply::ok(json!(out))
}

fn application(app_id: u64) -> Value {
    json!({
        "id": app_id.to_string(),
        "name": "gonogo",
        "icon": null,
        "description": "",
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "flags": 0,
        "owner": messages::bot_user(app_id),
        "team": null,
    })
}
