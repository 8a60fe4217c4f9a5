//! Component custom ids: versioned, under 100 characters, carrying the release id.

use crate::domain::ReleaseId;

/// Bumped whenever the meaning of an id changes, so old cards are recognised as stale.
const PREFIX: &str = "gng1";

/// What a button or modal on one of our messages asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentAction {
    Go(ReleaseId),
    NoGo(ReleaseId),
    /// The No-Go modal was submitted with its reason.
    NoGoReason(ReleaseId),
    Deploy(ReleaseId),
    /// Opens the modal that asks why.
    Halt(ReleaseId),
    HaltReason(ReleaseId),
    Resume(ReleaseId),
    /// Opens the modal that confirms and asks why.
    Rollback(ReleaseId),
    RollbackReason(ReleaseId),
    /// The start notice's button: opens the modal that asks what is wrong.
    Report(ReleaseId),
    ReportText(ReleaseId),
    /// The override request's button, for an exec.
    ApproveOverride(ReleaseId),
    /// The retrospective prompt's button, and the modal it opens.
    Retro(ReleaseId),
    RetroText(ReleaseId),
    /// A completed release's button that plans it in the next environment.
    Promote(ReleaseId),
    /// The verification's button: the one who clicks it is on call.
    OnCall(ReleaseId),
    /// The card's select menu of checklist section `.1`.
    Check(ReleaseId, u8),
    /// The modal asking why items are unticked, carrying the new selection as a bit set.
    Untick(ReleaseId, u8, u32),
}

/// The custom id of the reason field inside the No-Go modal.
pub const REASON_INPUT: &str = "reason";
/// The custom ids of the retrospective's three fields.
pub const RETRO_INPUTS: [&str; 3] = ["went_well", "improve", "actions"];

impl ComponentAction {
    pub fn custom_id(self) -> String {
        match self {
            ComponentAction::Check(id, section) => {
                return format!("{PREFIX}:check:{}:{section}", id.0);
            }
            ComponentAction::Untick(id, section, selected) => {
                return format!("{PREFIX}:untick:{}:{section}:{selected}", id.0);
            }
            _ => {}
        }
        let (verb, id) = match self {
            ComponentAction::Go(id) => ("go", id),
            ComponentAction::NoGo(id) => ("nogo", id),
            ComponentAction::NoGoReason(id) => ("nogo-reason", id),
            ComponentAction::Deploy(id) => ("deploy", id),
            ComponentAction::Halt(id) => ("halt", id),
            ComponentAction::HaltReason(id) => ("halt-reason", id),
            ComponentAction::Resume(id) => ("resume", id),
            ComponentAction::Rollback(id) => ("rollback", id),
            ComponentAction::RollbackReason(id) => ("rollback-reason", id),
            ComponentAction::Report(id) => ("report", id),
            ComponentAction::ReportText(id) => ("report-text", id),
            ComponentAction::ApproveOverride(id) => ("approve-override", id),
            ComponentAction::Retro(id) => ("retro", id),
            ComponentAction::RetroText(id) => ("retro-text", id),
            ComponentAction::Promote(id) => ("promote", id),
            ComponentAction::OnCall(id) => ("oncall", id),
            ComponentAction::Check(id, _) | ComponentAction::Untick(id, _, _) => ("", id),
        };
        format!("{PREFIX}:{verb}:{}", id.0)
    }

    /// The release the component belongs to.
    pub fn release(self) -> ReleaseId {
        match self {
            ComponentAction::Go(id)
            | ComponentAction::NoGo(id)
            | ComponentAction::NoGoReason(id)
            | ComponentAction::Deploy(id)
            | ComponentAction::Halt(id)
            | ComponentAction::HaltReason(id)
            | ComponentAction::Resume(id)
            | ComponentAction::Rollback(id)
            | ComponentAction::RollbackReason(id)
            | ComponentAction::Report(id)
            | ComponentAction::ReportText(id)
            | ComponentAction::ApproveOverride(id)
            | ComponentAction::Retro(id)
            | ComponentAction::RetroText(id)
            | ComponentAction::Promote(id)
            | ComponentAction::OnCall(id)
            | ComponentAction::Check(id, _)
            | ComponentAction::Untick(id, _, _) => id,
        }
    }

    /// `None` for ids from another version of gonogo or not ours at all: a stale card.
    pub fn parse(custom_id: &str) -> Option<ComponentAction> {
        let mut parts = custom_id.splitn(3, ':');
        if parts.next()? != PREFIX {
            return None;
        }
        let verb = parts.next()?;
        let mut fields = parts.next()?.split(':');
        let id = ReleaseId(fields.next()?.parse().ok()?);
        let mut field = || fields.next().and_then(|f| f.parse::<u32>().ok());
        match verb {
            "check" => {
                return Some(ComponentAction::Check(id, u8::try_from(field()?).ok()?));
            }
            "untick" => {
                let section = u8::try_from(field()?).ok()?;
                return Some(ComponentAction::Untick(id, section, field()?));
            }
            _ => {}
        }
        if fields.next().is_some() {
            return None;
        }
        match verb {
            "go" => Some(ComponentAction::Go(id)),
            "nogo" => Some(ComponentAction::NoGo(id)),
            "nogo-reason" => Some(ComponentAction::NoGoReason(id)),
            "deploy" => Some(ComponentAction::Deploy(id)),
            "halt" => Some(ComponentAction::Halt(id)),
            "halt-reason" => Some(ComponentAction::HaltReason(id)),
            "resume" => Some(ComponentAction::Resume(id)),
            "rollback" => Some(ComponentAction::Rollback(id)),
            "rollback-reason" => Some(ComponentAction::RollbackReason(id)),
            "report" => Some(ComponentAction::Report(id)),
            "report-text" => Some(ComponentAction::ReportText(id)),
            "approve-override" => Some(ComponentAction::ApproveOverride(id)),
            "promote" => Some(ComponentAction::Promote(id)),
            "oncall" => Some(ComponentAction::OnCall(id)),
            "retro" => Some(ComponentAction::Retro(id)),
            "retro-text" => Some(ComponentAction::RetroText(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_fit_discords_limit() {
        for action in [
            ComponentAction::Go(ReleaseId(i64::MAX)),
            ComponentAction::NoGo(ReleaseId(1)),
            ComponentAction::NoGoReason(ReleaseId(42)),
            ComponentAction::Deploy(ReleaseId(3)),
            ComponentAction::Halt(ReleaseId(4)),
            ComponentAction::HaltReason(ReleaseId(5)),
            ComponentAction::Resume(ReleaseId(6)),
            ComponentAction::Rollback(ReleaseId(7)),
            ComponentAction::RollbackReason(ReleaseId(i64::MAX)),
            ComponentAction::Report(ReleaseId(8)),
            ComponentAction::ReportText(ReleaseId(9)),
            ComponentAction::ApproveOverride(ReleaseId(10)),
            ComponentAction::Retro(ReleaseId(11)),
            ComponentAction::RetroText(ReleaseId(12)),
            ComponentAction::Promote(ReleaseId(13)),
            ComponentAction::OnCall(ReleaseId(i64::MAX)),
            ComponentAction::Check(ReleaseId(i64::MAX), 3),
            ComponentAction::Untick(ReleaseId(i64::MAX), 3, u32::MAX),
        ] {
            let id = action.custom_id();
            assert!(id.len() <= 100);
            assert_eq!(ComponentAction::parse(&id), Some(action));
        }
    }

    #[test]
    fn foreign_or_old_ids_are_stale() {
        assert_eq!(ComponentAction::parse("gng0:go:1"), None);
        assert_eq!(ComponentAction::parse("gng1:dance:1"), None);
        assert_eq!(ComponentAction::parse("gng1:go:abc"), None);
        assert_eq!(ComponentAction::parse(""), None);
        assert_eq!(ComponentAction::parse("gng1:go:1:2"), None);
        assert_eq!(ComponentAction::parse("gng1:check:1"), None);
        assert_eq!(ComponentAction::parse("gng1:check:1:256"), None);
        assert_eq!(ComponentAction::parse("gng1:untick:1:2"), None);
    }
}
