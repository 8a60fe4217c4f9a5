//! The gateway door: serenity's `Client` receives interactions and sends the handler's
//! response through the REST callback. No logic lives here.

use serenity::all::{
    Client, Context, EventHandler, GatewayIntents, GuildId, Http, HttpBuilder, Interaction, Ready,
};
use serenity::async_trait;
use tracing::{info, warn};

use super::commands::Command;
use super::handler::Handler;
use super::request::Request;
use crate::config::DiscordConfig;

/// Discord's own API base; anything else is a proxy (or the fake Discord in tests).
pub const DISCORD: &str = "https://discord.com";

/// serenity's HTTP client, pointed at `api_base`. Behind a proxy serenity's rate limiter must
/// be off (it only rewrites URLs then), so 429s there are left to the caller.
pub fn http(config: &DiscordConfig) -> Http {
    let builder =
        HttpBuilder::new(config.token.expose()).application_id(config.application_id.into());
    if config.api_base == DISCORD {
        builder.build()
    } else {
        builder
            .proxy(&config.api_base)
            .ratelimiter_disabled(true)
            .build()
    }
}

/// Registers the slash commands in the served guild.
pub async fn register_commands(http: &Http, guild: u64) -> Result<(), serenity::Error> {
    let commands = Command::registrations();
    GuildId::new(guild).set_commands(http, commands).await?;
    info!(guild = %guild, "Registered the slash commands in the guild");
    Ok(())
}

struct Door {
    handler: Handler,
}

#[async_trait]
impl EventHandler for Door {
    async fn ready(&self, _: Context, ready: Ready) {
        info!(user = %ready.user.name, "Connected to the Discord gateway");
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let request = Request::from(interaction);
        let reply = self.handler.handle(&request).await;
        if reply.replay {
            return;
        }
        let (Some(id), Some(token)) = (request.id(), request.token()) else {
            return;
        };
        if let Err(cause) = ctx
            .http
            .create_interaction_response(id, token, &reply.response, reply.files)
            .await
        {
            warn!(
                interaction_id = %id,
                "Cannot answer the interaction: {cause}"
            );
        }
    }
}

/// A gateway client that serves interactions once started.
pub async fn client(config: &DiscordConfig, handler: Handler) -> Result<Client, serenity::Error> {
    serenity::all::ClientBuilder::new_with_http(http(config), GatewayIntents::empty())
        .event_handler(Door { handler })
        .await
}
