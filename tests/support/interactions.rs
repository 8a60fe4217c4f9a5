//! Interaction callbacks and follow-up webhooks, with Discord's 3-second and single-ack rules.

use serde_json::{json, Value};

use std::time::{Duration, Instant};

use super::fake_discord::{snowflake_of, FakeDiscord, InteractionRecord, INTERACTION_DEADLINE};
use super::messages;
use super::rest::{Reply, Req};

/// Which callback types Discord accepts for which interaction types.
fn callback_allowed(interaction_type: u64, callback_type: u64) -> bool {
    match interaction_type {
        1 => callback_type == 1,
        2 => matches!(callback_type, 4 | 5 | 9),
        3 => matches!(callback_type, 4 | 5 | 6 | 7 | 9),
        4 => callback_type == 8,
        5 => (4..=7).contains(&callback_type),
        _ => false,
    }
}

/// `POST /interactions/{id}/{token}/callback`.
pub fn callback(fake: &FakeDiscord, req: &Req<'_>, problems: &mut Vec<String>) -> Reply {
    let ["interactions", iid_text, token, "callback"] = req.segs.as_slice() else {
        return Reply::not_found();
    };
    let at = format!("POST {}", req.path);
    let mut st = fake.lock();
    let Some(rec) = iid_text
        .parse::<u64>()
        .ok()
        .and_then(|iid| st.interactions.get_mut(&iid))
    else {
        problems.push(format!(
            "{at}: callback for an interaction Discord never sent (10062)"
        ));
        return Reply::error(404, 10062, "Unknown interaction");
    };
    if rec.token != *token {
        problems.push(format!("{at}: wrong interaction token"));
        return Reply::error(401, 50027, "Invalid Webhook Token");
    }
    if rec.response.is_some() {
        problems.push(format!(
            "{at}: interaction {iid_text} acknowledged twice (40060)"
        ));
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    let elapsed = rec.registered_at.elapsed();
    if elapsed > INTERACTION_DEADLINE {
        problems.push(format!(
            "{at}: first response to interaction {iid_text} after {elapsed:?}, past Discord's 3 s (10062)"
        ));
        return Reply::error(404, 10062, "Unknown interaction");
    }
    let kind = req.body["type"].as_u64().unwrap_or_default();
    if !callback_allowed(rec.kind, kind) {
        problems.push(format!(
            "{at}: callback type {kind} is not valid for interaction type {}",
            rec.kind
        ));
        return Reply::error(400, 50035, "Invalid Form Body");
    }
    if kind == 4 && messages::is_empty_message(&req.body["data"]) && req.files.is_empty() {
        problems.push(format!("{at}: empty message (50006)"));
        return Reply::error(400, 50006, "Cannot send an empty message");
    }
    rec.response = Some(req.body.clone());
    let (channel_id, message_id) = (rec.channel_id, rec.message_id);
    let data = &req.body["data"];
    match kind {
        4 => {
            let id = st.snowflake();
            let msg =
                messages::new_message(id, channel_id, messages::bot_user(fake.app_id()), data);
            if let Some(rec) = iid_text
                .parse::<u64>()
                .ok()
                .and_then(|iid| st.interactions.get_mut(&iid))
            {
                rec.original = Some(msg);
            }
        }
        7 => {
            if let Some(m) = message_id.and_then(|mid| st.messages.get_mut(&mid)) {
                messages::edit(m, data);
            }
        }
        _ => {}
    }
    Reply::no_content()
}

/// `POST /webhooks/{app}/{token}` (follow-up) and `PATCH /webhooks/{app}/{token}/messages/{id|@original}`.
pub fn webhook(fake: &FakeDiscord, req: &Req<'_>, problems: &mut Vec<String>) -> Reply {
    let at = format!("{} {}", req.method, req.path);
    let (app, token, target) = match req.segs.as_slice() {
        ["webhooks", app, token] => (*app, *token, None),
        ["webhooks", app, token, "messages", target] => (*app, *token, Some(*target)),
        _ => return Reply::not_found(),
    };
    let app_id = fake.app_id();
    let mut st = fake.lock();
    let new_id = st.snowflake();
    let st = &mut *st;
    let rec = st.interactions.values_mut().find(|r| r.token == token);
    let Some(rec) = rec.filter(|_| app == app_id.to_string()) else {
        problems.push(format!(
            "{at}: no interaction has this application id and token (10015)"
        ));
        return Reply::error(404, 10015, "Unknown Webhook");
    };
    let Some(response_type) = rec
        .response
        .as_ref()
        .map(|r| r["type"].as_u64().unwrap_or_default())
    else {
        problems.push(format!(
            "{at}: webhook used before the interaction was acknowledged (10015)"
        ));
        return Reply::error(404, 10015, "Unknown Webhook");
    };
    let mut author = messages::bot_user(app_id);
    author["bot"] = json!(true);
    let decorate = |mut m: Value| {
        m["webhook_id"] = json!(app_id.to_string());
        m["application_id"] = json!(app_id.to_string());
        m
    };
    match target {
        None if messages::is_empty_message(req.body) && req.files.is_empty() => {
            problems.push(format!("{at}: empty follow-up message (50006)"));
            Reply::error(400, 50006, "Cannot send an empty message")
        }
        None => {
            let msg = decorate(messages::new_message(
                new_id,
                rec.channel_id,
                author,
                req.body,
            ));
            rec.followups.push(msg.clone());
            Reply::ok(msg)
        }
        Some("@original") if matches!(response_type, 6 | 7) => {
            if let Some(m) = rec.message_id.and_then(|mid| st.messages.get_mut(&mid)) {
                messages::edit(m, req.body);
                Reply::ok(m.clone())
            } else {
                problems.push(format!(
                    "{at}: the interaction's message is unknown to the fake"
                ));
                Reply::error(404, 10008, "Unknown Message")
            }
        }
        Some("@original") => {
            let original = rec.original.get_or_insert_with(|| {
                decorate(messages::new_message(
                    new_id,
                    rec.channel_id,
                    author,
                    &json!({}),
                ))
            });
            messages::edit(original, req.body);
            Reply::ok(original.clone())
        }
        Some(mid) => {
            if let Some(m) = rec.followups.iter_mut().find(|m| m["id"] == json!(mid)) {
                messages::edit(m, req.body);
                Reply::ok(m.clone())
            } else {
                problems.push(format!("{at}: unknown follow-up message {mid}"));
                Reply::error(404, 10008, "Unknown Message")
            }
        }
    }
}

impl FakeDiscord {
    /// Waits, for up to a second, until the interaction with `token` is acknowledged. Over
    /// HTTP, the bot's answer reaches Discord before anything it sends after it; here the
    /// story records that answer when its client reads it, which may be a moment after the
    /// bot's next request arrives.
    pub async fn wait_acknowledged(&self, token: &str) {
        let mut changed = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let pending = self
                .lock()
                .interactions
                .values()
                .any(|r| r.token == token && r.response.is_none());
            if !pending {
                return;
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Records the answer the HTTP door gave an interaction registered before it was sent.
    pub fn record_http_response(&self, interaction_id: u64, response: &Value) {
        if let Some(rec) = self.lock().interactions.get_mut(&interaction_id) {
            rec.response = Some(response.clone());
        }
        self.bump();
    }

    /// The body of the (accepted) first response to an interaction.
    pub fn interaction_response(&self, interaction_id: u64) -> Option<Value> {
        self.lock()
            .interactions
            .get(&interaction_id)
            .and_then(|i| i.response.clone())
    }

    /// The `@original` response message of an interaction after webhook edits
    /// (`PATCH /webhooks/{app}/{token}/messages/@original`), if any.
    pub fn interaction_original(&self, interaction_id: u64) -> Option<Value> {
        self.lock()
            .interactions
            .get(&interaction_id)
            .and_then(|i| i.original.clone())
    }

    /// Registers an interaction as if Discord had just sent it: the 3-second clock starts now.
    /// [`FakeDiscord::dispatch_interaction`] does this itself.
    pub fn register_interaction(&self, payload: &Value) {
        let id = snowflake_of(&payload["id"]).expect("interaction payload has no id");
        let record = InteractionRecord {
            token: payload["token"].as_str().unwrap_or_default().to_owned(),
            kind: payload["type"].as_u64().unwrap_or_default(),
            channel_id: snowflake_of(&payload["channel_id"]).unwrap_or_default(),
            message_id: snowflake_of(&payload["message"]["id"]),
            registered_at: Instant::now(),
            response: None,
            original: None,
            followups: Vec::new(),
        };
        self.lock().interactions.insert(id, record);
    }

    /// Pretends an interaction arrived `by` earlier, to test the 3-second rule without sleeping.
    pub fn age_interaction(&self, interaction_id: u64, by: Duration) {
        if let Some(rec) = self.lock().interactions.get_mut(&interaction_id) {
            rec.registered_at = rec
                .registered_at
                .checked_sub(by)
                .expect("instant underflow");
        }
    }
}
