//! The one interaction handler behind both doors: interaction in, response out.

use serde_json::json;
use serenity::all::{
    ActionRowComponent, CommandInteraction, CreateAttachment, CreateInteractionResponse, GuildId,
    InteractionId, Member, ModalInteraction,
};
use tracing::error;

use super::commands::Command;
use super::custom_id::{ComponentAction, REASON_INPUT, RETRO_INPUTS};
use super::replies::{ephemeral, reason_modal, retro_modal, user_error};
use super::request::{Click, Request};
use crate::domain::lifecycle::retro::Answers;
use crate::domain::release::DEFAULT_ENVIRONMENT;
use crate::domain::{checklist, Choice, PlanRequest, ReleaseId, ReleaseState, RoleId, UserId};
use crate::service::{Actor, Ask, Error, Result, Service, StoredRelease, Target, UserError};

/// What to send back, and whether it answers a replay (which the gateway must not send again).
pub struct Reply {
    pub response: CreateInteractionResponse,
    pub replay: bool,
    /// Files the answer carries, such as the trend chart of `/release stats`: the gateway door
    /// attaches them to its response, the HTTP door sends them as a follow-up.
    pub files: Vec<CreateAttachment>,
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

    /// No tracing span wraps the request: a span's fields are formatted when it opens, for
    /// every click, while only a failure logs anything, and that log names the request itself.
    pub async fn handle(&self, request: &Request) -> Reply {
        let served = Some(GuildId::new(self.service.config().discord.guild_id));
        let mut files = Vec::new();
        let result = match request {
            Request::Ping => Ok(CreateInteractionResponse::Pong),
            // Another server, or a direct message: nothing there is ours to touch.
            _ if request.guild_id() != served => Err(UserError::OutsideGuild.into()),
            Request::Command(command) => self.command(command, &mut files).await,
            Request::Click(click) => self.click(click).await,
            Request::Modal(modal) => self.modal(modal).await,
            Request::Unsupported(_) => Err(UserError::InvalidInput(
                "this kind of interaction is not supported".to_owned(),
            )
            .into()),
        };
        let refusal = match result {
            Ok(response) => {
                return Reply {
                    files,
                    ..reply(response)
                }
            }
            Err(Error::User(refusal)) => refusal,
            Err(Error::Internal(cause)) => return self.internal_error(request, &cause),
        };
        // A replay and a request discarded unwritten leave nothing to record.
        let answered = refusal != UserError::AlreadyHandled && refusal != UserError::TooLate;
        if let Some(id) = request.id().filter(|_| answered) {
            // A refusal is an answer too: its replay must not take effect later.
            if let Err(cause) = self.service.record_handled(id.get()).await {
                return self.internal_error(request, &cause);
            }
        }
        match user_error(self.service.messages(), &refusal) {
            Ok(text) => Reply {
                replay: refusal == UserError::AlreadyHandled,
                ..reply(ephemeral(text))
            },
            Err(cause) => self.internal_error(request, &cause),
        }
    }

    fn internal_error(&self, request: &Request, cause: &anyhow::Error) -> Reply {
        let error_id = format!("{:08x}", rand::random::<u32>());
        let interaction = request.id().map_or(0, InteractionId::get);
        // Snowflakes go out as strings: JSON readers round integers past 2^53.
        error!(
            error_id,
            interaction_id = %interaction,
            user_id = %request.user_id(),
            "Interaction failed: {cause:#}"
        );
        let text = self
            .service
            .messages()
            .render("internal_error", json!({ "error_id": error_id }))
            .unwrap_or_else(|_| format!("Something went wrong (error id {error_id})."));
        reply(ephemeral(text))
    }

    /// A command's answer; `files` gets what the answer carries beside its text.
    async fn command(
        &self,
        command: &CommandInteraction,
        files: &mut Vec<CreateAttachment>,
    ) -> Result<CreateInteractionResponse> {
        let actor = self.actor(command.member.as_deref(), command.user.id.get())?;
        let id = command.id.get();
        match Command::parse(command).map_err(UserError::InvalidInput)? {
            Command::Plan {
                version,
                kind,
                summary,
                changelog,
                environment,
            } => {
                let request = PlanRequest::parse(
                    &version,
                    &kind,
                    &summary,
                    changelog.as_deref(),
                    environment.as_deref(),
                )
                .map_err(UserError::InvalidInput)?;
                self.plan(id, &actor, request).await
            }
            Command::Status {
                version,
                environment,
            } => {
                self.status(version.as_deref(), environment.as_deref())
                    .await
            }
            Command::List => self.list().await,
            Command::Stats { days, environment } => {
                let environment = environment.as_deref().unwrap_or(DEFAULT_ENVIRONMENT);
                let figures = self.service.stats(days, environment).await?;
                files.extend(trend_chart(&figures.weeks));
                Ok(ephemeral(figures.text))
            }
            Command::Notes {
                version,
                environment,
            } => {
                let view = self
                    .service
                    .status(Some(&version), environment.as_deref())
                    .await?;
                Ok(ephemeral(self.service.messages().render("notes", &view)?))
            }
            Command::Cancel {
                version,
                reason,
                environment,
            } => {
                self.cancel(id, &actor, &version, environment.as_deref(), reason)
                    .await
            }
            Command::Deployment {
                version,
                environment,
                ask,
            } => {
                let target = match version {
                    Some(version) => Target::Version {
                        version,
                        environment,
                    },
                    None => Target::Running { environment },
                };
                self.deployment(id, &actor, target, ask).await
            }
        }
    }

    /// `/release plan`.
    async fn plan(
        &self,
        id: u64,
        actor: &Actor,
        request: PlanRequest,
    ) -> Result<CreateInteractionResponse> {
        let stored = self.service.plan(id, actor, request).await?;
        self.planned(&stored)
    }

    /// The answer to a plan, or to a promotion that planned the release in the next
    /// environment.
    fn planned(&self, stored: &StoredRelease) -> Result<CreateInteractionResponse> {
        let release = &stored.release;
        let policy = self.service.config().policies.get(release.kind);
        let needed: Vec<String> = if release.state == ReleaseState::Approved {
            vec![format!(
                "no go/no-go poll in {}: it is approved",
                release.environment
            )]
        } else {
            policy
                .approvers
                .iter()
                .map(|s| format!("{} × {}", s.count, s.role))
                .collect()
        };
        let text = self.service.messages().render(
            "plan_confirmed",
            json!({
                "version": release.version.to_string(),
                "kind": release.kind.as_str(),
                "environment": release.environment,
                "channel": stored.card_channel_id.to_string(),
                "needed": needed.join(" and "),
            }),
        )?;
        Ok(ephemeral(text))
    }

    /// `/release status`.
    async fn status(
        &self,
        version: Option<&str>,
        environment: Option<&str>,
    ) -> Result<CreateInteractionResponse> {
        let view = self.service.status(version, environment).await?;
        Ok(ephemeral(self.service.messages().render("status", &view)?))
    }

    /// `/release list`.
    async fn list(&self) -> Result<CreateInteractionResponse> {
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
        let postmortems: Vec<_> = self
            .service
            .open_postmortems()
            .await?
            .iter()
            .map(|s| {
                json!({
                    "version": s.release.version.to_string(),
                    "environment": s.release.environment,
                })
            })
            .collect();
        let text = self.service.messages().render(
            "list",
            json!({ "releases": rows, "postmortems": postmortems }),
        )?;
        Ok(ephemeral(text))
    }

    /// `/release cancel`.
    async fn cancel(
        &self,
        id: u64,
        actor: &Actor,
        version: &str,
        environment: Option<&str>,
        reason: String,
    ) -> Result<CreateInteractionResponse> {
        let release = self
            .service
            .cancel(id, actor, version, environment, reason)
            .await?;
        let text = self.service.messages().render(
            "cancel_confirmed",
            json!({ "version": release.version.to_string() }),
        )?;
        Ok(ephemeral(text))
    }

    /// `/deploy`, `/rollback`, `/release halt|resume`, and the card's buttons for them.
    async fn deployment(
        &self,
        id: u64,
        actor: &Actor,
        target: Target,
        ask: Ask,
    ) -> Result<CreateInteractionResponse> {
        let name = match &ask {
            Ask::Start => "start",
            Ask::Halt { .. } => "halt",
            Ask::Resume => "resume",
            Ask::Rollback { .. } => "rollback",
            Ask::Report { .. } => "report",
            Ask::Tick { .. } => "tick",
            Ask::Check { .. } => "check",
            Ask::ClaimOnCall => "oncall",
            Ask::Override { .. } => "override",
            Ask::ApproveOverride => "approve",
            Ask::Postmortem { .. } => "postmortem",
            Ask::Retrospective(_) => "retro",
        };
        let release = self.service.deployment(id, actor, target, ask).await?;
        if name == "tick" {
            let open = checklist::open_items(&release).len();
            let text = self.service.messages().render(
                "checklist_answer",
                json!({ "version": release.version.to_string(), "open": open }),
            )?;
            return Ok(ephemeral(text));
        }
        let text = self.service.messages().render(
            "deployment_answer",
            json!({
                "ask": name,
                "version": release.version.to_string(),
                "state": release.state.as_str(),
            }),
        )?;
        Ok(ephemeral(text))
    }

    async fn click(&self, click: &Click) -> Result<CreateInteractionResponse> {
        let actor = self.actor(click.member.as_ref(), click.user_id())?;
        match ComponentAction::parse(&click.data.custom_id) {
            Some(ComponentAction::Go(release)) => {
                self.vote(click.id.get(), &actor, release, Choice::Go, None)
                    .await
            }
            Some(ComponentAction::NoGo(release)) => self.no_go(&actor, release).await,
            Some(ComponentAction::Deploy(release)) => {
                let id = click.id.get();
                self.deployment(id, &actor, Target::Card(release), Ask::Start)
                    .await
            }
            Some(ComponentAction::Resume(release)) => {
                let id = click.id.get();
                self.deployment(id, &actor, Target::Card(release), Ask::Resume)
                    .await
            }
            Some(ComponentAction::Halt(release)) => {
                let submit = ComponentAction::HaltReason(release);
                self.ask_reason("halt_modal", submit, release).await
            }
            Some(ComponentAction::Rollback(release)) => {
                let submit = ComponentAction::RollbackReason(release);
                self.ask_reason("rollback_modal", submit, release).await
            }
            Some(ComponentAction::Report(release)) => {
                // A second report is refused at the click, before anyone types it.
                let version = self.service.check_report(&actor, release).await?;
                let submit = ComponentAction::ReportText(release);
                Ok(reason_modal(
                    self.service.messages(),
                    "report_modal",
                    submit,
                    &version,
                )?)
            }
            Some(ComponentAction::Retro(release)) => {
                let version = self.service.version_of(release).await?;
                Ok(retro_modal(self.service.messages(), release, &version)?)
            }
            Some(ComponentAction::ApproveOverride(release)) => {
                let id = click.id.get();
                self.deployment(id, &actor, Target::Card(release), Ask::ApproveOverride)
                    .await
            }
            Some(ComponentAction::OnCall(release)) => {
                let id = click.id.get();
                self.deployment(id, &actor, Target::Card(release), Ask::ClaimOnCall)
                    .await
            }
            Some(ComponentAction::Promote(release)) => {
                let stored = self
                    .service
                    .promote(click.id.get(), &actor, release)
                    .await?;
                self.planned(&stored)
            }
            Some(ComponentAction::Check(release, section)) => {
                let Some(values) = click.selected() else {
                    return Err(UserError::StaleCard.into());
                };
                let selected = values
                    .iter()
                    .map(|value| value.parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| UserError::StaleCard)?;
                let section = usize::from(section);
                let id = click.id.get();
                self.tick(id, &actor, release, section, selected).await
            }
            Some(
                ComponentAction::NoGoReason(_)
                | ComponentAction::HaltReason(_)
                | ComponentAction::RollbackReason(_)
                | ComponentAction::ReportText(_)
                | ComponentAction::RetroText(_)
                | ComponentAction::Untick(..),
            )
            | None => Err(UserError::StaleCard.into()),
        }
    }

    /// A checklist menu's new selection: ticks go straight in; an untick asks why first.
    async fn tick(
        &self,
        interaction: u64,
        actor: &Actor,
        release: ReleaseId,
        section: usize,
        selected: Vec<usize>,
    ) -> Result<CreateInteractionResponse> {
        let version = self
            .service
            .checklist_unticks(actor, release, (section, &selected))
            .await?;
        if let (Some(version), Ok(section)) = (version, u8::try_from(section)) {
            let mask = selected
                .iter()
                .filter(|&&at| at < 32)
                .fold(0_u32, |mask, &at| mask | (1 << at));
            let submit = ComponentAction::Untick(release, section, mask);
            return Ok(reason_modal(
                self.service.messages(),
                "untick_modal",
                submit,
                &version,
            )?);
        }
        let ask = Ask::Tick {
            section,
            selected,
            reason: None,
        };
        self.deployment(interaction, actor, Target::Card(release), ask)
            .await
    }

    /// The No-Go button: asks for the reason, unless the vote would be refused anyway.
    async fn no_go(&self, actor: &Actor, release: ReleaseId) -> Result<CreateInteractionResponse> {
        let current = self
            .service
            .check_vote(actor, release, Choice::NoGo)
            .await?;
        let version = current.version.to_string();
        let submit = ComponentAction::NoGoReason(release);
        Ok(reason_modal(
            self.service.messages(),
            "nogo_modal",
            submit,
            &version,
        )?)
    }

    /// A modal asking why, for a halt or a rollback; the request itself comes with its answer.
    async fn ask_reason(
        &self,
        template: &str,
        submit: ComponentAction,
        release: ReleaseId,
    ) -> Result<CreateInteractionResponse> {
        let version = self.service.version_of(release).await?;
        Ok(reason_modal(
            self.service.messages(),
            template,
            submit,
            &version,
        )?)
    }

    async fn modal(&self, modal: &ModalInteraction) -> Result<CreateInteractionResponse> {
        let actor = self.actor(modal.member.as_ref(), modal.user.id.get())?;
        let action = ComponentAction::parse(&modal.data.custom_id);
        let field = |name: &str| {
            modal
                .data
                .components
                .iter()
                .flat_map(|row| &row.components)
                .find_map(|c| match c {
                    ActionRowComponent::InputText(input) if input.custom_id == name => {
                        input.value.clone()
                    }
                    _ => None,
                })
        };
        let reason = field(REASON_INPUT);
        let id = modal.id.get();
        match action {
            Some(ComponentAction::RetroText(release)) => {
                let [went_well, improve, actions] =
                    RETRO_INPUTS.map(|name| field(name).unwrap_or_default());
                let ask = Ask::Retrospective(Answers {
                    went_well,
                    improve,
                    actions,
                });
                self.deployment(id, &actor, Target::Card(release), ask)
                    .await
            }
            Some(ComponentAction::NoGoReason(release)) => {
                self.vote(id, &actor, release, Choice::NoGo, reason).await
            }
            Some(ComponentAction::HaltReason(release)) => {
                let ask = Ask::Halt {
                    reason: reason.unwrap_or_default(),
                };
                self.deployment(id, &actor, Target::Card(release), ask)
                    .await
            }
            Some(ComponentAction::RollbackReason(release)) => {
                let ask = Ask::Rollback {
                    reason: reason.unwrap_or_default(),
                };
                self.deployment(id, &actor, Target::Card(release), ask)
                    .await
            }
            Some(ComponentAction::Untick(release, section, mask)) => {
                let ask = Ask::Tick {
                    section: usize::from(section),
                    selected: (0..32).filter(|at| mask & (1 << at) != 0).collect(),
                    reason,
                };
                self.deployment(id, &actor, Target::Card(release), ask)
                    .await
            }
            Some(ComponentAction::ReportText(release)) => {
                let ask = Ask::Report {
                    text: reason.unwrap_or_default(),
                };
                self.deployment(id, &actor, Target::Card(release), ask)
                    .await
            }
            _ => Err(UserError::StaleCard.into()),
        }
    }

    async fn vote(
        &self,
        interaction: u64,
        actor: &Actor,
        release: ReleaseId,
        choice: Choice,
        reason: Option<String>,
    ) -> Result<CreateInteractionResponse> {
        let result = self
            .service
            .vote(interaction, actor, release, choice, reason)
            .await?;
        let template = if result.changed {
            "vote_recorded"
        } else {
            "vote_unchanged"
        };
        let text = self.service.messages().render(
            template,
            json!({
                "choice": choice.as_str(),
                "version": result.release.version.to_string(),
                "state": result.release.state.as_str(),
            }),
        )?;
        Ok(ephemeral(text))
    }

    /// The acting member with the policy roles their Discord roles map to.
    fn actor(&self, member: Option<&Member>, user: u64) -> Result<Actor, UserError> {
        let member = member.ok_or_else(outside_guild)?;
        let discord_roles: Vec<RoleId> = member.roles.iter().map(|r| RoleId(r.get())).collect();
        Ok(Actor {
            id: UserId(user),
            name: member.display_name().to_owned(),
            roles: self.service.config().roles.roles_of(&discord_roles),
        })
    }
}

/// The name of the trend chart `/release stats` attaches.
pub const TREND_CHART: &str = "delivery-trends.png";

/// The weekly trends as a PNG. A chart that cannot be drawn is logged and left out; the
/// figures still answer.
fn trend_chart(weeks: &[crate::domain::stats::Week]) -> Option<CreateAttachment> {
    match crate::charts::trend_png(weeks) {
        Ok(png) => Some(CreateAttachment::bytes(png, TREND_CHART)),
        Err(cause) => {
            tracing::warn!("Cannot draw the trend chart for /release stats: {cause}");
            None
        }
    }
}

fn reply(response: CreateInteractionResponse) -> Reply {
    Reply {
        response,
        replay: false,
        files: Vec::new(),
    }
}

fn outside_guild() -> UserError {
    UserError::InvalidInput("gonogo works inside its server, not in direct messages".to_owned())
}
