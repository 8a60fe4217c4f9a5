//! Validates request bodies against Discord's pinned `OpenAPI` spec (plus the documented limits).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

/// Where the pinned spec lives.
pub const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/discord/openapi.json"
);

/// The spec, parsed once, with its `components` already transformed (see [`loosen`]).
struct Spec {
    /// `(METHOD, template segments)` → request-body JSON schema (untransformed).
    operations: Vec<Operation>,
    /// Transformed `components`, attached beside each operation schema.
    components: Value,
}

struct Operation {
    method: String,
    template: String,
    segments: Vec<String>,
    body_schema: Option<Value>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|e| panic!("cannot read Discord OpenAPI spec at {SPEC_PATH}: {e}"));
        let mut doc: Value = serde_json::from_str(&text).expect("openapi.json is not JSON");
        let mut operations = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (method, op) in item {
                    if method == "parameters" {
                        continue;
                    }
                    operations.push(Operation {
                        method: method.to_ascii_uppercase(),
                        template: template.clone(),
                        segments: split(template),
                        body_schema: op
                            .pointer("/requestBody/content/application~1json/schema")
                            .cloned(),
                    });
                }
            }
        }
        let mut components = doc
            .as_object_mut()
            .and_then(|m| m.remove("components"))
            .unwrap_or_else(|| json!({}));
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            schemas.values_mut().for_each(loosen);
        }
        Spec {
            operations,
            components,
        }
    })
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn find_operation(method: &str, path: &str) -> Option<&'static Operation> {
    let path = path.split('?').next().unwrap_or(path);
    let segs = split(path);
    spec()
        .operations
        .iter()
        .filter(|op| op.method.eq_ignore_ascii_case(method) && op.segments.len() == segs.len())
        .filter_map(|op| {
            let mut literals = 0;
            for (t, s) in op.segments.iter().zip(&segs) {
                if t.starts_with('{') && t.ends_with('}') {
                    continue;
                }
                if t != s {
                    return None;
                }
                literals += 1;
            }
            Some((literals, op))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, op)| op)
}

/// Rewrites a schema the way the spec's README asks: every `oneOf` becomes `anyOf`, and every
/// schema that allows an integer also allows a string holding an integer.
pub fn loosen(schema: &mut Value) {
    match schema {
        Value::Array(items) => items.iter_mut().for_each(loosen),
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    // Maps from names to schemas.
                    "properties" | "patternProperties" | "$defs" | "definitions"
                    | "dependentSchemas" => {
                        if let Some(m) = child.as_object_mut() {
                            m.values_mut().for_each(loosen);
                        }
                    }
                    // Literal values, not schemas.
                    "enum" | "const" | "default" | "examples" | "example" | "required" => {}
                    _ => loosen(child),
                }
            }
            if let Some(one_of) = map.remove("oneOf") {
                if let Some(any_of) = map.remove("anyOf") {
                    let all_of = map.entry("allOf").or_insert_with(|| json!([]));
                    if let Some(list) = all_of.as_array_mut() {
                        list.push(json!({ "anyOf": one_of }));
                        list.push(json!({ "anyOf": any_of }));
                    }
                } else {
                    map.insert("anyOf".into(), one_of);
                }
            }
            if allows_integer(map.get("type")) {
                let mut alternative = Map::new();
                alternative.insert("type".into(), json!("string"));
                alternative.insert("pattern".into(), json!("^-?[0-9]+$"));
                if let Some(Value::Array(values)) = map.get("enum") {
                    let strings: Vec<Value> = values
                        .iter()
                        .filter(|v| v.is_i64() || v.is_u64())
                        .map(|v| Value::String(v.to_string()))
                        .collect();
                    alternative.insert("enum".into(), Value::Array(strings));
                }
                if let Some(c) = map.get("const").filter(|c| c.is_i64() || c.is_u64()) {
                    alternative.insert("const".into(), Value::String(c.to_string()));
                }
                let original = Value::Object(std::mem::take(map));
                map.insert("anyOf".into(), json!([original, alternative]));
            }
        }
        _ => {}
    }
}

fn allows_integer(ty: Option<&Value>) -> bool {
    match ty {
        Some(Value::String(s)) => s == "integer",
        Some(Value::Array(list)) => list.iter().any(|t| t == "integer"),
        _ => false,
    }
}

type Cache = Mutex<HashMap<(String, String), Option<Arc<Validator>>>>;

fn validators() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The compiled validator for an operation's JSON request body (`None` if the operation has
/// no JSON body). Compiled once per process and cached.
fn validator(op: &'static Operation) -> Option<Arc<Validator>> {
    let key = (op.method.clone(), op.template.clone());
    if let Some(v) = validators().lock().expect("validator cache").get(&key) {
        return v.clone();
    }
    let compiled = op.body_schema.as_ref().map(|schema| {
        let mut schema = schema.clone();
        loosen(&mut schema);
        let mut root = match schema {
            Value::Object(map) => map,
            other => {
                let mut m = Map::new();
                m.insert("allOf".into(), json!([other]));
                m
            }
        };
        root.insert("components".into(), spec().components.clone());
        let root = Value::Object(root);
        Arc::new(
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .build(&root)
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot compile schema for {} {}: {e}",
                        op.method, op.template
                    )
                }),
        )
    });
    validators()
        .lock()
        .expect("validator cache")
        .insert(key, compiled.clone());
    compiled
}

/// Validates a JSON request body for `method path` (path without `/api/v10`, query allowed).
/// Returns human-readable problems: spec errors and documented-limit breaches.
/// An operation the spec does not know is reported as a problem too.
pub fn validate_request(method: &str, path: &str, body: &Value) -> Vec<String> {
    let Some(op) = find_operation(method, path) else {
        return vec![format!(
            "{method} {path}: no such operation in the OpenAPI spec"
        )];
    };
    let mut problems = Vec::new();
    match validator(op) {
        Some(v) => {
            for err in v.iter_errors(body).take(8) {
                problems.push(format!(
                    "{method} {}: spec: at '{}': {err}",
                    op.template, err.instance_path
                ));
            }
        }
        None if !body.is_null() => problems.push(format!(
            "{method} {}: the spec defines no JSON body, but one was sent",
            op.template
        )),
        None => {}
    }
    for p in super::limits::check(&op.template, body) {
        problems.push(format!("{method} {}: limit: {p}", op.template));
    }
    problems
}

/// Compiles every validator the fake uses (once per process; concurrent callers wait for the
/// first).
pub fn warm_up() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        for (method, path) in [
            ("POST", "/channels/1/messages"),
            ("PATCH", "/channels/1/messages/2"),
            ("POST", "/channels/1/messages/2/threads"),
            ("POST", "/interactions/1/tok/callback"),
            ("PUT", "/applications/1/commands"),
            ("PUT", "/applications/1/guilds/2/commands"),
            ("POST", "/webhooks/1/tok"),
            ("PATCH", "/webhooks/1/tok/messages/@original"),
        ] {
            if let Some(op) = find_operation(method, path) {
                let _ = validator(op);
            }
        }
    });
}
