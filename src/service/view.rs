//! The read model: what a release looks like to people, built from one consistent read.

use serde::{Deserialize, Serialize};

use crate::domain::contract::ContractView;
use crate::domain::effect::GateView;
use crate::domain::lifecycle::inputs::Plan;
use crate::domain::parts::{CheckStatus, Retrospective};
use crate::domain::rollout::Rollout;
use crate::domain::text::excerpt;
use crate::domain::{checklist, Action, Audience, Notice, Release, Tally, UserId};
use crate::store::executions::ExecutionRecord;
use crate::store::outbox::{OutboxKind, Undelivered};
use crate::store::releases::StoredRelease;

/// The body of a `notify` outbox row: whom the notice is for and the facts it reports,
/// rendered into text only when it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBody {
    pub audience: Audience,
    pub notice: Notice,
    /// The executor's latest action when the notice was queued, for progress notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_action: Option<ActionView>,
}

/// A release as its card and `/release status` show it: plain data, no Discord types.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseView {
    pub id: i64,
    pub version: String,
    pub kind: String,
    pub state: String,
    pub open: bool,
    pub summary: String,
    pub changelog: Option<String>,
    pub environment: String,
    pub author: String,
    /// What the pipeline that planned it told, or the promotion it came from.
    pub origin: Option<OriginView>,
    /// The environment a completed release may be promoted to.
    pub promote_to: Option<String>,
    pub expires_at: i64,
    pub decision_reason: Option<String>,
    pub slots: Vec<SlotView>,
    /// The latest votes, newest last, capped so the field stays within Discord's 1024.
    pub votes: Vec<VoteView>,
    pub more_votes: usize,
    /// Where the rollout stands, once it has started.
    pub deployment: Option<DeploymentView>,
    /// The rollback contract it was approved under.
    pub contract: Option<ContractView>,
    /// Overrides asked for it, as `/release status` lists them.
    pub overrides: Vec<OverrideView>,
    /// Problems reported during its rollout, and its retrospectives: `/release notes`.
    pub reports: Vec<ReportView>,
    pub retrospectives: Vec<Retrospective>,
    /// Its checklist by section, for the card's menus; empty when it has none.
    pub checklist: Vec<SectionView>,
    /// Whether the checklist may still be ticked: until the rollout starts.
    pub checklist_editable: bool,
    /// How many items are open, and the first few of them for the card.
    pub checklist_open: usize,
    pub open_items: Vec<String>,
    /// Items a pipeline reported failed, with where to read why.
    pub failed_items: Vec<FailedView>,
    /// Messages of the release that Discord keeps refusing; only `/release status` reads them.
    pub undelivered: Vec<UndeliveredView>,
}

/// Where a release came from, as its card shows it.
#[derive(Clone, Debug, Serialize)]
pub struct OriginView {
    /// The token of the pipeline that planned it.
    pub token: Option<String>,
    /// The person it was planned for, as a snowflake.
    pub on_behalf_of: Option<String>,
    pub commit: Option<String>,
    pub build_url: Option<String>,
    pub artifact: Option<String>,
    pub promoted_from: Option<i64>,
    pub evidence: Option<EvidenceView>,
}

impl OriginView {
    /// What the card tells of where `release` came from; `None` when planned from chat.
    fn of(release: &Release) -> Option<OriginView> {
        let origin = &release.origin;
        if origin.is_empty() {
            return None;
        }
        Some(OriginView {
            token: origin.token.clone(),
            on_behalf_of: (origin.token.is_some() && release.author.0 != 0)
                .then(|| release.author.to_string()),
            commit: origin.commit.clone(),
            build_url: origin.build_url.clone(),
            artifact: origin.artifact.clone(),
            promoted_from: origin.promoted_from.map(|id| id.0),
            evidence: origin.evidence.as_ref().map(|e| EvidenceView {
                environment: e.environment.clone(),
                completed_at: e.completed_at.timestamp(),
                verified_minutes: e.verified_for_secs / 60,
                reports: e.reports.clone(),
                report_count: e.report_count,
                error_rate: e.error_rate.clone(),
                p99: e.p99.clone(),
            }),
        })
    }
}

/// How the release went in the environment before, as the promoted card shows it.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceView {
    pub environment: String,
    pub completed_at: i64,
    pub verified_minutes: i64,
    pub reports: Vec<String>,
    pub report_count: usize,
    pub error_rate: Option<String>,
    pub p99: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportView {
    pub by: String,
    pub text: String,
}

/// An override of a release and where it stands.
#[derive(Clone, Debug, Serialize)]
pub struct OverrideView {
    pub requested_by: String,
    pub reason: String,
    pub approved_by: Option<String>,
    pub used_for: Option<String>,
    pub postmortem_open: bool,
}

/// A checklist section of a release.
#[derive(Clone, Debug, Serialize)]
pub struct SectionView {
    pub name: String,
    pub items: Vec<ItemView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FailedView {
    pub name: String,
    pub url: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemView {
    pub name: String,
    pub ticked_by: Option<String>,
    /// Where the pipeline's report of it can be read, when a pipeline reported it.
    pub url: Option<String>,
    /// `open`, `passed` or `failed`.
    pub status: &'static str,
}

/// How many open items the card lists by name, and how much of each.
const LISTED_OPEN: usize = 8;
const OPEN_ITEM: usize = 80;
/// How many failed items the card lists, each with its link: a listed failure takes the
/// room of three open items, so the field stays within Discord's 1,024 characters.
const LISTED_FAILED: usize = 2;

fn listed_open(release: &Release) -> usize {
    let failed = release
        .checklist
        .iter()
        .filter(|check| check.status() == CheckStatus::Failed)
        .count()
        .min(LISTED_FAILED);
    LISTED_OPEN - 3 * failed
}

fn sections_of(release: &Release) -> Vec<SectionView> {
    checklist::sections(&release.checklist)
        .into_iter()
        .map(|name| SectionView {
            name: name.to_owned(),
            items: release
                .checklist
                .iter()
                .filter(|check| check.section == name)
                .map(|check| ItemView {
                    name: check.item.clone(),
                    ticked_by: check.ticked_by.clone(),
                    url: check.url.clone(),
                    status: check.status().as_str(),
                })
                .collect(),
        })
        .collect()
}

/// A message of the release whose delivery keeps failing, or was set aside for good.
#[derive(Clone, Debug, Serialize)]
pub struct UndeliveredView {
    /// "card", "thread", "card update" or "notice".
    pub what: &'static str,
    /// Where it was going, as a snowflake string.
    pub channel: String,
    /// What went wrong, such as "Discord says Missing Permissions (403, code 50013)".
    pub problem: String,
    /// Set aside for good: Discord will never take it as it is.
    pub parked: bool,
}

impl UndeliveredView {
    pub fn new(row: &Undelivered, stored: &StoredRelease) -> UndeliveredView {
        let what = match row.kind {
            OutboxKind::PostCard => "card",
            OutboxKind::OpenThread => "thread",
            OutboxKind::RefreshCard => "card update",
            OutboxKind::Notify => "notice",
        };
        let channel = match (row.kind, row.channel_id) {
            (_, Some(channel)) => channel,
            (OutboxKind::Notify, None) => stored.thread_id.unwrap_or(stored.card_channel_id),
            _ => stored.card_channel_id,
        };
        UndeliveredView {
            what,
            channel: channel.to_string(),
            problem: excerpt(&row.last_error, 80),
            parked: row.parked,
        }
    }
}

/// A started rollout as the card shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DeploymentView {
    pub by: String,
    pub started_at: i64,
    pub stage: String,
    pub percent: u8,
    /// When the running hold or verification ends, while one runs.
    pub clock_ends_at: Option<i64>,
    pub halted_since: Option<i64>,
    pub finished_at: Option<i64>,
    pub rollback_by: Option<String>,
    pub rollback_reason: Option<String>,
    /// Who is on call for the verification, once someone claimed it.
    pub on_call: Option<String>,
    /// The executor's latest actions, oldest first.
    pub actions: Vec<ActionView>,
    /// The metric gates' last reading, when they watch the release.
    pub gates: Option<GateView>,
}

/// One executor action and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    pub action: String,
    pub stage: String,
    pub percent: u8,
    /// `pending`, `running`, `succeeded`, `failed` or `unknown`.
    pub state: String,
    pub finished_at: Option<i64>,
}

impl ActionView {
    pub fn new(record: &ExecutionRecord, rollout: &Rollout) -> ActionView {
        let (stage, percent) = match record.action {
            Action::Deploy { stage, percent } => (stage, percent),
            Action::Rollback { stage } => (stage, 0),
        };
        ActionView {
            action: record.action.name().to_owned(),
            stage: rollout.stage_name(stage),
            percent,
            state: record.state.clone(),
            finished_at: record.finished_at.map(|at| at.timestamp()),
        }
    }
}

/// How many executor actions a status lists: a rollout's stages and its rollback fit.
const LISTED_ACTIONS: usize = 8;

/// How many voters the card lists by name.
const LISTED_VOTES: usize = 10;

#[derive(Clone, Debug, Serialize)]
pub struct SlotView {
    pub role: String,
    pub count: usize,
    pub filled: usize,
    pub missing: usize,
    pub filled_by: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VoteView {
    pub name: String,
    pub choice: String,
}

/// What a card shows of a poll's standing: taken from the tally on its own, so the tally
/// need not be held while the rest of the card is read.
pub struct PollView {
    slots: Vec<SlotView>,
    votes: Vec<VoteView>,
    more_votes: usize,
}

impl SlotView {
    /// Each approver slot of a poll's standing, and who fills it, by name.
    pub fn all_of(tally: &Tally) -> Vec<SlotView> {
        let name_of = |id: UserId| {
            tally
                .latest_of(id)
                .map_or_else(|| id.to_string(), |b| b.voter_name.clone())
        };
        tally
            .slots()
            .iter()
            .map(|fill| SlotView {
                role: fill.slot.role.to_string(),
                count: usize::from(fill.slot.count),
                filled: fill.filled_by.len(),
                missing: fill.missing(),
                filled_by: fill.filled_by.iter().map(|&id| name_of(id)).collect(),
            })
            .collect()
    }
}

impl PollView {
    pub fn of(tally: &Tally) -> PollView {
        PollView {
            slots: SlotView::all_of(tally),
            more_votes: tally.current().len().saturating_sub(LISTED_VOTES),
            votes: tally
                .current()
                .iter()
                .skip(tally.current().len().saturating_sub(LISTED_VOTES))
                .map(|b| VoteView {
                    name: b.voter_name.clone(),
                    choice: b.choice.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

impl ReleaseView {
    pub fn new(
        stored: &StoredRelease,
        plan: Plan<'_>,
        poll: PollView,
        executions: &[ExecutionRecord],
    ) -> ReleaseView {
        let release = &stored.release;
        let rollout = plan.rollout;
        ReleaseView {
            id: release.id.0,
            version: release.version.to_string(),
            kind: release.kind.to_string(),
            state: release.state.to_string(),
            open: release.state.is_open(),
            summary: release.summary.clone(),
            changelog: release.changelog.clone(),
            environment: release.environment.clone(),
            author: stored.author_name.clone(),
            origin: OriginView::of(release),
            promote_to: None,
            expires_at: release.expires_at.timestamp(),
            decision_reason: release.decision_reason.clone(),
            slots: poll.slots,
            votes: poll.votes,
            more_votes: poll.more_votes,
            overrides: release
                .overrides
                .iter()
                .map(|o| OverrideView {
                    requested_by: o.requested_by_name.clone(),
                    reason: excerpt(&o.reason, 60),
                    approved_by: o.approved_by.clone(),
                    used_for: o.used_for.clone(),
                    postmortem_open: o.approved_by.is_some() && o.postmortem.is_none(),
                })
                .collect(),
            reports: release
                .deployment
                .iter()
                .flat_map(|d| &d.reports)
                .map(|r| ReportView {
                    by: r.name.clone(),
                    text: r.text.clone(),
                })
                .collect(),
            retrospectives: release.retrospectives.clone(),
            checklist: sections_of(release),
            checklist_editable: checklist::is_editable(release.state),
            checklist_open: checklist::open_items(release).len(),
            open_items: checklist::open_items(release)
                .iter()
                .take(listed_open(release))
                .map(|item| excerpt(item, OPEN_ITEM))
                .collect(),
            failed_items: release
                .checklist
                .iter()
                .filter(|check| check.status() == CheckStatus::Failed)
                .take(LISTED_FAILED)
                .map(|check| FailedView {
                    name: excerpt(&format!("{}: {}", check.section, check.item), OPEN_ITEM),
                    url: check.url.clone(),
                })
                .collect(),
            contract: release.contract.as_ref().map(|c| c.view(plan.gates)),
            deployment: release.deployment.as_ref().map(|d| {
                let stage = rollout.stage(d.stage);
                DeploymentView {
                    by: d.started_by_name.clone(),
                    started_at: d.started_at.timestamp(),
                    stage: rollout.stage_name(d.stage),
                    percent: stage.map_or(0, |s| s.percent),
                    clock_ends_at: d.clock_ends_at.map(|t| t.timestamp()),
                    halted_since: d.halted_at.map(|t| t.timestamp()),
                    finished_at: d.finished_at.map(|t| t.timestamp()),
                    rollback_by: d.rollback.as_ref().map(|r| r.by.clone()),
                    rollback_reason: d.rollback.as_ref().map(|r| r.reason.clone()),
                    on_call: d.on_call.as_ref().map(|on| on.name.clone()),
                    gates: plan.gates.and_then(|gates| gates.view(&d.watch)),
                    actions: executions
                        .iter()
                        .skip(executions.len().saturating_sub(LISTED_ACTIONS))
                        .map(|record| ActionView::new(record, rollout))
                        .collect(),
                }
            }),
            undelivered: Vec::new(),
        }
    }
}
