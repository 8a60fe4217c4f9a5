//! What a decision asks the world to do: post or edit the card, tell an audience a fact, set
//! or clear a timer. The service carries effects out; nothing here performs them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Work the service must do in the transaction that commits the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Post the release card in the releases channel.
    PostCard,
    /// Start the release thread on the card.
    OpenThread,
    /// Edit the card to show the latest state.
    RefreshCard,
    /// Tell `audience` what happened; the notice carries every fact it reports.
    Notify { audience: Audience, notice: Notice },
    /// Fire `timer` at `at`, replacing a pending timer of the same kind.
    ScheduleTimer { timer: TimerKind, at: DateTime<Utc> },
    /// Drop the pending timer of this kind, if any.
    CancelTimer(TimerKind),
}

/// Who a notice is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The release's thread, where the people following the release read along.
    Thread,
}

/// A fact worth telling, with everything its message shows: renderers never look facts up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Notice {
    Approved {
        version: String,
        /// Who filled the approver slots, by display name.
        approvers: Vec<String>,
    },
    Rejected {
        version: String,
        by: String,
        reason: String,
    },
    Expired {
        version: String,
    },
    Cancelled {
        version: String,
        by: String,
        reason: String,
    },
}

/// What a timer is for; a release has at most one pending timer of each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The poll's time to live ends.
    PollExpiry,
}

impl TimerKind {
    pub const ALL: [TimerKind; 1] = [TimerKind::PollExpiry];

    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::PollExpiry => "poll_expiry",
        }
    }

    pub fn parse(text: &str) -> Option<TimerKind> {
        TimerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_kinds_round_trip_through_their_stored_names() {
        for kind in TimerKind::ALL {
            assert_eq!(TimerKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TimerKind::PollExpiry.as_str(), "poll_expiry");
        assert_eq!(TimerKind::parse("stage_advance"), None);
    }

    #[test]
    fn a_notice_is_stored_as_its_facts_under_the_state_it_reports() {
        let notice = Notice::Cancelled {
            version: "1.4.0".into(),
            by: "Avery".into(),
            reason: "scope changed".into(),
        };
        let json = serde_json::to_value(&notice).unwrap();
        assert_eq!(json["state"], "cancelled");
        assert_eq!(json["by"], "Avery");
        assert_eq!(serde_json::from_value::<Notice>(json).unwrap(), notice);
    }
}
