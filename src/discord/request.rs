//! An interaction as the handler reads it, from either door: a command or a modal whole, and of
//! a click only who clicked what, never the message it was on, which gonogo does not read.

use serde::{Deserialize, Serialize};
use serenity::all::{
    CommandInteraction, ComponentInteractionDataKind, ComponentType, GuildId, Interaction,
    InteractionId, InteractionType, Member, ModalInteraction, User,
};

/// An interaction the handler answers.
#[derive(Debug)]
pub enum Request {
    Ping,
    Command(Box<CommandInteraction>),
    Click(Box<Click>),
    Modal(Box<ModalInteraction>),
    Unsupported(Unsupported),
}

/// An interaction of a kind gonogo does not serve, such as autocomplete: enough of it to
/// refuse it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Unsupported {
    pub id: InteractionId,
    pub token: String,
    pub guild_id: Option<GuildId>,
}

/// A click on a card's button or menu. A click also carries the whole message it was on, card
/// and buttons included; the HTTP door skips it unread, as deserializing it was a tenth of a
/// vote's cost.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Click {
    pub id: InteractionId,
    pub token: String,
    pub guild_id: Option<GuildId>,
    /// Who clicked, in a server; outside one Discord sends `user` instead.
    pub member: Option<Member>,
    pub user: Option<User>,
    pub data: ClickData,
}

/// Which component was clicked, and a menu's chosen values.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ClickData {
    pub custom_id: String,
    pub component_type: ComponentType,
    #[serde(default)]
    pub values: Vec<String>,
}

impl Click {
    /// The clicking user's id, from the member in a server or the user outside one.
    pub fn user_id(&self) -> u64 {
        self.member
            .as_ref()
            .map(|member| &member.user)
            .or(self.user.as_ref())
            .map_or(0, |user| user.id.get())
    }

    /// A string menu's chosen values; `None` for any other component.
    pub fn selected(&self) -> Option<&[String]> {
        (self.data.component_type == ComponentType::StringSelect).then_some(&self.data.values)
    }
}

impl Request {
    /// Parses a body the HTTP door received straight into the type of its kind. Going through
    /// serenity's `Interaction` would first build a JSON tree of the whole body.
    pub fn parse(body: &[u8]) -> serde_json::Result<Request> {
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: InteractionType,
        }
        use serde_json::from_slice as json;
        match json::<Kind>(body)?.kind {
            InteractionType::Ping => Ok(Request::Ping),
            InteractionType::Command => json(body).map(Request::Command),
            InteractionType::Component => json::<Box<Click>>(body).map(|mut click| {
                // As serenity does: a member sent inside an interaction omits its server.
                if let (Some(guild), Some(member)) = (click.guild_id, click.member.as_mut()) {
                    member.guild_id = guild;
                }
                Request::Click(click)
            }),
            InteractionType::Modal => json(body).map(Request::Modal),
            InteractionType::Autocomplete => json(body).map(Request::Unsupported),
            unknown => Err(serde::de::Error::custom(format_args!(
                "unknown interaction type {}",
                u8::from(unknown)
            ))),
        }
    }

    /// The interaction's id; `None` for a ping.
    pub fn id(&self) -> Option<InteractionId> {
        match self {
            Request::Ping => None,
            Request::Command(c) => Some(c.id),
            Request::Click(c) => Some(c.id),
            Request::Modal(m) => Some(m.id),
            Request::Unsupported(u) => Some(u.id),
        }
    }

    /// The token its response is sent with; `None` for a ping.
    pub fn token(&self) -> Option<&str> {
        match self {
            Request::Ping => None,
            Request::Command(c) => Some(&c.token),
            Request::Click(c) => Some(&c.token),
            Request::Modal(m) => Some(&m.token),
            Request::Unsupported(u) => Some(&u.token),
        }
    }

    /// The server it came from; `None` for a direct message.
    pub fn guild_id(&self) -> Option<GuildId> {
        match self {
            Request::Ping => None,
            Request::Command(c) => c.guild_id,
            Request::Click(c) => c.guild_id,
            Request::Modal(m) => m.guild_id,
            Request::Unsupported(u) => u.guild_id,
        }
    }

    /// The clicking or typing user's id; 0 for a ping.
    pub fn user_id(&self) -> u64 {
        match self {
            Request::Command(c) => c.user.id.get(),
            Request::Click(c) => c.user_id(),
            Request::Modal(m) => m.user.id.get(),
            Request::Ping | Request::Unsupported(_) => 0,
        }
    }
}

/// What the gateway door received, which serenity has already parsed whole.
impl From<Interaction> for Request {
    fn from(interaction: Interaction) -> Request {
        match interaction {
            Interaction::Command(c) => Request::Command(Box::new(c)),
            Interaction::Component(c) => {
                let (component_type, values) = match c.data.kind {
                    ComponentInteractionDataKind::StringSelect { values } => {
                        (ComponentType::StringSelect, values)
                    }
                    ComponentInteractionDataKind::Button => (ComponentType::Button, Vec::new()),
                    // Other menus are not on gonogo's cards; their values do not matter.
                    _ => (ComponentType::Unknown(0), Vec::new()),
                };
                Request::Click(Box::new(Click {
                    id: c.id,
                    token: c.token,
                    guild_id: c.guild_id,
                    // serenity copies the member's user here; Discord sends one or the other.
                    user: c.member.is_none().then_some(c.user),
                    member: c.member,
                    data: ClickData {
                        custom_id: c.data.custom_id,
                        component_type,
                        values,
                    },
                }))
            }
            Interaction::Modal(m) => Request::Modal(Box::new(m)),
            Interaction::Autocomplete(a) => Request::Unsupported(Unsupported {
                id: a.id,
                token: a.token,
                guild_id: a.guild_id,
            }),
            // The gateway sends no pings, and Discord has no other kind today.
            _ => Request::Ping,
        }
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
