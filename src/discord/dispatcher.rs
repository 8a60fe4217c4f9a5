//! The dispatcher: delivers the outbox in order per release, rendering cards from the latest
//! committed state and notices from their facts at send time, waiting out 429s and backing
//! off on 5xx.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use serenity::all::{
    AutoArchiveDuration, ChannelType, CreateActionRow, CreateAllowedMentions, CreateMessage,
    CreateThread, EditMessage, Nonce,
};
use tokio::sync::watch;
use tracing::{error, info_span, warn, Instrument as _};

use super::card;
use super::custom_id::ComponentAction;
use super::rest::{Rest, RestError, THREAD_ALREADY_CREATED};
use crate::domain::{Notice, ReleaseId, ReleaseState, Role};
use crate::service::ports::outbox::{OutboxKind, OutboxRow, StoredRelease};
use crate::service::view::NoticeBody;
use crate::service::view::ReleaseView;
use crate::service::{Outbox, Settlement};

/// How long a row of a release that has ended keeps being retried after its first failure.
/// While the release lives, a failing row is retried for as long as it takes.
const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(24);
/// The longest wait between two retries.
const MAX_BACKOFF_SECS: u64 = 300;

/// Discord de-duplicates a post's nonce for a few minutes only. A post retried later than this
/// after its first failure, whose earlier attempt may have gone through, is looked for first.
const NONCE_WINDOW: TimeDelta = TimeDelta::minutes(2);
/// How many of a channel's newest messages are searched for such a post.
const LOOK_BACK: u8 = 50;

/// Card edits of one release are spaced by this much real time: Discord sustains about one
/// message edit a second, and whenever an edit goes out it shows the latest state anyway.
const CARD_EDIT_SPACING: Duration = Duration::from_secs(1);

/// How many due heads are considered at once, so a paced card does not hold up other releases.
const HEADS_CONSIDERED: u32 = 16;

/// When each release's card was last edited, and until when Discord paused all delivery.
#[derive(Default)]
struct Pacer {
    last_edit: HashMap<ReleaseId, Instant>,
    /// A global 429 stops every request until then, on the service's clock.
    paused_until: Option<DateTime<Utc>>,
}

impl Pacer {
    /// When `row` may go out; `None` when it may go now.
    fn hold_until(&self, row: &OutboxRow) -> Option<Instant> {
        if row.kind != OutboxKind::RefreshCard {
            return None;
        }
        let ready = *self.last_edit.get(&row.release_id)? + CARD_EDIT_SPACING;
        (ready > Instant::now()).then_some(ready)
    }

    /// The end of a global pause still running at `now`.
    fn paused(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.paused_until.filter(|until| *until > now)
    }
}

/// Why a delivery did not go out, in the terms the retry decision needs.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("{0}")]
    RateLimited(RestError),
    /// May pass (a 5xx, the network, a 401 after a token rotation, a 403 until someone grants
    /// the permission): retried with capped backoff.
    #[error("{0}")]
    Failing(String),
    /// Can never succeed as sent (400 Invalid Form Body, 404 Unknown Channel): parked.
    #[error("{0}")]
    Hopeless(String),
    /// Our own fault (a template, the database): set aside and tried again later.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<RestError> for DeliveryError {
    fn from(error: RestError) -> DeliveryError {
        match error {
            RestError::RateLimited { .. } => DeliveryError::RateLimited(error),
            RestError::Refused {
                status: 400 | 404 | 405 | 413 | 422,
                ..
            } => DeliveryError::Hopeless(error.to_string()),
            RestError::Server { .. } | RestError::Network(_) | RestError::Refused { .. } => {
                DeliveryError::Failing(error.to_string())
            }
        }
    }
}

/// What one pass of the dispatcher did.
enum Pass {
    Delivered,
    /// Nothing could go now; a paced card edit may go at this instant.
    Idle(Option<Instant>),
}

/// Delivers until `shutdown` turns true.
pub async fn run(service: Outbox, rest: Rest, mut shutdown: watch::Receiver<bool>) {
    let mut pacer = Pacer::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        // The time this pass looked at: a head due by then that is still here is being paced.
        let now = service.now();
        let paced_until = match deliver_next(&service, &rest, &mut pacer, now).await {
            Ok(Pass::Delivered) => continue,
            Ok(Pass::Idle(paced_until)) => paced_until,
            Err(cause) => {
                warn!("Outbox delivery failed, trying again in a second: {cause:#}");
                // Real time, not the injected clock: this only paces retries of a failing database.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let next_due = match service.earliest_due().await {
            Ok(due) => due.filter(|at| *at > now),
            Err(_) => Some(now + TimeDelta::seconds(1)),
        };
        // Nothing goes out before a global pause ends.
        let next_due = match pacer.paused(now) {
            Some(until) => Some(next_due.map_or(until, |due| due.max(until))),
            None => next_due,
        };
        let spacing_over = async {
            match paced_until {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = service.idle(next_due, &mut shutdown) => {}
            () = spacing_over => {}
        }
    }
}

/// Delivers every due lane head that is not being paced, at once: each lane is a separate
/// (release, channel) queue, so their heads are independent. Their outcomes are committed in
/// one transaction.
async fn deliver_next(
    service: &Outbox,
    rest: &Rest,
    pacer: &mut Pacer,
    now: DateTime<Utc>,
) -> anyhow::Result<Pass> {
    if pacer.paused(now).is_some() {
        return Ok(Pass::Idle(None));
    }
    // Only edits still inside their spacing matter; the map must not grow with every release.
    pacer
        .last_edit
        .retain(|_, at| at.elapsed() < CARD_EDIT_SPACING);
    let heads = service.due_heads(now, HEADS_CONSIDERED).await?;
    let mut paced_until: Option<Instant> = None;
    let mut ready = Vec::with_capacity(heads.len());
    for row in heads {
        match pacer.hold_until(&row) {
            Some(at) => paced_until = Some(paced_until.map_or(at, |earliest| earliest.min(at))),
            None => ready.push(row),
        }
    }
    if ready.is_empty() {
        return Ok(Pass::Idle(paced_until));
    }
    let deliveries = ready.iter().map(|row| {
        let span = info_span!(
            "outbox",
            row = row.id,
            release_id = row.release_id.0,
            kind = row.kind.as_str()
        );
        deliver(service, rest, row).instrument(span)
    });
    let outcomes = futures::future::join_all(deliveries).await;
    let mut settled = Vec::with_capacity(ready.len());
    for (row, outcome) in ready.into_iter().zip(outcomes) {
        let settlement = outcome.unwrap_or_else(|cause| {
            // Our own fault (a template, the database): set aside, so it cannot hold up the
            // others, and tried again later.
            error!(
                row = row.id,
                "Cannot deliver an outbox row, trying it again later: {cause:#}"
            );
            let later = service.now() + TimeDelta::minutes(1);
            Settlement::RetryAt(later, None, format!("{cause:#}"))
        });
        if let Settlement::PauseAll(until, _) = &settlement {
            pacer.paused_until = Some(pacer.paused_until.map_or(*until, |p| p.max(*until)));
        }
        if row.kind == OutboxKind::RefreshCard {
            pacer.last_edit.insert(row.release_id, Instant::now());
        }
        settled.push((row, settlement));
    }
    service.settle(settled).await?;
    Ok(Pass::Delivered)
}

async fn deliver(service: &Outbox, rest: &Rest, row: &OutboxRow) -> anyhow::Result<Settlement> {
    let Some(stored) = service.release(row.release_id).await? else {
        return Ok(Settlement::Parked(
            "the release no longer exists".to_owned(),
        ));
    };
    let result = match row.kind {
        OutboxKind::PostCard => post_card(service, rest, row, &stored).await,
        OutboxKind::OpenThread => open_thread(service, rest, &stored).await,
        OutboxKind::RefreshCard => refresh_card(service, rest, &stored).await,
        OutboxKind::Notify => notify(service, rest, row, &stored).await,
    };
    Ok(match result {
        Ok(settlement) => settlement,
        Err(error) => after_failure(service, row, stored.release.state, &error),
    })
}

/// Waits out a rate limit, retries a failure with capped backoff (for good while the release
/// lives), and parks what can never succeed. Every failure is logged as an error.
fn after_failure(
    service: &Outbox,
    row: &OutboxRow,
    state: ReleaseState,
    error: &DeliveryError,
) -> Settlement {
    let now = service.now();
    let what = row.kind.as_str();
    match error {
        DeliveryError::RateLimited(RestError::RateLimited { wait, global }) => {
            let wait = TimeDelta::from_std(*wait).unwrap_or(TimeDelta::hours(1));
            let until = now.checked_add_signed(wait).unwrap_or(now);
            warn!(row = row.id, "Discord delivery of a {what} waits: {error}");
            if *global {
                Settlement::PauseAll(until, error.to_string())
            } else {
                Settlement::RetryAt(until, None, error.to_string())
            }
        }
        DeliveryError::Failing(_) | DeliveryError::RateLimited(_) => {
            let failing_since = row.first_failed_at.unwrap_or(now);
            if state.is_final() && now - failing_since > GIVE_UP_AFTER {
                error!(row = row.id, "Discord delivery of a {what} parked after a day of failures, its release over: {error}");
                return Settlement::Parked(error.to_string());
            }
            let secs = (1_u64 << row.attempts.min(16)).min(MAX_BACKOFF_SECS);
            let backoff = TimeDelta::seconds(i64::try_from(secs).unwrap_or(300));
            error!(
                row = row.id,
                "Discord delivery of a {what} failed, retrying in {}s: {error}",
                backoff.num_seconds()
            );
            Settlement::RetryAt(now + backoff, Some(now), error.to_string())
        }
        DeliveryError::Hopeless(_) => {
            error!(
                row = row.id,
                "Discord delivery of a {what} parked, Discord will never take it: {error}"
            );
            Settlement::Parked(error.to_string())
        }
        DeliveryError::Internal(cause) => {
            error!(
                row = row.id,
                "Cannot deliver a {what}, trying it again later: {cause:#}"
            );
            Settlement::RetryAt(now + TimeDelta::minutes(1), None, format!("{cause:#}"))
        }
    }
}

/// The card as of the latest committed state, with that state's revision.
async fn render(
    service: &Outbox,
    stored: &StoredRelease,
) -> Result<(i64, ReleaseView, serenity::all::CreateEmbed), DeliveryError> {
    let (revision, view) = service
        .card(stored.release.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the release no longer exists"))?;
    let embed = card::embed(service.messages(), &view)?;
    Ok((revision, view, embed))
}

async fn post_card(
    service: &Outbox,
    rest: &Rest,
    row: &OutboxRow,
    stored: &StoredRelease,
) -> Result<Settlement, DeliveryError> {
    // Only gonogo's own posts can carry its buttons' custom ids.
    let is_this_card = |m: &Value| card_of(m) == Some(row.release_id);
    if let Some(id) =
        already_posted(service, rest, row, stored.card_channel_id, is_this_card).await?
    {
        return Ok(Settlement::CardPosted(id));
    }
    let (_, view, embed) = render(service, stored).await?;
    let message = CreateMessage::new()
        .embed(embed)
        .components(card::buttons(&view))
        .allowed_mentions(CreateAllowedMentions::new())
        .nonce(Nonce::String(row.nonce.clone()))
        .enforce_nonce(true);
    let id = rest
        .create_message(stored.card_channel_id, &message)
        .await?;
    Ok(Settlement::CardPosted(id))
}

async fn open_thread(
    service: &Outbox,
    rest: &Rest,
    stored: &StoredRelease,
) -> Result<Settlement, DeliveryError> {
    let Some(card) = stored.card_message_id else {
        return Err(DeliveryError::Failing("the card is not posted yet".into()));
    };
    let name = service.messages().render(
        "thread_name",
        serde_json::json!({
            "version": stored.release.version.to_string(),
            "kind": stored.release.kind.as_str(),
        }),
    )?;
    let body = CreateThread::new(name)
        .kind(ChannelType::PublicThread)
        .auto_archive_duration(AutoArchiveDuration::OneWeek);
    let thread = match rest.start_thread(stored.card_channel_id, card, &body).await {
        Ok(thread) => thread,
        // A retry after a lost answer: the thread exists, and shares the card's id.
        Err(RestError::Refused {
            code: THREAD_ALREADY_CREATED,
            ..
        }) => card,
        Err(other) => return Err(other.into()),
    };
    Ok(Settlement::ThreadOpened(thread))
}

/// Edits the card; the row is done only if no newer change landed while it was rendered.
async fn refresh_card(
    service: &Outbox,
    rest: &Rest,
    stored: &StoredRelease,
) -> Result<Settlement, DeliveryError> {
    let Some(card) = stored.card_message_id else {
        // The card was never posted, so there is nothing to edit.
        return Ok(Settlement::Sent);
    };
    let (revision, view, embed) = render(service, stored).await?;
    let edit = EditMessage::new()
        .embed(embed)
        .components(card::buttons(&view))
        .allowed_mentions(CreateAllowedMentions::new());
    rest.edit_message(stored.card_channel_id, card, &edit)
        .await?;
    Ok(Settlement::Refreshed(revision))
}

/// Posts a notice, rendered now from the facts its row carries, to its row's channel (the
/// release's thread when it names none), pinging the stakeholder role only where allowed.
async fn notify(
    service: &Outbox,
    rest: &Rest,
    row: &OutboxRow,
    stored: &StoredRelease,
) -> Result<Settlement, DeliveryError> {
    let body = row.body.as_deref().unwrap_or_default();
    let (text, started) = match serde_json::from_str::<NoticeBody>(body) {
        Ok(NoticeBody {
            notice,
            last_action,
            ..
        }) => {
            let started = match &notice {
                Notice::Started { contract, .. } => Some(Extra::Started(contract.clone())),
                Notice::OverrideRequested { .. } => Some(Extra::Approve),
                Notice::RetrospectivePrompt { .. } => Some(Extra::Retro),
                Notice::OnCallAsked { .. } => Some(Extra::OnCall),
                Notice::OnCallNeeded { .. } => Some(Extra::PingManagers),
                Notice::Completed { .. } => service
                    .promote_to(&stored.release.environment)
                    .map(|next| Extra::Promote(next.to_owned())),
                _ => None,
            };
            let facts =
                minijinja::context! { last_action, ..minijinja::Value::from_serialize(&notice) };
            (
                service.messages().render(template_of(&notice), facts)?,
                started,
            )
        }
        // A row queued before notices were stored as facts holds its finished text.
        Err(_) => (body.to_owned(), None),
    };
    let channel = row
        .channel_id
        .unwrap_or_else(|| stored.thread_id.unwrap_or(stored.card_channel_id));
    let roles = &service.config().roles;
    let ping = match started {
        Some(Extra::PingManagers) => roles.role_id(Role::ReleaseManager),
        _ => row.ping.then_some(roles.stakeholder_ping).flatten(),
    };
    let (content, mentions) = match ping {
        Some(role) => (
            format!("<@&{role}> {text}"),
            CreateAllowedMentions::new().roles([role.0]),
        ),
        None => (text, CreateAllowedMentions::new()),
    };
    let is_this_notice = |m: &Value| by_a_bot(m) && m["content"].as_str() == Some(&content);
    if already_posted(service, rest, row, channel, is_this_notice)
        .await?
        .is_some()
    {
        return Ok(Settlement::Sent);
    }
    let mut message = CreateMessage::new()
        .content(content)
        .allowed_mentions(mentions)
        .nonce(Nonce::String(row.nonce.clone()))
        .enforce_nonce(true);
    match started {
        Some(Extra::Started(contract)) => {
            // Whoever reads that a rollout started can say it hurts.
            message = message.components(vec![card::report_button(stored.release.id)]);
            if let Some(contract) = contract {
                // An embed, as on the card: its words do not count against the 2,000.
                message = message.embed(card::contract_embed(service.messages(), &contract)?);
            }
        }
        Some(Extra::Approve) => {
            message = message.components(vec![card::approve_override_button(stored.release.id)]);
        }
        Some(Extra::Retro) => {
            message = message.components(vec![card::retro_button(stored.release.id)]);
        }
        Some(Extra::OnCall) => {
            message = message.components(vec![card::on_call_button(stored.release.id)]);
        }
        Some(Extra::Promote(next)) => {
            let promote = card::promote_button(stored.release.id, &next);
            message = message.components(vec![CreateActionRow::Buttons(vec![promote])]);
        }
        Some(Extra::PingManagers) | None => {}
    }
    rest.create_message(channel, &message).await?;
    Ok(Settlement::Sent)
}

/// What a notice carries besides its words.
enum Extra {
    /// The start notice: the Report a problem button and the rollback contract.
    Started(Option<Box<crate::domain::contract::ContractView>>),
    /// An override request: the button an exec approves it with.
    Approve,
    /// The retrospective prompt: the button that opens its questions.
    Retro,
    /// Verification asks who is on call: the button that says so.
    OnCall,
    /// Nobody claimed on call: the release managers are mentioned.
    PingManagers,
    /// A completion where the environment has a next one: the button that promotes.
    Promote(String),
}

/// A post whose earlier attempt may have gone through, found among the channel's newest
/// messages once its nonce no longer guards against a second copy. Reads do not reliably
/// carry the nonce, so `is_it` recognises the post by what it shows.
async fn already_posted(
    service: &Outbox,
    rest: &Rest,
    row: &OutboxRow,
    channel: u64,
    is_it: impl Fn(&Value) -> bool,
) -> Result<Option<u64>, DeliveryError> {
    let past_window = row
        .first_failed_at
        .is_some_and(|failed| service.now() - failed >= NONCE_WINDOW);
    if !past_window {
        return Ok(None);
    }
    let recent = rest.recent_messages(channel, LOOK_BACK).await?;
    Ok(recent
        .iter()
        .find(|m| is_it(m))
        .and_then(|m| m["id"].as_str()?.parse().ok()))
}

/// Whether a bot wrote the message: a notice's exact words from a bot in gonogo's channels
/// are gonogo's.
fn by_a_bot(message: &Value) -> bool {
    message["author"]["bot"] == Value::Bool(true)
}

/// The release whose card the message is, judged by its buttons.
fn card_of(message: &Value) -> Option<ReleaseId> {
    message["components"]
        .as_array()?
        .iter()
        .filter_map(|row| row["components"].as_array())
        .flatten()
        .filter_map(|component| component["custom_id"].as_str())
        .find_map(ComponentAction::parse)
        .map(ComponentAction::release)
}

/// The template that words a notice.
pub fn template_of(notice: &Notice) -> &'static str {
    match notice {
        Notice::Approved { .. }
        | Notice::Rejected { .. }
        | Notice::Expired { .. }
        | Notice::Cancelled { .. } => "poll_ended",
        Notice::Started { .. } => "deploy_started",
        Notice::Progress { .. } => "deploy_progress",
        Notice::Completed { .. } => "deploy_completed",
        Notice::ActionFailed { .. } => "action_failed",
        Notice::Halted { .. } => "deploy_halted",
        Notice::Resumed { .. } => "deploy_resumed",
        Notice::RollingBack { .. } => "rollback_started",
        Notice::RolledBack { .. } => "rolled_back",
        Notice::ProblemReported { .. } => "problem_reported",
        Notice::OverrideRequested { .. } => "override_requested",
        Notice::OverrideApproved { .. } => "override_approved",
        Notice::PostmortemFiled { .. } => "postmortem_filed",
        Notice::RetrospectivePrompt { .. } => "retrospective_prompt",
        Notice::RetrospectiveFiled { .. } => "retrospective_filed",
        Notice::OnCallAsked { .. } => "on_call_asked",
        Notice::OnCallNeeded { .. } => "on_call_needed",
    }
}
