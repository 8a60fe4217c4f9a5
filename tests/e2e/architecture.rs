//! The layout's rules, read from the source: only the service (and `main` and `app`, for the
//! admin subcommands and the wiring) names the store, and no module imports one that imports
//! it back. A module and its own submodules are one unit here: a parent declares its children.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of `src`, by path (`service::ports::outbox`), with its source minus its tests.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&root).ok()?.with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            let name = parts.last()?.clone();
            if name.ends_with("tests") {
                return None;
            }
            if matches!(name.as_str(), "mod" | "lib") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&file).ok()?;
            Some((parts.join("::"), without_tests(&text)))
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The source up to its inline test module; a `#[cfg(test)] mod x;` line is skipped.
fn without_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let item = lines.by_ref().find(|l| !l.trim().starts_with("#["));
            if item.is_some_and(|l| l.contains('{')) {
                break;
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Every path the source names that starts at `crate` or `super`, with the items of a
/// `{…}` group each as a path of its own.
fn paths(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let starts = (rest.starts_with(b"crate::") || rest.starts_with(b"super::"))
            && (i == 0 || !is_ident(bytes[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && (is_ident(bytes[end]) || bytes[end..].starts_with(b"::")) {
            end += if bytes[end] == b':' { 2 } else { 1 };
        }
        // Paths are ASCII, so these byte positions are character boundaries.
        let path = text[i..end].trim_end_matches("::").to_owned();
        if bytes.get(end) == Some(&b'{') {
            let close = bytes[end..]
                .iter()
                .position(|&b| b == b'}')
                .map_or(bytes.len(), |c| end + c);
            for item in text[end + 1..close].split(',') {
                let first = item.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty() && first != "self" && first.bytes().all(is_ident) {
                    found.push(format!("{path}::{first}"));
                }
            }
        }
        found.push(path);
        i = end.max(i + 1);
    }
    found
}

/// The module `path` names, seen from module `from`: its longest prefix that is a module.
fn resolve(modules: &BTreeMap<String, String>, from: &str, path: &str) -> Option<String> {
    let mut base: Vec<&str> = Vec::new();
    let mut segments: Vec<&str> = path.split("::").collect();
    if segments.first() == Some(&"crate") {
        segments.remove(0);
    } else {
        base = from.split("::").filter(|s| !s.is_empty()).collect();
        while segments.first() == Some(&"super") {
            segments.remove(0);
            base.pop();
        }
    }
    (0..=segments.len()).rev().find_map(|n| {
        let candidate = base
            .iter()
            .chain(&segments[..n])
            .copied()
            .collect::<Vec<_>>()
            .join("::");
        modules.contains_key(&candidate).then_some(candidate)
    })
}

fn within(inner: &str, outer: &str) -> bool {
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}::"))
}

/// Which modules each module imports, a module's own ancestors and descendants aside.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    modules
        .iter()
        .map(|(name, text)| {
            let targets = paths(text)
                .iter()
                .filter_map(|path| resolve(&modules, name, path))
                .filter(|target| !within(target, name) && !within(name, target))
                .collect();
            (name.clone(), targets)
        })
        .collect()
}

#[test]
fn only_the_service_main_and_app_name_the_store() {
    let naming: Vec<String> = imports()
        .into_iter()
        .filter(|(name, targets)| {
            targets.iter().any(|t| within(t, "store"))
                && !["store", "service"]
                    .iter()
                    .any(|allowed| within(name, allowed))
                && !["app", "main"].contains(&name.as_str())
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        naming.is_empty(),
        "these modules name the store: {naming:?}"
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let imports = imports();
    let top = |name: &str| name.split("::").next().unwrap_or("").to_owned();
    let mut cycles = Vec::new();
    for (name, targets) in &imports {
        for target in targets {
            if name < target && imports.get(target).is_some_and(|back| back.contains(name)) {
                cycles.push(format!("{name} <-> {target}"));
            }
        }
    }
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, targets) in &imports {
        for target in targets.iter().filter(|t| top(t) != top(name)) {
            tops.entry(top(name)).or_default().insert(top(target));
        }
    }
    for (name, targets) in &tops {
        for target in targets {
            if name < target && tops.get(target).is_some_and(|back| back.contains(name)) {
                cycles.push(format!("{name} <-> {target}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:#?}"
    );
    // The rules are read from real imports: the doors do reach the service.
    assert!(
        imports["http"].contains("discord::handler"),
        "{:?}",
        imports["http"]
    );
}
