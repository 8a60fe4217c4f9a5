//! Discord's documented limits that the `OpenAPI` spec does not enforce (or enforces loosely).

use serde_json::Value;

/// Checks a request body for the documented limits, by spec path template.
/// Returns one line per breach.
pub fn check(template: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match template {
        "/channels/{channel_id}/messages"
        | "/channels/{channel_id}/messages/{message_id}"
        | "/webhooks/{webhook_id}/{webhook_token}"
        | "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
        | "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}" => {
            message(body, "", &mut out);
        }
        "/interactions/{interaction_id}/{interaction_token}/callback" => {
            let data = body.get("data").unwrap_or(&Value::Null);
            match body.get("type").and_then(Value::as_u64) {
                Some(4 | 7) => message(data, "data.", &mut out),
                Some(9) => modal(data, &mut out),
                _ => {}
            }
        }
        _ => {}
    }
    out
}

fn len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

fn max_len(v: &Value, key: &str, max: usize, at: &str, out: &mut Vec<String>) -> usize {
    let n = len(v.get(key));
    if n > max {
        out.push(format!("{at}{key} has {n} characters (max {max})"));
    }
    n
}

/// Limits of a message body (create, edit, interaction message data).
pub fn message(body: &Value, at: &str, out: &mut Vec<String>) {
    max_len(body, "content", 2000, at, out);
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        if embeds.len() > 10 {
            out.push(format!("{at}embeds has {} embeds (max 10)", embeds.len()));
        }
        let mut total = 0;
        for (i, e) in embeds.iter().enumerate() {
            let at = format!("{at}embeds[{i}].");
            total += max_len(e, "title", 256, &at, out);
            total += max_len(e, "description", 4096, &at, out);
            if let Some(footer) = e.get("footer") {
                total += max_len(footer, "text", 2048, &format!("{at}footer."), out);
            }
            if let Some(author) = e.get("author") {
                total += max_len(author, "name", 256, &format!("{at}author."), out);
            }
            if let Some(fields) = e.get("fields").and_then(Value::as_array) {
                if fields.len() > 25 {
                    out.push(format!("{at}fields has {} fields (max 25)", fields.len()));
                }
                for (j, f) in fields.iter().enumerate() {
                    let at = format!("{at}fields[{j}].");
                    total += max_len(f, "name", 256, &at, out);
                    total += max_len(f, "value", 1024, &at, out);
                }
            }
        }
        if total > 6000 {
            out.push(format!("{at}embeds total {total} characters (max 6000)"));
        }
    }
    components(body, at, out);
}

fn components(body: &Value, at: &str, out: &mut Vec<String>) {
    let Some(rows) = body.get("components").and_then(Value::as_array) else {
        return;
    };
    if rows.len() > 5 {
        out.push(format!("{at}components has {} rows (max 5)", rows.len()));
    }
    for (i, row) in rows.iter().enumerate() {
        let at = format!("{at}components[{i}].");
        let children = row.get("components").and_then(Value::as_array);
        if row.get("type").and_then(Value::as_u64) == Some(1) {
            if let Some(children) = children {
                if children.len() > 5 {
                    out.push(format!(
                        "{at}components has {} components (max 5)",
                        children.len()
                    ));
                }
            }
        }
        component(row, &at, out);
        for (j, c) in children.into_iter().flatten().enumerate() {
            component(c, &format!("{at}components[{j}]."), out);
        }
    }
}

fn component(c: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(id) = c.get("custom_id") {
        let n = len(Some(id));
        if !(1..=100).contains(&n) {
            out.push(format!(
                "{at}custom_id has {n} characters (must be 1 to 100)"
            ));
        }
    }
    match c.get("type").and_then(Value::as_u64) {
        Some(2) => {
            max_len(c, "label", 80, at, out);
        }
        Some(4) => {
            max_len(c, "label", 45, at, out);
            max_len(c, "placeholder", 100, at, out);
            max_len(c, "value", 4000, at, out);
        }
        _ => {}
    }
}

/// Limits of a modal (interaction callback type 9).
pub fn modal(data: &Value, out: &mut Vec<String>) {
    max_len(data, "title", 45, "data.", out);
    if data.get("custom_id").is_none() {
        out.push("data.custom_id is missing".into());
    }
    component(data, "data.", out);
    components(data, "data.", out);
}
