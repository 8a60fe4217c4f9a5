//! The one interaction handler behind both doors: interaction in, response out.

use serde_json::json;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, CreateInteractionResponse,
    Interaction, Member, ModalInteraction,
};
use tracing::{error, info_span, Instrument as _};

use super::commands::Command;
use super::custom_id::{ComponentAction, REASON_INPUT};
use super::replies::{ephemeral, no_go_modal, user_error};
use crate::domain::{Choice, PlanRequest, RoleId, UserId};
use crate::service::{Actor, Answer, Service, UserError};

/// What to send back, and whether it answers a replay (which the gateway must not send again).
pub struct Reply {
    pub response: CreateInteractionResponse,
    pub replay: bool,
}

/// Turns interactions into service calls and their answers into responses.
#[derive(Clone)]
pub struct Handler {
    service: Service,
}

impl Handler {
    pub fn new(service: Service) -> Handler {
        Handler { service }
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    pub async fn handle(&self, interaction: &Interaction) -> Reply {
        let (id, user) = match interaction {
            Interaction::Command(c) => (c.id.get(), c.user.id.get()),
            Interaction::Component(c) => (c.id.get(), c.user.id.get()),
            Interaction::Modal(m) => (m.id.get(), m.user.id.get()),
            _ => (0, 0),
        };
        let span = info_span!("interaction", interaction_id = id, user_id = user);
        self.dispatch(interaction).instrument(span).await
    }

    async fn dispatch(&self, interaction: &Interaction) -> Reply {
        let result = match interaction {
            Interaction::Ping(_) => return reply(CreateInteractionResponse::Pong),
            Interaction::Command(command) => self.command(command).await,
            Interaction::Component(component) => self.component(component).await,
            Interaction::Modal(modal) => self.modal(modal).await,
            _ => Ok(Err(UserError::InvalidInput(
                "this kind of interaction is not supported".to_owned(),
            ))),
        };
        match result.and_then(|answer| self.finish(answer)) {
            Ok(reply) => reply,
            Err(cause) => self.internal_error(&cause),
        }
    }

    fn finish(
        &self,
        answer: Result<CreateInteractionResponse, UserError>,
    ) -> anyhow::Result<Reply> {
        match answer {
            Ok(response) => Ok(reply(response)),
            Err(error) => {
                let replay = error == UserError::AlreadyHandled;
                let text = user_error(&self.service.messages, &error)?;
                Ok(Reply {
                    response: ephemeral(text),
                    replay,
                })
            }
        }
    }

    fn internal_error(&self, cause: &anyhow::Error) -> Reply {
        let error_id = format!("{:08x}", rand::random::<u32>());
        error!(error_id, "Interaction failed: {cause:#}");
        let text = self
            .service
            .messages
            .render("internal_error", json!({ "error_id": error_id }))
            .unwrap_or_else(|_| format!("Something went wrong (error id {error_id})."));
        reply(ephemeral(text))
    }

    async fn command(&self, command: &CommandInteraction) -> Answer<CreateInteractionResponse> {
        let Some(actor) = self.actor(command.member.as_deref(), command.user.id.get()) else {
            return Ok(Err(outside_guild()));
        };
        let parsed = match Command::parse(command) {
            Ok(parsed) => parsed,
            Err(problem) => return Ok(Err(UserError::InvalidInput(problem))),
        };
        let id = command.id.get();
        let messages = &self.service.messages;
        Ok(match parsed {
            Command::Plan {
                version,
                kind,
                summary,
                changelog,
                environment,
            } => {
                let request = match PlanRequest::parse(
                    &version,
                    &kind,
                    &summary,
                    changelog.as_deref(),
                    environment.as_deref(),
                ) {
                    Ok(request) => request,
                    Err(problem) => return Ok(Err(UserError::InvalidInput(problem))),
                };
                match self.service.plan(id, &actor, request).await? {
                    Ok(stored) => {
                        let release = &stored.release;
                        let policy = self.service.config.policies.get(release.kind);
                        let needed: Vec<String> = policy
                            .approvers
                            .iter()
                            .map(|s| format!("{} × {}", s.count, s.role))
                            .collect();
                        Ok(ephemeral(messages.render(
                            "plan_confirmed",
                            json!({
                                "version": release.version.to_string(),
                                "kind": release.kind.as_str(),
                                "environment": release.environment,
                                "channel": stored.card_channel_id.to_string(),
                                "needed": needed.join(" and "),
                            }),
                        )?))
                    }
                    Err(e) => Err(e),
                }
            }
            Command::Status {
                version,
                environment,
            } => match self
                .service
                .status(version.as_deref(), environment.as_deref())
                .await?
            {
                Ok(view) => Ok(ephemeral(messages.render("status", &view)?)),
                Err(e) => Err(e),
            },
            Command::List => {
                let releases = self.service.list().await?;
                let rows: Vec<_> = releases
                    .iter()
                    .map(|s| {
                        json!({
                            "version": s.release.version.to_string(),
                            "kind": s.release.kind.as_str(),
                            "environment": s.release.environment,
                            "state": s.release.state.as_str(),
                        })
                    })
                    .collect();
                Ok(ephemeral(
                    messages.render("list", json!({ "releases": rows }))?,
                ))
            }
            Command::Cancel {
                version,
                reason,
                environment,
            } => {
                match self
                    .service
                    .cancel(id, &actor, &version, environment.as_deref(), reason)
                    .await?
                {
                    Ok(release) => Ok(ephemeral(messages.render(
                        "cancel_confirmed",
                        json!({ "version": release.version.to_string() }),
                    )?)),
                    Err(e) => Err(e),
                }
            }
        })
    }

    async fn component(
        &self,
        component: &ComponentInteraction,
    ) -> Answer<CreateInteractionResponse> {
        let Some(actor) = self.actor(component.member.as_ref(), component.user.id.get()) else {
            return Ok(Err(outside_guild()));
        };
        match ComponentAction::parse(&component.data.custom_id) {
            Some(ComponentAction::Go(release)) => {
                self.vote(component.id.get(), &actor, release, Choice::Go, None)
                    .await
            }
            Some(ComponentAction::NoGo(release)) => match self
                .service
                .check_vote(&actor, release, Choice::NoGo)
                .await?
            {
                Ok(current) => Ok(Ok(no_go_modal(
                    &self.service.messages,
                    release,
                    &current.version.to_string(),
                )?)),
                Err(e) => Ok(Err(e)),
            },
            Some(ComponentAction::NoGoReason(_)) | None => Ok(Err(UserError::StaleCard)),
        }
    }

    async fn modal(&self, modal: &ModalInteraction) -> Answer<CreateInteractionResponse> {
        let Some(actor) = self.actor(modal.member.as_ref(), modal.user.id.get()) else {
            return Ok(Err(outside_guild()));
        };
        let Some(ComponentAction::NoGoReason(release)) =
            ComponentAction::parse(&modal.data.custom_id)
        else {
            return Ok(Err(UserError::StaleCard));
        };
        let reason = modal
            .data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .find_map(|c| match c {
                ActionRowComponent::InputText(input) if input.custom_id == REASON_INPUT => {
                    input.value.clone()
                }
                _ => None,
            });
        self.vote(modal.id.get(), &actor, release, Choice::NoGo, reason)
            .await
    }

    async fn vote(
        &self,
        interaction: u64,
        actor: &Actor,
        release: crate::domain::ReleaseId,
        choice: Choice,
        reason: Option<String>,
    ) -> Answer<CreateInteractionResponse> {
        let result = match self
            .service
            .vote(interaction, actor, release, choice, reason)
            .await?
        {
            Ok(result) => result,
            Err(e) => return Ok(Err(e)),
        };
        let template = if result.changed {
            "vote_recorded"
        } else {
            "vote_unchanged"
        };
        let text = self.service.messages.render(
            template,
            json!({
                "choice": choice.as_str(),
                "version": result.release.version.to_string(),
                "state": result.release.state.as_str(),
            }),
        )?;
        Ok(Ok(ephemeral(text)))
    }

    /// The acting member with the policy roles their Discord roles map to.
    fn actor(&self, member: Option<&Member>, user: u64) -> Option<Actor> {
        let member = member?;
        let discord_roles: Vec<RoleId> = member.roles.iter().map(|r| RoleId(r.get())).collect();
        Some(Actor {
            id: UserId(user),
            name: member.display_name().to_owned(),
            roles: self.service.config.roles.roles_of(&discord_roles),
        })
    }
}

fn reply(response: CreateInteractionResponse) -> Reply {
    Reply {
        response,
        replay: false,
    }
}

fn outside_guild() -> UserError {
    UserError::InvalidInput("gonogo works inside its server, not in direct messages".to_owned())
}
