//! Every template rendered with sample data: snapshots of the text, and Discord's limits.

use super::limits::*;
use super::samples::{card, for_template};
use super::{Messages, TEMPLATES};

#[test]
fn every_template_renders_its_samples_within_discords_limits() {
    Messages::embedded().check_samples().unwrap();
}

#[test]
fn snapshots_of_every_message() {
    let messages = Messages::embedded();
    for (name, _) in TEMPLATES {
        if matches!(
            *name,
            "release_card" | "nogo_modal" | "halt_modal" | "rollback_modal"
        ) {
            continue;
        }
        for (label, ctx) in for_template(name) {
            if label == "longest" || label == "ten" {
                continue;
            }
            let text = messages.render(name, &ctx).unwrap();
            insta::assert_snapshot!(format!("{name}__{}", label.replace(' ', "_")), text);
        }
    }
}

#[test]
fn snapshots_of_the_card_blocks() {
    let messages = Messages::embedded();
    for (label, ctx) in for_template("release_card") {
        if label == "longest" {
            continue;
        }
        let blocks: Vec<String> = [
            "title",
            "description",
            "status",
            "approvals",
            "votes",
            "checklist",
            "contract",
            "footer",
        ]
        .into_iter()
        .map(|block| {
            format!(
                "## {block}\n{}",
                messages.render_block("release_card", block, &ctx).unwrap()
            )
        })
        .collect();
        insta::assert_snapshot!(format!("release_card__{label}"), blocks.join("\n"));
    }
}

#[test]
fn the_longest_card_fits_an_embed() {
    for state in ["rejected", "rolled_back"] {
        the_longest_card_fits_an_embed_when(state);
    }
}

fn the_longest_card_fits_an_embed_when(state: &str) {
    let messages = Messages::embedded();
    let ctx = card(state, 40, true);
    let block = |name: &str| messages.render_block("release_card", name, &ctx).unwrap();
    let len = |text: &str| text.chars().count();
    let (title, description, footer) = (block("title"), block("description"), block("footer"));
    assert!(len(&title) <= EMBED_TITLE, "title is {}", len(&title));
    assert!(
        len(&description) <= EMBED_DESCRIPTION,
        "description is {}",
        len(&description)
    );
    assert!(len(&footer) <= FOOTER);
    let mut total = len(&title) + len(&description) + len(&footer);
    for (field, name) in [
        ("status", "Status"),
        ("approvals", "Approvals"),
        ("votes", "Votes"),
        ("checklist", "Checklist"),
        ("contract", "Rollback contract"),
    ] {
        let value = block(field);
        assert!(
            len(&value) <= FIELD_VALUE,
            "field {field} is {} characters",
            len(&value)
        );
        total += len(&value) + name.len();
    }
    assert!(total <= EMBED_TOTAL, "the embed is {total} characters");
    assert!(block("votes").contains("…and 30 earlier voters"));
}

#[test]
fn the_modal_and_thread_name_fit() {
    let messages = Messages::embedded();
    let ctx = &for_template("nogo_modal")[0].1;
    for modal in ["nogo_modal", "halt_modal", "rollback_modal"] {
        let block = |name| {
            messages
                .render_block(modal, name, ctx)
                .unwrap()
                .chars()
                .count()
        };
        assert!(block("title") <= MODAL_TITLE, "{modal}");
        assert!(block("label") <= INPUT_LABEL, "{modal}");
        assert!(block("placeholder") <= 100, "{modal}");
    }
    assert!(messages.render("thread_name", ctx).unwrap().chars().count() <= THREAD_NAME);
}

#[test]
fn a_template_from_messages_dir_overrides_the_embedded_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vote_unchanged.md"),
        "Same as before: {{ version }}",
    )
    .unwrap();
    let messages = Messages::load(Some(dir.path())).unwrap();
    let text = messages
        .render(
            "vote_unchanged",
            serde_json::json!({ "version": "1.4.0", "choice": "go" }),
        )
        .unwrap();
    assert_eq!(text, "Same as before: 1.4.0");
}

#[test]
fn a_broken_override_is_reported_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list.md"), "{% if %}").unwrap();
    let error = Messages::load(Some(dir.path())).unwrap_err();
    assert!(format!("{error:#}").contains("`list`"), "{error:#}");
}

#[test]
fn user_text_is_made_inert_for_markdown() {
    use crate::messages::escape_markdown;
    assert_eq!(escape_markdown("plain words, 1.4"), "plain words, 1.4");
    assert_eq!(escape_markdown("**bold** _i_"), "\\*\\*bold\\*\\* \\_i\\_");
    assert_eq!(escape_markdown("a\nb\r\nc"), "a b  c");
    assert_eq!(
        escape_markdown("[x](https://e.example/a_b) see http://f.example/*"),
        "\\[x\\]\\(https://e.example/a_b) see http://f.example/*"
    );
    assert_eq!(
        escape_markdown("<@&1> @here \\"),
        "\\<\\@&1\\> \\@here \\\\"
    );
    assert_eq!(escape_markdown("Jean-Luc é"), "Jean\\-Luc é");
}
