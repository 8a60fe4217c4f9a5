//! What the HTTP door reads of a click, and what it leaves unread.

use serde_json::json;

use super::*;

fn click(message: &serde_json::Value) -> serde_json::Value {
    json!({
        "type": 3,
        "id": "1100",
        "application_id": "1200",
        "token": "a-token",
        "version": 1,
        "guild_id": "1300",
        "channel_id": "1400",
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 8_388_608,
        "member": {
            "user": { "id": "1500", "username": "lee", "discriminator": "0", "global_name": null, "avatar": null },
            "roles": ["1600"],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "deaf": false,
            "mute": false,
            "flags": 0,
        },
        "data": { "custom_id": "gng1:tick:1:0", "component_type": 3, "values": ["0", "2"] },
        "message": message,
    })
}

#[test]
fn a_click_is_read_without_the_message_it_was_on() {
    // Not a message serenity could read: the door must not be reading it.
    let body = serde_json::to_vec(&click(&json!({ "id": "1700" }))).unwrap();
    assert!(serde_json::from_slice::<Interaction>(&body).is_err());
    let Ok(Request::Click(click)) = Request::parse(&body) else {
        panic!("a click");
    };
    assert_eq!(click.id.get(), 1100);
    assert_eq!(click.token, "a-token");
    assert_eq!(click.guild_id.map(GuildId::get), Some(1300));
    assert_eq!(click.user_id(), 1500, "the member clicked");
    assert_eq!(click.data.custom_id, "gng1:tick:1:0");
    assert_eq!(
        click.selected(),
        Some(&["0".to_owned(), "2".to_owned()][..])
    );
}

#[test]
fn a_button_has_no_selection_and_a_click_outside_a_server_names_its_user() {
    let mut body = click(&json!({}));
    body["data"] = json!({ "custom_id": "gng1:go:1", "component_type": 2 });
    body.as_object_mut().unwrap().remove("member");
    body.as_object_mut().unwrap().remove("guild_id");
    body["user"] = json!({ "id": "1800", "username": "dee", "discriminator": "0", "global_name": null, "avatar": null });
    let Ok(Request::Click(click)) = Request::parse(&serde_json::to_vec(&body).unwrap()) else {
        panic!("a click");
    };
    assert_eq!(click.selected(), None);
    assert_eq!(click.user_id(), 1800);
    assert_eq!(click.guild_id, None);
}
