//! Reading `[[checklist]]`, the pre-release checklist's sections, and the sections each
//! `[policy.<type>]` requires.

use figment::value::Value;

use super::reader::{Problems, Table};
use super::values::string;
use crate::domain::checklist::{Item, Section, MAX_ITEMS, MAX_SECTIONS};

/// Discord shows at most 100 characters of a select option's label.
const MAX_LABEL: usize = 100;

/// The sections of `[[checklist]]`, each named once; none when it is unset.
pub(super) fn sections(root: &Table, p: &mut Problems) -> Option<Vec<Section>> {
    let Some(entries) = root.list("checklist", p) else {
        return root.get("checklist").is_none().then(Vec::new);
    };
    let mut sections: Option<Vec<Section>> = Some(Vec::new());
    let mut names: Vec<String> = Vec::new();
    for (key, entry) in entries {
        let t = Table::new(&key, Some(entry), p);
        let name = t.required(
            "section",
            "name the section, like \"Code & Testing\"",
            p,
            label,
        );
        let items = section_items(&t, p);
        if let Some(name) = &name {
            if names.contains(name) {
                p.add(
                    t.key("section"),
                    "another [[checklist]] has this section name",
                );
            }
            names.push(name.clone());
        }
        match (name, items, sections.as_mut()) {
            (Some(name), Some(items), Some(list)) => list.push(Section { name, items }),
            _ => sections = None,
        }
    }
    sections
}

fn section_items(t: &Table, p: &mut Problems) -> Option<Vec<Item>> {
    let Some(entries) = t.list("items", p) else {
        if t.get("items").is_none() {
            p.add(t.key("items"), "missing: list the section's items");
        }
        return None;
    };
    if entries.is_empty() || entries.len() > MAX_ITEMS {
        p.add(
            t.key("items"),
            format!("a section has 1 to {MAX_ITEMS} items, as one Discord select menu lists"),
        );
        return None;
    }
    let mut items = Some(Vec::new());
    for (key, entry) in entries {
        match (item(&key, entry, p), items.as_mut()) {
            (Some(item), Some(list)) => list.push(item),
            _ => items = None,
        }
    }
    items
}

/// An item: its text, or `{ item = "…", by = "pipeline" }` for one only a pipeline may tick.
fn item(key: &str, entry: &Value, p: &mut Problems) -> Option<Item> {
    if !matches!(entry, Value::Dict(..)) {
        return p.check(key, label(entry)).map(Item::by_people);
    }
    let t = Table::new(key, Some(entry), p);
    let name = t.required(
        "item",
        "write the item's text, like \"All tests passing in CI\"",
        p,
        label,
    );
    let by_pipeline = t.or("by", false, p, |v| match string(v)?.trim() {
        "pipeline" => Ok(true),
        "people" => Ok(false),
        other => Err(format!(
            "`{other}` is not who ticks it; write \"pipeline\" for an item only the pipeline door may tick, or leave it out"
        )),
    });
    Some(Item {
        name: name?,
        by_pipeline: by_pipeline?,
    })
}

/// A section or item name: 1 to 100 characters, as a select option's label.
fn label(value: &Value) -> Result<String, String> {
    let text = string(value)?.trim().to_owned();
    let length = text.chars().count();
    if length == 0 || length > MAX_LABEL {
        return Err(format!("must be 1 to {MAX_LABEL} characters"));
    }
    Ok(text)
}

/// `[policy.<type>] checklist`: section names of `[[checklist]]`, at most four.
pub(super) fn required(
    t: &Table,
    sections: Option<&[Section]>,
    p: &mut Problems,
) -> Option<Vec<String>> {
    let Some(entries) = t.list("checklist", p) else {
        return t.get("checklist").is_none().then(Vec::new);
    };
    if entries.len() > MAX_SECTIONS {
        p.add(
            t.key("checklist"),
            format!("a type requires at most {MAX_SECTIONS} sections: the card fits four menus"),
        );
        return None;
    }
    let mut names = Some(Vec::new());
    for (key, entry) in entries {
        let name = p.check(&key, string(entry));
        let known = match (&name, sections) {
            (Some(name), Some(sections)) => sections.iter().any(|s| &s.name == name),
            // Unreadable sections are reported where they are.
            _ => true,
        };
        if !known {
            p.add(&key, "no [[checklist]] section has this name");
        }
        match (name, names.as_mut()) {
            (Some(name), Some(list)) if known => list.push(name),
            _ => names = None,
        }
    }
    names
}
