//! Every fixture deserializes into serenity's `Interaction` as the intended kind.

use serde_json::json;
use serenity::model::application::{CommandDataOptionValue, Interaction};

use crate::support::fixtures::{self, Member};

fn parse(v: serde_json::Value) -> Interaction {
    serde_json::from_value(v).expect("interaction")
}

#[test]
fn fake_fixtures_deserialize_into_serenity() {
    let carol = Member::new(503, "carol", &[601, 602]);
    let Interaction::Command(cmd) = parse(fixtures::slash_command(
        1,
        &carol,
        900,
        800,
        "release",
        Some("plan"),
        vec![
            ("version", json!("1.4.0")),
            ("type", json!("minor")),
            ("days", json!(7)),
        ],
    )) else {
        panic!("not a command")
    };
    assert_eq!(cmd.data.name, "release");
    assert_eq!(cmd.data.options[0].name, "plan");
    let CommandDataOptionValue::SubCommand(opts) = &cmd.data.options[0].value else {
        panic!("no subcommand")
    };
    assert_eq!(opts[0].value.as_str(), Some("1.4.0"));
    assert_eq!(opts[2].value.as_i64(), Some(7));
    let member = cmd.member.as_ref().expect("member");
    assert_eq!(member.roles.len(), 2);
    assert_eq!(cmd.guild_id.map(serenity::all::GuildId::get), Some(800));
    assert_eq!(cmd.token, "token-1");

    let Interaction::Component(click) =
        parse(fixtures::button(2, &carol, 900, 800, 700, "v1:go:1"))
    else {
        panic!("not a component")
    };
    assert_eq!(click.message.id.get(), 700);

    let Interaction::Modal(modal) = parse(fixtures::modal_submit(
        3,
        &carol,
        900,
        800,
        "v1:nogo:1",
        vec![("reason", "flaky")],
    )) else {
        panic!("not a modal")
    };
    assert_eq!(modal.data.custom_id, "v1:nogo:1");
    assert!(matches!(parse(fixtures::ping()), Interaction::Ping(_)));
}
